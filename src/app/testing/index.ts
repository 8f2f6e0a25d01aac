/**
 * weightgames/testing — property-test your scheme: fast-check arbitraries for weights, toy
 * schemes and adversaries with a given success rate, reference games, and `checkReduction`.
 */
import * as fastCheck from 'fast-check';
/**
 * The fast-check these arbitraries and properties are built with. Use it to run them
 * (`fc.assert(reductionProperty(…))`): an ES-module project importing `fast-check` itself gets
 * the package's ESM build, whose classes are not the ones our CommonJS build made.
 */
/** @hidden */
export { fastCheck as fc };
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
