/**
 * Benchmark (a figure, not a test): trials per second of every catalogue game on the toy
 * schemes, on one thread and on worker threads. `npm run bench`.
 */
import { estimateAdvantage, estimateAdvantageSync } from '../src/estimate/estimate';
import { catalogGame, scorecardEntries, schemeCatalog } from '../src/cli/catalog';

const trials = Number(process.env.BENCH_TRIALS ?? 2000);
const workers = Number(process.env.BENCH_WORKERS ?? 2);

async function main(): Promise<void> {
  process.stdout.write(`weightgames bench: ${trials} trials per game on the toy schemes (${Math.min(trials, 20)} on taylormlp, which trains an MLP every trial), node ${process.version}\n`);
  process.stdout.write(`${'scheme'.padEnd(30)} ${'game'.padEnd(10)} ${'adversary'.padEnd(24)} ${'trials/s (1 thread)'.padStart(20)} ${`trials/s (${workers} workers)`.padStart(22)}\n`);
  for (const scheme of Object.keys(schemeCatalog)) {
    const n = scheme === 'taylormlp' ? Math.min(trials, 20) : trials;
    for (const args of scorecardEntries(scheme)) {
      const game = catalogGame(args);
      const t0 = performance.now();
      estimateAdvantageSync(game, { trials: n, seed: 'bench' });
      const single = n / ((performance.now() - t0) / 1000);
      const t1 = performance.now();
      await estimateAdvantage(game, { trials: n, seed: 'bench', workers });
      const multi = n / ((performance.now() - t1) / 1000);
      process.stdout.write(`${scheme.padEnd(30)} ${args.game.padEnd(11)} ${(args.adversary ?? '—').padEnd(24)} ${single.toFixed(0).padStart(20)} ${multi.toFixed(0).padStart(22)}\n`);
    }
  }
}

void main();
