import { WeightgamesError } from '../../kernel/errors';
import * as t from 'io-ts';
import { isLeft } from 'fp-ts/Either';
import type { ExpandOption, TaylorOptions } from '../../../schemes/taylormlp';
import { parseIntegerOption } from './integerOption';

/**
 * `release`'s options, decoded and checked — on the CLI's main thread, before the job starts (a
 * usage error at once), without loading the scheme's code (./release runs it).
 */
export class ReleaseUsageError extends WeightgamesError {
  override readonly name = 'ReleaseUsageError';
  readonly kind = 'usage';
}

/** Raw CLI options of `release`, decoded with io-ts before use. */
export const ReleaseCliOptions = t.intersection([
  t.type({ scheme: t.string, order: t.string, dtype: t.string, seed: t.string, json: t.boolean, signs: t.boolean, calibrationRows: t.string }),
  t.partial({ widen: t.boolean }),
  t.partial({ act: t.string, expand: t.string, maskOrder: t.string, maskThreshold: t.string, calibration: t.string }),
]);


/** `--expand 256` (K units) or `--expand 25%` (a fraction); absent: all units (Algorithm 1). */
export function parseExpand(value: string | undefined): ExpandOption {
  if (value === undefined || value === 'all') return { all: true };
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(value);
  if (percent !== null) {
    const fraction = Number(percent[1]) / 100;
    if (fraction > 1) throw new ReleaseUsageError(`--expand ${value}: a percentage must be at most 100%`);
    return { fraction };
  }
  return { count: parseIntegerOption('expand', value, 0) };
}

export function taylorOptionsFromCli(raw: unknown): { taylor: TaylorOptions; input: t.TypeOf<typeof ReleaseCliOptions> } {
  const decoded = ReleaseCliOptions.decode(raw);
  if (isLeft(decoded)) throw new ReleaseUsageError('invalid release options');
  const o = decoded.right;
  if (o.scheme !== 'taylormlp') throw new ReleaseUsageError(`--scheme ${o.scheme}: only taylormlp releases checkpoints`);
  if (!['f32', 'bf16', 'f16', 'f64'].includes(o.dtype)) throw new ReleaseUsageError(`--dtype must be f32, bf16 or f16 (or f64), got "${o.dtype}"`);
  if ((o.maskOrder === undefined) !== (o.maskThreshold === undefined)) throw new ReleaseUsageError('--mask-order and --mask-threshold go together');
  const threshold = o.maskThreshold === undefined ? undefined : Number(o.maskThreshold);
  // A decimal number, finite and positive: Infinity, 1e309, NaN or hex would be written as null or misread.
  if (threshold !== undefined && !(/^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(o.maskThreshold!) && Number.isFinite(threshold) && threshold > 0)) {
    throw new ReleaseUsageError(`--mask-threshold must be a finite positive number, got "${o.maskThreshold}"`);
  }
  const taylor: TaylorOptions = {
    order: parseIntegerOption('order', o.order, 0),
    expand: parseExpand(o.expand),
    signs: o.signs,
    mask: o.maskOrder === undefined ? null : { minOrder: parseIntegerOption('mask-order', o.maskOrder, 0), threshold: threshold! },
    dtype: o.dtype as TaylorOptions['dtype'],
  };
  return { taylor, input: o };
}
