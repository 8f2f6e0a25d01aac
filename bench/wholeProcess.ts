import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * A CLI command as a whole process, start to exit (node's start-up, reading, working, writing,
 * fsync and rename included): wall seconds measured around the child, and the child's peak RSS
 * (all its threads) as it reports it on exit. For the throughput benches; never asserted in tests.
 */
export interface WholeProcess {
  readonly seconds: number;
  readonly peakRss: number;
  readonly stdout: string;
}

const cli = path.resolve(__dirname, '../src/app/cli/main.js');

export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): WholeProcess {
  const script = `require(${JSON.stringify(cli)}).main(${JSON.stringify(args)}).then((code) => { process.exitCode = code; process.stderr.write('\\nmaxrss ' + process.resourceUsage().maxRSS * 1024 + '\\n'); })`;
  const t0 = performance.now();
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 26 });
  const seconds = (performance.now() - t0) / 1000;
  if (child.status !== 0) throw new Error(`weightgames ${args.join(' ')} exited ${child.status}: ${child.stderr}`);
  const rss = /maxrss (\d+)/.exec(child.stderr);
  return { seconds, peakRss: rss === null ? NaN : Number(rss[1]), stdout: child.stdout };
}

/** The machine's load when a figure was taken (the benches note it beside every figure). */
export const load = (): string => `load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`;

/** The OPT-125M-shaped synthetic checkpoint (seed "bench") written into `dir` by a child process; its path. */
export function generate(dir: string): string {
  const synthetic = path.resolve(__dirname, '../src/numerics/models/synthetic.js');
  const child = spawnSync(process.execPath, ['-e', `const s = require(${JSON.stringify(synthetic)}); process.stdout.write(s.writeSyntheticCheckpoint(${JSON.stringify(dir)}, { ...s.OPT_125M_MLP, seed: 'bench' }))`], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`generating the checkpoint failed: ${child.stderr}`);
  return child.stdout;
}

/**
 * The input/output floor of a job, as a whole process (node's start-up included), measured right
 * after the job's own figure: SHA-256 of each file in `hash` (what the job must read and hash for
 * its provenance) and `write` bytes written to a new file in `dir` and fsynced (its output,
 * durably) — each done as the jobs do it at best, side by side: the file sized first, the writes
 * (8 MiB each, from a page-aligned buffer) go direct (O_DIRECT, as the jobs' big writes do:
 * src/numerics/io/directWrites.ts; through the page cache where refused) in libuv's pool with an
 * fdatasync started every 32 MiB, while this thread reads and hashes; then the final fsync. No
 * release or attack can finish faster on this machine at that moment; the benches print each
 * figure beside it (the disk's and the page cache's speed vary several-fold from run to run here).
 */
export function ioFloor(hash: readonly string[], write: number, dir: string): number {
  const target = path.join(dir, 'io-floor.bin');
  const script = `
const fs = require('node:fs'), crypto = require('node:crypto');
const call = (f, ...args) => new Promise((resolve, reject) => f(...args, (error, value) => (error ? reject(error) : resolve(value))));
(async () => {
  const fd = fs.openSync(${JSON.stringify(target)}, 'w');
  fs.ftruncateSync(fd, ${write});
  let direct = fd;
  try { direct = fs.openSync('/proc/self/fd/' + fd, fs.constants.O_WRONLY | fs.constants.O_DIRECT); } catch {}
  const out = new Uint8Array(new WebAssembly.Memory({ initial: 128 }).buffer).fill(1);
  const writing = (async () => {
    let unsynced = 0, syncing = null;
    for (let at = 0; at < ${write}; at += out.length) {
      const n = Math.min(out.length, ${write} - at);
      const whole = n - (n % 4096); // O_DIRECT takes whole pages; the file's last partial page as usual
      for (let done = 0; done < whole; ) {
        try { done += await call(fs.write, direct, out, done, whole - done, at + done); }
        catch (error) { if (error.code !== 'EINVAL' || direct === fd) throw error; direct = fd; } // refused: through the page cache, as the jobs fall back
      }
      for (let done = whole; done < n; ) done += await call(fs.write, fd, out, done, n - done, at + done);
      unsynced += n;
      if (unsynced >= 32 << 20 && syncing === null) { unsynced = 0; syncing = call(fs.fdatasync, fd).then(() => { syncing = null; }); }
    }
    if (syncing !== null) await syncing;
  })();
  const chunk = Buffer.alloc(4 << 20);
  for (const file of ${JSON.stringify(hash)}) {
    const h = crypto.createHash('sha256'), input = fs.openSync(file, 'r');
    for (let at = 0, n; (n = await call(fs.read, input, chunk, 0, chunk.length, at)) > 0; at += n) h.update(chunk.subarray(0, n));
    fs.closeSync(input); h.digest('hex');
  }
  await writing;
  fs.fsyncSync(fd); fs.closeSync(fd); if (direct !== fd) fs.closeSync(direct);
})().catch((error) => { console.error(error); process.exitCode = 1; });`;
  const t0 = performance.now();
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  const seconds = (performance.now() - t0) / 1000;
  fs.rmSync(target, { force: true });
  if (child.status !== 0) throw new Error(`the I/O floor failed: ${child.stderr}`);
  return seconds;
}
