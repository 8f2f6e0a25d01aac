/** Generic adversaries: attacks that apply to every scheme whose Run is a one-hidden-layer MLP, given its format. */
export { OneHiddenLayerFormat, toyFormat, trainedMlpFormat } from './format';
export { BlackBox, blackBox } from './blackBox';
export { reluExtraction, ReluExtractionOptions, ExtractionError } from './reluExtraction';
export { sameUpToHiddenSymmetry, alignHiddenUnits, symmetryOf, HiddenSymmetry, UnitAlignment } from './symmetry';
export { distillation, DistillationOptions, Distiller } from './distillation';
export { smoothExtraction, SmoothExtractionOptions, SmoothExtractionError, SmoothExtractionReport } from './smoothExtraction';
export { genericAttacks, GenericAttackOptions } from './rows';
