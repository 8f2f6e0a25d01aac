import type { MlpBlock } from '../../src/numerics/models/mlp';

/** Why a hidden unit's weights are what they are in a recovery. */
export const UnitStatus = { recovered: 0, plain: 1, unrecoverable: 2 } as const;
export type UnitStatusCode = (typeof UnitStatus)[keyof typeof UnitStatus];

/** Why a unit is unrecoverable (0: it is not). */
export const UnrecoverableReason = {
  none: 0,
  /** N < 2: one order cannot separate W from Act′(u). */
  tooFewOrders: 1,
  /** Every order of the column is zero: W[:, j] = 0, or Θ underflowed entirely. */
  zeroColumn: 2,
  /** Fewer than two orders above the storage format's subnormal range (Θ underflowed, e.g. f16 tails). */
  underflow: 3,
  /** The predicted error of W exceeds ¾·tol: u is not identifiable at this precision (e.g. the sigmoid's tails). */
  notIdentifiable: 4,
  /** pairwise: f_{a,b}(u) = observed ratio has no root in the identifiable range of u. */
  noRoot: 5,
  /** pairwise: roots of the chosen pair exist, but none satisfies the further pairs' equations. */
  pairsDisagree: 6,
  /** pairwise: several roots (same sign) satisfy every pair's equation at the storage precision. */
  ambiguousRoot: 7,
  /** pairwise with random signs: (s, u) and (−s, u′) satisfy every pair's equation (orders ≥ 1 cannot tell them apart). */
  signAmbiguous: 8,
  /** pairwise: the chosen pair is ill-conditioned at the root (predicted error of W above ¾·tol). */
  illConditioned: 9,
  /** Far negative tail: only the products W[:, j]·Act⁽ⁿ⁾(u) are determined (a representative is written). */
  productOnly: 10,
  /** No order of Θ carries the unit above the storage precision: no effect on the block (written as 0). */
  dead: 11,
} as const;

export const reasonNames = [
  '',
  'fewer than 2 orders',
  'all-zero column',
  'Θ underflows in the storage format',
  'u not identifiable at the storage precision',
  'no root of the pair equation in range',
  'no root consistent with the further pairs',
  'several roots consistent with every pair',
  'sign not determined by the release',
  'pair equation ill-conditioned at the root',
  'only W·Act(u) determined (product-only; representative written)',
  'dead: no effect at the storage precision (written as 0)',
] as const;

/**
 * What the release determines about a hidden unit, at the storage precision (its
 * identifiability class), and so what the recovered weights of that unit are:
 * - exact: W[:, j] and b_j determined; written as recovered.
 * - wOnly: saturated (u ≫ 0: Act(u + δ) = Act(u) to the storage precision over any input range,
 *   e.g. σ(u) = 1): W[:, j] determined, b_j only bounded below; written with b_j at the bound
 *   (a representative: the same block function at the storage precision).
 * - productOnly: far negative tail (Act⁽ⁿ⁾(u) ≈ Act-tail(u), e.g. σ⁽ⁿ⁾ ≈ eᵘ): only the products
 *   W[:, j]·Act⁽ⁿ⁾(u) are determined; written with u at the fitted point and W rescaled to match.
 * - dead: no order of Θ carries the unit at the storage precision (W = 0, or Θ underflows); zero.
 * - plain: released as it is (partial expansion).
 * - functionOnly: the random sign is undetermined and the two hypotheses give different W but
 *   the same release and block function (the sigmoid's (s, u, W, c) ~ (−s, −u, −W, c + W)).
 * - flagged: the attack could not place the unit in a class (its reason says why): pairwise writes
 *   zero, consensus its best-fitting representative.
 */
export const UnitClass = { exact: 0, wOnly: 1, productOnly: 2, dead: 3, plain: 4, flagged: 5, functionOnly: 6 } as const;
export type UnitClassCode = (typeof UnitClass)[keyof typeof UnitClass];
export const unitClassNames = ['exact', 'W-only', 'product-only', 'dead', 'plain', 'flagged', 'function-only'] as const;
/** Which parameters each class determines (for summaries and metadata). */
export const unitClassDetermines: Readonly<Record<(typeof unitClassNames)[number], string>> = {
  exact: 'W[:, j] and b_j',
  'W-only': 'W[:, j]; b_j only bounded below (written at the bound)',
  'product-only': 'only W[:, j]·Act⁽ⁿ⁾(u_j) (written: u_j at the fitted point, W rescaled)',
  dead: 'nothing (no effect at the storage precision; written as 0)',
  plain: 'W[:, j] and b_j (released as they are)',
  flagged: 'nothing the attack could establish (pairwise writes 0; consensus writes its best-fitting representative)',
  'function-only': 'the unit\'s block function only: random sign undetermined, (s, u, W, c) and (−s, −u, −W, c + W) give the same release and function (sigmoid: σ(x) + σ(−x) = 1); a representative written',
};

/**
 * A recovered block: the weights in canonical orientation, and per hidden unit its status and
 * the predicted relative error of its W column (the attack's own confidence). Entries of
 * unrecoverable units are zero — never NaN, never reported as recovered.
 */
export interface RecoveredBlock extends MlpBlock {
  readonly status: Uint8Array;
  /** Per hidden unit: why it is unrecoverable (UnrecoverableReason), 0 otherwise. */
  readonly reason?: Uint8Array;
  /** Per hidden unit: its identifiability class (UnitClass). */
  readonly unitClass?: Uint8Array;
  readonly predictedError: Float64Array;
  readonly expansionPoint: Float64Array;
  /** Per hidden unit: the fitted random sign of an exact unit (±1; 0 where none was fitted). */
  readonly sign?: Int8Array;
}

export interface RecoverySummary {
  readonly units: number;
  readonly expanded: number;
  readonly plain: number;
  readonly unrecoverable: number;
  /** Unrecoverable units by reason. */
  readonly reasons: Readonly<Record<string, number>>;
  /** Units by identifiability class (exact, W-only, product-only, dead, plain, flagged). */
  readonly classes: Readonly<Record<string, number>>;
}

export const summarizeRecovery = (blocks: ReadonlyArray<Pick<RecoveredBlock, 'status' | 'reason' | 'unitClass'>>): RecoverySummary => {
  let units = 0;
  let plain = 0;
  let unrecoverable = 0;
  const reasons: Record<string, number> = {};
  const classes: Record<string, number> = {};
  for (const b of blocks) {
    units += b.status.length;
    b.status.forEach((s, j) => {
      const cls = unitClassNames[b.unitClass?.[j] ?? (s === 1 ? UnitClass.plain : s === 2 ? UnitClass.flagged : UnitClass.exact)];
      classes[cls] = (classes[cls] ?? 0) + 1;
      if (s === 1) plain++;
      if (s === 2) {
        unrecoverable++;
        const why = reasonNames[b.reason?.[j] ?? 0] || 'unspecified';
        reasons[why] = (reasons[why] ?? 0) + 1;
      }
    });
  }
  return { units, expanded: units - plain, plain, unrecoverable, reasons, classes };
};
