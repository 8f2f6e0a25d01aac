import { estimateAdvantageSync } from '../src/estimate/estimate';
import { wrecApiGame } from '../games';
import { additiveShares, neuronPermutation, openRelease, ToyTask } from '../schemes';
import { reluExtraction } from '../adversaries/generic/reluExtraction';
import { toyFormat } from '../adversaries/generic/format';
import { sameUpToHiddenSymmetry } from '../adversaries/generic/symmetry';
import type { AnyScheme } from '../src/scheme';

const task: ToyTask = { inputDim: 16, hiddenDim: 32, outputDim: 4, activation: 'relu', training: { dataSeed: 'relu', samples: 128, steps: 60 } };
const format = toyFormat('relu');

describe('relu-extraction', () => {
  it('recovers trained ReLU MLPs up to permutation and scaling, API access only', () => {
    const schemes: AnyScheme[] = [openRelease({ activation: 'relu' }), neuronPermutation(task), additiveShares({ shares: 3, activation: 'relu' })];
    for (const scheme of schemes) {
      const game = wrecApiGame(scheme, task, reluExtraction(format), { queries: 200_000, same: sameUpToHiddenSymmetry(format) });
      const e = estimateAdvantageSync(game, { trials: 3, seed: 'relu', keepTrials: true });
      console.log(scheme.name, e.successes, e.results?.map((r) => r.details));
      expect(e.successes).toBe(3);
    }
  });
});
