import { parentPort, workerData } from 'node:worker_threads';
import { DTYPE_SIZES, firstNonFinite, SafetensorsFile, writeAt } from '../../src/numerics/io/safetensors';
import { SyncWorkerData, serveSyncTasks } from '../../src/numerics/io/syncWorkers';
import { activationByName } from '../../src/numerics/activations';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { releasedInfo } from '../../schemes/taylormlp/artifact';
import { fastRecoverBlock } from './fastAttack';

/**
 * An attack worker (see attackReleasedFile): opens the release once, then recovers whichever
 * block it is handed by the sampled fast path (null where the full consensus must decide), or
 * hashes the release (the recovered file's provenance) while the blocks are recovered.
 */
/**
 * The release's SHA-256 and, in the same read, every Θ value checked finite (the sampled attack
 * reads only part of Θ; a release holds finite values only, so NaN or ±∞ anywhere in it is a forged
 * or damaged file): answers the hex digest, or `nonfinite:<message>`.
 */
export function hashAndScan(path: string, file: SafetensorsFile, thetas: readonly string[]): string {
  const ranges = thetas
    .map((name) => file.header.entries.find((e) => e.name === name))
    .filter((e): e is NonNullable<typeof e> => e !== undefined && (e.dtype === 'F32' || e.dtype === 'BF16' || e.dtype === 'F16'))
    .map((e) => ({ name: e.name, dtype: e.dtype, begin: file.header.dataStart + e.begin, end: file.header.dataStart + e.end }));
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(path, 'r');
  let problem: string | null = null;
  try {
    const chunk = Buffer.allocUnsafe(4 << 20);
    let position = 0;
    for (;;) {
      const read = fs.readSync(fd, chunk, 0, chunk.length, position);
      if (read === 0) break;
      hash.update(chunk.subarray(0, read));
      if (problem === null) {
        for (const r of ranges) {
          const size = DTYPE_SIZES[r.dtype];
          // Whole elements of this tensor inside the chunk (chunks are multiples of 4 bytes, so elements never straddle two).
          const from = Math.max(r.begin, position);
          const first = from + ((size - ((from - r.begin) % size)) % size);
          const to = Math.min(r.end, position + read);
          if (first + size > to) continue;
          const count = Math.floor((to - first) / size);
          const at = firstNonFinite({ name: r.name, dtype: r.dtype, shape: [count], bytes: chunk.subarray(first - position, first - position + count * size) });
          if (at < 0) continue;
          const bits = size === 4 ? chunk.readUInt32LE(first - position + at * 4) : chunk.readUInt16LE(first - position + at * 2);
          // All-ones exponent: NaN where the mantissa is nonzero, ±∞ otherwise (named as the other checks name it).
          const mantissa = r.dtype === 'F32' ? bits & 0x7fffff : r.dtype === 'BF16' ? bits & 0x7f : bits & 0x3ff;
          const negative = r.dtype === 'F32' ? bits >>> 31 === 1 : bits >>> 15 === 1;
          const value = mantissa !== 0 ? 'NaN' : negative ? '-Infinity' : 'Infinity';
          problem = `tensor ${r.name} holds ${value} (a non-finite value) at index ${(first - r.begin) / size + at}: a release holds finite values only`;
          break;
        }
      }
      position += read;
    }
  } finally {
    fs.closeSync(fd);
  }
  return problem === null ? hash.digest('hex') : `nonfinite:${problem}`;
}

/** A block to recover and write into the output (descriptor `fd`, each tensor's [name, absolute offset, byte length]), or the release to hash. */
export type AttackTask = { readonly kind: 'block'; readonly index: number; readonly signs: boolean; readonly fd: number; readonly places: ReadonlyArray<readonly [string, number, number]> } | { readonly kind: 'hash' };

export interface AttackAnswer {
  readonly status: Uint8Array;
  readonly reason: Uint8Array;
  readonly unitClass: Uint8Array;
  readonly seconds: number;
}

const data = workerData as (SyncWorkerData & { input: string }) | undefined;
if (parentPort !== null && data?.syncPort !== undefined) {
  const file = SafetensorsFile.open(data.input);
  const info = releasedInfo(file.metadata);
  const act = activationByName(info.activation);
  serveSyncTasks<AttackTask, AttackAnswer | string | null>(parentPort, data, (task) => {
    if (task.kind === 'hash') return { value: hashAndScan(data.input, file, info.blocks.map((b) => `${b.prefix}.taylor.theta`)) };
    const t0 = performance.now();
    const fast = fastRecoverBlock(file, info.blocks[task.index], info, act, task.signs);
    if (fast === null) return { value: null };
    // Written here, from this thread's buffers, at the offsets the writer gave (file descriptors are the process's, not the thread's).
    for (const [name, position, byteLength] of task.places) {
      const bytes = fast.tensors.get(name)?.bytes;
      if (bytes === undefined || bytes.length !== byteLength) throw new Error(`tensor "${name}": ${bytes?.length ?? 0} bytes recovered, the header says ${byteLength}`);
      writeAt(task.fd, bytes, position);
    }
    // Flushed here, while the other threads compute, rather than all at the final fsync (the writer's tail after the last block).
    fs.fdatasyncSync(task.fd);
    return { value: { status: fast.status, reason: fast.reason, unitClass: fast.unitClass, seconds: (performance.now() - t0) / 1000 } };
  });
}
