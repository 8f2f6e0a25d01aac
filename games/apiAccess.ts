import { pipe } from 'fp-ts/function';
import type { WRecApiDetails, EffiInfApiDetails } from './details';
import type * as P from '../src/kernel/prob/prob';
import type { Game } from '../src/kernel/game';
import type { WeightReleaseScheme } from '../src/kernel/scheme';
import type { Same } from '../src/kernel/same';
import type { ApiEffiInfAdversary, ApiWRecAdversary, RunReleasedOracle } from '../src/kernel/adversary';
import { CostMeasure, addCost, isolatedMeter, withMeter, zeroCost } from '../src/kernel/cost/meter';
import { TrialContext, algorithm, algorithmContext, oracleCall } from '../src/kernel/prob/challenger';
import { Do, QueryBudgetExceededError, bind, call, chain, finish, metered } from './trial';
import { CostTrust, admissibility, costSide } from './admissibility';

/** Who pays for the oracle's Run′ work: the game (API access) or the adversary (its own use of W′). */
export type OracleCharge = 'game' | 'adversary';

/** The oracle with the challenger's counters, which the adversary never sees. */
interface CountedOracle<X, Y> {
  readonly oracle: RunReleasedOracle<X, Y>;
  readonly queries: () => number;
  readonly samples: () => number;
  /** FLOPs of the Run′ calls it answered (whoever paid). */
  readonly flops: () => number;
}

/**
 * A Run′(pk, W′, ·) oracle with a budget. Query i runs on the challenger's stream
 * `oracle/query/i`; input draw k (x ←$ 𝒳, from D) on `oracle/input/k`, metered apart and recorded
 * under `input`, never charged to the adversary. With `charge: 'game'` (API access) each
 * answer is metered apart and recorded once under `runReleased/oracle`, never charged to the
 * adversary; with `charge: 'adversary'` the answer runs inside the adversary's meter — Run′ on
 * the W′ it holds is its own work. Past the budget: `QueryBudgetExceededError`, no answer.
 */
function runReleasedOracle<D, W, X, Y, PK, SK, R>(
  trial: TrialContext,
  scheme: WeightReleaseScheme<D, W, X, Y, PK, SK, R>,
  data: D,
  pk: PK,
  released: R,
  budget: number,
  charge: OracleCharge,
): CountedOracle<X, Y> {
  let used = 0;
  let drawn = 0;
  let flops = 0;
  const oracle: RunReleasedOracle<X, Y> = Object.freeze({
    budget,
    query: (input: X): P.Prob<Y> => () => {
      if (used >= budget) throw new QueryBudgetExceededError('Run′', budget);
      const index = used++;
      const stream = `oracle/query/${index}`;
      if (charge === 'game') {
        const before = trial.ledger.get('runReleased/oracle')?.flops ?? 0;
        const answer = oracleCall(trial, 'runReleased/oracle', scheme.runReleased(pk, released, input), stream);
        flops += (trial.ledger.get('runReleased/oracle')?.flops ?? 0) - before;
        return answer;
      }
      const [answer, cost] = withMeter(() => scheme.runReleased(pk, released, input)(algorithmContext(trial, stream)));
      flops += cost.flops;
      return answer;
    },
    sampleInput: (): P.Prob<X> => () => oracleCall(trial, 'input', scheme.sampleInput(data), `oracle/input/${drawn++}`),
  });
  return { oracle, queries: () => used, samples: () => drawn, flops: () => flops };
}

const checkBudget = (budget: number): void => {
  if (!Number.isInteger(budget) || budget < 1) throw new RangeError(`query budget must be a positive integer, got ${budget}`);
};

export interface ApiWRecOptions<W> {
  /** q: the Run′ queries A may make. */
  readonly queries: number;
  /** Same on weights; the scheme's default when absent (e.g. Same up to hidden-unit symmetries). */
  readonly same?: Same<W>;
  /** Extra figures per trial from (W*, W), computed by the challenger and charged to no one (e.g. per-row errors). */
  readonly report?: (recovered: W, weights: W) => Readonly<Record<string, number | string | boolean | null>>;
}

/**
 * WRec with API access only (Figure 1, b1) — this project's variant of Definition 3.2: A never
 * sees W′, only a Run′(pk, W′, ·) oracle with a budget of q queries, whose work is the game's.
 * Each trial reports the queries A made.
 *
 *     W  ←$ Train(D)
 *     (pk, sk) ←$ KGen()
 *     W′ ←$ Release(sk, W)
 *     W* ←$ A^{Run′(pk, W′, ·)}(pk)      — at most q queries
 *     return Same(W*, W)
 */
export function wrecApiGame<D, W, X, Y, PK, SK, R>(
  scheme: WeightReleaseScheme<D, W, X, Y, PK, SK, R>,
  data: D,
  adversary: ApiWRecAdversary<PK, X, Y, W>,
  options: ApiWRecOptions<W>,
): Game<WRecApiDetails> {
  checkBudget(options.queries);
  const same = options.same ?? scheme.same.weights;
  const play = pipe(
    Do,
    bind('weights', () => call('train', scheme.train(data))),
    bind('keys', () => call('kgen', scheme.kgen())),
    bind('released', ({ keys, weights }) => call('release', scheme.release(keys.sk, weights))),
    bind('api', ({ keys, released }) => (trial: TrialContext) => runReleasedOracle(trial, scheme, data, keys.pk, released, options.queries, 'game')),
    bind('recovered', ({ keys, api }) => call('adversary', adversary.recover(keys.pk, api.oracle))),
    chain(({ weights, recovered, api }) =>
      finish('wrec-api', same.test(recovered, weights), [], {
        scheme: scheme.name,
        adversary: adversary.name,
        same: same.name,
        distance: same.dist.measure(recovered, weights),
        queries: api.queries(),
        budget: options.queries,
        inputsDrawn: api.samples(),
        oracleFlops: api.flops(),
        ...(options.report === undefined ? {} : isolatedMeter(() => options.report!(recovered, weights))[0]),
      }),
    ),
  );
  return { name: `WRec-API^${options.queries}[${scheme.name}, ${adversary.name}]`, kind: 'probability', play };
}

export interface ApiEffiInfOptions<Y> {
  /** The Run′ queries A may make while it prepares (charged to A). */
  readonly queries: number;
  /** k: the inputs A then answers (1: Definition 3.3 with a preparation). */
  readonly inputs: number;
  readonly same?: Same<Y>;
  readonly costMeasure?: CostMeasure;
  readonly trustCost?: CostTrust;
}

/**
 * q-input EffiInf for a distiller — this project's extension of Definition 3.3, as in
 * `effiInfQInputGame`, with A's preparation holding a Run′(pk, W′, ·) oracle that charges A for
 * every query (A holds W′: running Run′ is its own work; the oracle only counts and budgets it).
 * The output is whether every answer is Same as Run′'s; admissibility (Cost(A) < Σ Cost(Run′)) is
 * recorded apart, with the break-even k and the share of Same answers (Pr[Same] on fresh inputs).
 *
 *     W ←$ Train(D); (pk, sk) ←$ KGen(); W′ ←$ Release(sk, W)
 *     s ←$ A.prepare^{Run′(pk, W′, ·)}(pk, W′)     — at most q queries, charged to A
 *     for j = 1..k: x_j ←$ 𝒳; y′_j ←$ Run′(pk, W′, x_j); y*_j ←$ A.answer(s, x_j)
 *     return ∀j Same(y*_j, y′_j)
 */
export function effiInfApiGame<D, W, X, Y, PK, SK, R, S>(
  scheme: WeightReleaseScheme<D, W, X, Y, PK, SK, R>,
  data: D,
  adversary: ApiEffiInfAdversary<PK, R, X, Y, S>,
  options: ApiEffiInfOptions<Y>,
): Game<EffiInfApiDetails> {
  checkBudget(options.queries);
  const k = options.inputs;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`EffiInf needs k ≥ 1 inputs, got ${k}`);
  const same = options.same ?? scheme.same.outputs;
  const measure = options.costMeasure ?? 'flops';
  const trust = options.trustCost ?? [];
  const side = (cost: typeof zeroCost, who: 'adversary' | 'scheme') => costSide(cost, measure, who === 'adversary' ? adversary : scheme, trust.includes(who));
  const play = pipe(
    Do,
    bind('weights', () => call('train', scheme.train(data))),
    bind('keys', () => call('kgen', scheme.kgen())),
    bind('released', ({ keys, weights }) => call('release', scheme.release(keys.sk, weights))),
    bind('api', ({ keys, released }) => (trial: TrialContext) => runReleasedOracle(trial, scheme, data, keys.pk, released, options.queries, 'adversary')),
    bind('prepared', ({ keys, released, api }) => metered('adversary', adversary.prepare(keys.pk, released, api.oracle), 'adversary/prepare')),
    chain(({ keys, released, prepared, api }) => (ctx) => {
      const [state, prepareCost] = prepared;
      let adversaryTotal = prepareCost;
      let runReleasedTotal = zeroCost;
      let answerTotal = zeroCost;
      let allSame = true;
      let sameCount = 0;
      let breakEven: number | null = null;
      let maxDistance = 0;
      for (let j = 1; j <= k; j++) {
        const input = algorithm('input', scheme.sampleInput(data), `input/${j}`)(ctx)[0];
        const [reference, runCost] = algorithm('runReleased', scheme.runReleased(keys.pk, released, input), `runReleased/${j}`)(ctx);
        const [answer, answerCost] = algorithm('adversary', adversary.answer(state, input), `adversary/answer/${j}`)(ctx);
        const sameHere = same.test(answer, reference);
        maxDistance = Math.max(maxDistance, same.dist.measure(answer, reference));
        if (sameHere) sameCount++;
        allSame = allSame && sameHere;
        adversaryTotal = addCost(adversaryTotal, answerCost);
        answerTotal = addCost(answerTotal, answerCost);
        runReleasedTotal = addCost(runReleasedTotal, runCost);
        if (breakEven === null && allSame && admissibility(side(adversaryTotal, 'adversary'), side(runReleasedTotal, 'scheme')) === 'admissible') breakEven = j;
      }
      const adversarySide = side(adversaryTotal, 'adversary');
      const runReleasedSide = side(runReleasedTotal, 'scheme');
      const perAnswer = answerTotal.flops / k;
      const perRun = runReleasedTotal.flops / k;
      return finish('effiinf-api', allSame, [], {
        scheme: scheme.name,
        adversary: adversary.name,
        inputs: k,
        queries: api.queries(),
        budget: options.queries,
        inputsDrawn: api.samples(),
        allSame,
        sameShare: sameCount / k,
        // Dist(y*, y′) of the worst answer, so other thresholds δ can be read off the same trials.
        maxDistance,
        admissibility: admissibility(adversarySide, runReleasedSide),
        costMeasure: measure,
        adversaryTotal: adversarySide.cost,
        adversaryCostVerified: adversarySide.verified,
        runReleasedTotal: runReleasedSide.cost,
        runReleasedCostVerified: runReleasedSide.verified,
        prepareFlops: prepareCost.flops,
        oracleFlops: api.flops(),
        answerFlops: perAnswer,
        runReleasedFlops: perRun,
        breakEven,
        // Inputs after which prepare + k answers cost less than k Run′s (FLOPs), whatever k was played.
        costBreakEven: perAnswer < perRun ? Math.floor(prepareCost.flops / (perRun - perAnswer)) + 1 : null,
      })(ctx);
    }),
  );
  return { name: `EffiInf-API^${options.queries}×${k}[${scheme.name}, ${adversary.name}]`, kind: 'probability', play };
}
