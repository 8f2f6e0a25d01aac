import * as t from 'io-ts';
import { isLeft } from 'fp-ts/Either';
import { PathReporter } from 'io-ts/PathReporter';
import type { Game } from '../src/kernel/game';
import { WeightgamesError } from '../src/kernel/errors';
import { effiInfFromWRec, windFromWRec } from '../src/kernel/reductions';
import { PackedSchemeEntry, SchemeEntry, isSchemeEntry } from '../src/kernel/registry';
import { AdvantageEstimate, estimateAdvantage } from '../src/kernel/estimate/estimate';
import type { IntervalMethod } from '../src/kernel/estimate/intervals';
import { compiledPath } from '../src/kernel/estimate/compiledPath';
import { correctnessGame } from './correctness';
import { wrecGame } from './wrec';
import { effiInfGame } from './effiInf';
import { effiInfQInputGame } from './qInputEffiInf';
import { windGame } from './wind';
import { effiInfApiGame, wrecApiGame } from './apiAccess';

/**
 * The scorecard: every game of §3 against every adversary a scheme's registry entry lists, and
 * B_A for every WRec adversary A through the reductions the entry says apply.
 */

export class ScorecardError extends WeightgamesError {
  override readonly name = 'ScorecardError';
  readonly kind = 'usage' as const;
}

/** Who plays a row of EffiInf or W-IND: a direct adversary, or B_A built from a WRec adversary by a reduction. */
const RowAdversaryCodec = t.union([
  t.type({ direct: t.string }),
  t.type({ reduction: t.keyof({ effiInfFromWRec: null, windFromWRec: null }), wrec: t.string }),
]);
export type RowAdversary = t.TypeOf<typeof RowAdversaryCodec>;

/** One row of a scorecard: a game and its adversary, as plain data (it crosses worker threads). */
export const ScorecardRowSpecCodec = t.union([
  t.type({ game: t.literal('correctness') }),
  t.type({ game: t.literal('wrec'), adversary: t.string }),
  t.type({ game: t.literal('effiinf'), adversary: RowAdversaryCodec }),
  t.type({ game: t.literal('effiinf-q'), adversary: RowAdversaryCodec, inputs: t.number }),
  t.type({ game: t.literal('wind'), adversary: RowAdversaryCodec }),
  t.type({ game: t.literal('wrec-api'), adversary: t.string, queries: t.number }),
  t.type({ game: t.literal('effiinf-api'), adversary: t.string, queries: t.number, inputs: t.number }),
]);
export type ScorecardRowSpec = t.TypeOf<typeof ScorecardRowSpecCodec>;

/** The adversary's name as the paper writes it: A, or B[A] for the reduction built from A. */
export const adversaryLabel = (row: ScorecardRowSpec): string | null => {
  if (row.game === 'correctness') return null;
  const adversary = row.adversary;
  if (typeof adversary === 'string') return adversary;
  return 'direct' in adversary ? adversary.direct : `B[${adversary.wrec}]`;
};

/** The game's name in a scorecard: effiinf×q for q inputs, the budget for API rows. */
export const gameLabel = (row: ScorecardRowSpec): string => {
  switch (row.game) {
    case 'effiinf-q':
      return `effiinf×${row.inputs}`;
    case 'wrec-api':
    case 'effiinf-api':
      return `${row.game}(q≤${row.queries})`;
    default:
      return row.game;
  }
};

/** Every row the entry has, in a fixed order; `inputs` overrides the entry's q of the q-input rows. */
export function scorecardRows(entry: PackedSchemeEntry, options: { readonly inputs?: number } = {}): ScorecardRowSpec[] {
  return entry.use((e) => {
    const inputs = options.inputs ?? e.inputs ?? 8;
    const wrecNames = Object.keys(e.wrec);
    const direct = Object.keys(e.effiinf ?? {}).map((name): RowAdversary => ({ direct: name }));
    const reducedEffiInf = e.reductions.effiInfFromWRec ? wrecNames.map((wrec): RowAdversary => ({ reduction: 'effiInfFromWRec', wrec })) : [];
    const reducedWind = e.reductions.windFromWRec ? wrecNames.map((wrec): RowAdversary => ({ reduction: 'windFromWRec', wrec })) : [];
    const effiInfAdversaries = [...reducedEffiInf, ...direct];
    const api = e.api;
    return [
      { game: 'correctness' as const },
      ...wrecNames.map((adversary) => ({ game: 'wrec' as const, adversary })),
      ...effiInfAdversaries.map((adversary) => ({ game: 'effiinf' as const, adversary })),
      ...effiInfAdversaries.map((adversary) => ({ game: 'effiinf-q' as const, adversary, inputs })),
      ...Object.keys(e.wind ?? {}).map((name) => ({ game: 'wind' as const, adversary: { direct: name } })),
      ...reducedWind.map((adversary) => ({ game: 'wind' as const, adversary })),
      ...(api === undefined ? [] : Object.entries(api.wrec ?? {}).map(([adversary, row]) => ({ game: 'wrec-api' as const, adversary, queries: row.queries ?? api.queries }))),
      ...(api === undefined ? [] : Object.keys(api.effiinf ?? {}).map((adversary) => ({ game: 'effiinf-api' as const, adversary, queries: api.queries, inputs: 1 }))),
    ];
  });
}

/** Where a worker thread finds an entry: `require(module)[exportName]`, then `[key]` for a catalogue. */
export const EntryLocationCodec = t.intersection([t.type({ module: t.string, exportName: t.string }), t.partial({ key: t.string })]);
export type EntryLocation = t.TypeOf<typeof EntryLocationCodec>;

const ScorecardGameArgsCodec = t.type({ entry: EntryLocationCodec, row: ScorecardRowSpecCodec, data: t.unknown });

/** The entry at `location`, checked to be one `defineScheme` made. */
export function loadSchemeEntry(location: EntryLocation): PackedSchemeEntry {
  let exported: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    // A worker thread runs plain Node: a TypeScript source of this package loads as its compiled twin.
    exported = (require(compiledPath(location.module)) as Record<string, unknown>)[location.exportName];
  } catch (error) {
    throw new ScorecardError(`cannot load the scheme module ${location.module}: ${(error as Error).message}`);
  }
  const found = location.key === undefined ? exported : typeof exported === 'object' && exported !== null ? (exported as Record<string, unknown>)[location.key] : undefined;
  const where = `${location.module} (export ${location.exportName}${location.key === undefined ? '' : `, key ${location.key}`})`;
  if (!isSchemeEntry(found)) throw new ScorecardError(`no scheme entry at ${where}: export one made by defineScheme(…)`);
  return found;
}

const lookup = <A>(table: Readonly<Record<string, A>> | undefined, name: string, what: string, scheme: string): A => {
  const found = table === undefined || !Object.prototype.hasOwnProperty.call(table, name) ? undefined : table[name];
  if (found === undefined) throw new ScorecardError(`no ${what} "${name}" for ${scheme}; known: ${Object.keys(table ?? {}).join(', ') || 'none'}`);
  return found;
};

/** D for a row: the entry's default, or `data` decoded with the entry's codec. */
const decodeData = <D, W, X, Y, PK, SK, R>(e: SchemeEntry<D, W, X, Y, PK, SK, R>, data: unknown): D => {
  if (data === undefined) return e.defaultData;
  const decoded = e.data.decode(data);
  if (isLeft(decoded)) throw new ScorecardError(`invalid data for ${e.name}: ${PathReporter.report(decoded).join('; ')}`);
  return decoded.right;
};

function typedGame<D, W, X, Y, PK, SK, R>(e: SchemeEntry<D, W, X, Y, PK, SK, R>, row: ScorecardRowSpec, data: unknown): Game {
  const d = decodeData(e, data);
  const scheme = e.build(d);
  const wrecAdversary = (name: string) => lookup(e.wrec, name, 'WRec adversary', e.name)();
  const applies = (reduction: 'effiInfFromWRec' | 'windFromWRec'): void => {
    if (!e.reductions[reduction]) throw new ScorecardError(`${reduction} does not apply to ${e.name} (its entry says so)`);
  };
  switch (row.game) {
    case 'correctness':
      return correctnessGame(scheme, d);
    case 'wrec':
      return wrecGame(scheme, d, wrecAdversary(row.adversary));
    case 'effiinf': {
      const a = row.adversary;
      if ('direct' in a) return effiInfGame(scheme, d, lookup(e.effiinf, a.direct, 'EffiInf adversary', e.name)().single);
      applies('effiInfFromWRec');
      return effiInfGame(scheme, d, effiInfFromWRec(scheme, wrecAdversary(a.wrec)));
    }
    case 'effiinf-q': {
      const a = row.adversary;
      if ('direct' in a) return lookup(e.effiinf, a.direct, 'EffiInf adversary', e.name)().stateful.use((adversary) => effiInfQInputGame(scheme, d, adversary, { inputs: row.inputs }));
      applies('effiInfFromWRec');
      return effiInfQInputGame(scheme, d, effiInfFromWRec(scheme, wrecAdversary(a.wrec)), { inputs: row.inputs });
    }
    case 'wind': {
      const a = row.adversary;
      if ('direct' in a) return windGame(scheme, d, lookup(e.wind, a.direct, 'W-IND adversary', e.name)());
      applies('windFromWRec');
      return windGame(scheme, d, windFromWRec(scheme, wrecAdversary(a.wrec)));
    }
    case 'wrec-api': {
      const entryRow = lookup(e.api?.wrec, row.adversary, 'WRec-API adversary', e.name);
      return wrecApiGame(scheme, d, entryRow.adversary(), { queries: row.queries, same: entryRow.same() });
    }
    case 'effiinf-api':
      return lookup(e.api?.effiinf, row.adversary, 'EffiInf-API adversary', e.name)().use((adversary) =>
        effiInfApiGame(scheme, d, adversary, { queries: row.queries, inputs: row.inputs }),
      );
  }
}

/**
 * The game of one scorecard row. With `location` (where the entry can be loaded from), the game
 * carries a ref, so it runs on worker threads too.
 */
export function scorecardGame(entry: PackedSchemeEntry, row: ScorecardRowSpec, options: { readonly data?: unknown; readonly location?: EntryLocation } = {}): Game {
  const game = entry.use((e) => typedGame(e, row, options.data));
  if (options.location === undefined) return game;
  return { ...game, ref: { module: __filename, exportName: 'scorecardGameFromArgs', args: { entry: options.location, row, data: options.data } } };
}

/** Worker threads' entry point: rebuild a scorecard game from its plain-data arguments. */
export function scorecardGameFromArgs(raw: unknown): Game {
  const decoded = ScorecardGameArgsCodec.decode(raw);
  if (isLeft(decoded)) throw new ScorecardError(`invalid scorecard game arguments: ${PathReporter.report(decoded).join('; ')}`);
  const { entry, row, data } = decoded.right;
  return scorecardGame(loadSchemeEntry(entry), row, { data, location: entry });
}

export interface ScorecardOptions {
  readonly trials: number;
  readonly seed: string;
  /** Worker threads; > 1 needs `location`. */
  readonly workers?: number;
  readonly confidence?: number;
  readonly method?: IntervalMethod;
  /** D as JSON (decoded with the entry's codec); the entry's default when absent. */
  readonly data?: unknown;
  /** q of the q-input EffiInf rows. */
  readonly inputs?: number;
  /** Where worker threads load the entry from. */
  readonly location?: EntryLocation;
}

export interface ScorecardRow {
  readonly spec: ScorecardRowSpec;
  readonly game: string;
  readonly adversary: string | null;
  readonly estimate: Omit<AdvantageEstimate, 'results'>;
  /** q-input EffiInf: the median over trials of the smallest winning q (null if never, or on fewer than half the trials). */
  readonly medianBreakEven?: number | null;
  /** API-access games: the mean number of Run′ queries the adversary made (and the largest). */
  readonly queries?: { readonly mean: number; readonly max: number };
}

export interface Scorecard {
  readonly scheme: string;
  readonly describe: string;
  readonly options: ScorecardOptions & { readonly workers: number; readonly confidence: number; readonly method: IntervalMethod };
  readonly rows: readonly ScorecardRow[];
}

const median = (values: readonly number[]): number | null => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? null;
};

/** Play every row of the entry's scorecard; `onRow` is told as each row finishes. */
export async function scorecard(
  entry: PackedSchemeEntry,
  options: ScorecardOptions,
  onRow?: (row: ScorecardRow, index: number, total: number) => void,
): Promise<Scorecard> {
  const settled = { ...options, workers: options.workers ?? 1, confidence: options.confidence ?? 0.95, method: options.method ?? ('clopper-pearson' as const) };
  if (settled.workers > 1 && settled.location === undefined) throw new ScorecardError('scorecard: worker threads need `location`, where they can load the scheme entry from');
  const specs = scorecardRows(entry, { ...(options.inputs === undefined ? {} : { inputs: options.inputs }) });
  const rows: ScorecardRow[] = [];
  for (const [index, spec] of specs.entries()) {
    const row = await playRow(entry, spec, settled);
    rows.push(row);
    onRow?.(row, index, specs.length);
  }
  return { scheme: entry.name, describe: entry.describe, options: settled, rows };
}

async function playRow(entry: PackedSchemeEntry, spec: ScorecardRowSpec, options: Scorecard['options']): Promise<ScorecardRow> {
  const game = scorecardGame(entry, spec, { data: options.data, ...(options.location === undefined ? {} : { location: options.location }) });
  const keepTrials = spec.game === 'effiinf-q' || spec.game === 'wrec-api' || spec.game === 'effiinf-api';
  const { results, ...estimate } = await estimateAdvantage(game, {
    trials: options.trials,
    seed: options.seed,
    workers: options.workers,
    confidence: options.confidence,
    method: options.method,
    keepTrials,
  });
  const base = { spec, game: gameLabel(spec), adversary: adversaryLabel(spec), estimate };
  const trials = results ?? [];
  if (spec.game === 'wrec-api' || spec.game === 'effiinf-api') {
    const used = trials.map((r) => Number(r.details['queries']));
    return { ...base, queries: { mean: used.reduce((a, b) => a + b, 0) / Math.max(used.length, 1), max: Math.max(0, ...used) } };
  }
  if (spec.game === 'effiinf-q') {
    const breakEvens = trials.map((r) => r.details['breakEven']).filter((b): b is number => typeof b === 'number');
    return { ...base, medianBreakEven: breakEvens.length * 2 > trials.length ? median(breakEvens) : null };
  }
  return base;
}

const fixed3 = (x: number): string => x.toFixed(3);
const flops = (x: number | undefined): string => (x === undefined ? '—' : x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(0));

/** Definition 3.3's restriction on EffiInf adversaries, as a cell: yes / no / cost unverified, with the trial counts. */
function admissibleCell(e: ScorecardRow['estimate']): string {
  const a = e.admissibility;
  if (a === undefined) return '';
  if (a.verdict === 'admissible') return `yes ${a.admissible}/${e.trials}`;
  if (a.verdict === 'inadmissible') return `no ${a.admissible}/${e.trials}`;
  return `cost unverified ${a.unverified}/${e.trials}`;
}

/** The scorecard as a fixed-width table; `title` is its first line. */
export function formatScorecard(card: Scorecard, title: string = `scheme ${card.scheme}`): string {
  const header = ['game', 'adversary', 'wins/trials', 'advantage', 'interval', 'admissible', 'adv FLOPs', 'Run′ FLOPs', 'break-even q', 'Run′ queries'];
  const lines = card.rows.map((r) => {
    const e = r.estimate;
    return [
      r.game,
      r.adversary ?? '—',
      `${e.successes}/${e.trials}`,
      fixed3(e.advantage),
      `[${fixed3(e.interval.lower)}, ${fixed3(e.interval.upper)}] ${e.method === 'wilson' ? 'Wilson' : 'CP'} ${Math.round(e.confidence * 100)}%`,
      admissibleCell(e),
      flops(e.meanCosts['adversary']?.flops),
      flops(e.meanCosts['runReleased']?.flops),
      r.medianBreakEven === undefined ? '' : r.medianBreakEven === null ? 'never' : String(r.medianBreakEven),
      r.queries === undefined ? '' : `${r.queries.mean.toFixed(0)} (max ${r.queries.max})`,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const render = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  const o = card.options;
  const sames = [...new Set(card.rows.map((r) => r.estimate.same).filter((v): v is string => v !== undefined))];
  return [
    `${title}, ${o.trials} trials, seed ${o.seed}, ${o.method} ${(o.confidence * 100).toFixed(0)}% intervals, workers ${o.workers}`,
    render(header),
    render(widths.map((w) => '-'.repeat(w))),
    ...lines.map(render),
    '',
    `Same: ${sames.join('; ')}.`,
    'EffiInf rows: advantage = Pr[Same(y*, y′)] (the game\'s output); Definition 3.3 counts the adversary only if "admissible" is yes — t < Cost(Run′) on every trial,',
    'with t fully metered (library code, or vouched for); "cost unverified": the meter cannot see all of its work. effiinf×q is this project\'s q-input extension.',
    ...(card.rows.some((r) => r.queries !== undefined)
      ? ['wrec-api / effiinf-api: generic adversaries with a Run′(pk, W′, ·) oracle (API access, docs/generic-attacks.md); "Run′ queries": mean (max) per trial. In wrec-api the oracle\'s work is the game\'s; in effiinf-api it is charged to the adversary.']
      : []),
  ].join('\n');
}
