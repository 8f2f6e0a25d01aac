import * as P from '../../src/kernel/prob/prob';
import type { WeightReleaseScheme } from '../../src/kernel/scheme';
import { Tensor, tensor } from '../../src/numerics/tensor/tensor';
import { addArrays, matVec, subtractArrays } from '../../src/numerics/tensor/kernels';
import { ToyActivation, activateToy, ToyTask, ToyWeights, checkToyActivation, runToy, sameToyOutputs, sameToyWeights, sampleToyInput, trainToy } from './mlp';
import { markAudited } from '../../src/kernel/cost/audit';

/** W′: the first layer as m additive shares S_1..S_m (Σ S_k = W₁), the rest in the clear. */
export interface SharedWeights {
  readonly fc1Shares: readonly Tensor[];
  /** Every tensor but fc1.weight. */
  readonly rest: Omit<ToyWeights, 'fc1.weight'>;
}

export type AdditiveSharesScheme = WeightReleaseScheme<ToyTask, ToyWeights, Float64Array, Float64Array, undefined, undefined, SharedWeights>;

/**
 * additiveShares: TaylorMLP's idea in miniature — a release that is correct with no key but
 * slower to run. W₁ is split into m random additive shares and Run′ computes Σ_k S_k x, m
 * matrix–vector products instead of one. Summing the shares recovers W₁ exactly, with (m−1)·h·n
 * additions — cheaper than one Run′ — so WRec, EffiInf and W-IND all fall. Used to exercise the
 * reductions, whose cost condition needs Run′ to be dearer than Run.
 */
export function additiveShares(options: { readonly shares: number; readonly scale?: number; readonly activation?: ToyActivation }): AdditiveSharesScheme {
  const m = options.shares;
  if (!Number.isInteger(m) || m < 2) throw new RangeError(`additiveShares needs at least 2 shares, got ${m}`);
  const scale = options.scale ?? 1;
  const act = options.activation ?? 'tanh';
  return markAudited({
    name: act === 'tanh' ? `additiveShares(m=${m})` : `additiveShares(m=${m}, ${act})`,
    train: (task) => (checkToyActivation(act, task), trainToy(task)),
    run: (weights, input) => () => runToy(weights, input, act),
    kgen: () => P.of({ pk: undefined, sk: undefined }),
    release: (_sk, weights) => (ctx) => {
      const w1 = weights['fc1.weight'];
      const shares: Tensor[] = [];
      let remainder: Float64Array = Float64Array.from(w1.data);
      for (let k = 0; k < m - 1; k++) {
        const share = P.normalArray(w1.data.length, scale)(ctx);
        shares.push(tensor(w1.shape, share));
        remainder = subtractArrays(remainder, share);
      }
      shares.push(tensor(w1.shape, remainder));
      const { ['fc1.weight']: _dropped, ...rest } = weights;
      return { fc1Shares: shares, rest };
    },
    runReleased: (_pk, released, input) => () => {
      let pre = matVec(released.fc1Shares[0], input, released.rest['fc1.bias'].data);
      for (let k = 1; k < released.fc1Shares.length; k++) pre = addArrays(pre, matVec(released.fc1Shares[k], input));
      const hidden = activateToy(pre, act);
      return matVec(released.rest['fc2.weight'], hidden, released.rest['fc2.bias'].data);
    },
    sampleInput: sampleToyInput,
    same: { weights: sameToyWeights, outputs: sameToyOutputs },
  });
}

/** Σ_k S_k: what anyone can compute from W′. (m−1)·h·n FLOPs. */
export function sumShares(released: SharedWeights): ToyWeights {
  let sum: Float64Array = Float64Array.from(released.fc1Shares[0].data);
  for (let k = 1; k < released.fc1Shares.length; k++) sum = addArrays(sum, released.fc1Shares[k].data);
  return { ...released.rest, 'fc1.weight': tensor(released.fc1Shares[0].shape, sum) };
}
