import { WASM_PAGE, wasmApi } from './simd/webAssembly';

/**
 * Buffers a long job reuses from call to call. Fresh memory is expensive where its pages must be
 * faulted in one by one (on this project's 2-core VM a first touch costs ~1 s per 268 MB, 20× a
 * pass over memory already touched), so the file jobs (release, attack) read, convert and write
 * through a few such buffers; and a job's buffers outlive it briefly (`dropSoon`), so that the next
 * job of a series (the layers of bench:scale, a user's loop over checkpoints) finds them touched.
 */
export class Scratch {
  private buffer: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
  /** `pageAligned`: the buffer starts on a memory page (what O_DIRECT writes need; see ../io/directWrites). */
  constructor(private readonly options: ScratchOptions = {}) {}
  /** `bytes` bytes, 8-byte aligned (page-aligned if asked), reused from call to call (valid until the next `get` or `drop`). */
  get(bytes: number): Uint8Array {
    if (this.buffer.length < bytes) this.buffer = this.options.pageAligned === true ? pageAlignedBytes(bytes) : new Uint8Array(new ArrayBuffer(Math.ceil(bytes / 8) * 8));
    return this.buffer.subarray(0, bytes);
  }
  floats(count: number): Float32Array {
    const b = this.get(count * 4);
    return new Float32Array(b.buffer, b.byteOffset, count);
  }
  doubles(count: number): Float64Array {
    const b = this.get(count * 8);
    return new Float64Array(b.buffer, b.byteOffset, count);
  }
  /**
   * Use `memory` (8-byte aligned: e.g. a SharedArrayBuffer another thread has already touched) from
   * now on, where it is bigger than the buffer held; `get` still grows past it when asked for more.
   */
  adopt(memory: ArrayBufferLike): void {
    if (memory.byteLength > this.buffer.length) this.buffer = new Uint8Array(memory, 0, Math.floor(memory.byteLength / 8) * 8);
  }
  drop(): void {
    this.buffer = new Uint8Array(0);
  }
  /** Bytes held now. */
  get held(): number {
    return this.buffer.length;
  }
}

export interface ScratchOptions {
  readonly pageAligned?: boolean;
}

/**
 * `bytes` bytes (rounded up to 64 KiB) starting on a memory page boundary (at least 4096-aligned).
 * JavaScript has no aligned allocation; a WebAssembly memory is the one buffer V8 maps on pages of
 * its own.
 */
export function pageAlignedBytes(bytes: number): Uint8Array {
  if (wasmApi === undefined) throw new Error('pageAlignedBytes: this runtime has no WebAssembly');
  const memory = new wasmApi.Memory({ initial: Math.max(1, Math.ceil(bytes / WASM_PAGE)) });
  return new Uint8Array(memory.buffer);
}

/**
 * A job's set of buffers: `claim()` at the start of each use (cancels a pending drop); `dropSoon()`
 * at the end lets them go after `KEEP_MS` unless claimed again meanwhile (an unref'd timer: it never
 * keeps a process alive); `dropNow()` lets them go at once.
 */
export class ScratchSet<K extends string> {
  private timer: ReturnType<typeof setTimeout> | null = null;
  readonly buffers: Readonly<Record<K, Scratch>>;
  constructor(names: readonly K[], options: ScratchOptions = {}) {
    this.buffers = Object.fromEntries(names.map((name) => [name, new Scratch(options)])) as Record<K, Scratch>;
  }
  claim(): Readonly<Record<K, Scratch>> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    return this.buffers;
  }
  dropSoon(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.dropNow(), KEEP_MS);
    this.timer.unref();
  }
  dropNow(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const buffer of Object.values<Scratch>(this.buffers)) buffer.drop();
  }
  /** Bytes held now, all buffers. */
  get held(): number {
    return Object.values<Scratch>(this.buffers).reduce((a, b) => a + b.held, 0);
  }
}

/** How long a job's buffers outlive it. */
export const KEEP_MS = 2000;

/**
 * The file jobs' shared buffers, one set per thread: a release and an attack draw their big
 * buffers from the same slots (each module maps its roles onto them, biggest onto biggest), so a
 * thread that alternates the two (bench:scale's layers: release, then attack) holds one job's
 * worth of memory, already touched, instead of both.
 */
export const fileJobScratch = new ScratchSet(['s0', 's1', 's2', 's3', 's4', 's5', 's6', 's7'] as const);
