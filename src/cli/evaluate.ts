import type { AdvantageEstimate } from '../estimate/estimate';
import { estimateAdvantage } from '../estimate/estimate';
import type { IntervalMethod } from '../estimate/intervals';
import { CatalogGameArgs, catalogGame, scorecardEntries } from './catalog';

export interface EvaluateOptions {
  readonly scheme: string;
  readonly trials: number;
  readonly seed: string;
  readonly workers: number;
  readonly confidence: number;
  readonly method: IntervalMethod;
  /** D, the scheme's training data (its catalogue default when absent). */
  readonly data?: unknown;
  readonly inputs?: number;
}

export interface ScorecardRow {
  readonly game: string;
  readonly adversary: string | null;
  readonly estimate: Omit<AdvantageEstimate, 'results'>;
  /** q-input EffiInf: the median over trials of the smallest winning q (null if never). */
  readonly medianBreakEven?: number | null;
  /** API-access games: the mean number of Run′ queries the adversary made (and the largest). */
  readonly queries?: { readonly mean: number; readonly max: number };
}

export interface Scorecard {
  readonly tool: 'weightgames';
  readonly version: string;
  readonly command: 'evaluate';
  readonly options: EvaluateOptions;
  readonly rows: readonly ScorecardRow[];
}

const median = (values: number[]): number | null => {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
};

/** Play every catalogue game for a scheme; `onRow` is told as each row finishes. */
export async function evaluateScheme(options: EvaluateOptions, version: string, onRow?: (row: ScorecardRow, index: number, total: number) => void): Promise<Scorecard> {
  const entries = scorecardEntries(options.scheme, options.data, options.inputs);
  const rows: ScorecardRow[] = [];
  for (const [index, args] of entries.entries()) {
    const row = await evaluateEntry(args, options);
    rows.push(row);
    onRow?.(row, index, entries.length);
  }
  return { tool: 'weightgames', version, command: 'evaluate', options, rows };
}

async function evaluateEntry(args: CatalogGameArgs, options: EvaluateOptions): Promise<ScorecardRow> {
  const game = catalogGame(args);
  const isQ = args.game === 'effiinf-q';
  const isApi = args.game === 'wrec-api' || args.game === 'effiinf-api';
  const estimate = await estimateAdvantage(game, {
    trials: options.trials,
    seed: options.seed,
    workers: options.workers,
    confidence: options.confidence,
    method: options.method,
    keepTrials: isQ || isApi,
  });
  const { results, ...rest } = estimate;
  if (isApi) {
    const used = (results ?? []).map((r) => Number(r.details.queries));
    const queries = { mean: used.reduce((a, b) => a + b, 0) / Math.max(used.length, 1), max: Math.max(0, ...used) };
    return { game: `${args.game}(q≤${args.queries})`, adversary: args.adversary ?? null, estimate: rest, queries };
  }
  const gameLabel = isQ ? `effiinf×${args.inputs}` : args.game;
  if (!isQ) return { game: gameLabel, adversary: args.adversary ?? null, estimate: rest };
  const breakEvens = (results ?? []).map((r) => r.details.breakEven).filter((b): b is number => typeof b === 'number');
  return { game: gameLabel, adversary: args.adversary ?? null, estimate: rest, medianBreakEven: breakEvens.length * 2 > (results ?? []).length ? median(breakEvens) : null };
}

const fmt = (x: number): string => x.toFixed(3);
const flops = (x: number | undefined): string => (x === undefined ? '—' : x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(0));

/** Definition 3.3's restriction on EffiInf adversaries, as a cell: yes / no / cost unverified, with the trial counts. */
function admissibleCell(e: ScorecardRow['estimate']): string {
  const a = e.admissibility;
  if (a === undefined) return '';
  if (a.verdict === 'admissible') return `yes ${a.admissible}/${e.trials}`;
  if (a.verdict === 'inadmissible') return `no ${a.admissible}/${e.trials}`;
  return `cost unverified ${a.unverified}/${e.trials}`;
}

/** The scorecard as a fixed-width table. */
export function formatScorecard(card: Scorecard): string {
  const header = ['game', 'adversary', 'wins/trials', 'advantage', 'interval', 'admissible', 'adv FLOPs', 'Run′ FLOPs', 'break-even q', 'Run′ queries'];
  const lines = card.rows.map((r) => {
    const e = r.estimate;
    return [
      r.game,
      r.adversary ?? '—',
      `${e.successes}/${e.trials}`,
      fmt(e.advantage),
      `[${fmt(e.interval.lower)}, ${fmt(e.interval.upper)}] ${e.method === 'wilson' ? 'Wilson' : 'CP'} ${Math.round(e.confidence * 100)}%`,
      admissibleCell(e),
      flops(e.meanCosts['adversary']?.flops),
      flops(e.meanCosts['runReleased']?.flops),
      r.medianBreakEven === undefined ? '' : r.medianBreakEven === null ? 'never' : String(r.medianBreakEven),
      r.queries === undefined ? '' : `${r.queries.mean.toFixed(0)} (max ${r.queries.max})`,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const render = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const o = card.options;
  const sames = [...new Set(card.rows.map((r) => r.estimate.same).filter((v): v is string => v !== undefined))];
  return [
    `weightgames ${card.version} — scheme ${o.scheme}, ${o.trials} trials, seed ${o.seed}, ${o.method} ${(o.confidence * 100).toFixed(0)}% intervals, workers ${o.workers}`,
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
