import { MeterError, chargeFlops, isolatedMeter, withMeter } from '../src/kernel/cost/meter';
import { matMul, matVec, mapArray, dot } from '../src/numerics/tensor/kernels';
import { tensor, zeros, row, ShapeError } from '../src/numerics/tensor/tensor';
import { algorithm, trialContext } from '../src/kernel/prob/challenger';

describe('cost meter', () => {
  it('kernels charge their own FLOPs', () => {
    const a = tensor([3, 4], Float64Array.from({ length: 12 }, (_, i) => i + 1));
    const [, cost] = withMeter(() => matVec(a, new Float64Array([1, 2, 3, 4]), new Float64Array(3)));
    expect(cost.flops).toBe(2 * 3 * 4 + 3);
    const b = tensor([4, 5], new Float64Array(20).fill(1));
    expect(withMeter(() => matMul(a, b))[1].flops).toBe(2 * 3 * 4 * 5);
    expect(withMeter(() => mapArray(new Float64Array(7), 'tanh'))[1].flops).toBe(56);
    expect(withMeter(() => dot(new Float64Array(9), new Float64Array(9)))[1].flops).toBe(18);
  });

  it('nested meters add up; an isolated one (a game oracle) does not pass charges on', () => {
    const [, outer] = withMeter(() => {
      chargeFlops(5);
      withMeter(() => chargeFlops(7));
      isolatedMeter(() => chargeFlops(100));
    });
    expect(outer.flops).toBe(12);
  });

  it('a charge is a non-negative safe integer: negative, fractional or non-finite charges throw', () => {
    for (const bad of [-1, -1e9, 0.5, NaN, Infinity, -Infinity, 2 ** 53]) {
      expect(() => withMeter(() => chargeFlops(bad))).toThrow(MeterError);
    }
    expect(withMeter(() => chargeFlops(0))[1].flops).toBe(0);
  });

  it('the trial ledger records each algorithm label', () => {
    const ctx = trialContext('c', 0);
    algorithm('run', () => chargeFlops(10))(ctx);
    algorithm('run', () => chargeFlops(5))(ctx);
    algorithm('other', () => chargeFlops(1))(ctx);
    expect(ctx.ledger.get('run')?.flops).toBe(15);
    expect(ctx.ledger.get('other')?.flops).toBe(1);
  });

  it('matMul agrees with matVec column by column and checks shapes', () => {
    const a = tensor([2, 3], new Float64Array([1, 2, 3, 4, 5, 6]));
    const b = tensor([3, 2], new Float64Array([7, 8, 9, 10, 11, 12]));
    expect(Array.from(matMul(a, b).data)).toEqual([58, 64, 139, 154]);
    expect(() => matMul(a, a)).toThrow(ShapeError);
    expect(() => matVec(a, new Float64Array(2))).toThrow(ShapeError);
    expect(row(zeros([2, 3]), 1).data.length).toBe(3);
  });
});
