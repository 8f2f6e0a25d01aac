import type { ProbContext } from '../../src/kernel/prob/prob';
import type { ApiEffiInfAdversary, ApiWRecAdversary, RunReleasedOracle } from '../../src/kernel/adversary';
import type { MlpBlock } from '../../src/numerics/models/mlp';
import { runMlp } from '../../src/numerics/models/mlp';
import { fitMlp } from '../../src/numerics/models/train';
import { trainerActivation } from '../../src/numerics/models/pointwise';
import { tensor } from '../../src/numerics/tensor/tensor';
import { markAudited } from '../../src/kernel/cost/audit';
import type { OneHiddenLayerFormat } from './format';
import { blackBox } from './blackBox';

/**
 * Distillation: label q inputs from the task's input distribution with Run′ (q oracle queries),
 * fit a surrogate of Run's architecture (one hidden layer of `hiddenDim` units, Run's activation)
 * with the project's trainer (`fitMlp`: full-batch Adam on the squared error), and answer with
 * it. The textbook baseline of model stealing (Tramèr et al., "Stealing Machine Learning Models
 * via Prediction APIs", USENIX Security 2016; Hinton et al.'s distillation) and the attack the
 * paper's §3.2 has in mind when it bounds EffiInf adversaries' cost: with unbounded queries and
 * training, a surrogate approximates Run′ — but only approximately, so it wins EffiInf only under
 * a Same as loose as its error, and WRec only under a functional Same.
 *
 * As an EffiInf adversary it holds W′ and its queries are its own work (charged to it); as a
 * WRec adversary (functional WRec) it has API access only. All arithmetic is in metered kernels.
 */
export interface DistillationOptions {
  /** q: the Run′ queries (labelled inputs) it trains on. */
  readonly queries: number;
  /** Width of the surrogate's hidden layer (Run's, for "Run's architecture"). */
  readonly hiddenDim: number;
  /** Adam steps (default 300). */
  readonly steps?: number;
  readonly learningRate?: number;
}

export type Distiller<PK, R, X, Y, W> = ApiEffiInfAdversary<PK, R, X, Y, MlpBlock> & ApiWRecAdversary<PK, X, Y, W>;

export function distillation<W, X, Y, PK = unknown, R = unknown>(format: OneHiddenLayerFormat<W, X, Y>, options: DistillationOptions): Distiller<PK, R, X, Y, W> {
  const q = options.queries;
  if (!Number.isInteger(q) || q < 1) throw new RangeError(`distillation needs q ≥ 1 queries, got ${q}`);
  const act = trainerActivation(format.activation);
  const fit = (oracle: RunReleasedOracle<X, Y>, ctx: ProbContext): MlpBlock => {
    const box = blackBox(oracle, format, ctx);
    const xs: Float64Array[] = [];
    const ys: Float64Array[] = [];
    for (let i = 0; i < q; i++) {
      const x = box.sample();
      xs.push(x);
      ys.push(box.f(x));
    }
    const inputs = tensor([q, xs[0].length], flatten(xs));
    const targets = tensor([q, ys[0].length], flatten(ys));
    return fitMlp(inputs, targets, { hiddenDim: options.hiddenDim, activation: format.activation, steps: options.steps ?? 300, learningRate: options.learningRate })(ctx).block;
  };
  return markAudited({
    name: `distill-q${q}`,
    prepare: (_pk: PK, _released: R, oracle: RunReleasedOracle<X, Y>) => (ctx: ProbContext) => fit(oracle, ctx),
    answer: (surrogate: MlpBlock, input: X) => () => {
      const rows = format.inputRows(input);
      const y = runMlp(surrogate, act, tensor([rows.length, rows[0].length], flatten(rows)));
      const o = surrogate.outputDim;
      return format.output(rows.map((_, r) => Float64Array.from(y.data.subarray(r * o, (r + 1) * o))));
    },
    recover: (_pk: PK, oracle: RunReleasedOracle<X, Y>) => (ctx: ProbContext) => format.weights(fit(oracle, ctx)),
  });
}

function flatten(rows: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(rows.length * rows[0].length);
  rows.forEach((r, i) => out.set(r, i * r.length));
  return out;
}
