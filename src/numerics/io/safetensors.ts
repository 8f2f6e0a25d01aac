import { WeightgamesError } from '../../kernel/errors';
import * as fs from 'node:fs';
import * as t from 'io-ts';
import { isLeft } from 'fp-ts/Either';
import { parseStrictJson, StrictJsonError } from './strictJson';
import { bf16BitsToFloat32, f16BitsToFloat32, float32ToBf16Bits, float32ToF16Bits } from './halfPrecision';
import { FileIdentity, checkOutputPath, openTemporary, recheckOutput } from './paths';

/**
 * safetensors: 8 bytes little-endian u64 N, N bytes of UTF-8 JSON header, then the data
 * buffer. The header maps each tensor name to { dtype, shape, data_offsets: [begin, end] }
 * (offsets relative to the data buffer) and may hold "__metadata__": { string: string }.
 * Validation follows the reference implementation; every violation is a SafetensorsError that
 * names the tensor and the problem.
 */

export const DTYPE_SIZES = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 } as const;
export type SafeDType = keyof typeof DTYPE_SIZES;

/** The most header bytes we accept (the reference implementation's bound). */
export const MAX_HEADER_BYTES = 100_000_000;

export type SafetensorsProblem =
  | 'too-small'
  | 'header-too-large'
  | 'header-out-of-file'
  | 'header-not-utf8'
  | 'header-not-json'
  | 'header-not-object'
  | 'duplicate-key'
  | 'bad-entry'
  | 'bad-dtype'
  | 'bad-name'
  | 'bad-metadata'
  | 'size-mismatch'
  | 'overflow'
  | 'offsets'
  | 'buffer-size'
  | 'missing-tensor';

export class SafetensorsError extends WeightgamesError {
  override readonly name = 'SafetensorsError';
  readonly kind = 'input';
  constructor(readonly problem: SafetensorsProblem, message: string, readonly tensor?: string) {
    super(message);
  }
}

/** One tensor as stored: its raw little-endian bytes (a view, not a copy). */
export interface StoredTensor {
  readonly name: string;
  readonly dtype: SafeDType;
  readonly shape: readonly number[];
  readonly bytes: Uint8Array;
}

export interface SafetensorsHeader {
  readonly metadata: Readonly<Record<string, string>>;
  /** Tensors in file order (by begin offset). */
  readonly entries: ReadonlyArray<{ readonly name: string; readonly dtype: SafeDType; readonly shape: readonly number[]; readonly begin: number; readonly end: number }>;
  /** Byte offset of the data buffer in the file: 8 + N. */
  readonly dataStart: number;
}

const Entry = t.type({ dtype: t.string, shape: t.array(t.number), data_offsets: t.tuple([t.number, t.number]) });
const Metadata = t.record(t.string, t.string);

const isCount = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;

/**
 * Validate a header given its bytes and the size of the data buffer that follows it.
 * Throws SafetensorsError on the first violation.
 */
export function parseHeader(headerBytes: Uint8Array, dataBytes: number, dataStart: number): SafetensorsHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw new SafetensorsError('header-not-utf8', 'safetensors header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = parseStrictJson(text.replace(/ +$/, ''));
  } catch (error) {
    if (error instanceof StrictJsonError && error.duplicateKey !== undefined) {
      throw new SafetensorsError('duplicate-key', `safetensors header has the key "${error.duplicateKey}" twice`, error.duplicateKey);
    }
    throw new SafetensorsError('header-not-json', `safetensors header is not valid JSON: ${error instanceof StrictJsonError ? error.message : String(error)}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new SafetensorsError('header-not-object', 'safetensors header must be a JSON object');
  let metadata: Record<string, string> = {};
  const entries: Array<{ name: string; dtype: SafeDType; shape: number[]; begin: number; end: number }> = [];
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!Metadata.is(raw)) throw new SafetensorsError('bad-metadata', '__metadata__ must map strings to strings');
      // Own data properties only, on a null prototype: a key like "__proto__" stays a key.
      metadata = Object.create(null) as Record<string, string>;
      for (const [key, value] of Object.entries(raw)) Object.defineProperty(metadata, key, { value, enumerable: true, writable: true, configurable: true });
      continue;
    }
    if (name.length === 0 || name.includes('\u0000')) throw new SafetensorsError('bad-name', `tensor name ${JSON.stringify(name)} is empty or contains NUL`, name);
    const decoded = Entry.decode(raw);
    if (isLeft(decoded)) throw new SafetensorsError('bad-entry', `tensor "${name}": entry must be { dtype, shape, data_offsets: [begin, end] }`, name);
    const { dtype, shape, data_offsets: [begin, end] } = decoded.right;
    if (!(dtype in DTYPE_SIZES)) throw new SafetensorsError('bad-dtype', `tensor "${name}": unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(DTYPE_SIZES).join(', ')})`, name);
    if (!shape.every(isCount)) throw new SafetensorsError('bad-entry', `tensor "${name}": shape [${shape.join(', ')}] must be non-negative integers`, name);
    if (!isCount(begin) || !isCount(end)) throw new SafetensorsError('offsets', `tensor "${name}": data_offsets [${begin}, ${end}] must be non-negative integers`, name);
    if (end < begin) throw new SafetensorsError('offsets', `tensor "${name}": data_offsets end ${end} is before begin ${begin}`, name);
    // numel × size, overflow-checked (BigInt: shapes may multiply past 2^53).
    let bytes = BigInt(DTYPE_SIZES[dtype as SafeDType]);
    for (const d of shape) bytes *= BigInt(d);
    if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) throw new SafetensorsError('overflow', `tensor "${name}": shape [${shape.join(', ')}] × ${dtype} overflows`, name);
    if (Number(bytes) !== end - begin) {
      throw new SafetensorsError('size-mismatch', `tensor "${name}": shape [${shape.join(', ')}] of ${dtype} needs ${bytes} bytes, data_offsets give ${end - begin}`, name);
    }
    entries.push({ name, dtype: dtype as SafeDType, shape, begin, end });
  }
  // Offsets must tile the buffer exactly: contiguous from 0, no overlap, no hole, nothing after.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of entries) {
    if (e.begin !== cursor) {
      throw new SafetensorsError('offsets', `tensor "${e.name}": data_offsets begin ${e.begin}, expected ${cursor} (${e.begin < cursor ? 'overlaps the previous tensor' : 'leaves a hole'})`, e.name);
    }
    cursor = e.end;
  }
  if (cursor !== dataBytes) throw new SafetensorsError('buffer-size', `tensors cover ${cursor} bytes of data but the file has ${dataBytes}`);
  return { metadata, entries, dataStart };
}

function headerLength(prefix: Uint8Array, fileBytes: number): number {
  if (fileBytes < 8) throw new SafetensorsError('too-small', `file of ${fileBytes} bytes is too small for a safetensors header`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) throw new SafetensorsError('header-too-large', `header length ${n} exceeds ${MAX_HEADER_BYTES} bytes`);
  if (Number(n) > fileBytes - 8) throw new SafetensorsError('header-out-of-file', `header length ${n} runs past the end of the file (${fileBytes} bytes)`);
  return Number(n);
}

/** Parse a whole safetensors buffer held in memory; tensors are views into it. */
export function parseSafetensors(buffer: Uint8Array): { header: SafetensorsHeader; tensors: Map<string, StoredTensor> } {
  const n = headerLength(buffer, buffer.length);
  const header = parseHeader(buffer.subarray(8, 8 + n), buffer.length - 8 - n, 8 + n);
  const tensors = new Map<string, StoredTensor>();
  for (const e of header.entries) tensors.set(e.name, { name: e.name, dtype: e.dtype, shape: e.shape, bytes: buffer.subarray(header.dataStart + e.begin, header.dataStart + e.end) });
  return { header, tensors };
}

/**
 * A safetensors file opened for reading: the header is read and validated at once, each
 * tensor's bytes are read when asked for (one positioned read, no whole-file buffer).
 */
export class SafetensorsFile {
  private constructor(readonly path: string, private readonly fd: number, readonly header: SafetensorsHeader) {}

  static open(file: string): SafetensorsFile {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const prefix = new Uint8Array(8);
      fs.readSync(fd, prefix, 0, Math.min(8, size), 0);
      const n = headerLength(prefix, size);
      const headerBytes = new Uint8Array(n);
      fs.readSync(fd, headerBytes, 0, n, 8);
      return new SafetensorsFile(file, fd, parseHeader(headerBytes, size - 8 - n, 8 + n));
    } catch (error) {
      fs.closeSync(fd);
      throw error;
    }
  }

  get names(): string[] {
    return this.header.entries.map((e) => e.name);
  }

  get metadata(): Readonly<Record<string, string>> {
    return this.header.metadata;
  }

  has(name: string): boolean {
    return this.header.entries.some((e) => e.name === name);
  }

  /**
   * One tensor's bytes. With `reuse` (8-byte aligned, big enough) they are read into it — a
   * caller that reads many large tensors one after the other keeps one buffer (fresh pages cost).
   */
  tensor(name: string, reuse?: Uint8Array): StoredTensor {
    const e = this.header.entries.find((x) => x.name === name);
    if (e === undefined) throw new SafetensorsError('missing-tensor', `no tensor "${name}" in ${this.path}`, name);
    // 8-byte aligned storage so that a float view needs no copy.
    const storage =
      reuse !== undefined && reuse.length >= e.end - e.begin && reuse.byteOffset % 8 === 0
        ? reuse.subarray(0, e.end - e.begin)
        : new Uint8Array(new ArrayBuffer(Math.ceil((e.end - e.begin) / 8) * 8), 0, e.end - e.begin);
    let done = 0;
    while (done < storage.length) {
      const read = fs.readSync(this.fd, storage, done, storage.length - done, this.header.dataStart + e.begin + done);
      if (read === 0) throw new SafetensorsError('buffer-size', `file ended inside tensor "${name}"`, name);
      done += read;
    }
    return { name, dtype: e.dtype, shape: e.shape, bytes: storage };
  }

  /**
   * `length` bytes of a tensor from byte `offset` of its data (a slice of its rows), read with one
   * positioned read into `reuse` when given (8-byte aligned, big enough) — the attack's sampled rows
   * and single order slabs, without reading the rest.
   */
  range(name: string, offset: number, length: number, reuse?: Uint8Array): StoredTensor {
    const e = this.header.entries.find((x) => x.name === name);
    if (e === undefined) throw new SafetensorsError('missing-tensor', `no tensor "${name}" in ${this.path}`, name);
    if (!(Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0 && offset + length <= e.end - e.begin)) {
      throw new SafetensorsError('offsets', `tensor "${name}": bytes [${offset}, ${offset + length}) are outside its ${e.end - e.begin}`, name);
    }
    const storage = reuse !== undefined && reuse.length >= length && reuse.byteOffset % 8 === 0 ? reuse.subarray(0, length) : new Uint8Array(new ArrayBuffer(Math.ceil(length / 8) * 8), 0, length);
    let done = 0;
    while (done < length) {
      const read = fs.readSync(this.fd, storage, done, length - done, this.header.dataStart + e.begin + offset + done);
      if (read === 0) throw new SafetensorsError('buffer-size', `file ended inside tensor "${name}"`, name);
      done += read;
    }
    return { name, dtype: e.dtype, shape: [length / DTYPE_SIZES[e.dtype]], bytes: storage };
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** Read a whole file (header validated) — for small files; big ones: SafetensorsFile. */
export function readSafetensors(file: string): { metadata: Readonly<Record<string, string>>; tensors: Map<string, StoredTensor> } {
  const { header, tensors } = parseSafetensors(new Uint8Array(fs.readFileSync(file)));
  return { metadata: header.metadata, tensors };
}

/** Whether this host is little-endian, as safetensors stores (typed views of the bytes are then the values). */
export const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The tensor's values as float32: F32 viewed when aligned, F16/BF16 widened, F64 and integers converted. */
export function toFloat32(stored: StoredTensor): Float32Array {
  const { bytes, dtype } = stored;
  const n = bytes.length / DTYPE_SIZES[dtype];
  if (dtype === 'F32' && littleEndian) {
    if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, n);
    return new Float32Array(bytes.slice().buffer, 0, n);
  }
  if (dtype === 'BF16' && littleEndian) {
    // bf16 is the top half of a float32: widen by shifting the bits, no per-element decode.
    const source = bytes.byteOffset % 2 === 0 ? new Uint16Array(bytes.buffer, bytes.byteOffset, n) : new Uint16Array(bytes.slice().buffer, 0, n);
    const bits = new Uint32Array(n);
    for (let i = 0; i < n; i++) bits[i] = source[i] << 16;
    return new Float32Array(bits.buffer);
  }
  const out = new Float32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  for (let i = 0; i < n; i++) out[i] = readValue(view, dtype, i);
  return out;
}

/**
 * The index of the first NaN or ±∞ of a floating-point tensor, or −1 (integer tensors: −1).
 * Reads the stored bits in place (no widened copy, so a large embedding costs no memory).
 */
export function firstNonFinite(stored: StoredTensor): number {
  const { bytes, dtype } = stored;
  const n = bytes.length / DTYPE_SIZES[dtype];
  // A typed view where the bytes are aligned (the usual case: ~4× faster than a DataView); else the DataView.
  const aligned = littleEndian && bytes.byteOffset % DTYPE_SIZES[dtype] === 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  switch (dtype) {
    case 'F64':
      if (aligned) {
        const values = new Float64Array(bytes.buffer, bytes.byteOffset, n);
        for (let i = 0; i < n; i++) if (values[i] - values[i] !== 0) return i; // NaN and ±∞ only
        return -1;
      }
      for (let i = 0; i < n; i++) if (!Number.isFinite(view.getFloat64(i * 8, true))) return i;
      return -1;
    case 'F32':
      if (aligned) return firstAllOnesExponent32(new Uint32Array(bytes.buffer, bytes.byteOffset, n));
      for (let i = 0; i < n; i++) if ((view.getUint32(i * 4, true) & 0x7f800000) === 0x7f800000) return i;
      return -1;
    case 'F16':
      if (aligned) return firstAllOnesExponent16(bytes, n, 10, 0x1f);
      for (let i = 0; i < n; i++) if ((view.getUint16(i * 2, true) & 0x7c00) === 0x7c00) return i;
      return -1;
    case 'BF16':
      if (aligned) return firstAllOnesExponent16(bytes, n, 7, 0xff);
      for (let i = 0; i < n; i++) if ((view.getUint16(i * 2, true) & 0x7f80) === 0x7f80) return i;
      return -1;
    default:
      return -1;
  }
}

/**
 * The first float32 whose exponent bits are all ones (NaN or ±∞), or −1. Eight words at a time
 * without a branch per word: an exponent byte e gives e + 1 ≥ 256 only for e = 255, so bit 8 of
 * the OR says whether the eight hold one; the word itself is then found one by one.
 */
export function firstAllOnesExponent32(bits: Uint32Array): number {
  const n = bits.length;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const hit =
      (((bits[i] >>> 23) & 0xff) + 1) |
      (((bits[i + 1] >>> 23) & 0xff) + 1) |
      (((bits[i + 2] >>> 23) & 0xff) + 1) |
      (((bits[i + 3] >>> 23) & 0xff) + 1) |
      (((bits[i + 4] >>> 23) & 0xff) + 1) |
      (((bits[i + 5] >>> 23) & 0xff) + 1) |
      (((bits[i + 6] >>> 23) & 0xff) + 1) |
      (((bits[i + 7] >>> 23) & 0xff) + 1);
    if (hit & 0x100) break;
  }
  for (; i < n; i++) if ((bits[i] & 0x7f800000) === 0x7f800000) return i;
  return -1;
}

/**
 * The first of `n` 16-bit floats (exponent field `mask` at bit `shift`: bf16 7/0xff, f16 10/0x1f)
 * whose exponent bits are all ones, or −1. Where the bytes are 4-byte aligned, two values per
 * 32-bit word, four words at a time, with the same carry test as firstAllOnesExponent32.
 */
function firstAllOnesExponent16(bytes: Uint8Array, n: number, shift: number, mask: number): number {
  const halves = new Uint16Array(bytes.buffer, bytes.byteOffset, n);
  const field = mask << shift;
  const carry = mask + 1;
  let i = 0; // a value index, even while pairs are read
  if (bytes.byteOffset % 4 === 0) {
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, n >>> 1);
    const high = shift + 16;
    let w = 0;
    for (; w + 4 <= words.length; w += 4) {
      const a = words[w];
      const b = words[w + 1];
      const c = words[w + 2];
      const d = words[w + 3];
      const hit =
        (((a >>> shift) & mask) + 1) |
        (((a >>> high) & mask) + 1) |
        (((b >>> shift) & mask) + 1) |
        (((b >>> high) & mask) + 1) |
        (((c >>> shift) & mask) + 1) |
        (((c >>> high) & mask) + 1) |
        (((d >>> shift) & mask) + 1) |
        (((d >>> high) & mask) + 1);
      if (hit & carry) break;
    }
    i = 2 * w;
  }
  for (; i < n; i++) if ((halves[i] & field) === field) return i;
  return -1;
}

/** The tensor's values as float64 (always a new array). */
export function toFloat64(stored: StoredTensor): Float64Array {
  if ((stored.dtype === 'F32' || stored.dtype === 'BF16') && littleEndian) {
    const source = toFloat32(stored);
    const out = new Float64Array(source.length);
    out.set(source); // typed-array set widens natively: far faster than Float64Array.from
    return out;
  }
  if (stored.dtype === 'F64' && littleEndian) {
    const bytes = stored.bytes.byteOffset % 8 === 0 ? stored.bytes : stored.bytes.slice();
    return Float64Array.from(new Float64Array(bytes.buffer, bytes.byteOffset, bytes.length / 8));
  }
  const n = stored.bytes.length / DTYPE_SIZES[stored.dtype];
  const out = new Float64Array(n);
  const view = new DataView(stored.bytes.buffer, stored.bytes.byteOffset, stored.bytes.length);
  for (let i = 0; i < n; i++) out[i] = readValue(view, stored.dtype, i);
  return out;
}

function readValue(view: DataView, dtype: SafeDType, i: number): number {
  switch (dtype) {
    case 'F64':
      return view.getFloat64(i * 8, true);
    case 'F32':
      return view.getFloat32(i * 4, true);
    case 'F16':
      return f16BitsToFloat32(view.getUint16(i * 2, true));
    case 'BF16':
      return bf16BitsToFloat32(view.getUint16(i * 2, true));
    case 'I64':
      return Number(view.getBigInt64(i * 8, true));
    case 'I32':
      return view.getInt32(i * 4, true);
    case 'I16':
      return view.getInt16(i * 2, true);
    case 'I8':
      return view.getInt8(i);
    case 'U8':
    case 'BOOL':
      return view.getUint8(i);
  }
}

/** Encode float values into a dtype's little-endian bytes (F16/BF16: round to nearest-even). */
export function encodeFloats(values: ArrayLike<number>, dtype: 'F64' | 'F32' | 'F16' | 'BF16'): Uint8Array {
  // Typed-array conversion is the fast path on little-endian machines (all Node targets in practice).
  // Already in the layout: view the bytes, no copy.
  if (littleEndian && dtype === 'F32' && values instanceof Float32Array) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (littleEndian && dtype === 'F64' && values instanceof Float64Array) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (littleEndian && dtype === 'F32') return new Uint8Array(new Float32Array(values as ArrayLike<number>).buffer);
  if (littleEndian && dtype === 'F64') return new Uint8Array(Float64Array.from(values).buffer);
  const out = new Uint8Array(values.length * DTYPE_SIZES[dtype]);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (dtype === 'F64') view.setFloat64(i * 8, v, true);
    else if (dtype === 'F32') view.setFloat32(i * 4, v, true);
    else if (dtype === 'F16') view.setUint16(i * 2, float32ToF16Bits(v), true);
    else view.setUint16(i * 2, float32ToBf16Bits(v), true);
  }
  return out;
}

/** A tensor to write: raw bytes in the dtype's little-endian layout. */
export interface TensorToWrite {
  readonly dtype: SafeDType;
  readonly shape: readonly number[];
  readonly bytes: Uint8Array;
}

/** What the header needs of a tensor: dtype, shape, and how many bytes it will write. */
export interface HeaderEntry {
  readonly dtype: SafeDType;
  readonly shape: readonly number[];
  readonly byteLength: number;
}

/** The header bytes the writer produces: names sorted, offsets contiguous, padded with spaces to a multiple of 8. */
export function encodeHeader(entries: ReadonlyMap<string, HeaderEntry>, metadata: Readonly<Record<string, string>> = {}): { header: Uint8Array; order: string[] } {
  const order = [...entries.keys()].sort();
  // A null prototype, so that a tensor or metadata key named "__proto__" is written as a key.
  const json: Record<string, unknown> = Object.create(null);
  if (Object.keys(metadata).length > 0) {
    const meta: Record<string, string> = Object.create(null);
    for (const [key, value] of Object.entries(metadata)) meta[key] = value;
    json.__metadata__ = meta;
  }
  let offset = 0;
  for (const name of order) {
    if (name === '__metadata__' || name.length === 0 || name.includes('\u0000')) throw new SafetensorsError('bad-name', `cannot write a tensor named ${JSON.stringify(name)}`, name);
    const entry = entries.get(name)!;
    let expected: number = DTYPE_SIZES[entry.dtype];
    for (const d of entry.shape) expected *= d;
    if (expected !== entry.byteLength) throw new SafetensorsError('size-mismatch', `tensor "${name}": shape [${entry.shape.join(', ')}] of ${entry.dtype} needs ${expected} bytes, got ${entry.byteLength}`, name);
    json[name] = { dtype: entry.dtype, shape: entry.shape, data_offsets: [offset, offset + entry.byteLength] };
    offset += entry.byteLength;
  }
  const text = Buffer.from(JSON.stringify(json), 'utf8');
  const padded = Math.ceil(text.length / 8) * 8;
  const header = new Uint8Array(8 + padded).fill(0x20, 8);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(text, 8);
  return { header, order };
}

/** A metadata value reserved in the header and filled in after the tensors (see writeSafetensorsStreaming). */
export interface DeferredMetadata {
  readonly length: number;
  readonly value: () => string;
}

/**
 * Write a safetensors file atomically: header and tensors stream into a temporary file beside
 * the target, which is fsynced and renamed over it. The output path passes the guard of ./paths
 * (checked before any work, and again before the rename): never one of `inputs`, never a
 * symlink, a device or a directory.
 */
export function writeSafetensors(
  file: string,
  tensors: ReadonlyMap<string, TensorToWrite> | Readonly<Record<string, TensorToWrite>>,
  metadata: Readonly<Record<string, string>> = {},
  options: { readonly inputs?: ReadonlyArray<string | FileIdentity | null>; readonly writeChunk?: (fd: number, bytes: Uint8Array) => void } = {},
): void {
  const map: ReadonlyMap<string, TensorToWrite> = tensors instanceof Map ? tensors : new Map(Object.entries(tensors as Readonly<Record<string, TensorToWrite>>));
  const lazy = new Map<string, LazyTensor>([...map].map(([name, t]) => [name, { dtype: t.dtype, shape: t.shape, bytes: () => t.bytes }]));
  writeSafetensorsStreaming(file, lazy, metadata, options);
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done);
}

/** A tensor whose bytes are produced only when the streaming writer reaches it. */
export interface LazyTensor {
  readonly dtype: SafeDType;
  readonly shape: readonly number[];
  /**
   * The tensor's bytes at once, or (`pieces`) in order a piece at a time, each written before the
   * next is asked for (so a producer may fill one buffer over and over: a big tensor then never
   * sits in memory whole, nor faults in fresh pages for all of it).
   */
  readonly bytes: (() => Uint8Array) | { readonly pieces: () => Iterable<Uint8Array> };
}

/**
 * Write a safetensors file whose tensors are produced one at a time, in name order, so that
 * at most one producer's output need be in memory (plus whatever the producers cache).
 * Atomic like writeSafetensors; a producer that returns the wrong size aborts the write.
 */
export function writeSafetensorsStreaming(
  file: string,
  tensors: ReadonlyMap<string, LazyTensor>,
  metadata: Readonly<Record<string, string>> = {},
  options: {
    readonly inputs?: ReadonlyArray<string | FileIdentity | null>;
    readonly onTensor?: (name: string, index: number, total: number) => void;
    /** How bytes reach the file (default: fs.writeSync until done); tests inject write failures here. */
    readonly writeChunk?: (fd: number, bytes: Uint8Array) => void;
    /**
     * Metadata known only once every tensor has been produced (e.g. what producing them found):
     * each key reserves exactly `length` characters in the header, and `value()` — called after
     * the last tensor, before the file is flushed and renamed — must return that many printable
     * ASCII characters (no quote or backslash). The file is never visible with the placeholders.
     */
    readonly deferred?: Readonly<Record<string, DeferredMetadata>>;
  } = {},
): void {
  const write = options.writeChunk ?? writeAll;
  // The output path is checked before any work (a producer may take seconds per tensor).
  const plan = checkOutputPath(file, options.inputs ?? []);
  const sized = new Map<string, HeaderEntry>();
  for (const [name, t] of tensors) sized.set(name, { dtype: t.dtype, shape: t.shape, byteLength: t.shape.reduce((a, b) => a * b, DTYPE_SIZES[t.dtype] as number) });
  const deferred = reserveDeferred(metadata, options.deferred);
  const { header, order } = encodeHeader(sized, { ...metadata, ...deferred.placeholders });
  const slots = deferred.locate(header);
  writeAtomically(plan, (fd) => {
    write(fd, header);
    order.forEach((name, index) => {
      const expected = sized.get(name)!.byteLength;
      const produce = tensors.get(name)!.bytes;
      const mismatch = (given: string): SafetensorsError => new SafetensorsError('size-mismatch', `tensor "${name}": producer gave ${given} bytes, header says ${expected}`, name);
      if (typeof produce === 'function') {
        const bytes = produce();
        if (bytes.length !== expected) throw mismatch(String(bytes.length));
        write(fd, bytes);
      } else {
        let given = 0;
        for (const piece of produce.pieces()) {
          // Checked before the write: a producer giving too much never writes past its slot.
          if (given + piece.length > expected) throw mismatch(`at least ${given + piece.length}`);
          write(fd, piece);
          given += piece.length;
        }
        if (given !== expected) throw mismatch(String(given));
      }
      options.onTensor?.(name, index, order.length);
    });
    fillDeferred(fd, slots);
  });
}

/**
 * Metadata values known only after the tensors (`deferred`): each key gets `length` placeholder
 * characters in the header; `locate` finds their byte positions in the encoded header, and
 * `fillDeferred` writes the values there (before the file is flushed and renamed).
 */
function reserveDeferred(metadata: Readonly<Record<string, string>>, given: Readonly<Record<string, DeferredMetadata>> | undefined) {
  const deferred = Object.entries(given ?? {});
  const placeholders: Record<string, string> = {};
  for (const [key, d] of deferred) {
    if (key in metadata) throw new SafetensorsError('bad-name', `metadata key ${JSON.stringify(key)} given twice (deferred and immediate)`, key);
    if (!(Number.isInteger(d.length) && d.length >= 0)) throw new SafetensorsError('bad-name', `deferred metadata ${JSON.stringify(key)}: length must be a non-negative integer, got ${d.length}`, key);
    placeholders[key] = '?'.repeat(d.length);
  }
  // Byte offset of each placeholder in the header: right after the unique `"key":"` (a key inside
  // another JSON string value would be escaped as \"key\":\", so the match is the entry itself).
  const locate = (header: Uint8Array): DeferredSlot[] => {
    const headerText = Buffer.from(header.buffer, header.byteOffset, header.byteLength);
    return deferred.map(([key, d]) => {
      const marker = Buffer.from(`${JSON.stringify(key)}:"`, 'utf8');
      const at = headerText.indexOf(marker, 8);
      if (at < 0) throw new SafetensorsError('bad-name', `deferred metadata ${JSON.stringify(key)}: placeholder not found in the header`, key);
      return { key, d, position: at + marker.length };
    });
  };
  return { placeholders, locate };
}

interface DeferredSlot {
  readonly key: string;
  readonly d: DeferredMetadata;
  readonly position: number;
}

function fillDeferred(fd: number, slots: readonly DeferredSlot[]): void {
  for (const { key, d, position } of slots) {
    const value = d.value();
    if (value.length !== d.length || !/^[\x20-\x7e]*$/.test(value) || /["\\]/.test(value)) {
      throw new SafetensorsError('size-mismatch', `deferred metadata ${JSON.stringify(key)}: expected ${d.length} printable ASCII characters without quotes or backslashes, got ${JSON.stringify(value.slice(0, 40))}${value.length > 40 ? '…' : ''} (${value.length})`, key);
    }
    fs.writeSync(fd, Buffer.from(value, 'ascii'), 0, value.length, position);
  }
}

/**
 * Write a safetensors file whose tensors are written at their positions by `fill` (which may hand
 * the descriptor to worker threads: positional writes need no shared cursor). `fill` gets the
 * descriptor of the temporary file and each tensor's absolute byte offset, and answers the names
 * it wrote; a name missing aborts the write. Atomic and path-guarded like writeSafetensors.
 */
export function writeSafetensorsPositional(
  file: string,
  tensors: ReadonlyMap<string, { readonly dtype: SafeDType; readonly shape: readonly number[] }>,
  metadata: Readonly<Record<string, string>>,
  fill: (fd: number, offsets: ReadonlyMap<string, { readonly position: number; readonly byteLength: number }>) => ReadonlySet<string>,
  options: { readonly inputs?: ReadonlyArray<string | FileIdentity | null>; readonly deferred?: Readonly<Record<string, DeferredMetadata>> } = {},
): void {
  const plan = checkOutputPath(file, options.inputs ?? []);
  const sized = new Map<string, HeaderEntry>();
  for (const [name, t] of tensors) sized.set(name, { dtype: t.dtype, shape: t.shape, byteLength: t.shape.reduce((a, b) => a * b, DTYPE_SIZES[t.dtype] as number) });
  const deferred = reserveDeferred(metadata, options.deferred);
  const { header, order } = encodeHeader(sized, { ...metadata, ...deferred.placeholders });
  const slots = deferred.locate(header);
  const offsets = new Map<string, { position: number; byteLength: number }>();
  let position = header.length;
  for (const name of order) {
    const byteLength = sized.get(name)!.byteLength;
    offsets.set(name, { position, byteLength });
    position += byteLength;
  }
  writeAtomically(plan, (fd) => {
    writeAt(fd, header, 0);
    // The file at its final size before any tensor is written: direct writes (./directWrites) must not extend it.
    fs.ftruncateSync(fd, position);
    const written = fill(fd, offsets);
    const missing = order.find((name) => !written.has(name));
    if (missing !== undefined) throw new SafetensorsError('size-mismatch', `tensor "${missing}" was never written`, missing);
    fillDeferred(fd, slots);
  });
}

/**
 * Run `body` on the descriptor of the plan's temporary file, then fsync, close, re-check the output
 * path and rename into place; on any error the temporary file is closed and removed. The one
 * commit path of every safetensors writer: nothing is ever visible half-written.
 */
function writeAtomically(plan: ReturnType<typeof checkOutputPath>, body: (fd: number) => void): void {
  const temp = plan.temporary;
  const fd = openTemporary(plan);
  let closed = false;
  try {
    body(fd);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    closed = true;
    recheckOutput(plan);
    fs.renameSync(temp, plan.target);
  } catch (error) {
    if (!closed) fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    throw error;
  }
}

/** All of `bytes` at byte `position` of `fd` (positional: no shared file cursor). */
export function writeAt(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done, position + done);
}
