import { WeightgamesError } from '../../src/kernel/errors';
import { pipe } from 'fp-ts/function';
import { markAudited } from '../../src/kernel/cost/audit';
import * as P from '../../src/kernel/prob/prob';
import type { WeightReleaseScheme } from '../../src/kernel/scheme';
import { Same, normDistance, sameByRecoveredRatio, sameWithin } from '../../src/kernel/same';
import { activations } from '../../src/numerics/activations';
import { Tensor, tensor } from '../../src/numerics/tensor/tensor';
import { runMlp } from '../../src/numerics/models/mlp';
import { RegressionTask, TrainedMlp, trainMlp } from '../../src/numerics/models/train';
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
  /** Same on weights (default: Table 1's rule, ≥ 99 % of W within 1 %). */
  readonly sameWeights?: TaylorWeightsSame;
}

export type TaylorMlpScheme = WeightReleaseScheme<RegressionTask, TrainedMlp, Tensor, Tensor, undefined, Int8Array | null, ReleasedMlp>;

/** The weights as numbers, for Same: V, b, W, c. */
export const trainedMlpView = (w: TrainedMlp) => [w.block.first, w.block.firstBias ?? new Float64Array(0), w.block.second, w.block.secondBias ?? new Float64Array(0)];

/** W alone (the second layer): what TaylorMLP processes and what Table 1 scores. */
export const secondLayerView = (w: TrainedMlp) => [w.block.second];

/** Which Same on weights a TaylorMLP scheme uses. */
export type TaylorWeightsSame =
  /** Table 1's rule: entries of W within `tol` (1 %) relative error, on at least `minRatio` of them. */
  | { readonly rule: 'table1'; readonly tol?: number; readonly minRatio?: number }
  /** A norm rule (the paper's example of Same, §3.1): ‖(V, b, W, c) − (V*, b*, W*, c*)‖_F / ‖(V*, b*, W*, c*)‖_F ≤ δ. */
  | { readonly rule: 'norm'; readonly threshold: number };

export class TaylorSameError extends WeightgamesError {
  override readonly name = 'TaylorSameError';
  readonly kind = 'usage' as const;
}

/**
 * Same on TrainedMlp weights, by rule; its name says which (every scorecard prints it).
 * Default: Table 1's rule with minRatio 0.99 — the paper calls 99.76 %–100 % recovered.
 */
export function sameTaylorWeights(rule: TaylorWeightsSame = { rule: 'table1' }): Same<TrainedMlp> {
  if (rule.rule === 'norm') {
    if (!(rule.threshold >= 0)) throw new TaylorSameError(`norm Same needs a threshold δ ≥ 0, got ${rule.threshold}`);
    const same = sameWithin(normDistance(trainedMlpView, { relative: true }), rule.threshold);
    return { ...same, name: `relative Frobenius distance of (V, b, W, c) ≤ ${rule.threshold}` };
  }
  const tol = rule.tol ?? 0.01;
  const minRatio = rule.minRatio ?? 0.99;
  if (!(tol > 0) || !(minRatio >= 0 && minRatio <= 1)) throw new TaylorSameError(`Table 1 Same needs tol > 0 and minRatio in [0, 1], got tol ${tol}, minRatio ${minRatio}`);
  const same = sameByRecoveredRatio(secondLayerView, { tol, minRatio });
  return { ...same, name: `Table 1: ≥ ${100 * minRatio} % of W's entries within ${100 * tol} % relative error` };
}

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
  const weightsSame = sameTaylorWeights(config.sameWeights);
  // Run, Run′ and Release do all their arithmetic through the metered kernels (runMlp, releaseBlock, runReleasedBlock).
  return markAudited({
    name: `taylormlp(N=${config.taylor.order}${config.taylor.expand !== undefined && !('all' in config.taylor.expand) ? `, expand ${JSON.stringify(config.taylor.expand)}` : ''}${config.taylor.signs ? ', signs' : ''}${config.taylor.mask ? `, mask>${config.taylor.mask.minOrder}@${config.taylor.mask.threshold}` : ''}, ${config.taylor.dtype ?? 'f32'}; Same on weights: ${weightsSame.name})`,
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
      weights: weightsSame,
      outputs: sameWithin(normDistance(outputView, { relative: true }), config.outputThreshold ?? 1e-3),
    },
  });
}
