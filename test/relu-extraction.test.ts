import * as P from '../src/kernel/prob/prob';
import { estimateAdvantageSync } from '../src/kernel/estimate/estimate';
import { withMeter } from '../src/kernel/cost/meter';
import { isAudited } from '../src/kernel/cost/audit';
import { wrecApiGame, effiInfApiGame, QueryBudgetExceededError } from '../games';
import { additiveShares, neuronPermutation, openRelease, ToyTask, trainToy } from '../schemes';
import type { AnyScheme } from '../src/kernel/scheme';
import type { ApiWRecAdversary } from '../src/kernel/adversary';
import { distillation, reluExtraction, sameUpToHiddenSymmetry, toyFormat, alignHiddenUnits } from '../adversaries/generic';
import { builtinSchemes } from '../adversaries/catalog';
import { adversaryLabel, scorecardGame, scorecardRows } from '../games/scorecard';
import { trialContext } from '../src/kernel/prob/challenger';
import { SPECIAL_FLOPS } from '../src/numerics/tensor/flopModel';
import { leastSquares, normalize, outer } from '../src/numerics/tensor/linalgKernels';
import { lineIntersection, linspace } from '../src/numerics/tensor/lineKernels';

const task: ToyTask = { inputDim: 16, hiddenDim: 32, outputDim: 4, activation: 'relu', training: { dataSeed: 'relu', samples: 128, steps: 60 } };
const format = toyFormat('relu');
const schemes = (): AnyScheme[] => [openRelease({ activation: 'relu' }), neuronPermutation(task), additiveShares({ shares: 3, activation: 'relu' })];

describe('relu-extraction (API access only)', () => {
  it('recovers trained ReLU MLPs up to permutation and positive scaling: every row of W₁ within 1e-6, with the queries reported', () => {
    for (const scheme of schemes()) {
      const report = (recovered: any, weights: any) => ({ maxRowError: alignHiddenUnits(format.block(recovered), format.block(weights), 'positive-scale')?.maxRowError ?? Infinity });
      const game = wrecApiGame(scheme, task, reluExtraction(format), { queries: 100_000, same: sameUpToHiddenSymmetry(format), report });
      const e = estimateAdvantageSync(game, { trials: 4, seed: 'relu', keepTrials: true });
      expect(e.successes).toBe(4);
      for (const r of e.results!) {
        expect(r.details.maxRowError).toBeLessThan(1e-6);
        expect(r.details.queries).toBeGreaterThan(100);
        expect(r.details.queries).toBeLessThan(10_000);
        // The oracle's work is the game's: recorded apart, not in the adversary's cost.
        expect(r.costs['runReleased/oracle'].flops).toBe(r.details.oracleFlops);
        expect(r.costs['adversary'].flops).toBeLessThan(r.costs['runReleased/oracle'].flops);
      }
    }
    expect(isAudited(reluExtraction(format))).toBe(true);
  });

  it('where the sign step stops (out·in < hidden): it answers no network, and loses', () => {
    const wide: ToyTask = { inputDim: 4, hiddenDim: 16, outputDim: 1, activation: 'relu', training: { dataSeed: 'relu', samples: 64, steps: 20 } };
    const report = (recovered: any) => ({ units: format.block(recovered).hiddenDim });
    const game = wrecApiGame(openRelease({ activation: 'relu' }), wide, reluExtraction(format), { queries: 100_000, same: sameUpToHiddenSymmetry(format), report });
    const e = estimateAdvantageSync(game, { trials: 1, seed: 'relu', keepTrials: true });
    expect(e.successes).toBe(0);
    expect(e.results![0].details.units).toBe(1);
  });

  it('gets no answer past its budget, and loses', () => {
    const greedy: ApiWRecAdversary<undefined, Float64Array, Float64Array, any> = {
      name: 'greedy',
      recover: (_pk, oracle) => (ctx) => {
        for (let i = 0; i <= oracle.budget; i++) oracle.query(oracle.sampleInput()(ctx))(ctx);
        return trainToy(task)(ctx);
      },
    };
    const game = wrecApiGame(openRelease({ activation: 'relu' }), task, greedy, { queries: 5 });
    expect(() => game.play(trialContext('b', 0))).toThrow(QueryBudgetExceededError);
    // The extraction with too small a budget throws the game's error, never a wrong answer.
    expect(() => wrecApiGame(openRelease({ activation: 'relu' }), task, reluExtraction(format), { queries: 50 }).play(trialContext('b', 0))).toThrow(QueryBudgetExceededError);
  });

  it('Same up to hidden-unit symmetry: a permuted, positively rescaled copy is Same; a sign flip is not', () => {
    const w = trainToy(task)(trialContext('s', 0));
    const b = format.block(w);
    const h = b.hiddenDim;
    const n = b.inputDim;
    const scaled = { ...b, first: b.first.map((v, i) => v * (1 + Math.floor(i / n))), firstBias: b.firstBias!.map((v, j) => v * (1 + j)), second: b.second.map((v, i) => v / (1 + (i % h))) };
    const same = sameUpToHiddenSymmetry(format);
    expect(same.test(format.weights(scaled), w)).toBe(true);
    expect(same.test(neuronPermutation(task).release(P.sampleWith(P.permutation(h), 'pi'), w)(trialContext('s', 0)), w)).toBe(true);
    const flipped = { ...b, first: b.first.map((v, i) => (i < n ? -v : v)), firstBias: b.firstBias!.map((v, j) => (j === 0 ? -v : v)) };
    expect(same.test(format.weights(flipped), w)).toBe(false);
  });
});

describe('distillation', () => {
  it('charges its queries to itself in EffiInf and reports Pr[Same], costs and the break-even', () => {
    const game = effiInfApiGame(additiveShares({ shares: 3, activation: 'relu' }), task, distillation(format, { queries: 64, hiddenDim: 32, steps: 50 }), { queries: 64, inputs: 2 });
    const r = game.play(trialContext('d', 0));
    expect(r.details.queries).toBe(64);
    expect(r.costs['runReleased/oracle']).toBeUndefined();
    expect(r.costs['adversary'].flops).toBeGreaterThan(Number(r.details.oracleFlops));
    expect(r.details.answerFlops).toBeLessThan(Number(r.details.runReleasedFlops));
    expect(r.details.costBreakEven).toBeGreaterThan(1000);
    expect(r.details.admissibility).toBe('inadmissible');
  });
});

describe('kernels of the generic attacks', () => {
  it('leastSquares solves exactly determined and overdetermined systems and charges its closed form', () => {
    const m = 7;
    const n = 4;
    const k = 2;
    const a = Float64Array.from({ length: m * n }, (_, i) => Math.sin(i + 1) + (i % (n + 1) === 0 ? 3 : 0));
    const xTrue = Float64Array.from({ length: n * k }, (_, i) => i - 3);
    const b = new Float64Array(m * k);
    for (let i = 0; i < m; i++) for (let c = 0; c < k; c++) for (let p = 0; p < n; p++) b[i * k + c] += a[i * n + p] * xTrue[p * k + c];
    const [x, cost] = withMeter(() => leastSquares(a, m, n, b, k));
    for (let i = 0; i < x.length; i++) expect(x[i]).toBeCloseTo(xTrue[i], 10);
    let expected = k * n * n;
    for (let j = 0; j < n; j++) expected += 2 * (m - j) + SPECIAL_FLOPS + 1 + 2 * (m - j) + (n - 1 - j + k) * (4 * (m - j) + 2);
    expect(cost.flops).toBe(expected);
  });

  it('line kernels: the two lines of a kink meet at it; counts as documented', () => {
    // g(t) = (|t − 0.3|, 2|t − 0.3|): slopes −1, −2 on the left, 1, 2 on the right.
    const [hit, cost] = withMeter(() => lineIntersection(-1, Float64Array.of(1.3, 2.6), Float64Array.of(-1, -2), 1, Float64Array.of(0.7, 1.4), Float64Array.of(1, 2)));
    expect(hit.t).toBeCloseTo(0.3, 14);
    expect(cost.flops).toBe(12 * 2 + 2);
    expect(withMeter(() => linspace(-1, 1, 4))[1].flops).toBe(2 + 2 * 5);
    expect(withMeter(() => normalize(Float64Array.of(3, 4)))[1].flops).toBe(3 * 2 + SPECIAL_FLOPS);
    expect(withMeter(() => outer(Float64Array.of(1, 2), Float64Array.of(3, 4, 5)))[1].flops).toBe(6);
  });
});

describe('the catalogue', () => {
  it('lists the API rows for the ReLU subjects, and they build', () => {
    const entry = builtinSchemes['additive-shares-relu']!;
    const rows = scorecardRows(entry).filter((e) => e.game === 'wrec-api' || e.game === 'effiinf-api');
    expect(rows.map((r) => [r.game, adversaryLabel(r)])).toEqual([
      ['wrec-api', 'relu-extraction'],
      ['effiinf-api', 'distill-q256'],
    ]);
    for (const r of rows) expect(scorecardGame(entry, r).name).toMatch(/API/);
  });
});
