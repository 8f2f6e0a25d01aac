/**
 * Attack throughput (a figure, not a test): `npm run bench:attack`.
 * OPT-125M-shaped checkpoint (12 × 768 → 3072 → 768, GELU, biases; generated, seeded), released
 * at N = 8 in f32 and in bf16; both attacks run on each release. Reports recovered parameters per
 * second (recovery alone; load time separately), the recovered ratio, and peak memory of the
 * attack CLI in a fresh process.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { OPT_125M_MLP, writeSyntheticCheckpoint } from '../src/models/synthetic';
import { releaseCheckpoint } from '../schemes/taylormlp';
import { SafetensorsFile } from '../src/io/safetensors';
import { readReleasedBlock, releasedInfo } from '../schemes/taylormlp/artifact';
import { activationByName } from '../src/numerics/activations';
import { AttackMethod, recoverBlock, summarizeRecovery, UnitStatus } from '../adversaries/taylormlp';
import { findMlpBlocks, loadMlpBlock } from '../src/models/layouts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wg-bench-attack-'));
const cli = path.resolve(__dirname, '../src/cli/main.js');
const lines: string[] = [`weightgames bench:attack — OPT-125M-shaped (12 × 768 → 3072 → 768, GELU, biases N(−0.5, 1)), N = 8; node ${process.version}, ${os.cpus().length} cores`];
try {
  const input = writeSyntheticCheckpoint(dir, { ...OPT_125M_MLP, seed: 'bench' });
  const settings = (['f32', 'bf16'] as const).flatMap((dtype) => [false, true].map((signs) => ({ dtype, signs })));
  const releases = settings.map(({ dtype, signs }) => {
    const release = path.join(dir, `released-${dtype}${signs ? '-signs' : ''}.safetensors`);
    releaseCheckpoint({ input, output: release, taylor: { order: 8, dtype, signs }, calibration: { synthetic: { rows: 64, scale: 1 } }, seed: 'bench', version: 'bench' });
    // Peak memory of the CLI in a fresh process, measured before this process loads anything
    // large (a child's maxRSS can inherit the parent's at fork time on Linux).
    const child = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(cli)}).main(['attack', ${JSON.stringify(release)}, ${JSON.stringify(path.join(dir, 'recovered.safetensors'))}]).then(() => process.stdout.write('\\n' + process.resourceUsage().maxRSS * 1024))`], { encoding: 'utf8' });
    const rss = Number(child.stdout.trim().split('\n').pop());
    return { dtype, signs, release, rss };
  });
  const original = SafetensorsFile.open(input);
  const originals = findMlpBlocks(original.names).map((l) => loadMlpBlock((n) => original.tensor(n), l));
  for (const { dtype, signs, release, rss } of releases) {
    const file = SafetensorsFile.open(release);
    const info = releasedInfo(file.metadata);
    const act = activationByName(info.activation);
    const t0 = performance.now();
    const blocks = info.blocks.map((meta) => readReleasedBlock((n) => file.tensor(n), meta, info));
    const loadSeconds = (performance.now() - t0) / 1000;
    for (const method of ['consensus', 'pairwise'] as AttackMethod[]) {
      let seconds = 0;
      let within = 0;
      let total = 0;
      let flagged = 0;
      const reasons: Record<string, number> = {};
      blocks.forEach((block, index) => {
        const t = performance.now();
        const recovered = recoverBlock(method, block, act, dtype, { signs });
        for (const [why, n] of Object.entries(summarizeRecovery([recovered]).reasons)) reasons[why] = (reasons[why] ?? 0) + n;
        seconds += (performance.now() - t) / 1000;
        const w = originals[index].second;
        for (let q = 0; q < w.length; q++) if (Math.abs(recovered.second[q] - w[q]) < 0.01 * Math.abs(w[q])) within++;
        total += w.length;
        for (const s of recovered.status) if (s === UnitStatus.unrecoverable) flagged++;
      });
      lines.push(
        `${dtype}${signs ? ' signs' : ''} ${method.padEnd(9)}: ${total.toLocaleString('en-US')} parameters of W in ${seconds.toFixed(2)} s → ${(total / seconds / 1e6).toFixed(2)} M/s; recovered (rel. err. < 1 %) ${(100 * within / total).toFixed(4)} %; units flagged ${flagged}${flagged > 0 ? ` (${Object.entries(reasons).map(([why, n]) => `${n} ${why}`).join('; ')})` : ''}; release load ${loadSeconds.toFixed(2)} s`,
      );
    }
    lines.push(`${dtype}${signs ? ' signs' : ''} peak RSS of \`weightgames attack\` (consensus) in a fresh process: ${(rss / 2 ** 20).toFixed(0)} MiB (release file ${(fs.statSync(release).size / 2 ** 20).toFixed(0)} MiB)`);
    file.close();
    fs.rmSync(release);
  }
  original.close();
  process.stdout.write(lines.join('\n') + '\n');
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
