import { transposeMatrix } from '../tensor/tensor';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as t from 'io-ts';
import { isLeft } from 'fp-ts/Either';
import { PathReporter } from 'io-ts/PathReporter';
import { SafetensorsFile, TensorToWrite, encodeFloats, toFloat64, writeSafetensors } from '../io/safetensors';
import { activationByName, Activation } from '../activations';
import { FloatArray, tensor } from '../tensor/tensor';
import { addArrays, addRowBias, matMulTransposed } from '../tensor/kernels';
import { layerNorm } from '../tensor/normKernels';
import { cachedAttention } from '../tensor/attentionKernels';
import { MlpBlock, runMlp } from './mlp';
import { findMlpBlocks, loadMlpBlock } from './layouts';
import { ModelError, MlpRunner } from './llama';
import * as P from '../../kernel/prob/prob';
import { writeFileAtomic } from '../io/atomicWrite';
import { trialContext } from '../../kernel/prob/challenger';

/**
 * GPT-2: learned positions, pre-LayerNorm blocks, fused Conv1D attention (c_attn: [d, 3d]),
 * GELU-tanh MLP (c_fc/c_proj, Conv1D layouts), final LayerNorm, tied output projection.
 */
export const Gpt2ConfigCodec = t.intersection([
  t.type({ n_embd: t.number, n_head: t.number, n_layer: t.number, vocab_size: t.number }),
  t.partial({ n_positions: t.number, layer_norm_epsilon: t.number, activation_function: t.string, bos_token_id: t.number, eos_token_id: t.number }),
]);

interface Gpt2Layer {
  readonly ln1: [Float64Array, Float64Array];
  readonly ln2: [Float64Array, Float64Array];
  /** c_attn as [3d, d] (transposed from Conv1D), and its bias. */
  readonly attn: Float64Array;
  readonly attnBias: Float64Array;
  readonly proj: Float64Array;
  readonly projBias: Float64Array;
  readonly mlp: MlpBlock;
}

export interface Gpt2Model {
  readonly d: number;
  readonly heads: number;
  readonly vocab: number;
  readonly eps: number;
  readonly eos: number;
  readonly activation: Activation;
  readonly wte: Float64Array;
  readonly wpe: Float64Array;
  readonly lnf: [Float64Array, Float64Array];
  readonly layers: readonly Gpt2Layer[];
}


export function loadGpt2(dir: string): Gpt2Model {
  const decoded = Gpt2ConfigCodec.decode(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')));
  if (isLeft(decoded)) throw new ModelError(`${dir}/config.json: ${PathReporter.report(decoded).join('; ')}`);
  const c = decoded.right;
  const file = SafetensorsFile.open(path.join(dir, 'model.safetensors'));
  try {
    const get = (n: string) => toFloat64(file.tensor(n));
    const d = c.n_embd;
    const blocks = findMlpBlocks(file.names);
    return {
      d,
      heads: c.n_head,
      vocab: c.vocab_size,
      eps: c.layer_norm_epsilon ?? 1e-5,
      eos: c.eos_token_id ?? c.vocab_size - 1,
      activation: activationByName(c.activation_function ?? 'gelu_new'),
      wte: get('transformer.wte.weight'),
      wpe: get('transformer.wpe.weight'),
      lnf: [get('transformer.ln_f.weight'), get('transformer.ln_f.bias')],
      layers: Array.from({ length: c.n_layer }, (_, i) => {
        const p = `transformer.h.${i}`;
        return {
          ln1: [get(`${p}.ln_1.weight`), get(`${p}.ln_1.bias`)],
          ln2: [get(`${p}.ln_2.weight`), get(`${p}.ln_2.bias`)],
          attn: transposeMatrix(get(`${p}.attn.c_attn.weight`), d, 3 * d),
          attnBias: get(`${p}.attn.c_attn.bias`),
          proj: transposeMatrix(get(`${p}.attn.c_proj.weight`), d, d),
          projBias: get(`${p}.attn.c_proj.bias`),
          mlp: loadMlpBlock((n) => file.tensor(n), blocks[i]),
        };
      }),
    };
  } finally {
    file.close();
  }
}

const linear = (weight: Float64Array, rows: number, x: Float64Array, bias?: Float64Array): Float64Array => {
  const out = matMulTransposed(tensor([1, x.length], x), tensor([rows, x.length], weight)).data as Float64Array;
  if (bias !== undefined) addRowBias(out, bias);
  return out;
};

/** Greedy decoding with a KV cache; `mlp` replaces the MLP blocks (Run′). */
export function gpt2Greedy(model: Gpt2Model, prompt: readonly number[], maxTokens: number, mlp?: MlpRunner): number[] {
  const { d, heads } = model;
  const headDim = d / heads;
  const keys: Float64Array[][] = model.layers.map(() => []);
  const values: Float64Array[][] = model.layers.map(() => []);
  // The context: the learned positions (n_positions rows of wpe), prompt included.
  const context = model.wpe.length / d;
  if (prompt.length >= context) throw new ModelError(`the prompt is ${prompt.length} tokens; the model's context is ${context} (n_positions), leaving no room for a new token`);
  maxTokens = Math.min(maxTokens, context - prompt.length);
  let position = 0;
  const step = (token: number): Float64Array => {
    if (position >= context) throw new ModelError(`position ${position} is beyond the model's context (n_positions = ${context})`);
    const x = addArrays(model.wte.subarray(token * d, (token + 1) * d), model.wpe.subarray(position * d, (position + 1) * d));
    position++;
    let hidden = x;
    model.layers.forEach((layer, l) => {
      const qkv = linear(layer.attn, 3 * d, layerNorm(hidden, layer.ln1[0], layer.ln1[1], model.eps), layer.attnBias);
      keys[l].push(qkv.slice(d, 2 * d));
      values[l].push(qkv.slice(2 * d, 3 * d));
      const out = cachedAttention(qkv, keys[l], values[l], heads, heads, headDim);
      const attended = linear(layer.proj, d, out, layer.projBias);
      const residual = addArrays(hidden, attended);
      const normed = layerNorm(residual, layer.ln2[0], layer.ln2[1], model.eps);
      const mlpOut: FloatArray = mlp !== undefined ? mlp(l, normed) : runMlp(layer.mlp, model.activation, tensor([1, d], normed)).data;
      hidden = addArrays(residual, mlpOut);
    });
    return linear(model.wte, model.vocab, layerNorm(hidden, model.lnf[0], model.lnf[1], model.eps));
  };
  let logits = new Float64Array(0) as Float64Array;
  for (const token of prompt) logits = step(token);
  const tokens: number[] = [];
  for (let n = 0; n < maxTokens; n++) {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    if (best === model.eos) break;
    tokens.push(best);
    if (n + 1 < maxTokens) logits = step(best);
  }
  return tokens;
}

/** A seeded GPT-2-layout test model (GELU-tanh, biases everywhere), written with its config.json. */
export function writeSyntheticGpt2(dir: string, spec: { seed: string; d: number; heads: number; layers: number; vocab: number; positions: number }): string {
  fs.mkdirSync(dir, { recursive: true });
  const ctx = trialContext(`gpt2:${spec.seed}`, 0);
  const f32 = (values: Float64Array, shape: number[]): TensorToWrite => ({ dtype: 'F32', shape, bytes: encodeFloats(values, 'F32') });
  const normal = (n: number, sigma: number, mean = 0) => P.normalArray(n, sigma)(ctx).map((v) => v + mean);
  const { d, vocab } = spec;
  const tensors = new Map<string, TensorToWrite>([
    ['transformer.wte.weight', f32(normal(vocab * d, 0.5), [vocab, d])],
    ['transformer.wpe.weight', f32(normal(spec.positions * d, 0.1), [spec.positions, d])],
    ['transformer.ln_f.weight', f32(normal(d, 0.05, 1), [d])],
    ['transformer.ln_f.bias', f32(normal(d, 0.05), [d])],
  ]);
  for (let i = 0; i < spec.layers; i++) {
    const p = `transformer.h.${i}`;
    tensors.set(`${p}.ln_1.weight`, f32(normal(d, 0.05, 1), [d]));
    tensors.set(`${p}.ln_1.bias`, f32(normal(d, 0.05), [d]));
    tensors.set(`${p}.ln_2.weight`, f32(normal(d, 0.05, 1), [d]));
    tensors.set(`${p}.ln_2.bias`, f32(normal(d, 0.05), [d]));
    tensors.set(`${p}.attn.c_attn.weight`, f32(normal(d * 3 * d, 1 / Math.sqrt(d)), [d, 3 * d]));
    tensors.set(`${p}.attn.c_attn.bias`, f32(normal(3 * d, 0.05), [3 * d]));
    tensors.set(`${p}.attn.c_proj.weight`, f32(normal(d * d, 0.5 / Math.sqrt(d)), [d, d]));
    tensors.set(`${p}.attn.c_proj.bias`, f32(normal(d, 0.05), [d]));
    tensors.set(`${p}.mlp.c_fc.weight`, f32(normal(d * 4 * d, 1 / Math.sqrt(d)), [d, 4 * d]));
    tensors.set(`${p}.mlp.c_fc.bias`, f32(normal(4 * d, 0.5, -0.3), [4 * d]));
    tensors.set(`${p}.mlp.c_proj.weight`, f32(normal(4 * d * d, 0.5 / Math.sqrt(4 * d)), [4 * d, d]));
    tensors.set(`${p}.mlp.c_proj.bias`, f32(normal(d, 0.05), [d]));
  }
  const file = path.join(dir, 'model.safetensors');
  writeSafetensors(file, tensors, { generator: 'weightgames synthetic gpt2', seed: spec.seed });
  writeFileAtomic(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'gpt2', n_embd: d, n_head: spec.heads, n_layer: spec.layers, vocab_size: vocab, n_positions: spec.positions, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5 }, null, 2) + '\n');
  return file;
}
