/**
 * The Taylor truncation error of each activation by N, worst case over a grid of expansion
 * points u ∈ [−6, 6] (step 0.05) and offsets |δ| ≤ 1 (step 1/32, so δ = ±1 is included):
 *   max_{u, δ} |Act(u + δ) − Σ_{n ≤ N} Act⁽ⁿ⁾(u)·δⁿ/n!|   (absolute, float64).
 * `npm run docs:convergence` prints the table docs/taylormlp.md quotes.
 */
import { activations, ActivationName } from '../src/numerics/activations';

export function worstTruncationError(name: ActivationName, N: number): { error: number; u: number; delta: number } {
  const act = activations[name];
  const d = new Float64Array(N + 1);
  let worst = { error: 0, u: NaN, delta: NaN };
  for (let a = 0; a <= 240; a++) {
    const u = -6 + a * 0.05;
    act.derivatives(u, N, d);
    for (let b = -32; b <= 32; b++) {
      const delta = b / 32;
      let sum = 0;
      let power = 1;
      let factorial = 1;
      for (let n = 0; n <= N; n++) {
        if (n > 0) {
          power *= delta;
          factorial *= n;
        }
        sum += (d[n] * power) / factorial;
      }
      const error = Math.abs(act.value(u + delta) - sum);
      if (error > worst.error) worst = { error, u, delta };
    }
  }
  return worst;
}

if (require.main === module) {
  const orders = [4, 6, 8, 10, 12, 14, 16, 18, 20];
  const names: ActivationName[] = ['gelu', 'gelu_tanh', 'silu', 'sigmoid'];
  const lines = ['| N | ' + names.join(' | ') + ' |', '| --- |' + names.map(() => ' --- |').join('')];
  for (const N of orders) lines.push(`| ${N} | ` + names.map((n) => { const w = worstTruncationError(n, N); return `${w.error.toExponential(1)} (u = ${w.u.toFixed(2)}, δ = ${w.delta})`; }).join(' | ') + ' |');
  process.stdout.write(lines.join('\n') + '\n');
}
