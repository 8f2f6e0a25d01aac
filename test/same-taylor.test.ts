import { sameTaylorWeights, TaylorSameError } from '../schemes/taylormlp/scheme';
import type { TrainedMlp } from '../src/numerics/models/train';

const mlp = (second: number[], first = [1, 2]): TrainedMlp =>
  ({ activation: 'gelu', block: { kind: 'plain', inputDim: 1, hiddenDim: 2, outputDim: second.length / 2, first: Float64Array.from(first), firstBias: Float64Array.from([0, 0]), up: null, second: Float64Array.from(second), secondBias: new Float64Array(second.length / 2) } }) as unknown as TrainedMlp;

describe("Same on TaylorMLP weights: Table 1's rule and a norm rule, named", () => {
  const original = mlp(Array.from({ length: 200 }, (_, q) => 1 + q));
  it("Table 1's rule scores W alone, element-wise within 1 %, on at least minRatio of the entries", () => {
    const oneOff = mlp(Array.from({ length: 200 }, (_, q) => (q === 0 ? 5 : 1 + q)));
    expect(sameTaylorWeights({ rule: 'table1', minRatio: 0.99 }).test(oneOff, original)).toBe(true); // 199/200 recovered
    expect(sameTaylorWeights({ rule: 'table1', minRatio: 1 }).test(oneOff, original)).toBe(false);
    // V is not scored by Table 1's rule (it is published): a different V is still Same.
    expect(sameTaylorWeights({ rule: 'table1', minRatio: 1 }).test(mlp(Array.from({ length: 200 }, (_, q) => 1 + q), [9, 9]), original)).toBe(true);
    expect(sameTaylorWeights().name).toMatch(/Table 1/);
  });
  it('the norm rule is the relative Frobenius distance of all weights, with its δ in the name', () => {
    const same = sameTaylorWeights({ rule: 'norm', threshold: 1e-3 });
    expect(same.name).toBe('relative Frobenius distance of (V, b, W, c) ≤ 0.001');
    const slightly = mlp(Array.from({ length: 200 }, (_, q) => (1 + q) * (1 + 1e-4)));
    expect(same.test(slightly, original)).toBe(true);
    const far = mlp(Array.from({ length: 200 }, (_, q) => (1 + q) * 1.01));
    expect(same.test(far, original)).toBe(false);
    expect(() => sameTaylorWeights({ rule: 'norm', threshold: -1 })).toThrow(TaylorSameError);
  });
});
