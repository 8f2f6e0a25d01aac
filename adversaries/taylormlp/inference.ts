import type { EffiInfAdversary, StatefulEffiInfAdversary, WindAdversary } from '../../src/adversary';
import type { TrainedMlp } from '../../src/models/train';
import { activationByName } from '../../src/numerics/activations';
import type { Tensor } from '../../src/tensor/tensor';
import type { Prob } from '../../src/prob/prob';
import type { ReleasedMlp } from '../../schemes/taylormlp/scheme';
import type { ReleasedBlock } from '../../schemes/taylormlp/release';
import { runReleasedBlock } from '../../schemes/taylormlp/runReleased';

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
  return {
    name: `truncate-to-${M}`,
    prepare,
    answer,
    infer: (pk, released, x) => (ctx) => answer(prepare(pk, released)(ctx), x)(ctx),
  };
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
