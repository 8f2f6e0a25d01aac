import { WeightgamesError } from '../../kernel/errors';
import { InputFileError } from '../../numerics/io/paths';
import * as t from 'io-ts';
import { isLeft } from 'fp-ts/Either';
import { releaseCheckpoint, ReleaseSummary, ExpandOption, TaylorOptions } from '../../../schemes/taylormlp';
import { blockProgress } from './progress';
import { parseIntegerOption } from './integerOption';

export class ReleaseUsageError extends WeightgamesError {
  override readonly name = 'ReleaseUsageError';
  readonly kind = 'usage';
}

export { InputFileError };

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

/** `weightgames release IN OUT …`: the summary it prints (JSON or text). */
export function runRelease(input: string, output: string, raw: unknown, version: string, onBlock?: (index: number, total: number, prefix: string) => void): { summary: ReleaseSummary; text: string } {
  const { taylor, input: o } = taylorOptionsFromCli(raw);
  const rows = parseIntegerOption('calibration-rows', o.calibrationRows, 1);
  const progress = onBlock === undefined ? blockProgress('release') : { onBlock, stop: () => undefined };
  const summary = releaseCheckpoint({
    input,
    output,
    taylor,
    activation: o.act,
    calibration: o.calibration !== undefined ? { file: o.calibration } : { synthetic: { rows, scale: 1 } },
    seed: o.seed,
    version,
    widen: o.widen === true,
    onBlock: progress.onBlock,
  });
  progress.stop();
  const expanded = summary.blocks.reduce((a, b) => a + b.expanded, 0);
  const hidden = summary.blocks.reduce((a, b) => a + b.hidden, 0);
  const text = [
    `released ${summary.blocks.length} MLP blocks of ${input} → ${output}`,
    `  activation ${summary.activation} (${summary.activationSource}), order N = ${taylor.order}, dtype ${summary.dtype}${summary.dtype !== taylor.dtype ? ` (widened from ${taylor.dtype})` : ''}, signs ${taylor.signs ? 'on' : 'off'}, mask ${taylor.mask ? `orders > ${taylor.mask.minOrder} where |δ| ≤ ${taylor.mask.threshold}` : 'off'}`,
    `  expanded ${expanded} of ${hidden} hidden units; ${summary.taylorParameters.toLocaleString('en-US')} TaylorMLP parameters`,
    `  calibration ${summary.calibration}; seed ${summary.seed}; ${summary.seconds.toFixed(2)} s`,
  ].join('\n');
  return { summary, text };
}
