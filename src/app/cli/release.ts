import { InputFileError } from '../../numerics/io/paths';
import { releaseCheckpoint, ReleaseSummary } from '../../../schemes/taylormlp';
import { blockProgress } from './progress';
import { parseIntegerOption } from './integerOption';
import { taylorOptionsFromCli } from './releaseOptions';
import { groupDigits } from './groupDigits';

export { ReleaseCliOptions, ReleaseUsageError, parseExpand, taylorOptionsFromCli } from './releaseOptions';
export { InputFileError };

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
    `  expanded ${expanded} of ${hidden} hidden units; ${groupDigits(summary.taylorParameters)} TaylorMLP parameters`,
    `  calibration ${summary.calibration}; seed ${summary.seed}; ${summary.seconds.toFixed(2)} s`,
  ].join('\n');
  return { summary, text };
}
