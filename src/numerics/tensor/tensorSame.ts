import { NumericView, maxRelativeError, normDistance, unrecoveredShare } from '../../kernel/same';
import { TensorDict, sortedNames } from './tensor';

/** A TensorDict seen as its tensors' data, sorted by name. Shapes must match (checked by name). */
export const tensorDictView: NumericView<TensorDict> = (dict) => sortedNames(dict).map((name) => dict[name].data);

/** Comparisons of a TensorDict, the usual weight type. */
export const tensorDictDists = {
  norm: (options?: { p?: number; relative?: boolean }) => normDistance(tensorDictView, options),
  maxRelativeError: () => maxRelativeError(tensorDictView),
  unrecoveredShare: (tol?: number) => unrecoveredShare(tensorDictView, tol),
};
