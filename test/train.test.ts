import * as P from '../src/prob/prob';
import { RegressionTask, taskLoss, trainMlp } from '../src/models/train';
import { correctnessGame } from '../games';
import { taylorMlp } from '../schemes';
import { estimateAdvantageSync } from '../src/estimate/estimate';

const task: RegressionTask = { dataSeed: 't', samples: 64, inputDim: 4, hiddenDim: 16, outputDim: 2, activation: 'silu', steps: 60 };

describe('trainMlp', () => {
  it('trains: the loss falls far below the initial loss; same stream same weights, other stream other weights', () => {
    const initial = taskLoss(task, trainMlp({ ...task, steps: 0 })(P.trialContext('a', 0)).block);
    const trained = trainMlp(task)(P.trialContext('a', 0));
    expect(taskLoss(task, trained.block)).toBeLessThan(initial / 5);
    expect(trainMlp(task)(P.trialContext('a', 0)).block.second).toEqual(trained.block.second);
    expect(trainMlp(task)(P.trialContext('a', 1)).block.second).not.toEqual(trained.block.second);
  });
});

describe('the Correctness game on TaylorMLP', () => {
  it('reports Pr[Same] with its interval; it rises with N and falls as inputs move away from z0', () => {
    const p = (order: number, spread: number) =>
      estimateAdvantageSync(correctnessGame(taylorMlp(task, { taylor: { order, dtype: 'f64' }, inputSpread: spread }), task), { trials: 40, seed: 'corr' });
    const low = p(2, 0.25);
    const high = p(12, 0.25);
    const far = p(12, 2);
    expect(high.interval.lower).toBeGreaterThan(low.interval.upper);
    expect(high.interval.lower).toBeGreaterThan(far.interval.upper);
    expect(high).toMatchObject({ method: 'clopper-pearson', confidence: 0.95, trials: 40 });
  });
});
