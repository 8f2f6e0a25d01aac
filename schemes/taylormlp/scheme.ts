import { pipe } from 'fp-ts/function';
import * as P from '../../src/prob/prob';
import type { WeightReleaseScheme } from '../../src/scheme';
import { Same, normDistance, sameByRecoveredRatio, sameWithin } from '../../src/same';
import { activations } from '../../src/numerics/activations';
import { Tensor, tensor } from '../../src/tensor/tensor';
import { runMlp } from '../../src/models/mlp';
import { RegressionTask, TrainedMlp, trainMlp } from '../../src/models/train';
import { ReleasedBlock, TaylorOptions, calibrationRange, checkTaylorOptions, releaseBlock } from './release';
import { runReleasedBlock } from './runReleased';
import { drawSigns, syntheticCalibration } from './checkpoint';

/** W′ of the game-level scheme: the released block and its activation's name. */
export interface ReleasedMlp {
  readonly activation: TrainedMlp['activation'];
  readonly block: ReleasedBlock;
}

export interface TaylorSchemeConfig {
  readonly taylor: TaylorOptions;
  /** Synthetic calibration: `rows` inputs drawn like the task's (N(0, inputScale²)). */
  readonly calibrationRows?: number;
  /** Inputs per x ←$ 𝒳 (a batch of token vectors). */
  readonly inputRows?: number;
  /** Std of x ←$ 𝒳 relative to the training inputs (1 = the same distribution). */
  readonly inputSpread?: number;
  /** δ of Same on outputs: relative L2 distance of the block outputs (default 1e-3). */
  readonly outputThreshold?: number;
}

export type TaylorMlpScheme = WeightReleaseScheme<RegressionTask, TrainedMlp, Tensor, Tensor, undefined, Int8Array | null, ReleasedMlp>;

/** The weights as numbers, for Same: V, b, W, c. */
export const trainedMlpView = (w: TrainedMlp) => [w.block.first, w.block.firstBias ?? new Float64Array(0), w.block.second, w.block.secondBias ?? new Float64Array(0)];

/** Same on TrainedMlp weights: the paper's recovered ratio — all entries within 1 % relative error by default. */
export const sameTaylorWeights = (minRatio = 1): Same<TrainedMlp> => sameByRecoveredRatio(trainedMlpView, { tol: 0.01, minRatio });

/**
 * TaylorMLP (§4.1) as a scheme of the kernel, on the trainer's small MLPs:
 * Train = trainMlp(D); Run = the MLP block; KGen = a ±1 sign per hidden unit (when
 * `taylor.signs`), else nothing; Release = Algorithm 1 with z0 from synthetic calibration
 * inputs drawn on the Release stream; Run′ = the released polynomial (eq. 15).
 */
export function taylorMlp(task: RegressionTask, config: TaylorSchemeConfig): TaylorMlpScheme {
  checkTaylorOptions(config.taylor);
  const act = activations[task.activation];
  const inputScale = task.inputScale ?? 1;
  const outputView = (y: Tensor) => [y.data];
  return {
    name: `taylormlp(N=${config.taylor.order}${config.taylor.expand !== undefined && !('all' in config.taylor.expand) ? `, expand ${JSON.stringify(config.taylor.expand)}` : ''}${config.taylor.signs ? ', signs' : ''}${config.taylor.mask ? `, mask>${config.taylor.mask.minOrder}@${config.taylor.mask.threshold}` : ''}, ${config.taylor.dtype ?? 'f32'})`,
    train: trainMlp,
    run: (weights, inputs) => () => runMlp(weights.block, act, inputs),
    kgen: () => (config.taylor.signs === true ? pipe(drawSigns(task.hiddenDim, 'block'), P.map((sk) => ({ pk: undefined, sk }))) : P.of({ pk: undefined, sk: null })),
    release: (signs, weights) => (ctx) => {
      const calibration = syntheticCalibration(config.calibrationRows ?? 256, task.inputDim, inputScale, 'block')(ctx);
      const range = calibrationRange(weights.block, calibration, config.taylor.rangeIncludesZero ?? false);
      return { activation: weights.activation, block: releaseBlock(weights.block, act, range, config.taylor, signs) };
    },
    runReleased: (_pk, released, inputs) => () => runReleasedBlock(released.block, activations[released.activation], inputs),
    sampleInput: () => (ctx) => {
      const rows = config.inputRows ?? 1;
      return tensor([rows, task.inputDim], P.normalArray(rows * task.inputDim, inputScale * (config.inputSpread ?? 1))(ctx));
    },
    same: {
      weights: sameTaylorWeights(),
      outputs: sameWithin(normDistance(outputView, { relative: true }), config.outputThreshold ?? 1e-3),
    },
  };
}
