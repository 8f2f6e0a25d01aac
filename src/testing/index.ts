/**
 * weightgames/testing — property-test your scheme: fast-check arbitraries for weights, toy
 * schemes and adversaries with a given success rate, reference games, and `checkReduction`.
 */
export * from './arbitraries';
export { bernoulliGame, bernoulliGameFromArgs } from './games';
export {
  checkReduction,
  checkReductionTrial,
  reductionProperty,
  reductionTrialFailures,
  ReductionCheckConfig,
  ReductionFailure,
  ReductionReport,
  ReductionTarget,
} from './reduction';
