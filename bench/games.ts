/**
 * Benchmark (a figure, not a test): trials per second of every catalogue game on the toy
 * schemes, on one thread and on worker threads. `npm run bench`.
 */
import { estimateAdvantage, estimateAdvantageSync } from '../src/estimate/estimate';
import { catalogGame, scorecardEntries, schemeCatalog } from '../src/cli/catalog';

const task = { inputDim: 8, hiddenDim: 16, outputDim: 4 };
const trials = Number(process.env.BENCH_TRIALS ?? 2000);
const workers = Number(process.env.BENCH_WORKERS ?? 2);

async function main(): Promise<void> {
  process.stdout.write(`weightgames bench: ${trials} trials per game, toy task ${JSON.stringify(task)}, node ${process.version}\n`);
  process.stdout.write(`${'scheme'.padEnd(30)} ${'game'.padEnd(10)} ${'adversary'.padEnd(24)} ${'trials/s (1 thread)'.padStart(20)} ${`trials/s (${workers} workers)`.padStart(22)}\n`);
  for (const scheme of Object.keys(schemeCatalog)) {
    for (const args of scorecardEntries(scheme, task)) {
      const game = catalogGame(args);
      const t0 = performance.now();
      estimateAdvantageSync(game, { trials, seed: 'bench' });
      const single = trials / ((performance.now() - t0) / 1000);
      const t1 = performance.now();
      await estimateAdvantage(game, { trials, seed: 'bench', workers });
      const multi = trials / ((performance.now() - t1) / 1000);
      process.stdout.write(`${scheme.padEnd(30)} ${args.game.padEnd(10)} ${(args.adversary ?? '—').padEnd(24)} ${single.toFixed(0).padStart(20)} ${multi.toFixed(0).padStart(22)}\n`);
    }
  }
}

void main();
