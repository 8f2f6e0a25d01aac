/**
 * Cheating adversaries and schemes, played. Each boundary of the games has a cheater here that
 * tries to cross it with what the public API (and the JavaScript it can reach) gives it; each
 * either fails to compile (test/types/cheats.ts, checked by `npm run typecheck`) or is played and
 * does not win: its advantage interval contains 0 where the honest answer is 0, or its cost is
 * reported unverified and never counted admissible.
 */
import * as path from 'node:path';
import * as weightgames from 'weightgames';
import { Prob as P, ProbContext, WRecAdversary, EffiInfAdversary, estimateAdvantageSync, isolatedWRecAdversary, isolatedEffiInfAdversary } from 'weightgames';
import { wrecGame, effiInfGame } from 'weightgames/games';
import { additiveMask, additiveShares, openRelease, SharedWeights, ToyWeights, AdditiveSharesScheme } from 'weightgames/schemes';
import { sumSharesAdversary, effiInfFromWRec } from 'weightgames/adversaries';
import { asToyWeights, trainToy } from '../schemes/toy/mlp';
import type { TensorDict } from '../src/numerics/tensor/tensor';
import { toyShapesOf } from '../adversaries/toy/generic';
import { onStream, trialContext } from '../src/kernel/prob/challenger';
import { MeterError, chargeFlops } from '../src/kernel/cost/meter';
import { builtinSchemes } from '../adversaries/catalog';
import { scorecardGame, scorecardRows } from '../games/scorecard';

const task = { inputDim: 6, hiddenDim: 10, outputDim: 3 };
const trials = 300;
const maskScheme = additiveMask(task, { publishKey: false });

/** Plain-loop y = W₂ tanh(W₁x + b₁) + b₂: the same numbers as Run, invisible to the meter. */
function runInPlainLoops(w: ToyWeights, x: Float64Array): Float64Array {
  const [h, n] = w['fc1.weight'].shape;
  const o = w['fc2.weight'].shape[0];
  const hidden = new Float64Array(h);
  for (let i = 0; i < h; i++) {
    let acc = 0;
    for (let j = 0; j < n; j++) acc += w['fc1.weight'].data[i * n + j] * x[j];
    hidden[i] = Math.tanh(acc + w['fc1.bias'].data[i]);
  }
  const y = new Float64Array(o);
  for (let i = 0; i < o; i++) {
    let acc = 0;
    for (let j = 0; j < h; j++) acc += w['fc2.weight'].data[i * h + j] * hidden[j];
    y[i] = acc + w['fc2.bias'].data[i];
  }
  return y;
}

const sumSharesInPlainLoops = (r: SharedWeights): ToyWeights => {
  const sum = Float64Array.from(r.fc1Shares[0].data);
  for (const share of r.fc1Shares.slice(1)) for (let i = 0; i < sum.length; i++) sum[i] += share.data[i];
  return { ...r.rest, 'fc1.weight': { ...r.fc1Shares[0], data: sum } };
};

describe('cost cannot be forged', () => {
  it('the meter levers are not in the public exports (unmetered, isolatedMeter, chargeFlops, streamAt, trialContext, algorithm, streamRng)', () => {
    const exported = new Set([...Object.keys(weightgames), ...Object.keys(weightgames.Prob).map((k) => `Prob.${k}`)]);
    for (const name of ['unmetered', 'isolatedMeter', 'chargeFlops', 'streamRng', 'keyedRng', 'Prob.streamAt', 'Prob.trialContext', 'Prob.algorithm', 'Prob.oracleCall']) {
      expect(exported.has(name)).toBe(false);
    }
    // An adversary that reaches for `unmetered` through the public module finds nothing to call.
    const cheat: EffiInfAdversary<undefined, SharedWeights, Float64Array, Float64Array> = {
      name: 'unmetered-run′',
      infer: (pk, released, x) => () => (weightgames as unknown as { unmetered: <A>(f: () => A) => A }).unmetered(() => additiveShares({ shares: 3 }).runReleased(pk, released, x)(undefined as never)),
    };
    expect(() => effiInfGame(additiveShares({ shares: 3 }), task, cheat).play(trialContext('c', 0))).toThrow(TypeError);
  });

  it('a negative, fractional or non-finite charge is refused: even the internal meter cannot be lowered', () => {
    const negative: EffiInfAdversary<undefined, SharedWeights, Float64Array, Float64Array> = {
      name: 'negative-charge',
      infer: (pk, released, x) => (ctx) => {
        chargeFlops(-1e9); // what a cheater with a deep import would try
        return effiInfFromWRec(additiveShares({ shares: 3 }), sumSharesAdversary).infer(pk, released, x)(ctx);
      },
    };
    expect(() => effiInfGame(additiveShares({ shares: 3 }), task, negative).play(trialContext('n', 0))).toThrow(MeterError);
    for (const bad of [-1, 0.25, NaN, -Infinity]) expect(() => chargeFlops(bad)).toThrow(MeterError);
  });

  it('Run′ computed in plain loops gives the right answers but is never admissible: its cost is reported unverified', () => {
    const scheme = additiveShares({ shares: 3 });
    const plainLoops: EffiInfAdversary<undefined, SharedWeights, Float64Array, Float64Array> = {
      name: 'run′-in-plain-loops',
      infer: (_pk, released, x) => () => runInPlainLoops(sumSharesInPlainLoops(released), x),
    };
    const e = estimateAdvantageSync(effiInfGame(scheme, task, plainLoops), { trials, seed: 'loops' });
    expect(e.successes).toBe(trials); // Same every time…
    expect(e.meanCosts['adversary'].flops).toBe(0); // …for a metered cost of 0…
    expect(e.admissibility).toEqual({ admissible: 0, inadmissible: 0, unverified: trials, verdict: 'cost unverified' }); // …so never admissible.
  });

  it('work in a withMeter thunk that throws is still charged: throwing cannot drop charges', () => {
    const scheme = additiveShares({ shares: 3 });
    const throwing: EffiInfAdversary<undefined, SharedWeights, Float64Array, Float64Array> = {
      name: 'throw-to-drop-charges',
      infer: (pk, released, x) => (ctx) => {
        let answer: Float64Array | undefined;
        try {
          weightgames.withMeter(() => {
            answer = scheme.runReleased(pk, released, x)(ctx); // Run′ on the metered kernels…
            throw new Error('…then throw, hoping its charges leave with the meter');
          });
        } catch {
          // the cheat: keep the answer, drop the meter
        }
        if (answer === undefined) throw new Error('unreachable');
        return answer;
      },
    };
    const e = estimateAdvantageSync(effiInfGame(scheme, task, throwing, { trustCost: ['adversary'] }), { trials, seed: 'throw' });
    expect(e.successes).toBe(trials);
    expect(e.meanCosts['adversary'].flops).toBe(e.meanCosts['runReleased'].flops);
    expect(e.admissibility?.verdict).toBe('inadmissible'); // even vouched for, it did Run′'s work
  });

  it("a scheme that hides Run′'s cost (plain loops) cannot make EffiInf look unwinnable: the verdict is 'cost unverified', not 'inadmissible'", () => {
    const honest = additiveShares({ shares: 3 });
    const hiding: AdditiveSharesScheme = {
      ...honest,
      name: 'additiveShares(hidden cost)',
      runReleased: (_pk, released, x) => () => runInPlainLoops(sumSharesInPlainLoops(released), x),
    };
    const onHonest = estimateAdvantageSync(effiInfGame(honest, task, effiInfFromWRec(honest, sumSharesAdversary)), { trials, seed: 'hide' });
    expect(onHonest.admissibility?.verdict).toBe('admissible');
    const onHiding = estimateAdvantageSync(effiInfGame(hiding, task, effiInfFromWRec(hiding, sumSharesAdversary)), { trials, seed: 'hide' });
    expect(onHiding.meanCosts['runReleased'].flops).toBe(0);
    expect(onHiding.successes).toBe(trials);
    expect(onHiding.admissibility).toEqual({ admissible: 0, inadmissible: 0, unverified: trials, verdict: 'cost unverified' });
  });
});

describe("an adversary cannot reach the challenger's coins", () => {
  /** The cheater that would win if it could: W* = W′ − K with K from a KGen it replays, or W from a Train it replays. */
  const replayKGen: WRecAdversary<ToyWeights | undefined, ToyWeights, ToyWeights> = {
    name: 'replay-kgen',
    recover: (_pk, released) => (ctx) => {
      // Every handle it has: its own stream, a sub-stream named like the challenger's, a guessed seed.
      const candidates = [
        maskScheme.kgen()(ctx),
        P.stream('kgen', maskScheme.kgen())(ctx),
        maskScheme.kgen()({ ...ctx, rng: ctx.rng.split('../kgen') }),
        P.sampleWith(maskScheme.kgen(), 'replay'),
      ];
      const key = candidates[P.uniformInt(candidates.length)(ctx)].sk;
      const keyByName: TensorDict = key;
      return asToyWeights(Object.fromEntries(Object.entries(released).map(([name, t]) => [name, { ...t, data: t.data.map((v, i) => v - keyByName[name].data[i]) }])));
    },
  };
  const replayTrain: WRecAdversary<ToyWeights | undefined, ToyWeights, ToyWeights> = {
    name: 'replay-train',
    recover: (_pk, released) => (ctx) => {
      const shapes = toyShapesOf(released); // D's shapes are public; D's coins are not
      const candidates = [trainToy(shapes)(ctx), P.stream('train', trainToy(shapes))(ctx), P.sampleWith(trainToy(shapes), 'replay')];
      return candidates[P.uniformInt(candidates.length)(ctx)];
    },
  };

  it('the replays are real cheats: on the challenger\'s own streams they recover W exactly', () => {
    const trial = trialContext('replay', 3);
    const w = onStream(trial, 'train', maskScheme.train(task));
    const key = onStream(trial, 'kgen', maskScheme.kgen()).sk;
    const released = onStream(trial, 'release', maskScheme.release(key, w));
    const keyByName: TensorDict = key;
    const unmasked = asToyWeights(Object.fromEntries(Object.entries(released).map(([name, t]) => [name, { ...t, data: t.data.map((v, i) => v - keyByName[name].data[i]) }])));
    expect(maskScheme.same.weights.test(unmasked, w)).toBe(true);
    expect(maskScheme.same.weights.test(onStream(trial, 'train', trainToy(task)), w)).toBe(true);
  });

  it.each([
    ['replay of the kgen stream', replayKGen],
    ['replay of the train stream', replayTrain],
  ])('%s loses WRec against additiveMask with pk = ⊥: advantage interval contains 0', (_label, adversary) => {
    const e = estimateAdvantageSync(wrecGame(maskScheme, task, adversary), { trials, seed: 'results' });
    expect(e.successes).toBe(0);
    expect(e.interval.lower).toBe(0);
  });

  it('reading seed or trial from the context: the context holds only its coins and a write-only notebook', () => {
    const seen: unknown[] = [];
    const snoop: WRecAdversary<ToyWeights | undefined, ToyWeights, ToyWeights> = {
      name: 'snoop',
      recover: (_pk, released) => (ctx: ProbContext) => {
        const loose = ctx as unknown as Record<string, unknown>;
        seen.push({
          keys: Object.getOwnPropertyNames(ctx).sort(),
          rng: Object.getOwnPropertyNames(ctx.rng).sort(),
          notes: Object.getOwnPropertyNames(ctx.notes).sort(),
          seed: loose['seed'],
          trial: loose['trial'],
          json: JSON.stringify(ctx),
        });
        return released;
      },
    };
    wrecGame(maskScheme, task, snoop).play(trialContext('a-secret-seed', 41));
    expect(seen).toEqual([{ keys: ['notes', 'rng'], rng: ['int', 'normal', 'split', 'uniform'], notes: ['write'], seed: undefined, trial: undefined, json: '{"rng":{},"notes":{}}' }]);
  });

  it('against additiveMask with pk = ⊥, every catalogued WRec adversary has an interval containing 0', () => {
    const entry = builtinSchemes['additive-mask']!;
    const rows = scorecardRows(entry).filter((row) => row.game === 'wrec');
    expect(rows.length).toBe(entry.use((e) => Object.keys(e.wrec).length));
    for (const row of rows) {
      const adversary = row.game === 'wrec' ? row.adversary : '';
      const e = estimateAdvantageSync(scorecardGame(entry, row), { trials, seed: 'results' });
      expect([adversary, e.interval.lower]).toEqual([adversary, 0]);
    }
  });
});

describe('isolated adversaries (untrusted code in a worker thread)', () => {
  const fixture = (name: string) => path.join(__dirname, 'fixtures', name);

  it('get the structured-cloned inputs of the game: copy in isolation wins WRec on openRelease', () => {
    const copy = isolatedWRecAdversary<undefined, ToyWeights, ToyWeights>(fixture('isolatedCopy.js'));
    try {
      const e = estimateAdvantageSync(wrecGame(openRelease(), task, copy), { trials: 30, seed: 'iso' });
      expect(e.successes).toBe(30);
    } finally {
      copy.close();
    }
  });

  it('see only their own coins: no seed, no trial, no environment; the same seed gives the same draws', () => {
    const snoop = isolatedWRecAdversary<undefined, ToyWeights, Record<string, unknown>>(fixture('isolatedSnoop.js'));
    try {
      const released = onStream(trialContext('x', 0), 'train', trainToy(task));
      const seen = (seed: string, trial: number) => onStream(trialContext(seed, trial), 'adversary', snoop.recover(undefined, released));
      const first = seen('a-secret-seed', 7);
      expect(first).toMatchObject({ contextKeys: ['notes', 'rng'], rngKeys: ['int', 'normal', 'split', 'uniform'], envKeys: [], releasedKeys: Object.keys(released).sort() });
      expect(seen('a-secret-seed', 7)).toEqual(first);
      expect(seen('a-secret-seed', 8).draw).not.toBe(first.draw);
    } finally {
      snoop.close();
    }
  });

  it('have unverified cost in EffiInf: never admissible', () => {
    const scheme = additiveShares({ shares: 3 });
    const isolated = isolatedEffiInfAdversary<undefined, SharedWeights, Float64Array, Float64Array>(fixture('isolatedCopy.js'));
    try {
      const e = estimateAdvantageSync(effiInfGame(scheme, task, isolated), { trials: 20, seed: 'iso' });
      expect(e.admissibility?.verdict).toBe('cost unverified');
    } finally {
      isolated.close();
    }
  });
});
