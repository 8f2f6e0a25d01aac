/**
 * What memory, branches and writes cost on this machine (a figure, not a test): `npm run bench:machine`.
 * The three facts behind issue 11's stop-19 changes (docs/results.md, "Stop 19"), each timed alone:
 * 1. a first touch of 268 MB (a fresh Float32Array of 2²⁶, one write per 4 KiB page) against a
 *    pass over the same memory once touched;
 * 2. max |v| over 2²⁶ random-sign weights (seeded normals, the bench:scale generator) with
 *    Math.max(m, Math.abs(v)) — what the release's magnitude scan does — against a
 *    compare-and-branch on v's sign (what a stop-19 edit had briefly made of it);
 * 3. 1.08 GB (the OPT-125M-shaped f32 release's size) written in 8 MiB chunks, with and without fsync.
 * The machine's load is printed beside the figures; each is taken twice.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as P from '../src/kernel/prob/prob';
import { seededStream } from '../src/kernel/prob/challenger';
import { load } from './wholeProcess';

const ms = (t0: number): string => `${(performance.now() - t0).toFixed(0)} ms`;
const lines: string[] = [`weightgames bench:machine — node ${process.version}, ${os.cpus().length} cores`];
const print = (line: string): void => {
  lines.push(line);
  process.stderr.write(line + '\n');
};

const n = 2 ** 26;
for (let run = 1; run <= 2; run++) {
  let t0 = performance.now();
  const fresh = new Float32Array(n);
  for (let i = 0; i < n; i += 1024) fresh[i] = 1;
  const touch = ms(t0);
  t0 = performance.now();
  for (let i = 0; i < n; i++) fresh[i] = i;
  print(`run ${run}: first touch of 268 MB ${touch}; a full pass over it once touched ${ms(t0)}; ${load()}`);
}

/** max |v| as the release computes it: no branch on the sign. */
function maxAbsBranchFree(values: Float32Array): number {
  let m = 0;
  for (let q = 0; q < values.length; q++) m = Math.max(m, Math.abs(values[q]));
  return m;
}
/** The same with a compare-and-branch on the sign (taken or not at random on random-sign data). */
function maxAbsBranching(values: Float32Array): number {
  let m = 0;
  for (let q = 0; q < values.length; q++) {
    const v = values[q];
    const a = v < 0 ? -v : v;
    if (a > m) m = a;
    else if (a !== a) m = NaN;
  }
  return m;
}
const weights = seededStream('bench:machine', 'weights', P.normalFloat32Array(n, 1 / 64));
for (let run = 1; run <= 2; run++) {
  let t0 = performance.now();
  const a = maxAbsBranchFree(weights);
  const free = ms(t0);
  t0 = performance.now();
  const b = maxAbsBranching(weights);
  print(`run ${run}: max |v| over 2^26 random-sign weights: Math.max/Math.abs ${free}, compare-and-branch ${ms(t0)} (both ${a === b ? 'agree' : 'DISAGREE'}: ${a}); ${load()}`);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wg-bench-machine-'));
try {
  const bytes = 1132462080;
  const chunk = Buffer.alloc(8 << 20, 1);
  for (let run = 1; run <= 2; run++) {
    for (const sync of [false, true]) {
      const file = path.join(dir, 'written.bin');
      const t0 = performance.now();
      const fd = fs.openSync(file, 'w');
      for (let at = 0; at < bytes; at += chunk.length) fs.writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - at), at);
      if (sync) fs.fsyncSync(fd);
      fs.closeSync(fd);
      print(`run ${run}: 1.08 GB written in 8 MiB chunks${sync ? ' and fsynced' : ' (no fsync)'}: ${ms(t0)}; ${load()}`);
      fs.rmSync(file);
    }
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(lines.join('\n') + '\n');
