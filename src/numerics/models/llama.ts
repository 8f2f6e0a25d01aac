import { WeightgamesError } from '../../kernel/errors';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as t from 'io-ts';
import { isLeft } from 'fp-ts/Either';
import { PathReporter } from 'io-ts/PathReporter';
import { SafetensorsFile, toFloat64 } from '../io/safetensors';
import { activations } from '../activations';
import { FloatArray, tensor } from '../tensor/tensor';
import { addArrays, matMulTransposed } from '../tensor/kernels';
import { rmsNorm } from '../tensor/normKernels';
import { cachedAttention } from '../tensor/attentionKernels';
import { rotateHalf } from '../tensor/ropeKernels';
import { sampleSoftmax } from '../tensor/samplingKernels';
import { MlpBlock, runMlp } from './mlp';
import { loadMlpBlock, findMlpBlocks } from './layouts';

/** The Llama config fields the forward pass needs (config.json, decoded with io-ts). */
export const LlamaConfigCodec = t.intersection([
  t.type({
    hidden_size: t.number,
    intermediate_size: t.number,
    num_hidden_layers: t.number,
    num_attention_heads: t.number,
    vocab_size: t.number,
    rms_norm_eps: t.number,
  }),
  t.partial({ max_position_embeddings: t.number, num_key_value_heads: t.number, rope_theta: t.number, tie_word_embeddings: t.boolean, bos_token_id: t.number, eos_token_id: t.number, hidden_act: t.string }),
]);
export type LlamaConfig = t.TypeOf<typeof LlamaConfigCodec>;

/** The context when config.json gives no max_position_embeddings (Hugging Face's LlamaConfig default). */
export const DEFAULT_MAX_POSITIONS = 2048;

export class ModelError extends WeightgamesError {
  override readonly name = 'ModelError';
  readonly kind = 'input';
}

interface Layer {
  readonly inputNorm: Float64Array;
  readonly postNorm: Float64Array;
  readonly q: Float64Array;
  readonly k: Float64Array;
  readonly v: Float64Array;
  readonly o: Float64Array;
  readonly mlp: MlpBlock;
}

/** A whole-model MLP: the original block, or something that computes its outputs (Run′). */
export type MlpRunner = (layer: number, inputs: Float64Array) => Float64Array;

export interface LlamaModel {
  readonly config: Required<Pick<LlamaConfig, 'hidden_size' | 'num_hidden_layers' | 'num_attention_heads' | 'vocab_size' | 'rms_norm_eps'>> & { kvHeads: number; ropeTheta: number; bos: number; eos: number; maxPositions: number };
  readonly embed: Float64Array;
  readonly lmHead: Float64Array;
  readonly finalNorm: Float64Array;
  readonly layers: readonly Layer[];
}

export function loadLlama(dir: string): LlamaModel {
  const configPath = path.join(dir, 'config.json');
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(configPath, 'utf8'));
  } catch (error) {
    throw new ModelError(`cannot read ${configPath}: ${(error as Error).message}`);
  }
  const decoded = LlamaConfigCodec.decode(raw);
  if (isLeft(decoded)) throw new ModelError(`${configPath}: ${PathReporter.report(decoded).join('; ')}`);
  const c = decoded.right;
  const file = SafetensorsFile.open(path.join(dir, 'model.safetensors'));
  try {
    const get = (name: string) => toFloat64(file.tensor(name));
    const blocks = findMlpBlocks(file.names);
    const layers: Layer[] = [];
    for (let i = 0; i < c.num_hidden_layers; i++) {
      const p = `model.layers.${i}`;
      layers.push({
        inputNorm: get(`${p}.input_layernorm.weight`),
        postNorm: get(`${p}.post_attention_layernorm.weight`),
        q: get(`${p}.self_attn.q_proj.weight`),
        k: get(`${p}.self_attn.k_proj.weight`),
        v: get(`${p}.self_attn.v_proj.weight`),
        o: get(`${p}.self_attn.o_proj.weight`),
        mlp: loadMlpBlock((n) => file.tensor(n), blocks[i]),
      });
    }
    const embed = get('model.embed_tokens.weight');
    const tied = c.tie_word_embeddings ?? !file.has('lm_head.weight');
    return {
      config: {
        hidden_size: c.hidden_size,
        num_hidden_layers: c.num_hidden_layers,
        num_attention_heads: c.num_attention_heads,
        vocab_size: c.vocab_size,
        rms_norm_eps: c.rms_norm_eps,
        kvHeads: c.num_key_value_heads ?? c.num_attention_heads,
        ropeTheta: c.rope_theta ?? 10000,
        bos: c.bos_token_id ?? 1,
        eos: c.eos_token_id ?? 2,
        maxPositions: c.max_position_embeddings ?? DEFAULT_MAX_POSITIONS,
      },
      embed,
      lmHead: tied ? embed : get('lm_head.weight'),
      finalNorm: get('model.norm.weight'),
      layers,
    };
  } finally {
    file.close();
  }
}

const linear = (weight: Float64Array, rows: number, x: Float64Array): Float64Array => matMulTransposed(tensor([1, x.length], x), tensor([rows, x.length], weight)).data as Float64Array;

/** A decoding session: the KV cache of one sequence. `mlp` replaces the MLP blocks (Run′). */
export class LlamaSession {
  private readonly keys: Float64Array[][];
  private readonly values: Float64Array[][];
  position = 0;

  constructor(readonly model: LlamaModel, private readonly mlp?: MlpRunner) {
    this.keys = model.layers.map(() => []);
    this.values = model.layers.map(() => []);
  }

  /** Feed one token; return the logits for the next. Refuses a position beyond the context. */
  step(token: number): Float64Array {
    const m = this.model;
    if (this.position >= m.config.maxPositions) throw new ModelError(`position ${this.position} is beyond the model's context (max_position_embeddings = ${m.config.maxPositions})`);
    if (!(Number.isInteger(token) && token >= 0 && token < m.config.vocab_size)) throw new ModelError(`token ${token} is not in the vocabulary [0, ${m.config.vocab_size})`);
    const d = m.config.hidden_size;
    const heads = m.config.num_attention_heads;
    const kvHeads = m.config.kvHeads;
    const headDim = d / heads;
    const pos = this.position++;
    let x: Float64Array = m.embed.slice(token * d, (token + 1) * d);
    m.layers.forEach((layer, l) => {
      const h = rmsNorm(x, layer.inputNorm, m.config.rms_norm_eps);
      const q = linear(layer.q, d, h);
      const k = linear(layer.k, kvHeads * headDim, h);
      const v = linear(layer.v, kvHeads * headDim, h);
      rotateHalf(q, heads, headDim, pos, m.config.ropeTheta);
      rotateHalf(k, kvHeads, headDim, pos, m.config.ropeTheta);
      this.keys[l].push(k);
      this.values[l].push(v);
      const attention = cachedAttention(q, this.keys[l], this.values[l], heads, kvHeads, headDim);
      const attended = linear(layer.o, d, attention);
      const residual = addArrays(x, attended);
      const normed = rmsNorm(residual, layer.postNorm, m.config.rms_norm_eps);
      const mlpOut: FloatArray = this.mlp !== undefined ? this.mlp(l, normed) : runMlp(layer.mlp, activations.silu, tensor([1, d], normed)).data;
      x = addArrays(residual, mlpOut);
    });
    const final = rmsNorm(x, m.finalNorm, m.config.rms_norm_eps);
    return linear(m.lmHead, m.config.vocab_size, final);
  }
}

/**
 * New tokens that fit the context: prompt + generated ≤ max_position_embeddings. A prompt that
 * fills the context alone is refused.
 */
export function contextRoom(model: LlamaModel, prompt: readonly number[], maxTokens: number): number {
  const context = model.config.maxPositions;
  if (prompt.length >= context) throw new ModelError(`the prompt is ${prompt.length} tokens; the model's context is ${context} (max_position_embeddings), leaving no room for a new token`);
  return Math.min(maxTokens, context - prompt.length);
}

/** Greedy decoding from `prompt` until EOS/BOS or `maxTokens` new tokens. */
export function greedyDecode(model: LlamaModel, prompt: readonly number[], maxTokens: number, mlp?: MlpRunner): { tokens: number[]; firstLogits: Float64Array } {
  maxTokens = contextRoom(model, prompt, maxTokens);
  const session = new LlamaSession(model, mlp);
  let logits: Float64Array = new Float64Array(0);
  for (const token of prompt) logits = session.step(token);
  const firstLogits = logits;
  const tokens: number[] = [];
  for (let n = 0; n < maxTokens; n++) {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    if (best === model.config.eos || best === model.config.bos) break;
    tokens.push(best);
    if (n + 1 < maxTokens) logits = session.step(best);
  }
  return { tokens, firstLogits };
}

/**
 * Decoding with temperature T (T = 0: greedy), drawing from softmax(logits/T) with `uniform`
 * (a seeded stream), until EOS/BOS or `maxTokens` new tokens.
 */
export function sampleDecode(model: LlamaModel, prompt: readonly number[], maxTokens: number, temperature: number, uniform: () => number, mlp?: MlpRunner): number[] {
  if (temperature === 0) return greedyDecode(model, prompt, maxTokens, mlp).tokens;
  maxTokens = contextRoom(model, prompt, maxTokens);
  const session = new LlamaSession(model, mlp);
  let logits: Float64Array = new Float64Array(0);
  for (const token of prompt) logits = session.step(token);
  const tokens: number[] = [];
  for (let n = 0; n < maxTokens; n++) {
    const next = sampleSoftmax(logits, temperature, uniform());
    if (next === model.config.eos || next === model.config.bos) break;
    tokens.push(next);
    if (n + 1 < maxTokens) logits = session.step(next);
  }
  return tokens;
}
