import { WeightgamesError } from '../../src/kernel/errors';
import { transposeMatrix } from '../../src/numerics/tensor/tensor';
import * as t from 'io-ts';
import { isLeft } from 'fp-ts/Either';
import { PathReporter } from 'io-ts/PathReporter';
import { SafetensorsError, StoredTensor, TensorToWrite, encodeFloats, toFloat32, toFloat64 } from '../../src/numerics/io/safetensors';
import type { MlpBlockLocation } from '../../src/numerics/models/layouts';
import type { OrderMask, ReleasedBlock } from './release';
import type { FloatArray } from '../../src/numerics/tensor/tensor';
import { SAFETENSORS_DTYPE, StorageDType } from './storage';
import { MAX_RELEASE_ORDER } from './release';

/**
 * The released artefact as safetensors tensors. For a block with prefix P:
 *   <first layer's original name>   V (or G), original layout (GPT-2: [in, out]), expanded rows × sign
 *   <up_proj's original name>       U (SwiGLU), unchanged
 *   P.taylor.z0                     [K]            s_j·z0_j
 *   P.taylor.theta                  [N+1, out, K]  Θ
 *   P.taylor.expanded_units         [K]   I32      hidden-unit index of each expanded unit
 *   P.taylor.plain_units            [h−K] I32
 *   P.taylor.plain_bias             [h−K]          b of plain units (if the block has b)
 *   P.taylor.plain_weight           [out, h−K]     W columns of plain units
 *   P.taylor.output_bias            [out]          c, only when K = 0
 * Neither W nor b appears as such; the metadata says how to read the rest.
 */

export const BlockMetaCodec = t.type({
  prefix: t.string,
  layout: t.keyof({ fc: null, gpt2: null, llama: null }),
  layer: t.number,
  kind: t.keyof({ plain: null, swiglu: null }),
  first: t.string,
  up: t.union([t.string, t.null]),
  /** Original names of the tensors the release replaced (so recovered weights can be written back under them). */
  second: t.string,
  firstBias: t.union([t.string, t.null]),
  secondBias: t.union([t.string, t.null]),
  inputDim: t.number,
  hiddenDim: t.number,
  outputDim: t.number,
});
export type BlockMeta = t.TypeOf<typeof BlockMetaCodec>;

export const TaylorMetadataCodec = t.type({
  scheme: t.literal('taylormlp'),
  order: t.string,
  activation: t.string,
  dtype: t.keyof({ f64: null, f32: null, bf16: null, f16: null }),
  mask: t.string,
  blocks: t.string,
});

export class ReleasedFileError extends WeightgamesError {
  override readonly name = 'ReleasedFileError';
  readonly kind = 'input';
}

export const i32Bytes = (values: Int32Array): Uint8Array => {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setInt32(i * 4, v, true));
  return out;
};


export const blockMeta = (location: MlpBlockLocation, released: ReleasedBlock): BlockMeta => ({
  prefix: location.prefix,
  layout: location.layout,
  layer: location.layer,
  kind: released.kind,
  first: location.first,
  up: location.up,
  second: location.second,
  firstBias: location.firstBias,
  secondBias: location.secondBias,
  inputDim: released.inputDim,
  hiddenDim: released.hiddenDim,
  outputDim: released.outputDim,
});

/** Names, dtypes and shapes of a block's released tensors — known from K alone, before releasing. */
export function releasedBlockShapes(meta: BlockMeta, K: number, order: number, dtype: StorageDType): Map<string, { dtype: 'F64' | 'F32' | 'F16' | 'BF16' | 'I32'; shape: number[] }> {
  const f = SAFETENSORS_DTYPE[dtype];
  const { inputDim: d, hiddenDim: h, outputDim: o } = meta;
  const P = `${meta.prefix}.taylor`;
  const out = new Map<string, { dtype: 'F64' | 'F32' | 'F16' | 'BF16' | 'I32'; shape: number[] }>();
  out.set(meta.first, { dtype: f, shape: meta.layout === 'gpt2' ? [d, h] : [h, d] });
  if (meta.up !== null) out.set(meta.up, { dtype: f, shape: [h, d] });
  out.set(`${P}.z0`, { dtype: f, shape: [K] });
  out.set(`${P}.theta`, { dtype: f, shape: [order + 1, o, K] });
  out.set(`${P}.expanded_units`, { dtype: 'I32', shape: [K] });
  out.set(`${P}.plain_units`, { dtype: 'I32', shape: [h - K] });
  if (meta.firstBias !== null) out.set(`${P}.plain_bias`, { dtype: f, shape: [h - K] });
  out.set(`${P}.plain_weight`, { dtype: f, shape: [o, h - K] });
  if (K === 0 && meta.secondBias !== null) out.set(`${P}.output_bias`, { dtype: f, shape: [o] });
  return out;
}

/** The tensors of one released block, in the storage dtype. */
export function releasedBlockTensors(meta: BlockMeta, released: ReleasedBlock, dtype: StorageDType): Map<string, TensorToWrite> {
  const shapes = releasedBlockShapes(meta, released.expanded.length, released.order, dtype);
  const P = `${meta.prefix}.taylor`;
  const { inputDim: d, hiddenDim: h } = released;
  const values = new Map<string, FloatArray | Int32Array | null>([
    [meta.first, meta.layout === 'gpt2' ? transposeMatrix(released.first, h, d) : released.first],
    [`${P}.z0`, released.z0],
    [`${P}.theta`, released.theta],
    [`${P}.expanded_units`, released.expanded],
    [`${P}.plain_units`, released.plain],
    [`${P}.plain_bias`, released.plainBias],
    [`${P}.plain_weight`, released.plainSecond],
    [`${P}.output_bias`, released.outputBias],
  ]);
  if (meta.up !== null) values.set(meta.up, released.up);
  const out = new Map<string, TensorToWrite>();
  for (const [name, { dtype: stored, shape }] of shapes) {
    const data = values.get(name);
    if (data === undefined || data === null) throw new ReleasedFileError(`${name}: the released block has no values for it`);
    out.set(name, { dtype: stored, shape, bytes: stored === 'I32' ? i32Bytes(data as Int32Array) : encodeFloats(data as FloatArray, stored) });
  }
  return out;
}

export interface ReleasedModelInfo {
  readonly order: number;
  readonly activation: string;
  readonly dtype: StorageDType;
  readonly mask: OrderMask | null;
  readonly blocks: readonly BlockMeta[];
  readonly metadata: Readonly<Record<string, string>>;
}

/** Decode a released file's metadata (io-ts): a clear error if it is not a TaylorMLP release. */
export function releasedInfo(metadata: Readonly<Record<string, string>>): ReleasedModelInfo {
  const decoded = TaylorMetadataCodec.decode(metadata);
  if (isLeft(decoded)) throw new ReleasedFileError(`not a weightgames TaylorMLP release (metadata: ${PathReporter.report(decoded).join('; ')})`);
  const m = decoded.right;
  let blocks: unknown;
  let mask: unknown;
  try {
    blocks = JSON.parse(m.blocks);
    mask = JSON.parse(m.mask);
  } catch {
    throw new ReleasedFileError('release metadata: blocks/mask are not valid JSON');
  }
  const blocksDecoded = t.array(BlockMetaCodec).decode(blocks);
  if (isLeft(blocksDecoded)) throw new ReleasedFileError(`release metadata: invalid blocks (${PathReporter.report(blocksDecoded).join('; ')})`);
  const maskDecoded = t.union([t.null, t.type({ minOrder: t.number, threshold: t.number })]).decode(mask);
  if (isLeft(maskDecoded)) throw new ReleasedFileError('release metadata: invalid mask');
  const order = Number(m.order);
  if (!/^\d+$/.test(m.order) || !(order >= 0 && order <= MAX_RELEASE_ORDER)) throw new ReleasedFileError(`release metadata: order "${m.order}" is not an integer in [0, ${MAX_RELEASE_ORDER}]`);
  return { order, activation: m.activation, dtype: m.dtype, mask: maskDecoded.right, blocks: blocksDecoded.right, metadata };
}

const i32 = (stored: StoredTensor): Int32Array => {
  if (stored.dtype !== 'I32') throw new ReleasedFileError(`${stored.name}: expected I32, found ${stored.dtype}`);
  return Int32Array.from(toFloat64(stored));
};

/** Rebuild a released block from its tensors (values as stored, widened to float64). */
export function readReleasedBlock(get: (name: string) => StoredTensor, meta: BlockMeta, info: ReleasedModelInfo): ReleasedBlock {
  const P = `${meta.prefix}.taylor`;
  const { inputDim: d, hiddenDim: h, outputDim: o } = meta;
  const N = info.order;
  const expect = (stored: StoredTensor, shape: number[]): FloatArray => {
    if (stored.shape.length !== shape.length || stored.shape.some((s, i) => s !== shape[i])) {
      throw new ReleasedFileError(`${stored.name}: shape [${stored.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
    // Values exactly as stored: float32 (a view for F32; bf16/f16 widened exactly), float64 for F64.
    const values = stored.dtype === 'F64' ? toFloat64(stored) : toFloat32(stored);
    // A release holds finite values only (release refuses anything else): NaN or ±∞ here is a forged or damaged file.
    for (let q = 0; q < values.length; q++) if (!Number.isFinite(values[q])) throw new ReleasedFileError(`tensor ${stored.name} holds ${values[q]} at index ${q}: a release holds finite values only`);
    return values;
  };
  const optional = (name: string): StoredTensor | null => {
    try {
      return get(name);
    } catch (error) {
      if (error instanceof SafetensorsError && error.problem === 'missing-tensor') return null;
      throw error;
    }
  };
  const expanded = i32(get(`${P}.expanded_units`));
  const plain = i32(get(`${P}.plain_units`));
  const K = expanded.length;
  if (K + plain.length !== h) throw new ReleasedFileError(`${P}: ${K} expanded + ${plain.length} plain units ≠ ${h} hidden units`);
  for (const j of [...expanded, ...plain]) if (!(j >= 0 && j < h)) throw new ReleasedFileError(`${P}: unit index ${j} out of range [0, ${h})`);
  const firstRaw: FloatArray = meta.layout === 'gpt2' ? transposeMatrix(expect(get(meta.first), [d, h]), d, h) : expect(get(meta.first), [h, d]);
  const plainBias = optional(`${P}.plain_bias`);
  const outputBias = optional(`${P}.output_bias`);
  return {
    kind: meta.kind,
    inputDim: d,
    hiddenDim: h,
    outputDim: o,
    order: N,
    first: firstRaw,
    up: meta.up === null ? null : expect(get(meta.up), [h, d]),
    expanded,
    z0: expect(get(`${P}.z0`), [K]),
    theta: expect(get(`${P}.theta`), [N + 1, o, K]),
    plain,
    plainBias: plainBias === null ? null : expect(plainBias, [plain.length]),
    plainSecond: expect(get(`${P}.plain_weight`), [o, plain.length]),
    outputBias: outputBias === null ? null : expect(outputBias, [o]),
    mask: info.mask,
  };
}
