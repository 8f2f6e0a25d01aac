import type { MlpBlock } from '../../src/models/mlp';

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
} as const;

export const reasonNames = ['', 'fewer than 2 orders', 'all-zero column', 'Θ underflows in the storage format', 'u not identifiable at the storage precision'] as const;

/**
 * A recovered block: the weights in canonical orientation, and per hidden unit its status and
 * the predicted relative error of its W column (the attack's own confidence). Entries of
 * unrecoverable units are zero — never NaN, never reported as recovered.
 */
export interface RecoveredBlock extends MlpBlock {
  readonly status: Uint8Array;
  /** Per hidden unit: why it is unrecoverable (UnrecoverableReason), 0 otherwise. */
  readonly reason?: Uint8Array;
  readonly predictedError: Float64Array;
  readonly expansionPoint: Float64Array;
}

export interface RecoverySummary {
  readonly units: number;
  readonly expanded: number;
  readonly plain: number;
  readonly unrecoverable: number;
  /** Unrecoverable units by reason. */
  readonly reasons: Readonly<Record<string, number>>;
}

export const summarizeRecovery = (blocks: ReadonlyArray<Pick<RecoveredBlock, 'status' | 'reason'>>): RecoverySummary => {
  let units = 0;
  let plain = 0;
  let unrecoverable = 0;
  const reasons: Record<string, number> = {};
  for (const b of blocks) {
    units += b.status.length;
    b.status.forEach((s, j) => {
      if (s === 1) plain++;
      if (s === 2) {
        unrecoverable++;
        const why = reasonNames[b.reason?.[j] ?? 0] || 'unspecified';
        reasons[why] = (reasons[why] ?? 0) + 1;
      }
    });
  }
  return { units, expanded: units - plain, plain, unrecoverable, reasons };
};
