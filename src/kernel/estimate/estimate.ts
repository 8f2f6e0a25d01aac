import * as t from 'io-ts';
import { isLeft } from 'fp-ts/Either';
import type { Details, Game, TrialResult } from '../game';
import { trialContext } from '../prob/challenger';
import type { Cost } from '../cost/meter';
import { Interval, IntervalMethod, distinguishingInterval, probabilityInterval } from './intervals';
import { sharedPool } from './workerPool';
import { WeightgamesError } from '../errors';

/**
 * Stop when the interval's half-width on the advantage reaches ε (checked every `batch` trials).
 * Looking at the interval after every batch and stopping on it would break its coverage, so the
 * interval at look j has level 1 − α·6/(π²j²): by a union bound over the looks (Σ_j 6/(π²j²) = 1)
 * the reported interval covers with probability ≥ 1 − α whenever the run stops.
 */
export interface SequentialOptions {
  readonly halfWidth: number;
  /** Trials before the first look (default 50); later looks double the count. Fixed, so the stopping point does not depend on the worker count. */
  readonly batch?: number;
}

export interface EstimateOptions {
  /** Number of trials (the maximum, in sequential mode). */
  readonly trials: number;
  readonly seed: string | number;
  /** Confidence level of the interval, e.g. 0.95. */
  readonly confidence?: number;
  readonly method?: IntervalMethod;
  /** Worker threads; > 1 needs `game.ref`. Results are identical for any count. */
  readonly workers?: number;
  /**
   * With `workers > 1`: play on this thread anyway when a pilot of 16 trials shows them too cheap
   * to ship (default true). `false` always uses the pool (e.g. to test it).
   */
  readonly autoThreads?: boolean;
  readonly sequential?: SequentialOptions;
  /** Keep every trial's result in the estimate (default false: only aggregates). */
  readonly keepTrials?: boolean;
  /** Index of the first trial (default 0): trial i always uses the streams of (seed, i). */
  readonly firstTrial?: number;
}

const EstimateOptionsCodec = t.intersection([
  t.type({ trials: t.number, seed: t.union([t.string, t.number]) }),
  t.partial({
    confidence: t.number,
    method: t.keyof({ 'clopper-pearson': null, wilson: null }),
    workers: t.number,
    autoThreads: t.boolean,
    keepTrials: t.boolean,
    firstTrial: t.number,
    sequential: t.intersection([t.type({ halfWidth: t.number }), t.partial({ batch: t.number })]),
  }),
]);

export class EstimateOptionsError extends WeightgamesError {
  override readonly name = 'EstimateOptionsError';
  readonly kind = 'usage' as const;
}

/** Per-assumption counts over the trials. */
export interface AssumptionSummary {
  readonly name: string;
  readonly statement: string;
  readonly held: number;
  readonly violated: number;
}

/** The details type of a game (a union for a union of games). */
export type DetailsOf<G> = G extends Game<infer D> ? D : never;

/** An estimate; `results` (with `keepTrials`) carry the game's own typed details D. */
export interface AdvantageEstimate<D extends Details = Details> {
  readonly game: string;
  readonly trials: number;
  readonly successes: number;
  /** Pr[Game ⇒ 1], estimated. */
  readonly p: number;
  /** p for probability games, 2|p − ½| for distinguishing games (W-IND). */
  readonly advantage: number;
  /** Interval on the advantage (for W-IND, the image of p's interval under 2|p − ½|). */
  readonly interval: Interval;
  /** Interval on p itself. */
  readonly pInterval: Interval;
  readonly kind: Game['kind'];
  readonly method: IntervalMethod;
  readonly confidence: number;
  readonly seed: string;
  readonly firstTrial: number;
  /** Whether a sequential run stopped because it reached its half-width (false: hit the trial cap). */
  readonly stoppedEarly: boolean;
  /** The level the interval was computed at: `confidence`, or in sequential mode the per-look level 1 − α·6/(π²j²) that makes the stopped interval's coverage ≥ `confidence`. */
  readonly intervalLevel: number;
  /** Sequential mode: the number of looks (batches) before stopping. */
  readonly looks?: number;
  /** Mean cost per trial of each algorithm label. */
  readonly meanCosts: Readonly<Record<string, Cost>>;
  readonly assumptions: readonly AssumptionSummary[];
  /**
   * EffiInf games: how many trials' adversaries were admissible under Definition 3.3's cost
   * restriction t < Cost(Run′), proved inadmissible, or of unverified cost; and the verdict — the
   * adversary is in the class Definition 3.3 quantifies over only if every trial was admissible.
   */
  readonly admissibility?: AdmissibilitySummary;
  /** The Same relation(s) the game's trials used (`details.same`), when they record one. */
  readonly same?: string;
  readonly results?: readonly TrialResult<D>[];
}

export interface AdmissibilitySummary {
  readonly admissible: number;
  readonly inadmissible: number;
  readonly unverified: number;
  readonly verdict: 'admissible' | 'inadmissible' | 'cost unverified';
}

/** Count the trials' `details.admissibility`; undefined when the game records none. */
function summarizeAdmissibility(results: readonly TrialResult[]): AdmissibilitySummary | undefined {
  let admissible = 0;
  let inadmissible = 0;
  let unverified = 0;
  for (const r of results) {
    const a = r.details['admissibility'];
    if (a === 'admissible') admissible++;
    else if (a === 'inadmissible') inadmissible++;
    else if (a === 'unverified') unverified++;
  }
  if (admissible + inadmissible + unverified === 0) return undefined;
  const verdict = inadmissible > 0 ? 'inadmissible' : unverified > 0 ? 'cost unverified' : 'admissible';
  return { admissible, inadmissible, unverified, verdict };
}

/** Play trials [from, to) of a game on this thread. */
export function playTrials(game: Game, seed: string, from: number, to: number): TrialResult[] {
  const out: TrialResult[] = [];
  for (let trial = from; trial < to; trial++) out.push(game.play(trialContext(seed, trial)));
  return out;
}

interface Validated {
  readonly trials: number;
  readonly seed: string;
  readonly confidence: number;
  readonly method: IntervalMethod;
  readonly workers: number;
  readonly autoThreads: boolean;
  readonly keepTrials: boolean;
  readonly firstTrial: number;
  readonly sequential?: SequentialOptions;
}

function validate(options: EstimateOptions): Validated {
  const decoded = EstimateOptionsCodec.decode(options);
  if (isLeft(decoded)) throw new EstimateOptionsError('estimateAdvantage: options must be { trials, seed, confidence?, method?, workers?, sequential? }');
  const confidence = options.confidence ?? 0.95;
  const workers = options.workers ?? 1;
  const firstTrial = options.firstTrial ?? 0;
  if (!Number.isInteger(options.trials) || options.trials < 1) throw new EstimateOptionsError(`trials must be a positive integer, got ${options.trials}`);
  if (!(confidence > 0 && confidence < 1)) throw new EstimateOptionsError(`confidence must be in (0, 1), got ${confidence}`);
  if (!Number.isInteger(workers) || workers < 1) throw new EstimateOptionsError(`workers must be a positive integer, got ${workers}`);
  if (!Number.isInteger(firstTrial) || firstTrial < 0) throw new EstimateOptionsError(`firstTrial must be a non-negative integer, got ${firstTrial}`);
  if (options.sequential !== undefined) {
    const { halfWidth, batch = 50 } = options.sequential;
    if (!(halfWidth > 0 && halfWidth < 1)) throw new EstimateOptionsError(`sequential.halfWidth must be in (0, 1), got ${halfWidth}`);
    if (!Number.isInteger(batch) || batch < 1) throw new EstimateOptionsError(`sequential.batch must be a positive integer, got ${batch}`);
  }
  return {
    trials: options.trials,
    seed: String(options.seed),
    confidence,
    method: options.method ?? 'clopper-pearson',
    workers,
    autoThreads: options.autoThreads ?? true,
    keepTrials: options.keepTrials ?? false,
    firstTrial,
    sequential: options.sequential,
  };
}

/** Aggregate trial results into an estimate. */
export function summarize(
  game: Pick<Game, 'name' | 'kind'>,
  results: readonly TrialResult[],
  options: { seed: string; confidence: number; method: IntervalMethod; firstTrial: number; stoppedEarly: boolean; keepTrials: boolean },
): AdvantageEstimate {
  const n = results.length;
  const successes = results.filter((r) => r.win).length;
  const p = successes / n;
  const pInterval = probabilityInterval(options.method, successes, n, options.confidence);
  const distinguishing = game.kind === 'distinguishing';
  const costTotals = new Map<string, { flops: number; wallMs: number }>();
  const assumptionCounts = new Map<string, { name: string; statement: string; held: number; violated: number }>();
  for (const r of results) {
    for (const [label, cost] of Object.entries(r.costs)) {
      const acc = costTotals.get(label) ?? { flops: 0, wallMs: 0 };
      acc.flops += cost.flops;
      acc.wallMs += cost.wallMs;
      costTotals.set(label, acc);
    }
    for (const a of r.assumptions) {
      const acc = assumptionCounts.get(a.name) ?? { name: a.name, statement: a.statement, held: 0, violated: 0 };
      if (a.held) acc.held++;
      else acc.violated++;
      assumptionCounts.set(a.name, acc);
    }
  }
  const admissibility = summarizeAdmissibility(results);
  const sameNames = [...new Set(results.map((r) => r.details['same']).filter((v): v is string => typeof v === 'string'))];
  const meanCosts = Object.fromEntries(
    [...costTotals.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([label, c]) => [label, { flops: c.flops / n, wallMs: c.wallMs / n }]),
  );
  return {
    game: game.name,
    trials: n,
    successes,
    p,
    advantage: distinguishing ? 2 * Math.abs(p - 0.5) : p,
    interval: distinguishing ? distinguishingInterval(pInterval) : pInterval,
    pInterval,
    kind: game.kind,
    method: options.method,
    confidence: options.confidence,
    seed: options.seed,
    firstTrial: options.firstTrial,
    stoppedEarly: options.stoppedEarly,
    intervalLevel: options.confidence,
    meanCosts,
    assumptions: [...assumptionCounts.values()],
    ...(admissibility === undefined ? {} : { admissibility }),
    ...(sameNames.length === 0 ? {} : { same: sameNames.join(' | ') }),
    ...(options.keepTrials ? { results } : {}),
  };
}

/**
 * Estimate a game's advantage on this thread. Trial i is played with the streams of (seed, i),
 * so the estimate is a function of (game, seed, trials) alone.
 */
export function estimateAdvantageSync<G extends Game>(game: G, options: EstimateOptions): AdvantageEstimate<DetailsOf<G>> {
  const o = validate(options);
  // The results are the game's own trials (TrialResult<D>); the loop below sees them as any trial.
  return runEstimate(game, o, (from, to) => playTrials(game, o.seed, from, to)) as AdvantageEstimate<DetailsOf<G>>;
}

/**
 * Estimate a game's advantage: { trials, successes, p, advantage, interval, method, confidence,
 * seed, … }. With `workers > 1` trials run on worker threads (the game needs a `ref`), with
 * results identical to one thread for the same seed. With `sequential`, stops as soon as the
 * interval's half-width on the advantage is at most ε, checked after each batch.
 */
export async function estimateAdvantage<G extends Game>(game: G, options: EstimateOptions): Promise<AdvantageEstimate<DetailsOf<G>>> {
  // The results are the game's own trials (TrialResult<D>, from this thread or the same game rebuilt on a worker).
  return (await estimateAnyGame(game, options)) as AdvantageEstimate<DetailsOf<G>>;
}

async function estimateAnyGame(game: Game, options: EstimateOptions): Promise<AdvantageEstimate> {
  const o = validate(options);
  if (o.workers === 1) return runEstimate(game, o, (from, to) => playTrials(game, o.seed, from, to));
  if (game.ref === undefined) {
    throw new EstimateOptionsError(`estimateAdvantage: ${game.name} has no ref; worker threads need one to rebuild the game (see withRef)`);
  }
  // A pilot on this thread: trials too cheap to ship are played here (shipping a chunk costs more
  // than playing it). Which threads play a trial never changes its result.
  const pilotEnd = o.firstTrial + Math.min(o.trials, PILOT_TRIALS);
  const started = performance.now();
  const pilot = playTrials(game, o.seed, o.firstTrial, pilotEnd);
  const perTrialMs = (performance.now() - started) / (pilotEnd - o.firstTrial);
  const withPilot = async (from: number, to: number, rest: (from: number, to: number) => Promise<TrialResult[]>): Promise<TrialResult[]> => {
    const reused = pilot.slice(Math.max(0, from - o.firstTrial), Math.max(0, Math.min(to, pilotEnd) - o.firstTrial));
    const next = from + reused.length;
    return next >= to ? reused : [...reused, ...(await rest(next, to))];
  };
  const remainingMs = perTrialMs * (o.firstTrial + o.trials - pilotEnd);
  if (o.autoThreads && (perTrialMs < MIN_SHIPPED_TRIAL_MS || remainingMs < MIN_SHIPPED_WORK_MS)) {
    return runEstimateAsync(game, o, (from, to) => withPilot(from, to, async (a, b) => playTrials(game, o.seed, a, b)));
  }
  const pool = await sharedPool(game.ref, Math.min(o.workers, o.trials));
  return runEstimateAsync(game, o, (from, to) => withPilot(from, to, (a, b) => pool.play(o.seed, a, b)));
}

/** Trials played on this thread first, to time one trial. */
const PILOT_TRIALS = 16;
/** Below this per-trial time, messaging a chunk to a worker costs more than playing it (measured: W-IND toy trials, 0.1 ms, ran slower on 2 workers). */
const MIN_SHIPPED_TRIAL_MS = 0.25;
/** Below this much remaining work, starting or waking threads does not pay. */
const MIN_SHIPPED_WORK_MS = 300;

const halfWidthOf = (e: AdvantageEstimate): number => (e.interval.upper - e.interval.lower) / 2;

/**
 * The trial ranges played between looks. Sequential runs look after batch, 2·batch, 4·batch, …
 * trials (doubling): few looks, so the union-bound levels stay moderate.
 */
function batches(o: Validated): Array<[number, number]> {
  const end = o.firstTrial + o.trials;
  if (o.sequential === undefined) return [[o.firstTrial, end]];
  const out: Array<[number, number]> = [];
  let from = o.firstTrial;
  let size = o.sequential.batch ?? 50;
  while (from < end) {
    const to = Math.min(end, from + size);
    out.push([from, to]);
    size = to - o.firstTrial; // the next look doubles the trials played so far
    from = to;
  }
  return out;
}

function summaryOptions(o: Validated, stoppedEarly: boolean, confidence = o.confidence) {
  return { seed: o.seed, confidence, method: o.method, firstTrial: o.firstTrial, stoppedEarly, keepTrials: o.keepTrials };
}

/** The estimate at sequential look j, with the union-bound level (see SequentialOptions). */
function atLook(game: Game, results: readonly TrialResult[], o: Validated, look: number, stoppedEarly: boolean): AdvantageEstimate {
  const level = 1 - ((1 - o.confidence) * 6) / (Math.PI * Math.PI * look * look);
  return { ...summarize(game, results, summaryOptions(o, stoppedEarly, level)), confidence: o.confidence, intervalLevel: level, looks: look };
}

/** The stopping rule, shared by the one-thread and worker-thread loops: after each batch, stop once the half-width is reached. */
function* lookSchedule(game: Game, o: Validated, results: TrialResult[]): Generator<[number, number], AdvantageEstimate, void> {
  let look = 0;
  for (const [from, to] of batches(o)) {
    yield [from, to];
    look++;
    if (o.sequential !== undefined) {
      const e = atLook(game, results, o, look, true);
      if (halfWidthOf(e) <= o.sequential.halfWidth) return e;
    }
  }
  return o.sequential !== undefined ? atLook(game, results, o, look, false) : summarize(game, results, summaryOptions(o, false));
}

function runEstimate(game: Game, o: Validated, play: (from: number, to: number) => TrialResult[]): AdvantageEstimate {
  const results: TrialResult[] = [];
  const schedule = lookSchedule(game, o, results);
  for (let step = schedule.next(); ; step = schedule.next()) {
    if (step.done === true) return step.value;
    results.push(...play(step.value[0], step.value[1]));
  }
}

async function runEstimateAsync(game: Game, o: Validated, play: (from: number, to: number) => Promise<TrialResult[]>): Promise<AdvantageEstimate> {
  const results: TrialResult[] = [];
  const schedule = lookSchedule(game, o, results);
  for (let step = schedule.next(); ; step = schedule.next()) {
    if (step.done === true) return step.value;
    results.push(...(await play(step.value[0], step.value[1])));
  }
}
