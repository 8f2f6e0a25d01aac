/** Weight release schemes: the toy schemes of the kernel (TaylorMLP lives in schemes/taylormlp). */
export * from './toy/mlp';
export { openRelease, OpenReleaseScheme } from './toy/openRelease';
export { additiveMask, AdditiveMaskOptions, AdditiveMaskScheme, Mask, combineWeights } from './toy/additiveMask';
export { additiveShares, AdditiveSharesScheme, SharedWeights, sumShares } from './toy/additiveShares';
export { neuronPermutation, NeuronPermutationScheme, permuteHiddenUnits, canonicalOrder, canonicalize, samePermutationInvariant } from './toy/neuronPermutation';
export * as taylormlp from './taylormlp';
export { taylorMlp, TaylorMlpScheme, TaylorSchemeConfig, ReleasedMlp } from './taylormlp/scheme';
