import * as path from 'node:path';
import * as fs from 'node:fs';
import type { IntervalMethod } from '../../kernel/estimate/intervals';
import { PackedSchemeEntry, isSchemeEntry } from '../../kernel/registry';
import { WeightgamesError } from '../../kernel/errors';
import { EntryLocation, Scorecard, ScorecardRow, formatScorecard as formatTable, scorecard } from '../../../games/scorecard';
import { builtinSchemeLocation, builtinSchemes } from '../../../adversaries/catalog';

export class SchemeModuleError extends WeightgamesError {
  override readonly name = 'SchemeModuleError';
  readonly kind = 'usage' as const;
}

/** `--scheme` names a built-in scheme, or a path (with a slash or a .js/.cjs ending) to a module exporting an entry. */
const looksLikePath = (value: string): boolean => value.includes('/') || value.includes(path.sep) || /\.(c?js)$/.test(value);

/**
 * The entry `--scheme` names, and where worker threads load it from: a built-in name, or a
 * CommonJS module exporting one entry made by `defineScheme` (as `entry`, `default`, or its only
 * entry-valued export).
 */
export function resolveScheme(name: string): { readonly entry: PackedSchemeEntry; readonly location: EntryLocation } {
  if (!looksLikePath(name)) {
    const entry = Object.prototype.hasOwnProperty.call(builtinSchemes, name) ? builtinSchemes[name] : undefined;
    if (entry === undefined) throw new SchemeModuleError(`unknown scheme "${name}"; known: ${Object.keys(builtinSchemes).join(', ')} (or a path to a module exporting a defineScheme entry)`);
    return { entry, location: builtinSchemeLocation(name) };
  }
  const module = path.resolve(name);
  if (!fs.existsSync(module)) throw new SchemeModuleError(`scheme module not found: ${name}`);
  let exported: Record<string, unknown>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    exported = require(module) as Record<string, unknown>;
  } catch (error) {
    throw new SchemeModuleError(`cannot load scheme module ${name}: ${(error as Error).message.split('\n')[0]}`);
  }
  const named = ['entry', 'default'].find((key) => isSchemeEntry(exported[key]));
  const candidates = named !== undefined ? [named] : Object.keys(exported).filter((key) => isSchemeEntry(exported[key]));
  const exportName = candidates[0];
  if (exportName === undefined || candidates.length > 1) {
    throw new SchemeModuleError(
      candidates.length > 1
        ? `scheme module ${name} exports several entries (${candidates.join(', ')}): export the one to evaluate as \`entry\``
        : `scheme module ${name} exports no scheme entry: export one made by defineScheme(…).attacks(…) as \`entry\``,
    );
  }
  return { entry: exported[exportName] as PackedSchemeEntry, location: { module, exportName } };
}

export interface EvaluateOptions {
  /** A built-in scheme's name, or the path of a module exporting an entry. */
  readonly scheme: string;
  readonly trials: number;
  readonly seed: string;
  readonly workers: number;
  readonly confidence: number;
  readonly method: IntervalMethod;
  /** D as JSON (the entry's default when absent). */
  readonly data?: unknown;
  readonly inputs?: number;
}

/** What `evaluate --json` prints: the scorecard with the tool, its version and the options that made it. */
export interface EvaluateReport {
  readonly tool: 'weightgames';
  readonly version: string;
  readonly command: 'evaluate';
  readonly options: EvaluateOptions;
  readonly rows: readonly ScorecardRow[];
}

/** Play the scheme's scorecard for the CLI; `onRow` is told as each row finishes. */
export async function evaluateScheme(options: EvaluateOptions, version: string, onRow?: (row: ScorecardRow, index: number, total: number) => void): Promise<EvaluateReport> {
  const { entry, location } = resolveScheme(options.scheme);
  const card: Scorecard = await scorecard(
    entry,
    {
      trials: options.trials,
      seed: options.seed,
      workers: options.workers,
      confidence: options.confidence,
      method: options.method,
      location,
      ...(options.data === undefined ? {} : { data: options.data }),
      ...(options.inputs === undefined ? {} : { inputs: options.inputs }),
    },
    onRow,
  );
  return { tool: 'weightgames', version, command: 'evaluate', options, rows: card.rows };
}

/** The report as the table `evaluate` prints. */
export const formatScorecard = (report: EvaluateReport): string =>
  formatTable(
    { scheme: report.options.scheme, describe: '', options: { ...report.options }, rows: report.rows },
    `weightgames ${report.version} — scheme ${report.options.scheme}`,
  );
