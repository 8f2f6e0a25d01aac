/**
 * The cost ledger, model-based (fast-check `fc.commands`): for any sequence of oracle calls and
 * adversary work in a multi-query game, the trial's cost record equals the work actually done —
 * each Train and Release an oracle runs recorded once under its own label, none of it charged to
 * the adversary, and the adversary charged exactly for its own kernels.
 */
import fc from 'fast-check';
import { pipe } from 'fp-ts/function';
import * as P from '../src/kernel/prob/prob';
import type { WeightReleaseScheme } from '../src/kernel/scheme';
import type { ReleaseOracle, WindOracle } from '../src/kernel/adversary';
import { wrecMultiQueryGame, windMultiQueryGame } from '../games';
import { openRelease, ToyTask, ToyWeights } from '../schemes';
import { asToyWeights, toyShapes, trainToy } from '../schemes/toy/mlp';
import { tensor } from '../src/numerics/tensor/tensor';
import { addArrays, dot } from '../src/numerics/tensor/kernels';
import { trialContext } from '../src/kernel/prob/challenger';

const task: ToyTask = { inputDim: 4, hiddenDim: 6, outputDim: 2 };
const h = task.hiddenDim;
const n = task.inputDim;

/** openRelease whose Train and Release do known, metered work: Train 2hn FLOPs (a dot product), Release hn (an addition). */
const TRAIN_FLOPS = 2 * h * n;
const RELEASE_FLOPS = h * n;
const metered: WeightReleaseScheme<ToyTask, ToyWeights, Float64Array, Float64Array, undefined, undefined, ToyWeights> = {
  ...openRelease(),
  name: 'metered',
  train: (t) => pipe(trainToy(t), P.map((w) => (dot(w['fc1.weight'].data, w['fc1.weight'].data), w))),
  release: (_sk, w) => () => (addArrays(w['fc1.weight'].data, w['fc1.weight'].data), w),
};

interface Model {
  queries: number;
  train: number;
  release: number;
  adversary: number;
}
interface Real {
  readonly ctx: P.ProbContext;
  readonly query: () => void;
}

class Query implements fc.Command<Model, Real> {
  constructor(readonly budget: number, readonly trainsPerQuery: number) {}
  check = (m: Readonly<Model>) => m.queries < this.budget;
  run(m: Model, r: Real): void {
    r.query();
    m.queries++;
    m.train += this.trainsPerQuery * TRAIN_FLOPS;
    m.release += RELEASE_FLOPS;
  }
  toString = () => 'query';
}

class Work implements fc.Command<Model, Real> {
  constructor(readonly length: number) {}
  check = () => true;
  run(m: Model): void {
    dot(new Float64Array(this.length), new Float64Array(this.length));
    m.adversary += 2 * this.length;
  }
  toString = () => `work(${this.length})`;
}

const commands = (budget: number, trainsPerQuery: number) =>
  fc.commands([fc.constant(new Query(budget, trainsPerQuery)), fc.integer({ min: 0, max: 50 }).map((k) => new Work(k))], { maxCommands: 12 });

const zeroWeights = asToyWeights(Object.fromEntries(Object.entries(toyShapes(task)).map(([name, shape]) => [name, tensor(shape, new Float64Array(shape.reduce((a, b) => a * b, 1)))])));

describe('the ledger records exactly the work done (model-based)', () => {
  it('W-IND^q: per LR query two Trains (W0, and W1 with ¬Same) and one Release, none charged to the adversary', () => {
    fc.assert(
      fc.property(commands(5, 2), fc.nat({ max: 1000 }), (cmds, trial) => {
        const model: Model = { queries: 0, train: 0, release: 0, adversary: 0 };
        const game = windMultiQueryGame(metered, task, {
          name: 'scripted',
          distinguish: (_pk, oracle: WindOracle<ToyWeights, ToyWeights>) => (ctx) => {
            fc.modelRun(() => ({ model, real: { ctx, query: () => void oracle.query()(ctx) } }), cmds);
            return 0;
          },
        }, { queries: 5 });
        const result = game.play(trialContext('ledger', trial));
        expect(result.costs['train']?.flops ?? 0).toBe(model.train);
        expect(result.costs['release']?.flops ?? 0).toBe(model.release);
        expect(result.costs['adversary'].flops).toBe(model.adversary);
        expect(result.details.queries).toBe(model.queries);
      }),
      { numRuns: 60 },
    );
  });

  it('WRec^q: the game trains once; each Release query is recorded once and not charged to the adversary', () => {
    fc.assert(
      fc.property(commands(4, 0), fc.nat({ max: 1000 }), (cmds, trial) => {
        const model: Model = { queries: 0, train: TRAIN_FLOPS, release: 0, adversary: 0 };
        const game = wrecMultiQueryGame(metered, task, {
          name: 'scripted',
          recover: (_pk, oracle: ReleaseOracle<ToyWeights>) => (ctx) => {
            let last: ToyWeights | undefined;
            fc.modelRun(() => ({ model, real: { ctx, query: () => void (last = oracle.query()(ctx)) } }), cmds);
            return last ?? zeroWeights; // no query: a guess that is never Same
          },
        }, { queries: 4 });
        const result = game.play(trialContext('ledger-wrec', trial));
        expect(result.costs['train'].flops).toBe(model.train);
        expect(result.costs['release']?.flops ?? 0).toBe(model.release);
        expect(result.costs['adversary'].flops).toBe(model.adversary);
      }),
      { numRuns: 60 },
    );
  });
});
