import * as fs from 'node:fs';
import { Scratch, ScratchSet } from '../tensor/scratch';
import { writeAt } from './safetensors';

/**
 * Big output writes that bypass the page cache (O_DIRECT), where the platform and file system
 * allow it; everything else, and everywhere else, is an ordinary write — the same bytes at the same
 * offsets either way.
 *
 * Why: writing a file through the page cache puts every byte into a fresh page-cache page, and on a
 * VM whose free memory is handed back to the host (virtio-balloon free page reporting, as on this
 * project's machines) each fresh page costs a host fault: 1 GB written took 0.2–2.8 s of system time
 * here, depending only on whether the kernel still had recently freed pages at hand. A direct write
 * goes from our buffer to the device: no page to fault in, and no second copy of the output in memory.
 *
 * How: O_DIRECT wants the memory, the file offset and the length aligned to the device's logical
 * block (at most 4096: MEMORY_ALIGN). A write is split into an unaligned head and tail, written as
 * usual, and a middle whose file offsets are multiples of FILE_ALIGN (64 KiB: a multiple of every
 * page size in use, 4, 16 or 64 KiB), copied into a page-aligned staging buffer (or taken as it is,
 * when the caller placed it so: `pageCongruent`) and written directly. No page of the page cache is
 * ever written both ways at once (a direct range is whole pages inside one write; heads and tails
 * never reach those pages), so the page cache and the disk never disagree. The file must already
 * have its final size (see writeSafetensorsPositional): a direct write past the end of a file is
 * very slow on ext4. Where O_DIRECT is refused (no such flag, a file system without it such as
 * tmpfs, EINVAL on any direct write), the writer falls back to ordinary writes from then on.
 * Bit for bit the same file either way.
 */

/** File offsets and lengths of a direct range: multiples of any page size in use, so that no page-cache page is shared with a buffered head or tail. */
export const FILE_ALIGN = 65536;
/** Memory alignment O_DIRECT needs (the logical block; 4096 covers every device's): staging buffers have it, and a `pageCongruent` caller keeps its bytes on the same offset modulo this as their file position. */
export const MEMORY_ALIGN = 4096;
/** Writes shorter than this go through the page cache: too small to matter, and a split costs syscalls. */
export const DIRECT_MIN_BYTES = 256 * 1024;
/** Most bytes one staging buffer holds; a bigger middle is written in pieces of this size (synchronously). */
export const STAGE_BYTES = 32 * 2 ** 20;

/** Two page-aligned staging buffers per thread (kept briefly between jobs, like the file jobs' scratch). */
const staging = new ScratchSet(['a', 'b'] as const, { pageAligned: true });

/** Whether O_DIRECT may be tried here at all (Linux: the flag exists and /proc/self/fd reopens a descriptor's file). */
const platformHasDirect = (): boolean => process.platform === 'linux' && typeof fs.constants.O_DIRECT === 'number' && fs.constants.O_DIRECT !== 0;

/** What a DirectFile did, for benches and tests: bytes written directly and through the page cache. */
export interface DirectStats {
  direct: number;
  buffered: number;
}

/** The DirectFile whose asynchronous writes may be using this thread's staging buffers now (one at a time). */
let stagingOwner: DirectFile | null = null;

export class DirectFile {
  /** The same file opened O_WRONLY | O_DIRECT, or null: every write ordinary. */
  private readonly directFd: number | null;
  /** False once a direct write was refused (the descriptor stays open until close: a write may still be in flight on it). */
  private useDirect: boolean;
  private parity = 0;
  readonly stats: DirectStats = { direct: 0, buffered: 0 };

  private constructor(
    readonly fd: number,
    directFd: number | null,
  ) {
    this.directFd = directFd;
    this.useDirect = directFd !== null;
  }

  /**
   * A writer for `fd` (a regular file opened for writing, already at its final size). Never throws
   * for a missing O_DIRECT: it then writes as usual. WEIGHTGAMES_DIRECT_WRITES=0 turns direct writes off.
   */
  static open(fd: number): DirectFile {
    if (process.env.WEIGHTGAMES_DIRECT_WRITES === '0' || !platformHasDirect()) return new DirectFile(fd, null);
    try {
      // The descriptor's own file (whatever its name is now), opened again with the flag.
      return new DirectFile(fd, fs.openSync(`/proc/self/fd/${fd}`, fs.constants.O_WRONLY | fs.constants.O_DIRECT));
    } catch {
      return new DirectFile(fd, null);
    }
  }

  /** Whether writes still go direct (false after a refusal, or from the start). */
  get direct(): boolean {
    return this.useDirect;
  }

  /**
   * All of `bytes` at `position`, done on return. `pageCongruent`: the caller placed `bytes` on the
   * same offset within a memory page as `position` within a file page (as ../tensor/simd/slabKernel
   * does), so the aligned middle is written from `bytes` themselves, with no staging copy.
   */
  writeSync(bytes: Uint8Array, position: number, pageCongruent = false): void {
    if (pageCongruent) {
      const split = this.split(bytes, position);
      if (split === null) return this.buffered(bytes, position);
      this.writeEnds(bytes, position, split);
      const middle = bytes.subarray(split.start - position, split.end - position);
      return this.directSync(middle, split.start, middle);
    }
    // Another writer's asynchronous writes may be reading this thread's staging buffers: ordinary writes then.
    const split = stagingOwner === null || stagingOwner === this ? this.split(bytes, position) : null;
    if (split === null) return this.buffered(bytes, position);
    // This writer's own asynchronous write in flight (if any) holds the other buffer (see writeAsync).
    this.writeSplit(bytes, position, split, this.parity++ % 2 === 0 ? staging.buffers.a : staging.buffers.b);
  }

  /** The unaligned head and tail of a split write, as usual. */
  private writeEnds(bytes: Uint8Array, position: number, { start, end }: { start: number; end: number }): void {
    if (start > position) this.buffered(bytes.subarray(0, start - position), position);
    if (position + bytes.length > end) this.buffered(bytes.subarray(end - position), end);
  }

  /** The head and tail as usual, the middle through `stage` in pieces of at most STAGE_BYTES, directly. */
  private writeSplit(bytes: Uint8Array, position: number, { start, end }: { start: number; end: number }, stage: Scratch): void {
    this.writeEnds(bytes, position, { start, end });
    for (let at = start; at < end; at += STAGE_BYTES) {
      const piece = bytes.subarray(at - position, Math.min(end, at + STAGE_BYTES) - position);
      const staged = stage.get(piece.length);
      staged.set(piece);
      this.directSync(staged, at, piece);
    }
  }

  /**
   * All of `bytes` at `position`, done when the promise resolves; `bytes` must stay as they are until
   * then. At most two of these may be in flight at once (the overlapped driver's contract,
   * ./positionedWrites): they alternate between the two staging buffers. A middle bigger than one
   * staging buffer is written here and now (the promise is then already settled). `pageCongruent`:
   * as for writeSync (no staging buffer involved).
   */
  writeAsync(bytes: Uint8Array, position: number, pageCongruent = false): Promise<void> {
    if (pageCongruent) {
      const split = this.split(bytes, position);
      if (split === null) return writeAllAsync(this.fd, bytes, position).then(() => void (this.stats.buffered += bytes.length));
      const middle = bytes.subarray(split.start - position, split.end - position);
      return allDone([...this.endsAsync(bytes, position, split), this.directAsync(middle, split.start, middle)]);
    }
    const split = stagingOwner === null || stagingOwner === this ? this.split(bytes, position) : null;
    if (split === null) return writeAllAsync(this.fd, bytes, position).then(() => void (this.stats.buffered += bytes.length));
    stagingOwner = this;
    // The driver's contract: the write before this one may still be in flight, in the other buffer.
    const buffer = this.parity++ % 2 === 0 ? staging.buffers.a : staging.buffers.b;
    const { start, end } = split;
    if (end - start > STAGE_BYTES) {
      try {
        this.writeSplit(bytes, position, split, buffer);
        return Promise.resolve();
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const stage = buffer.get(end - start);
    stage.set(bytes.subarray(start - position, end - position));
    return allDone([...this.endsAsync(bytes, position, split), this.directAsync(stage, start, bytes.subarray(start - position, end - position))]);
  }

  /** The unaligned head and tail of a split write, in libuv's pool. */
  private endsAsync(bytes: Uint8Array, position: number, { start, end }: { start: number; end: number }): Array<Promise<void>> {
    const parts: Array<Promise<void>> = [];
    if (start > position) parts.push(writeAllAsync(this.fd, bytes.subarray(0, start - position), position).then(() => void (this.stats.buffered += start - position)));
    if (position + bytes.length > end) parts.push(writeAllAsync(this.fd, bytes.subarray(end - position), end).then(() => void (this.stats.buffered += position + bytes.length - end)));
    return parts;
  }

  /** Close the direct descriptor (not `fd`, which stays the caller's); the staging buffers go soon after. */
  close(): void {
    if (this.directFd !== null && !this.closed) fs.closeSync(this.directFd);
    this.closed = true;
    this.useDirect = false;
    if (stagingOwner === this) stagingOwner = null;
    staging.dropSoon();
  }
  private closed = false;

  /** The page-aligned middle [start, end) of a write worth splitting, or null. */
  private split(bytes: Uint8Array, position: number): { start: number; end: number } | null {
    if (!this.useDirect || bytes.length < DIRECT_MIN_BYTES) return null;
    const start = Math.ceil(position / FILE_ALIGN) * FILE_ALIGN;
    const end = Math.floor((position + bytes.length) / FILE_ALIGN) * FILE_ALIGN;
    if (end - start < FILE_ALIGN) return null;
    staging.claim();
    return { start, end };
  }

  private buffered(bytes: Uint8Array, position: number): void {
    writeAt(this.fd, bytes, position);
    this.stats.buffered += bytes.length;
  }

  /** `stage` (page-aligned: a copy of `original`, or `original` itself) written directly at `position`; an EINVAL turns direct writes off and writes `original` as usual. */
  private directSync(stage: Uint8Array, position: number, original: Uint8Array): void {
    let done = 0;
    try {
      while (done < stage.length) {
        const written = fs.writeSync(this.directFd!, stage, done, stage.length - done, position + done);
        done += written;
        if (written === 0 || (done < stage.length && done % MEMORY_ALIGN !== 0)) break; // nothing written, or short off the alignment: the rest as usual
      }
    } catch (error) {
      if (!this.refused(error)) throw error;
    }
    this.stats.direct += done;
    if (done < stage.length) this.buffered(original.subarray(done), position + done);
  }

  private directAsync(stage: Uint8Array, position: number, original: Uint8Array): Promise<void> {
    const directFd = this.directFd!;
    return new Promise((resolve, reject) => {
      const from = (done: number): void => {
        if (done >= stage.length) {
          this.stats.direct += done;
          return resolve();
        }
        fs.write(directFd, stage, done, stage.length - done, position + done, (error, written) => {
          if (error === null && written > 0 && (done + written) % MEMORY_ALIGN === 0) return from(done + written);
          if (error !== null && !this.refused(error)) return reject(error);
          // Refused, nothing written, or short off the alignment: the rest as usual.
          const at = done + (error === null ? written : 0);
          this.stats.direct += at;
          writeAllAsync(this.fd, original.subarray(at), position + at).then(() => {
            this.stats.buffered += stage.length - at;
            resolve();
          }, reject);
        });
      };
      from(0);
    });
  }

  /** EINVAL from a direct write: this file system or device will not take it; ordinary writes from now on. */
  private refused(error: unknown): boolean {
    if ((error as NodeJS.ErrnoException).code !== 'EINVAL') return false;
    this.useDirect = false;
    return true;
  }
}

/**
 * Settled when every part is (done or failed), rejecting with the first failure: a write reported
 * failed while another part of it still runs would let the caller close the file, or reuse a
 * staging buffer, under it.
 */
async function allDone(parts: ReadonlyArray<Promise<void>>): Promise<void> {
  const settled = await Promise.allSettled(parts);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

/** fs.write until every byte is at `position` (libuv's thread pool; short writes continued). */
export function writeAllAsync(fd: number, bytes: Uint8Array, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const from = (done: number): void => {
      if (done >= bytes.length) return resolve();
      fs.write(fd, bytes, done, bytes.length - done, position + done, (error, written) => (error !== null ? reject(error) : from(done + written)));
    };
    from(0);
  });
}
