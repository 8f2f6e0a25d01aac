import type { Prob } from './prob/prob';
import type { Same } from './same';
import { isAudited, markAudited } from './cost/audit';

/** A key pair from KGen. Schemes that need no key use `undefined` for both. */
export interface KeyPair<PK, SK> {
  readonly pk: PK;
  readonly sk: SK;
}

/**
 * A weight release scheme Σ = (Train, Run, KGen, Release, Run′) (paper §3.1), plus the input
 * sampler x ←$ 𝒳 and the Same relations the games use by default.
 *
 * Type parameters: D training data (𝒟), W weights (𝒲), X inputs (𝒳), Y outputs (𝒴),
 * PK/SK keys (𝒦_pk, 𝒦_sk), R released weights (𝒲′).
 */
export interface WeightReleaseScheme<D, W, X, Y, PK, SK, R> {
  readonly name: string;
  /** Train: 𝒟 → 𝒲 */
  readonly train: (data: D) => Prob<W>;
  /** Run: 𝒲 × 𝒳 → 𝒴 — the original inference. */
  readonly run: (weights: W, input: X) => Prob<Y>;
  /** KGen: ⊥ → 𝒦_sk × 𝒦_pk */
  readonly kgen: () => Prob<KeyPair<PK, SK>>;
  /** Release: 𝒦_sk × 𝒲 → 𝒲′ */
  readonly release: (sk: SK, weights: W) => Prob<R>;
  /** Run′: 𝒦_pk × 𝒲′ × 𝒳 → 𝒴 — inference on the released weights. */
  readonly runReleased: (pk: PK, released: R, input: X) => Prob<Y>;
  /** x ←$ 𝒳 (given D, as inputs usually follow the task). */
  readonly sampleInput: (data: D) => Prob<X>;
  /** Default Same on weights (WRec, W-IND) and on outputs (Correctness, EffiInf). */
  readonly same: {
    readonly weights: Same<W>;
    readonly outputs: Same<Y>;
  };
}

/** Any scheme, for code that does not care about its types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyScheme = WeightReleaseScheme<any, any, any, any, any, any, any>;

/** Replace a scheme's default Same relations (e.g. a permutation-invariant Same on weights). */
export function withSame<D, W, X, Y, PK, SK, R>(
  scheme: WeightReleaseScheme<D, W, X, Y, PK, SK, R>,
  same: Partial<WeightReleaseScheme<D, W, X, Y, PK, SK, R>['same']>,
): WeightReleaseScheme<D, W, X, Y, PK, SK, R> {
  const replaced = { ...scheme, same: { ...scheme.same, ...same } };
  // Same does not change what Run′ costs: a library scheme stays fully metered.
  return isAudited(scheme) ? markAudited(replaced) : replaced;
}
