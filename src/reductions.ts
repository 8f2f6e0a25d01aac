import { pipe } from 'fp-ts/function';
import * as P from './prob/prob';
import type { WeightReleaseScheme } from './scheme';
import type { Assumption, EffiInfAdversary, EffiInfView, StatefulEffiInfAdversary, WRecAdversary, WindAdversary, WindView } from './adversary';
import { costValue } from './cost/meter';

/** Where a reduction leaves A's output in the trial's notebook, for its assumption checks. */
export const RECOVERED_NOTE = 'reduction/recovered';

/**
 * B_A against EffiInf, from a WRec adversary A (§3.3, "EffiInf-secure implies WRec-secure"):
 *
 *     B_A(pk, W′, x):
 *       W* ←$ A(pk, W′)
 *       return Run(W*, x)
 *
 * It is also a stateful adversary (prepare = A, answer = Run), for q-input EffiInf, where A's
 * cost is paid once. Its assumptions, checked per trial: A valid (Same(W*, W)); Σ correct on
 * this input (Same(Run(W, x), Run′(pk, W′, x))); the cost condition
 * Cost(A(pk, W′)) + Cost(Run(W*, x)) < Cost(Run′(pk, W′, x)). Together with a Same on outputs
 * for which Same(W*, W) and correctness carry over to Run(W*, x), they make B_A win.
 */
export function effiInfFromWRec<D, W, X, Y, PK, SK, R>(
  scheme: WeightReleaseScheme<D, W, X, Y, PK, SK, R>,
  adversary: WRecAdversary<PK, R, W>,
): EffiInfAdversary<PK, R, X, Y, W> & StatefulEffiInfAdversary<PK, R, X, Y, W> {
  const prepare = (pk: PK, released: R): P.Prob<W> =>
    pipe(
      adversary.recover(pk, released),
      P.chain((recovered) => pipe(P.note(RECOVERED_NOTE, recovered), P.map(() => recovered))),
    );
  // Run on its own sub-stream, after A, so A draws exactly what it would in WRec (coupling).
  const answer = (recovered: W, input: X): P.Prob<Y> => P.stream('run', scheme.run(recovered, input));
  const assumptions: ReadonlyArray<Assumption<EffiInfView<W, PK, R, X, Y>>> = [
    {
      name: 'A valid',
      statement: 'A recovered the weights on this trial: Same(W*, W)',
      check: (v) => v.notes.has(RECOVERED_NOTE) && scheme.same.weights.test(v.notes.get(RECOVERED_NOTE) as W, v.weights),
    },
    {
      name: 'correctness',
      statement: 'Σ is correct on this input: Same(Run(W, x), Run′(pk, W′, x))',
      check: (v) => scheme.same.outputs.test(v.originalOutput(), v.reference),
    },
    {
      name: 'cost',
      statement: 'Cost(A(pk, W′)) + Cost(Run(W*, x)) < Cost(Run′(pk, W′, x))',
      check: (v) => costValue(v.adversaryCost, v.costMeasure) < costValue(v.runReleasedCost, v.costMeasure),
    },
  ];
  return {
    name: `B[${adversary.name}]→EffiInf`,
    infer: (pk, released, input) => pipe(prepare(pk, released), P.chain((recovered) => answer(recovered, input))),
    prepare,
    answer,
    assumptions,
  };
}

/**
 * B_A against W-IND, from a WRec adversary A (§3.3, "W-IND-secure implies WRec-secure"):
 *
 *     B_A(pk, W0, W1, W′):
 *       W* ←$ A(pk, W′)
 *       if Same(W*, W0) then return 0 else return 1
 *
 * Assumptions, checked per trial: A valid (Same(W*, W_b)), and A's output is not Same as the
 * other weight (¬Same(W*, W_{1−b})) — the game guarantees ¬Same(W0, W1), but Same need not be
 * transitive, so this is what the proof really uses.
 */
export function windFromWRec<D, W, X, Y, PK, SK, R>(
  scheme: WeightReleaseScheme<D, W, X, Y, PK, SK, R>,
  adversary: WRecAdversary<PK, R, W>,
): WindAdversary<PK, W, R> {
  const recovered = (v: WindView<W, PK, R>): W | undefined => v.notes.get(RECOVERED_NOTE) as W | undefined;
  const assumptions: ReadonlyArray<Assumption<WindView<W, PK, R>>> = [
    {
      name: 'A valid',
      statement: 'A recovered the challenge weights: Same(W*, W_b)',
      check: (v) => v.notes.has(RECOVERED_NOTE) && scheme.same.weights.test(recovered(v) as W, v.b === 0 ? v.w0 : v.w1),
    },
    {
      name: 'not Same as the other',
      statement: "A's output is not Same as the other weight: ¬Same(W*, W_{1−b})",
      check: (v) => v.notes.has(RECOVERED_NOTE) && !scheme.same.weights.test(recovered(v) as W, v.b === 0 ? v.w1 : v.w0),
    },
  ];
  return {
    name: `B[${adversary.name}]→W-IND`,
    distinguish: (pk, w0, _w1, released) =>
      pipe(
        adversary.recover(pk, released),
        P.chain((w) => pipe(P.note(RECOVERED_NOTE, w), P.map((): 0 | 1 => (scheme.same.weights.test(w, w0) ? 0 : 1)))),
      ),
    assumptions,
  };
}
