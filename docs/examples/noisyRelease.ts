import { Prob, type WeightReleaseScheme, estimateAdvantage, kernels, normDistance, sameWithin, tensorDictView, windFromWRec, tensor } from 'weightgames';
import { correctnessGame, wrecGame, windGame } from 'weightgames/games';
import { type ToyTask, type ToyWeights, mapToyWeights, trainToy, runToy, sampleToyInput } from 'weightgames/schemes';
import { copyAdversary } from 'weightgames/adversaries';
import { fc, reductionProperty } from 'weightgames/testing';

/** 1. The scheme: W′ = W + E, E ~ N(0, σ²) entrywise; no key; Run′ runs W′ as it is. */
export function noisyRelease(sigma: number): WeightReleaseScheme<ToyTask, ToyWeights, Float64Array, Float64Array, undefined, undefined, ToyWeights> {
  const relative = (threshold: number) => sameWithin(normDistance(tensorDictView, { relative: true }), threshold);
  return {
    name: `noisyRelease(σ=${sigma})`,
    train: trainToy,
    run: (weights, input) => () => runToy(weights, input),
    kgen: () => Prob.of({ pk: undefined, sk: undefined }),
    release: (_sk, weights) => (ctx) =>
      mapToyWeights(weights, (t) => {
        const noise = Prob.normalArray(t.data.length, sigma)(ctx); // drawn on the Release stream
        return tensor(t.shape, kernels.addArrays(t.data, noise)); // metered: Release's cost
      }),
    runReleased: (_pk, released, input) => () => runToy(released, input),
    sampleInput: sampleToyInput,
    // 2. Same: outputs within 1 % (relative L2), weights within 1 % (relative L2).
    same: {
      outputs: sameWithin(normDistance((y: Float64Array) => [y], { relative: true }), 0.01),
      weights: relative(0.01),
    },
  };
}

/** A direct W-IND adversary: answer the original nearer to W′. It needs no recovery at all. */
export const nearest = {
  name: 'nearest',
  distinguish: (_pk: undefined, w0: ToyWeights, w1: ToyWeights, released: ToyWeights) => () => {
    const dist = normDistance(tensorDictView);
    return dist.measure(released, w0) <= dist.measure(released, w1) ? (0 as const) : (1 as const);
  },
};

/** 3. The games, estimated. */
export async function noisyReleaseReport(): Promise<Record<string, number>> {
  const data: ToyTask = { inputDim: 8, hiddenDim: 16, outputDim: 4 };
  const report: Record<string, number> = {};
  for (const sigma of [1e-4, 0.1]) {
    const scheme = noisyRelease(sigma);
    const estimate = (game: Parameters<typeof estimateAdvantage>[0]) => estimateAdvantage(game, { trials: 200, seed: 'noisy' });
    report[`correctness σ=${sigma}`] = (await estimate(correctnessGame(scheme, data))).p;
    report[`WRec copy σ=${sigma}`] = (await estimate(wrecGame(scheme, data, copyAdversary()))).advantage;
    report[`W-IND B[copy] σ=${sigma}`] = (await estimate(windGame(scheme, data, windFromWRec(scheme, copyAdversary())))).advantage;
    report[`W-IND nearest σ=${sigma}`] = (await estimate(windGame(scheme, data, nearest))).advantage;
  }
  return report;
}

/** 4. The reduction, property-tested: whenever copy wins WRec, B[copy] wins W-IND. */
export const noisyReductionHolds = (): void =>
  fc.assert(reductionProperty({ scheme: noisyRelease(1e-4), data: { inputDim: 4, hiddenDim: 6, outputDim: 2 }, adversary: copyAdversary<undefined, ToyWeights>(), target: 'wind' }), { numRuns: 50 });

