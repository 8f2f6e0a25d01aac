import { pipe } from 'fp-ts/function';
import * as P from './prob/prob';
import type { WeightReleaseScheme } from './scheme';
import type { Assumption, EffiInfAdversary, EffiInfView, StatefulEffiInfAdversary, WRecAdversary, WindAdversary, WindView } from './adversary';
import { costValue } from './cost/meter';
import { isAudited, markAudited } from './cost/audit';

/** Where a reduction leaves A's output in the trial's notebook, for its assumption checks. */
export const RECOVERED_NOTE = 'reduction/recovered';

/** B_A is the library's own code; its cost is fully metered when A's and Run's are. */
const auditedIf = <T extends object>(condition: boolean, value: T): T => (condition ? markAudited(value) : value);

/**
 * B_A against EffiInf, from a WRec adversary A (§3.3, "EffiInf-secure implies WRec-secure"):
 *
 *     B_A(pk, W′, x):
 *       W* ←$ A(pk, W′)
 *       return Run(W*, x)
 *
 * It is also a stateful adversary (prepare = A, answer = Run), for q-input EffiInf, where A's
 * cost is paid once. The proof's chain, each link an assumption checked per trial:
 * 1. A valid: Same_W(W*, W);
 * 2. Same on weights carries to outputs: Same_out(Run(W*, x), Run(W, x)) — what "Same(W*, W)
 *    ⇒ Run(W*, x) is the same as Run(W, x)" needs of the two Same relations;
 * 3. Σ correct on this input: Same_out(Run(W, x), Run′(pk, W′, x));
 * 4. Same_out composes on this triple: from 2 and 3, Same_out(Run(W*, x), Run′(pk, W′, x)) —
 *    a thresholded distance is not transitive, so the proof uses this too.
 * Together they make B_A's answer Same as Run′'s (valid). And for B_A to count at all
 * (Definition 3.3): 5. cost: Cost(A(pk, W′)) + Cost(Run(W*, x)) < Cost(Run′(pk, W′, x)), with
 * B_A's cost fully metered.
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
  const recovered = (v: EffiInfView<W, PK, R, X, Y>): W | undefined => v.notes.get(RECOVERED_NOTE) as W | undefined;
  // Run(W*, x), computed by the game's audit on the weights A recovered (not B_A's answer, so the
  // assumptions say what the proof uses whatever B_A returned).
  const recoveredOutput = (v: EffiInfView<W, PK, R, X, Y>): Y => v.runOn(recovered(v) as W);
  const assumptions: ReadonlyArray<Assumption<EffiInfView<W, PK, R, X, Y>>> = [
    {
      name: 'A valid',
      statement: 'A recovered the weights on this trial: Same_W(W*, W)',
      check: (v) => v.notes.has(RECOVERED_NOTE) && scheme.same.weights.test(recovered(v) as W, v.weights),
    },
    {
      name: 'Same_W ⇒ Same_out',
      statement: 'Same on weights carries to outputs on this input: Same_out(Run(W*, x), Run(W, x))',
      check: (v) => v.notes.has(RECOVERED_NOTE) && scheme.same.outputs.test(recoveredOutput(v), v.originalOutput()),
    },
    {
      name: 'correctness',
      statement: 'Σ is correct on this input: Same_out(Run(W, x), Run′(pk, W′, x))',
      check: (v) => scheme.same.outputs.test(v.originalOutput(), v.reference),
    },
    {
      name: 'Same_out composes',
      statement: 'Same_out(Run(W*, x), Run(W, x)) ∧ Same_out(Run(W, x), Run′(pk, W′, x)) ⇒ Same_out(Run(W*, x), Run′(pk, W′, x))',
      check: (v) =>
        !v.notes.has(RECOVERED_NOTE) ||
        !(scheme.same.outputs.test(recoveredOutput(v), v.originalOutput()) && scheme.same.outputs.test(v.originalOutput(), v.reference)) ||
        scheme.same.outputs.test(recoveredOutput(v), v.reference),
    },
    {
      name: 'cost',
      statement: 'B_A is admissible: Cost(A(pk, W′)) + Cost(Run(W*, x)) < Cost(Run′(pk, W′, x)), fully metered',
      check: (v) => v.adversaryCostVerified && costValue(v.adversaryCost, v.costMeasure) < costValue(v.runReleasedCost, v.costMeasure),
    },
  ];
  return auditedIf(isAudited(adversary) && isAudited(scheme), {
    name: `B[${adversary.name}]→EffiInf`,
    infer: (pk: PK, released: R, input: X) => pipe(prepare(pk, released), P.chain((w) => answer(w, input))),
    prepare,
    answer,
    assumptions,
  });
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
  return auditedIf(isAudited(adversary), {
    name: `B[${adversary.name}]→W-IND`,
    distinguish: (pk: PK, w0: W, _w1: W, released: R) =>
      pipe(
        adversary.recover(pk, released),
        P.chain((w) => pipe(P.note(RECOVERED_NOTE, w), P.map((): 0 | 1 => (scheme.same.weights.test(w, w0) ? 0 : 1)))),
      ),
    assumptions,
  });
}
