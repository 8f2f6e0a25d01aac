import * as fs from 'node:fs';
import * as t from 'io-ts';
import { isLeft } from 'fp-ts/Either';
import { releaseCheckpoint, ReleaseSummary, ExpandOption, TaylorOptions } from '../../schemes/taylormlp';
import { blockProgress } from './progress';

export class ReleaseUsageError extends Error {
  override readonly name = 'ReleaseUsageError';
}

/** A named input file is missing or unreadable. */
export class InputFileError extends Error {
  override readonly name = 'InputFileError';
}

/** Raw CLI options of `release`, decoded with io-ts before use. */
export const ReleaseCliOptions = t.intersection([
  t.type({ scheme: t.string, order: t.string, dtype: t.string, seed: t.string, json: t.boolean, signs: t.boolean, calibrationRows: t.string }),
  t.partial({ act: t.string, expand: t.string, maskOrder: t.string, maskThreshold: t.string, calibration: t.string }),
]);

const integer = (name: string, value: string, min: number): number => {
  if (!/^\d+$/.test(value) || Number(value) < min) throw new ReleaseUsageError(`--${name} must be an integer ≥ ${min}, got "${value}"`);
  return Number(value);
};

/** `--expand 256` (K units) or `--expand 25%` (a fraction); absent: all units (Algorithm 1). */
export function parseExpand(value: string | undefined): ExpandOption {
  if (value === undefined || value === 'all') return { all: true };
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(value);
  if (percent !== null) {
    const fraction = Number(percent[1]) / 100;
    if (fraction > 1) throw new ReleaseUsageError(`--expand ${value}: a percentage must be at most 100%`);
    return { fraction };
  }
  return { count: integer('expand', value, 0) };
}

export function taylorOptionsFromCli(raw: unknown): { taylor: TaylorOptions; input: t.TypeOf<typeof ReleaseCliOptions> } {
  const decoded = ReleaseCliOptions.decode(raw);
  if (isLeft(decoded)) throw new ReleaseUsageError('invalid release options');
  const o = decoded.right;
  if (o.scheme !== 'taylormlp') throw new ReleaseUsageError(`--scheme ${o.scheme}: only taylormlp releases checkpoints`);
  if (!['f32', 'bf16', 'f16', 'f64'].includes(o.dtype)) throw new ReleaseUsageError(`--dtype must be f32, bf16 or f16 (or f64), got "${o.dtype}"`);
  if ((o.maskOrder === undefined) !== (o.maskThreshold === undefined)) throw new ReleaseUsageError('--mask-order and --mask-threshold go together');
  const threshold = o.maskThreshold === undefined ? undefined : Number(o.maskThreshold);
  if (threshold !== undefined && !(threshold > 0)) throw new ReleaseUsageError(`--mask-threshold must be a positive number, got "${o.maskThreshold}"`);
  const taylor: TaylorOptions = {
    order: integer('order', o.order, 0),
    expand: parseExpand(o.expand),
    signs: o.signs,
    mask: o.maskOrder === undefined ? null : { minOrder: integer('mask-order', o.maskOrder, 0), threshold: threshold! },
    dtype: o.dtype as TaylorOptions['dtype'],
  };
  return { taylor, input: o };
}

/** `weightgames release IN OUT …`: the summary it prints (JSON or text). */
export function runRelease(input: string, output: string, raw: unknown, version: string): { summary: ReleaseSummary; text: string } {
  const { taylor, input: o } = taylorOptionsFromCli(raw);
  if (!fs.existsSync(input)) throw new InputFileError(`input ${input} does not exist`);
  if (o.calibration !== undefined && !fs.existsSync(o.calibration)) throw new InputFileError(`calibration file ${o.calibration} does not exist`);
  const rows = integer('calibration-rows', o.calibrationRows, 1);
  const progress = blockProgress('release');
  const summary = releaseCheckpoint({
    input,
    output,
    taylor,
    activation: o.act,
    calibration: o.calibration !== undefined ? { file: o.calibration } : { synthetic: { rows, scale: 1 } },
    seed: o.seed,
    version,
    onBlock: progress.onBlock,
  });
  progress.stop();
  const expanded = summary.blocks.reduce((a, b) => a + b.expanded, 0);
  const hidden = summary.blocks.reduce((a, b) => a + b.hidden, 0);
  const text = [
    `released ${summary.blocks.length} MLP blocks of ${input} → ${output}`,
    `  activation ${summary.activation} (${summary.activationSource}), order N = ${taylor.order}, dtype ${taylor.dtype}, signs ${taylor.signs ? 'on' : 'off'}, mask ${taylor.mask ? `orders > ${taylor.mask.minOrder} where |δ| ≤ ${taylor.mask.threshold}` : 'off'}`,
    `  expanded ${expanded} of ${hidden} hidden units; ${summary.taylorParameters.toLocaleString('en-US')} TaylorMLP parameters`,
    `  calibration ${summary.calibration}; seed ${summary.seed}; ${summary.seconds.toFixed(2)} s`,
  ].join('\n');
  return { summary, text };
}
