/**
 * weightgames — executable security games for model weight release schemes.
 * The kernel: randomness (Prob), the Σ interface, Dist/Same, the cost meter, advantage
 * estimation, reductions and tensors.
 */
import * as ProbModule from './prob/prob';
/** `Prob`: the namespace of combinators and draws (`Prob.bind`, `Prob.normalArray`, …) and, as a type, `Prob<A>`. */
export { ProbModule as Prob };
export type Prob<A> = ProbModule.Prob<A>;
export type { Prob as ProbT, ProbContext, NoteWriter } from './prob/prob';
/** fp-ts's `pipe`, as the docs use it to compose Probs. */
export { pipe } from 'fp-ts/function';
export type { Rng } from './prob/rng';
export { Cost, CostMeasure, withMeter, zeroCost, addCost, costValue } from './cost/meter';
export { WeightReleaseScheme, KeyPair, AnyScheme, withSame } from './scheme';
export * from './same';
export * from './adversary';
export { Game, GameRef, TrialResult, AssumptionOutcome, AdvantageKind, withRef } from './game';
export * from './estimate/intervals';
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
} from './estimate/estimate';
export { WorkerTrialError } from './estimate/workerPool';
export { effiInfFromWRec, windFromWRec, RECOVERED_NOTE } from './reductions';
export * from './tensor/tensor';
export * as kernels from './tensor/kernels';
export { isolatedWRecAdversary, isolatedWindAdversary, isolatedEffiInfAdversary, IsolatedAdversaryError, IsolationOptions } from './isolation/isolatedAdversary';
