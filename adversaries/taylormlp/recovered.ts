import type { MlpBlock } from '../../src/models/mlp';

/** Why a hidden unit's weights are what they are in a recovery. */
export const UnitStatus = { recovered: 0, plain: 1, unrecoverable: 2 } as const;
export type UnitStatusCode = (typeof UnitStatus)[keyof typeof UnitStatus];

/**
 * A recovered block: the weights in canonical orientation, and per hidden unit its status and
 * the predicted relative error of its W column (the attack's own confidence). Entries of
 * unrecoverable units are zero — never NaN, never reported as recovered.
 */
export interface RecoveredBlock extends MlpBlock {
  readonly status: Uint8Array;
  readonly predictedError: Float64Array;
  readonly expansionPoint: Float64Array;
}

export interface RecoverySummary {
  readonly units: number;
  readonly expanded: number;
  readonly plain: number;
  readonly unrecoverable: number;
}

export const summarizeRecovery = (blocks: ReadonlyArray<Pick<RecoveredBlock, 'status'>>): RecoverySummary => {
  let units = 0;
  let plain = 0;
  let unrecoverable = 0;
  for (const b of blocks) {
    units += b.status.length;
    for (const s of b.status) {
      if (s === 1) plain++;
      if (s === 2) unrecoverable++;
    }
  }
  return { units, expanded: units - plain, plain, unrecoverable };
};
