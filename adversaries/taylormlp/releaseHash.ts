import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { DTYPE_SIZES, firstNonFinite, SafetensorsFile } from '../../src/numerics/io/safetensors';

/**
 * The release's SHA-256 and, in the same read, every Θ value checked finite (the sampled attack
 * reads only part of Θ; a release holds finite values only, so NaN or ±∞ anywhere in it is a forged
 * or damaged file): answers the hex digest, or `nonfinite:<message>`. `betweenChunks` runs after each
 * 4 MiB chunk (the attack's thread lets its worker pool hand out tasks there).
 */
export function hashAndScan(path: string, file: SafetensorsFile, thetas: readonly string[], betweenChunks: () => void = () => undefined): string {
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
      betweenChunks();
    }
  } finally {
    fs.closeSync(fd);
  }
  return problem === null ? hash.digest('hex') : `nonfinite:${problem}`;
}
