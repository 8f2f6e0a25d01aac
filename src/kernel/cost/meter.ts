import { WeightgamesError } from '../errors';
/**
 * The cost meter. Numeric kernels charge it themselves (`chargeFlops`), so a caller can never
 * under-report what an algorithm did. Prob computations are synchronous, so a dynamic-scope
 * stack of active meters is sound: the innermost `withMeter` receives every charge made while
 * its thunk runs, and hands its total on to the meter around it when it ends.
 *
 * Only `withMeter` (which can only add) and the Cost helpers are public. `chargeFlops` and
 * `isolatedMeter` are the kernels' and the games' own: no algorithm can charge, lower, pause or
 * skip its meter. Charges are non-negative integers; anything else is a bug and throws.
 */

/** What one algorithm call cost: floating-point operations counted by the kernels, and wall time. */
export interface Cost {
  readonly flops: number;
  readonly wallMs: number;
}

export const zeroCost: Cost = { flops: 0, wallMs: 0 };

export const addCost = (a: Cost, b: Cost): Cost => ({ flops: a.flops + b.flops, wallMs: a.wallMs + b.wallMs });

/** Which part of a Cost a game compares: FLOPs are exact and reproducible, wall time is not. */
export type CostMeasure = 'flops' | 'wallMs';

export const costValue = (cost: Cost, measure: CostMeasure): number => cost[measure];

class Meter {
  flops = 0;
}

const stack: Meter[] = [];

/** A kernel tried to charge something that is not a count of operations. */
export class MeterError extends WeightgamesError {
  override readonly name = 'MeterError';
  readonly kind = 'fault' as const;
}

/**
 * Charge `flops` floating-point operations to the innermost active meter (none: not counted).
 * Internal to the kernels: not part of the public exports.
 */
export function chargeFlops(flops: number): void {
  // (flops >>> 0) === flops: an integer in [0, 2³²) — the common case, without the global lookups.
  if ((flops >>> 0) !== flops && (!Number.isSafeInteger(flops) || flops < 0)) throw new MeterError(`a FLOP charge must be a non-negative safe integer, got ${flops}`);
  const depth = stack.length;
  if (depth > 0) stack[depth - 1].flops += flops;
}

/** Run `thunk` under a fresh meter; return its value and what it cost. Nested meters add up. */
export function withMeter<A>(thunk: () => A): [A, Cost] {
  const meter = new Meter();
  stack.push(meter);
  const start = performance.now();
  let value: A;
  try {
    value = thunk();
  } finally {
    stack.pop();
    // The work is the enclosing algorithm's whether the thunk returns or throws: a thunk that
    // computes, stashes its result and throws must not take its charges with it.
    const parent = stack[stack.length - 1];
    if (parent !== undefined) parent.flops += meter.flops;
  }
  const wallMs = performance.now() - start;
  return [value, { flops: meter.flops, wallMs }];
}

/**
 * Run `thunk` under a fresh meter that does not pass its total on: for work done on someone's
 * behalf but not by them (a Release oracle answering an adversary's query).
 */
export function isolatedMeter<A>(thunk: () => A): [A, Cost] {
  const meter = new Meter();
  stack.push(meter);
  const start = performance.now();
  try {
    const value = thunk();
    return [value, { flops: meter.flops, wallMs: performance.now() - start }];
  } finally {
    stack.pop();
  }
}
