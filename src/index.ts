/**
 * weightgames — executable security games for model weight release schemes.
 * The kernel: randomness (Prob), the Σ interface, Dist/Same, the cost meter, advantage
 * estimation, reductions and tensors.
 */
import * as ProbModule from './kernel/prob/prob';
/** `Prob`: the namespace of combinators and draws (`Prob.bind`, `Prob.normalArray`, …) and, as a type, `Prob<A>`. */
export { ProbModule as Prob };
export type Prob<A> = ProbModule.Prob<A>;
export type { Prob as ProbT, ProbContext, NoteWriter } from './kernel/prob/prob';
/** fp-ts's `pipe`, as the docs use it to compose Probs. */
export { pipe } from 'fp-ts/function';
export type { Rng } from './kernel/prob/rng';
export { Cost, CostMeasure, withMeter, zeroCost, addCost, costValue } from './kernel/cost/meter';
export { WeightReleaseScheme, KeyPair, AnyScheme, withSame } from './kernel/scheme';
export {
  defineScheme,
  directEffiInf,
  apiEffiInf,
  isSchemeEntry,
  SchemeDefinition,
  SchemeAttacks,
  SchemeEntry,
  SchemeRegistration,
  PackedSchemeEntry,
  Reductions,
  ApiRows,
  DirectEffiInf,
  PackedStateful,
  PackedApiEffiInf,
} from './kernel/registry';
export * from './kernel/same';
export * from './numerics/tensor/tensorSame';
export * from './kernel/adversary';
export { Game, GameRef, TrialResult, AssumptionOutcome, AdvantageKind, withRef } from './kernel/game';
export * from './kernel/estimate/intervals';
export {
  estimateAdvantage,
  estimateAdvantageSync,
  playTrials,
  summarize,
  AdvantageEstimate,
  AssumptionSummary,
  EstimateOptions,
  EstimateOptionsError,
  SequentialOptions,
} from './kernel/estimate/estimate';
export { WorkerTrialError, closeWorkerPools } from './kernel/estimate/workerPool';
export { effiInfFromWRec, windFromWRec, RECOVERED_NOTE } from './kernel/reductions';
export * from './numerics/tensor/tensor';
export * as kernels from './numerics/tensor/kernels';
export { isolatedWRecAdversary, isolatedWindAdversary, isolatedEffiInfAdversary, IsolatedAdversaryError, IsolationOptions } from './kernel/isolation/isolatedAdversary';
