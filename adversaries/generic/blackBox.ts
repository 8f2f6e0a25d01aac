import type { ProbContext } from '../../src/kernel/prob/prob';
import type { RunReleasedOracle } from '../../src/kernel/adversary';
import type { OneHiddenLayerFormat } from './format';

/**
 * The Run′ oracle seen as a function of input vectors, f: ℝⁿ → ℝᵒ: each call is one query. What
 * every generic adversary works with; it knows nothing of W′ or of the scheme beyond the format.
 */
export interface BlackBox {
  readonly f: (x: Float64Array) => Float64Array;
  /** A fresh input vector from the task's input distribution (x ←$ 𝒳, the challenger's draw). */
  readonly sample: () => Float64Array;
  /** Queries made through this view. */
  readonly queries: () => number;
}

export function blackBox<W, X, Y>(oracle: RunReleasedOracle<X, Y>, format: OneHiddenLayerFormat<W, X, Y>, ctx: ProbContext): BlackBox {
  let queries = 0;
  let pending: Float64Array[] = [];
  return {
    f: (x) => {
      queries++;
      return format.outputRows(oracle.query(format.input(x))(ctx))[0];
    },
    sample: () => {
      if (pending.length === 0) pending = format.inputRows(oracle.sampleInput()(ctx));
      return pending.shift()!;
    },
    queries: () => queries,
  };
}
