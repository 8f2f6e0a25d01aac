/**
 * Release throughput as a whole process (a figure, not a test): `npm run bench:release`.
 * An OPT-125M-shaped checkpoint (12 MLPs, 768 → 3072 → 768, biases, GELU; generated, seeded) is
 * released by `weightgames release` as a child process — N = 8, full expansion, f32 and bf16, with
 * 64 and with 256 (the CLI's default) synthetic calibration rows — twice each, timed start to exit,
 * with peak RSS. Parameters are the fc2 weights, as the paper's Table 1 counts them. Beside each
 * figure, the I/O floor (./wholeProcess ioFloor: hash the checkpoint, write and fsync the release's
 * bytes, as one process) measured right after it. The machine's load is printed with every figure.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generate, ioFloor, load, runCli } from './wholeProcess';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wg-bench-release-'));
const lines: string[] = [`weightgames bench:release — OPT-125M-shaped (12 × 768 → 3072 → 768, GELU, biases), N = 8, full expansion, whole process (start to exit); node ${process.version}, ${os.cpus().length} cores`];
const print = (line: string): void => {
  lines.push(line);
  process.stderr.write(line + '\n');
};
try {
  // Generated in a child: this process stays small, so the children's peak RSS is their own (Linux keeps maxRSS across exec).
  const input = generate(dir);
  const output = path.join(dir, 'released.safetensors');
  const rowsList = (process.env.CALIBRATION_ROWS ?? '64,256').split(',');
  for (const dtype of ['f32', 'bf16']) {
    for (const rows of rowsList) {
      for (let run = 1; run <= 2; run++) {
        const before = load();
        const r = runCli(['release', input, output, '--scheme', 'taylormlp', '--order', '8', '--dtype', dtype, '--calibration-rows', rows, '--seed', 'bench', '--json']);
        const summary = JSON.parse(r.stdout) as { taylorParameters: number };
        const size = fs.statSync(output).size;
        fs.rmSync(output);
        // The floor right after the figure (the same disk state): hash the checkpoint, write and fsync as many bytes as the release.
        const floor = ioFloor([input], size, dir);
        print(
          `${dtype}, ${rows} calibration rows, run ${run}: ${(summary.taylorParameters / 1e6).toFixed(2)} M parameters in ${r.seconds.toFixed(2)} s → ${(summary.taylorParameters / r.seconds / 1e6).toFixed(2)} M/s whole process; I/O floor ${floor.toFixed(2)} s (${(r.seconds / floor).toFixed(2)}× it); peak RSS ${(r.peakRss / 2 ** 20).toFixed(0)} MiB; file ${(size / 2 ** 20).toFixed(0)} MiB; ${before}`,
        );
      }
    }
  }
  process.stdout.write(lines.join('\n') + '\n');
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
