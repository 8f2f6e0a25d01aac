import * as path from 'node:path';
import * as P from '../../src/kernel/prob/prob';
import type { WeightReleaseScheme } from '../../src/kernel/scheme';
import { sameExactly, sameWithin } from '../../src/kernel/same';
import { LlamaModel, greedyDecode, loadLlama } from '../../src/numerics/models/llama';
import type { MlpBlock } from '../../src/numerics/models/mlp';
import { recordedMlpInputName } from '../../src/numerics/models/layouts';
import { SafetensorsFile, toFloat64 } from '../../src/numerics/io/safetensors';
import { activations } from '../../src/numerics/activations';
import { tensor } from '../../src/numerics/tensor/tensor';
import { CalibrationRange, TaylorOptions, calibrationRange, releaseBlock, ReleasedBlock } from './release';
import { runReleasedBlock } from './runReleased';
import { drawSigns } from './checkpoint';

/** D for whole-model games: a model directory (config.json, model.safetensors, activations.safetensors). */
export interface WholeModelData {
  readonly dir: string;
  /** New tokens per greedy decoding. */
  readonly tokens: number;
}

/** Y of the whole-model games: the greedy tokens and the logits of the first decoding step. */
export interface Decoding {
  readonly tokens: readonly number[];
  readonly firstLogits: Float64Array;
}

/** Same on decodings: identical greedy tokens (the default). */
export const sameTokens = sameExactly((a: Decoding, b: Decoding) => a.tokens.length === b.tokens.length && a.tokens.every((t, i) => t === b.tokens[i]), 'identical greedy tokens');

/** Same on decodings by logit distance: max |Δ logit| of the first step ≤ δ. */
export const sameByLogits = (delta: number) =>
  sameWithin<Decoding>(
    {
      name: 'max |Δ first-step logit|',
      measure: (a, b) => {
        let worst = 0;
        for (let i = 0; i < a.firstLogits.length; i++) worst = Math.max(worst, Math.abs(a.firstLogits[i] - b.firstLogits[i]));
        return a.firstLogits.length === b.firstLogits.length ? worst : Infinity;
      },
    },
    delta,
  );

/** W′ of a whole model: every MLP block released, the rest of the model published as is. */
export interface ReleasedModelWeights {
  readonly model: LlamaModel;
  readonly blocks: readonly ReleasedBlock[];
}

/** x ←$ 𝒳: BOS and 1–3 tokens drawn uniformly from the vocabulary's ordinary pieces (ids ≥ 259). */
export const samplePrompt = (vocab: number): P.Prob<number[]> => (ctx) => {
  const length = 1 + ctx.rng.int(3);
  return [1, ...Array.from({ length }, () => 259 + ctx.rng.int(vocab - 259))];
};

function recordedRanges(dir: string, model: LlamaModel, includeZero: boolean): CalibrationRange[] {
  const file = SafetensorsFile.open(path.join(dir, 'activations.safetensors'));
  try {
    return model.layers.map((layer, i) => {
      const stored = file.tensor(recordedMlpInputName('calibration', i));
      return calibrationRange(layer.mlp, tensor(stored.shape, toFloat64(stored)), includeZero);
    });
  } finally {
    file.close();
  }
}

/**
 * TaylorMLP on a whole Llama model (the paper's Run is "the original LLM inference algorithm on
 * the input prompt"): Train loads the checkpoint; Release replaces every MLP block by its
 * TaylorMLP release, z0 calibrated on the recorded activations; Run / Run′ are greedy decodings
 * with the original MLPs / their released polynomials; Same on outputs = identical tokens.
 */
export function taylorWholeModel(
  data: WholeModelData,
  taylor: TaylorOptions,
  options: { readonly sameOutputs?: 'tokens' | { readonly logitDelta: number } } = {},
): WeightReleaseScheme<WholeModelData, LlamaModel, number[], Decoding, undefined, Int8Array[] | null, ReleasedModelWeights> {
  let ranges: CalibrationRange[] | undefined;
  const run = (model: LlamaModel, mlp: ((layer: number, x: Float64Array) => Float64Array) | undefined, prompt: number[]): Decoding => greedyDecode(model, prompt, data.tokens, mlp);
  return {
    name: `taylormlp-whole-model(N=${taylor.order})`,
    train: (d) => () => loadLlama(d.dir),
    run: (model, prompt) => () => run(model, undefined, prompt),
    kgen: () => (ctx) => {
      if (taylor.signs !== true) return { pk: undefined, sk: null };
      const model = loadLlama(data.dir);
      return { pk: undefined, sk: model.layers.map((layer, i) => drawSigns(layer.mlp.hiddenDim, `layer-${i}`)(ctx)) };
    },
    release: (signs, model) => () => {
      ranges ??= recordedRanges(data.dir, model, taylor.rangeIncludesZero ?? false);
      const blocks = model.layers.map((layer, i) => releaseBlock(layer.mlp, activations.silu, ranges![i], taylor, signs === null ? null : signs[i]));
      return { model, blocks };
    },
    runReleased: (_pk, released, prompt) => () =>
      run(released.model, (layer, x) => runReleasedBlock(released.blocks[layer], activations.silu, tensor([1, x.length], x)).data as Float64Array, prompt),
    sampleInput: () => samplePrompt(512),
    same: {
      weights: sameWithin({ name: 'max relative error of MLP weights', measure: (a, b) => maxRelativeMlpError(a.layers.map((l) => l.mlp), b.layers.map((l) => l.mlp)) }, 0.01),
      outputs: options.sameOutputs === undefined || options.sameOutputs === 'tokens' ? sameTokens : sameByLogits(options.sameOutputs.logitDelta),
    },
  };
}

function maxRelativeMlpError(a: readonly MlpBlock[], b: readonly MlpBlock[]): number {
  let worst = 0;
  a.forEach((block, i) => {
    for (const [x, y] of [[block.first, b[i].first], [block.second, b[i].second], [block.up, b[i].up]] as const) {
      if (x === null || y === null) continue;
      for (let q = 0; q < x.length; q++) worst = Math.max(worst, Math.abs(x[q] - y[q]) / Math.abs(y[q] === 0 ? 1 : y[q]));
    }
  });
  return worst;
}
