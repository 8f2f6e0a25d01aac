import type { EffiInfAdversary, StatefulEffiInfAdversary, WindAdversary } from '../../src/kernel/adversary';
import type { TrainedMlp } from '../../src/numerics/models/train';
import { activationByName } from '../../src/numerics/activations';
import type { Tensor } from '../../src/numerics/tensor/tensor';
import type { Prob } from '../../src/kernel/prob/prob';
import type { Activation } from '../../src/numerics/activations';
import type { OrderMask } from '../../schemes/taylormlp/release';
import { RecoveredBlock, UnitStatus } from './recovered';
import { tensor } from '../../src/numerics/tensor/tensor';
import { addRowBias, matMulTransposed } from '../../src/numerics/tensor/kernels';
import { collapsedSeriesUnits } from '../../src/numerics/tensor/seriesKernels';
import type { ReleasedMlp } from '../../schemes/taylormlp/scheme';
import type { ReleasedBlock } from '../../schemes/taylormlp/release';
import { runReleasedBlock } from '../../schemes/taylormlp/runReleased';
import { taylorCoefficients } from '../../src/numerics/tensor/derivativeKernels';
import { markAudited } from '../../src/kernel/cost/audit';

/** The released block with only orders 0..M kept (a view: no copy of Θ). */
export function truncateOrders(block: ReleasedBlock, M: number): ReleasedBlock {
  const order = Math.min(M, block.order);
  return { ...block, order, theta: block.theta.subarray(0, (order + 1) * block.outputDim * block.expanded.length) };
}

/**
 * EffiInf without recovery: run Run′ with fewer orders than released (M < N). It costs
 * (M+1)/(N+1) of Run′'s Θ products and wins wherever the dropped orders are below Same's δ —
 * the "quantisation"-style attack §3.2 mentions. No weights are recovered.
 */
export function truncatedOrders(M: number): EffiInfAdversary<undefined, ReleasedMlp, Tensor, Tensor, TrainedMlp> & StatefulEffiInfAdversary<undefined, ReleasedMlp, Tensor, Tensor, ReleasedMlp> {
  const prepare = (_pk: undefined, released: ReleasedMlp): Prob<ReleasedMlp> => () => ({ ...released, block: truncateOrders(released.block, M) });
  const answer = (state: ReleasedMlp, x: Tensor): Prob<Tensor> => () => runReleasedBlock(state.block, activationByName(state.activation), x);
  // Truncation is a view (no arithmetic) and Run′ runs on metered kernels: its cost is exact.
  return markAudited({
    name: `truncate-to-${M}`,
    prepare,
    answer,
    infer: (pk: undefined, released: ReleasedMlp, x: Tensor) => (ctx: Parameters<Prob<Tensor>>[0]) => answer(prepare(pk, released)(ctx), x)(ctx),
  });
}

/**
 * W-IND without recovery: TaylorMLP publishes the first layer V (rows of expanded units at most
 * sign-flipped). Compare |V′| with |V0| and |V1| entrywise and answer the nearer.
 */
export const publishedLayerDistinguisher: WindAdversary<undefined, TrainedMlp, ReleasedMlp> = {
  name: 'published-first-layer',
  distinguish: (_pk, w0, w1, released) => () => {
    const distance = (w: TrainedMlp): number => {
      let acc = 0;
      const a = w.block.first;
      const b = released.block.first;
      for (let q = 0; q < a.length; q++) acc += (Math.abs(a[q]) - Math.abs(b[q])) ** 2;
      return acc;
    };
    return distance(w0) <= distance(w1) ? 0 : 1;
  },
};

/**
 * Run′ reproduced from recovered weights, collapsed: for an expanded unit the released polynomial
 * is Σ_n Act⁽ⁿ⁾(u)/n!·(z + b − u)ⁿ pushed through W — so with u, b and W recovered, the
 * per-unit scalar polynomial is evaluated first (N·h work) and W applied once, instead of N+1
 * products with Θ. It matches Run′ (not Run: the truncation error is reproduced) at about the
 * cost of Run. Plain units: Act(z + b). Returns the block's outputs for one input vector.
 */
export function collapsedSeries(recovered: RecoveredBlock, act: Activation, order: number, mask: OrderMask | null): (x: Float64Array) => Float64Array {
  const { inputDim: d, hiddenDim: h, outputDim: o } = recovered;
  const coefficients = new Float64Array(h * (order + 1));
  for (let j = 0; j < h; j++) {
    if (recovered.status[j] !== UnitStatus.recovered) continue;
    // Act⁽ⁿ⁾(u_j)/n!: the unit's series, metered (the setup of the collapsed Run′ is A's work too).
    taylorCoefficients(act, recovered.expansionPoint[j], order, 1, coefficients.subarray(j * (order + 1), (j + 1) * (order + 1)));
  }
  const bySeries = Uint8Array.from(recovered.status, (s) => (s === UnitStatus.recovered ? 1 : 0));
  return (x) => {
    const z = matMulTransposed(tensor([1, d], x), tensor([h, d], recovered.first)).data;
    const up = recovered.up === null ? null : matMulTransposed(tensor([1, d], x), tensor([h, d], recovered.up)).data;
    const hidden = collapsedSeriesUnits(act, z, recovered.firstBias, up, bySeries, recovered.expansionPoint, coefficients, order, mask);
    const y = matMulTransposed(tensor([1, h], hidden), tensor([o, h], recovered.second)).data as Float64Array;
    if (recovered.secondBias !== null) addRowBias(y, recovered.secondBias);
    return y;
  };
}
