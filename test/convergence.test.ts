import { activations } from '../src/numerics/activations';
import { worstTruncationError } from '../bench/convergence';

describe('Taylor truncation error, worst case over u ∈ [−6, 6] and |δ| ≤ 1 (the table in docs/taylormlp.md)', () => {
  it('GELU: 2.4e-6 at N = 12, 1.6e-7 at N = 14, below 1e-9 only from N = 18', () => {
    expect(worstTruncationError('gelu', 12).error).toBeGreaterThan(2e-6);
    expect(worstTruncationError('gelu', 12).error).toBeLessThan(3e-6);
    expect(worstTruncationError('gelu', 14).error).toBeGreaterThan(1e-7);
    expect(worstTruncationError('gelu', 16).error).toBeGreaterThan(1e-9);
    expect(worstTruncationError('gelu', 18).error).toBeLessThan(1e-9);
  });
  it('the worst case is at |δ| = 1: the grid includes it, and a point there exceeds every |δ| ≤ ½', () => {
    const worst = worstTruncationError('gelu', 14);
    expect(Math.abs(worst.delta)).toBe(1);
    const d = activations.gelu.derivatives(worst.u, 14);
    const series = (delta: number) => d.reduce((acc, v, n) => acc + (v * delta ** n) / [...Array(n).keys()].reduce((f, k) => f * (k + 1), 1), 0);
    const at = (delta: number) => Math.abs(activations.gelu.value(worst.u + delta) - series(delta));
    expect(at(worst.delta)).toBeCloseTo(worst.error, 12);
    expect(at(worst.delta / 2)).toBeLessThan(worst.error / 100);
  });
});
