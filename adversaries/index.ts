/** The catalogue of attacks, one per thing attacked. */
export { copyAdversary, randomGuessWRec, randomGuessWind, constantWind } from './toy/generic';
export { unmaskAdversary, sumSharesAdversary, permutationMatching, averagingAdversary } from './toy/toyAttacks';
export { effiInfFromWRec, windFromWRec } from '../src/kernel/reductions';
export * as taylormlp from './taylormlp';
export * as generic from './generic';
export { builtinSchemes, builtinSchemeLocation } from './catalog';
export * from './toy/entries';
export { taylorMlpEntry, defaultTaylorTask } from './taylormlp/entry';
