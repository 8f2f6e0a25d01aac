/**
 * Benchmark (a figure, not a test): trials per second of every catalogue game on the toy
 * schemes, on one thread and on worker threads. `npm run bench`.
 */
import { estimateAdvantage, estimateAdvantageSync } from '../src/kernel/estimate/estimate';
import { closeWorkerPools } from '../src/kernel/estimate/workerPool';
import { builtinSchemeLocation, builtinSchemes } from '../adversaries/catalog';
import { ScorecardRowSpec, adversaryLabel, gameLabel, scorecardGame, scorecardRows } from '../games/scorecard';

/** A built-in scheme's row as a game that can run on worker threads. */
const builtinGame = (scheme: string, row: ScorecardRowSpec) => scorecardGame(builtinSchemes[scheme]!, row, { location: builtinSchemeLocation(scheme) });

const trials = Number(process.env.BENCH_TRIALS ?? 2000);
const workers = Number(process.env.BENCH_WORKERS ?? 2);

async function main(): Promise<void> {
  process.stdout.write(`weightgames bench: ${trials} trials per game on the toy schemes (${Math.min(trials, 20)} on taylormlp and the ReLU schemes, which train an MLP every trial), node ${process.version}\n`);
  process.stdout.write(`${'scheme'.padEnd(30)} ${'game'.padEnd(10)} ${'adversary'.padEnd(24)} ${'trials/s (1 thread)'.padStart(20)} ${`trials/s (${workers} workers)`.padStart(22)}\n`);
  for (const scheme of Object.keys(builtinSchemes)) {
    const trains = scheme === 'taylormlp' || scheme.endsWith('-relu'); // Train fits an MLP every trial
    const n = trains ? Math.min(trials, 20) : trials;
    for (const row of scorecardRows(builtinSchemes[scheme]!)) {
      const game = builtinGame(scheme, row);
      const t0 = performance.now();
      estimateAdvantageSync(game, { trials: n, seed: 'bench' });
      const single = n / ((performance.now() - t0) / 1000);
      const t1 = performance.now();
      await estimateAdvantage(game, { trials: n, seed: 'bench', workers });
      const multi = n / ((performance.now() - t1) / 1000);
      process.stdout.write(`${scheme.padEnd(30)} ${gameLabel(row).padEnd(11)} ${(adversaryLabel(row) ?? '—').padEnd(24)} ${single.toFixed(0).padStart(20)} ${multi.toFixed(0).padStart(22)}\n`);
    }
  }
  await threadChoice();
  await closeWorkerPools();
}

/**
 * One thread against the pool, for a cheap game (toy W-IND: ~0.1 ms a trial) and a costly one
 * (TaylorMLP WRec: trains an MLP and attacks it every trial): the pool forced, and the automatic
 * choice (a 16-trial pilot keeps trials too cheap to ship on this thread). The pool is started
 * once and reused, as a scorecard does; the first call pays its start-up.
 */
async function threadChoice(): Promise<void> {
  const cases = [
    { label: 'cheap: W-IND additive-shares B[sum-shares]', scheme: 'additive-shares', row: { game: 'wind', adversary: { reduction: 'windFromWRec', wrec: 'sum-shares' } } as ScorecardRowSpec, n: 20000 },
    { label: 'costly: WRec taylormlp consensus', scheme: 'taylormlp', row: { game: 'wrec', adversary: 'consensus' } as ScorecardRowSpec, n: 40 },
  ];
  process.stdout.write(`\n${'game'.padEnd(46)} ${'1 thread'.padStart(10)} ${`pool ×${workers}`.padStart(10)} ${'auto'.padStart(10)}   (trials/s)\n`);
  for (const c of cases) {
    const game = builtinGame(c.scheme, c.row);
    const rate = async (options: { workers: number; autoThreads: boolean }): Promise<number> => {
      const t0 = performance.now();
      await estimateAdvantage(game, { trials: c.n, seed: 'bench-threads', ...options });
      return c.n / ((performance.now() - t0) / 1000);
    };
    await rate({ workers, autoThreads: false }); // start the pool once (a scorecard reuses it)
    const one = await rate({ workers: 1, autoThreads: true });
    const pool = await rate({ workers, autoThreads: false });
    const auto = await rate({ workers, autoThreads: true });
    process.stdout.write(`${c.label.padEnd(46)} ${one.toFixed(0).padStart(10)} ${pool.toFixed(0).padStart(10)} ${auto.toFixed(0).padStart(10)}\n`);
  }
}

void main();
