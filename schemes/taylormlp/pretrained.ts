import * as P from '../../src/kernel/prob/prob';
import type { WeightReleaseScheme } from '../../src/kernel/scheme';
import { normDistance, sameWithin } from '../../src/kernel/same';
import { SafetensorsFile, toFloat64 } from '../../src/numerics/io/safetensors';
import { checkpointActivation, findMlpBlocks, loadMlpBlock, recordedMlpInputName } from '../../src/numerics/models/layouts';
import { runMlp } from '../../src/numerics/models/mlp';
import { activations } from '../../src/numerics/activations';
import { Tensor, tensor } from '../../src/numerics/tensor/tensor';
import type { TrainedMlp } from '../../src/numerics/models/train';
import { TaylorOptions, calibrationRange, checkTaylorOptions, releaseBlock } from './release';
import { runReleasedBlock } from './runReleased';
import { calibrationInputs, drawSigns } from './checkpoint';
import { ReleasedMlp, sameTaylorWeights } from './scheme';

/** D for a pretrained model: which checkpoint and which of its MLP blocks; recorded inputs to calibrate and sample from. */
export interface PretrainedBlock {
  readonly checkpoint: string;
  /** Index among the checkpoint's MLP blocks (sorted by layer). */
  readonly block: number;
  /** A file of recorded MLP inputs (stories260K's activations.safetensors format). */
  readonly activations: string;
  readonly activation?: string;
}

/** Train for a pretrained model: "training" loads the checkpoint's block (deterministic; no randomness). */
export const pretrainedTrain = (d: PretrainedBlock): P.Prob<TrainedMlp> => () => {
  const file = SafetensorsFile.open(d.checkpoint);
  try {
    const location = findMlpBlocks(file.names)[d.block];
    if (location === undefined) throw new RangeError(`${d.checkpoint} has no MLP block #${d.block}`);
    return { activation: checkpointActivation(d.checkpoint, d.activation).activation.name, block: loadMlpBlock((n) => file.tensor(n), location) };
  } finally {
    file.close();
  }
};

function recorded(d: PretrainedBlock, split: 'calibration' | 'evaluation'): Tensor {
  const model = SafetensorsFile.open(d.checkpoint);
  const file = SafetensorsFile.open(d.activations);
  try {
    const location = findMlpBlocks(model.names)[d.block];
    if (split === 'calibration') return calibrationInputs(file, location, Number(file.tensor(recordedMlpInputName('calibration', location.layer)).shape[1]));
    const stored = file.tensor(recordedMlpInputName('evaluation', location.layer));
    return tensor(stored.shape, toFloat64(stored));
  } finally {
    model.close();
    file.close();
  }
}

/**
 * TaylorMLP on one block of a pretrained checkpoint: Train loads it, Release calibrates z0 on the
 * recorded calibration inputs, x ←$ 𝒳 draws `rows` recorded evaluation inputs (other text).
 */
export function taylorMlpPretrained(d: PretrainedBlock, config: { readonly taylor: TaylorOptions; readonly rows?: number; readonly outputThreshold?: number }) {
  checkTaylorOptions(config.taylor);
  const calibration = recorded(d, 'calibration');
  const evaluation = recorded(d, 'evaluation');
  const scheme: WeightReleaseScheme<PretrainedBlock, TrainedMlp, Tensor, Tensor, undefined, Int8Array | null, ReleasedMlp> = {
    name: `taylormlp-pretrained(block ${d.block}, N=${config.taylor.order}; Same on weights: ${sameTaylorWeights().name})`,
    train: pretrainedTrain,
    run: (w, x) => () => runMlp(w.block, activations[w.activation], x),
    kgen: () => (ctx) => ({ pk: undefined, sk: config.taylor.signs === true ? drawSigns(pretrainedTrain(d)(ctx).block.hiddenDim, 'block')(ctx) : null }),
    release: (signs, w) => () => ({ activation: w.activation, block: releaseBlock(w.block, activations[w.activation], calibrationRange(w.block, calibration, config.taylor.rangeIncludesZero ?? false), config.taylor, signs) }),
    runReleased: (_pk, r, x) => () => runReleasedBlock(r.block, activations[r.activation], x),
    sampleInput: () => (ctx) => {
      const rows = config.rows ?? 1;
      const [T, width] = evaluation.shape;
      const out = new Float64Array(rows * width);
      for (let r = 0; r < rows; r++) {
        const row = ctx.rng.int(T);
        out.set(evaluation.data.subarray(row * width, (row + 1) * width), r * width);
      }
      return tensor([rows, width], out);
    },
    same: { weights: sameTaylorWeights(), outputs: sameWithin(normDistance((y: Tensor) => [y.data], { relative: true }), config.outputThreshold ?? 1e-3) },
  };
  return scheme;
}
