/**
 * Attack throughput as a whole process (a figure, not a test): `npm run bench:attack`.
 * An OPT-125M-shaped checkpoint (12 × 768 → 3072 → 768, GELU, biases; generated, seeded) is
 * released at N = 8 in f32 and bf16 (with and without random signs); `weightgames attack` runs on
 * each release as a child process, twice, timed start to exit, with its peak RSS; then
 * `weightgames compare` (untimed) gives the recovered ratio. BENCH_FULL=1 adds the full consensus
 * on every block (WEIGHTGAMES_FAST_ATTACK=0) for comparison. The machine's load is printed with
 * every figure (a shared machine: figures are noisy), and the I/O floor measured right after it
 * (./wholeProcess ioFloor: SHA-256 of the release, as the attack records it, and the recovered
 * file's bytes written and fsynced, as one process), and the writing alone (node's start-up, the
 * recovered file's bytes written and fsynced, no hash).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generate, ioFloor, load, runCli } from './wholeProcess';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wg-bench-attack-'));
const lines: string[] = [`weightgames bench:attack — OPT-125M-shaped (12 × 768 → 3072 → 768, GELU, biases), N = 8, whole process (start to exit); node ${process.version}, ${os.cpus().length} cores`];
const print = (line: string): void => {
  lines.push(line);
  process.stderr.write(line + '\n');
};
try {
  // Generated in a child: this process stays small, so the children's peak RSS is their own (Linux keeps maxRSS across exec).
  const input = generate(dir);
  const settings = (['f32', 'bf16'] as const).flatMap((dtype) => [false, true].map((signs) => ({ dtype, signs })));
  const modes = process.env.BENCH_FULL === '1' ? [{ name: 'sampled', env: {} }, { name: 'full consensus', env: { WEIGHTGAMES_FAST_ATTACK: '0' } }] : [{ name: 'sampled', env: {} }];
  for (const { dtype, signs } of settings) {
    const release = path.join(dir, `released-${dtype}${signs ? '-signs' : ''}.safetensors`);
    runCli(['release', input, release, '--scheme', 'taylormlp', '--order', '8', '--dtype', dtype, '--calibration-rows', '64', '--seed', 'bench', ...(signs ? ['--signs'] : [])]);
    const recovered = path.join(dir, 'recovered.safetensors');
    for (const mode of modes) {
      for (let run = 1; run <= 2; run++) {
        const before = load();
        const r = runCli(['attack', release, recovered, '--json'], mode.env);
        const summary = JSON.parse(r.stdout) as { recoveredParameters: number; total: { unrecoverable: number } };
        const compare = JSON.parse(runCli(['compare', input, recovered, '--json']).stdout) as { total: { ratio: number; maxRelativeError: number } };
        // The floor right after the figure: hash the release (the recovered file records its SHA-256), write and fsync as many bytes as the recovered file.
        // And the writing alone (no hash): what an attack that kept no provenance would still pay to leave its output durably.
        // The two in turn first (the second follows a write of the same size, just deleted).
        const bytes = fs.statSync(recovered).size;
        let floor: number;
        let writeFloor: number;
        if (run % 2 === 1) {
          floor = ioFloor([release], bytes, dir);
          writeFloor = ioFloor([], bytes, dir);
        } else {
          writeFloor = ioFloor([], bytes, dir);
          floor = ioFloor([release], bytes, dir);
        }
        print(
          `${dtype}${signs ? ' signs' : ''} ${mode.name} run ${run}: ${(summary.recoveredParameters / 1e6).toFixed(2)} M parameters in ${r.seconds.toFixed(2)} s → ${(summary.recoveredParameters / r.seconds / 1e6).toFixed(2)} M/s whole process; I/O floor ${floor.toFixed(2)} s (${(r.seconds / floor).toFixed(2)}× it; the writing alone ${writeFloor.toFixed(2)} s); peak RSS ${(r.peakRss / 2 ** 20).toFixed(0)} MiB; recovered ${(100 * compare.total.ratio).toFixed(4)} % (max rel. err. ${compare.total.maxRelativeError.toExponential(2)}), flagged ${summary.total.unrecoverable}; ${before}`,
        );
      }
    }
    print(`  (release file ${(fs.statSync(release).size / 2 ** 20).toFixed(0)} MiB)`);
    fs.rmSync(release);
  }
  process.stdout.write(lines.join('\n') + '\n');
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
