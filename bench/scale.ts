/**
 * The paper's Table 1 at its real shapes on this machine (a figure, not a test): `npm run bench:scale`.
 *
 * Every row of Table 1 — OPT-125M, 1.3B, 2.7B, 6.7B, Llama2-7B, Llama2-13B — at its published
 * shape (layers × d_model → d_ff, from each model's config.json on the Hugging Face hub, cited in
 * ROWS), one MLP layer at a time: the layer's weights are generated (seeded), written as a
 * one-layer checkpoint, released by TaylorMLP in bf16 at N = 8 (full expansion, 64 synthetic
 * calibration rows, no random signs), attacked (the consensus attack as `weightgames attack` runs
 * it, sampled path included), and judged (W entries within 1 % relative error, Table 1's metric),
 * then every file of the layer is deleted — disk holds one layer's checkpoint, release and
 * recovery at a time per lane (below). Release and attack are library calls in one child process
 * per lane (no start-up per layer), so each lane's peak RSS is its own.
 *
 * Weights (the scales of a trained model, measured on the one trained checkpoint here,
 * stories260K: gate·√d ≈ 1.0, up·√d ≈ 0.9–1.1, down·√d_ff ≈ 1.5–1.8, MLP inputs of std 0.55–1.0,
 * calibration mid-ranges z0 of mean ≈ 0 and std 0.3–0.46): V, U ~ N(0, 1/d_model), W ~
 * N(0, 1/d_ff); OPT's biases b ~ N(−0.5, 1), c ~ N(0, 0.1²) (the project's synthetic checkpoints'
 * defaults: no OPT checkpoint is on this machine to measure); calibration inputs x ~ N(0, I).
 * Activation: SiLU for Llama 2 (its config); GELU (exact, erf) for OPT, whose config says ReLU —
 * TaylorMLP expands smooth activations only (its implementation supports SiLU and exact GELU, and
 * the attack paper's Appendix A analyses those two), so the OPT rows follow the notes' GELU.
 *
 * Knobs: SCALE_ROWS=opt-125m,opt-1.3b (a subset; default all six), SCALE_LAYERS=k (the first k
 * layers of each row; the row's totals are then extrapolated ×layers/k and labelled so),
 * SCALE_LANES=n (default: the cores): a row's layers are split over n processes (layer i to lane
 * i mod n), which run side by side — a one-layer file is one block, which an attack or a release
 * runs on one thread, so lanes are what uses the machine's cores; disk then holds n layers.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LazyTensor, SafetensorsFile, toFloat32, writeSafetensorsStreaming } from '../src/numerics/io/safetensors';
import * as P from '../src/kernel/prob/prob';
import { seededStream } from '../src/kernel/prob/challenger';
import { releaseCheckpoint } from '../schemes/taylormlp/checkpoint';
import { attackReleasedFile } from '../adversaries/taylormlp/attack';
import { version } from '../src/app/cli/version';
import { groupDigits } from '../src/app/cli/groupDigits';

interface Row {
  readonly name: string;
  readonly layers: number;
  readonly dModel: number;
  readonly dFF: number;
  readonly layout: 'fc' | 'llama';
  readonly activation: 'gelu' | 'silu';
  /** Table 1 (numpy/scipy, 20 cores): parameters, recovered, ratio, running time. */
  readonly paper: { readonly parameters: number; readonly recovered: number; readonly ratio: string; readonly seconds: number };
}

const ROWS: readonly Row[] = [
  // facebook/opt-125m config.json: num_hidden_layers 12, hidden_size 768, ffn_dim 3072 (activation_function relu).
  { name: 'opt-125m', layers: 12, dModel: 768, dFF: 3072, layout: 'fc', activation: 'gelu', paper: { parameters: 28_311_552, recovered: 28_310_784, ratio: '99.99 %', seconds: 19.7 } },
  // facebook/opt-1.3b: 24 layers, hidden_size 2048, ffn_dim 8192.
  { name: 'opt-1.3b', layers: 24, dModel: 2048, dFF: 8192, layout: 'fc', activation: 'gelu', paper: { parameters: 402_653_184, recovered: 401_649_665, ratio: '99.76 %', seconds: 116.79 } },
  // facebook/opt-2.7b: 32 layers, hidden_size 2560, ffn_dim 10240.
  { name: 'opt-2.7b', layers: 32, dModel: 2560, dFF: 10240, layout: 'fc', activation: 'gelu', paper: { parameters: 838_860_800, recovered: 837_347_840, ratio: '99.82 %', seconds: 187.88 } },
  // facebook/opt-6.7b: 32 layers, hidden_size 4096, ffn_dim 16384.
  { name: 'opt-6.7b', layers: 32, dModel: 4096, dFF: 16384, layout: 'fc', activation: 'gelu', paper: { parameters: 2_147_483_648, recovered: 2_144_915_459, ratio: '99.88 %', seconds: 417.92 } },
  // meta-llama/Llama-2-7b-hf config.json: num_hidden_layers 32, hidden_size 4096, intermediate_size 11008, hidden_act silu.
  { name: 'llama2-7b', layers: 32, dModel: 4096, dFF: 11008, layout: 'llama', activation: 'silu', paper: { parameters: 1_442_840_576, recovered: 1_442_840_576, ratio: '100.00 %', seconds: 318.6 } },
  // meta-llama/Llama-2-13b-hf: 40 layers, hidden_size 5120, intermediate_size 13824, silu.
  { name: 'llama2-13b', layers: 40, dModel: 5120, dFF: 13824, layout: 'llama', activation: 'silu', paper: { parameters: 2_831_155_200, recovered: 2_831_155_200, ratio: '100.00 %', seconds: 571.05 } },
];

/** What one row's child reports. */
interface RowResult {
  readonly name: string;
  readonly layersRun: number;
  readonly layers: number;
  readonly parameters: number;
  readonly recovered: number;
  readonly flaggedUnits: number;
  readonly maxRelativeError: number;
  readonly generateSeconds: number;
  readonly releaseSeconds: number;
  readonly attackSeconds: number;
  /** Parameters and attack seconds of the layers after each lane's first (its process compiles and first touches its buffers there). */
  readonly parametersAfterFirst: number;
  readonly attackSecondsAfterFirst: number;
  /** The attack's block recovery (its summary's recoverySeconds), the layers after each lane's first. */
  readonly recoverySecondsAfterFirst: number;
  readonly peakRss: number;
  readonly releaseBytes: number;
  readonly loadBefore: string;
  readonly loadAfter: string;
}

const load = (): string => os.loadavg().map((x) => x.toFixed(2)).join(' ');

/** The buffer every generated tensor is drawn into a piece at a time (reused: a layer's tensors are never whole in memory, nor faulted in anew). */
const PIECE = 1 << 21; // floats: 8 MiB (even: polar pairs stay whole)
let pieceBuffer: Float32Array | null = null;

/** Layer i of a row as a one-layer checkpoint (real tensor names), written into dir with its config.json, each tensor drawn and written a piece at a time; its path. */
function writeLayer(row: Row, i: number, dir: string): string {
  const { dModel: d, dFF: h } = row;
  const draw = (label: string, shape: number[], sigma: number, mean = 0): LazyTensor => ({
    dtype: 'F32',
    shape,
    bytes: {
      // The same values as normalFloat32Array(size, σ) on this stream (normalFloat32Source's pieces).
      pieces: function* (): Generator<Uint8Array> {
        const size = shape.reduce((a, b) => a * b, 1);
        const fill = seededStream(`scale:${row.name}`, `layers.${i}/${label}`, P.normalFloat32Source(sigma));
        const buffer = (pieceBuffer ??= new Float32Array(PIECE));
        for (let at = 0; at < size; at += PIECE) {
          const values = buffer.subarray(0, Math.min(PIECE, size - at));
          fill(values);
          if (mean !== 0) for (let q = 0; q < values.length; q++) values[q] += mean;
          yield new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
        }
      },
    },
  });
  const tensors = new Map<string, LazyTensor>();
  if (row.layout === 'fc') {
    const prefix = `model.decoder.layers.${i}`;
    tensors.set(`${prefix}.fc1.weight`, draw('first', [h, d], 1 / Math.sqrt(d)));
    tensors.set(`${prefix}.fc1.bias`, draw('first-bias', [h], 1, -0.5));
    tensors.set(`${prefix}.fc2.weight`, draw('second', [d, h], 1 / Math.sqrt(h)));
    tensors.set(`${prefix}.fc2.bias`, draw('second-bias', [d], 0.1));
  } else {
    const prefix = `model.layers.${i}.mlp`;
    tensors.set(`${prefix}.gate_proj.weight`, draw('first', [h, d], 1 / Math.sqrt(d)));
    tensors.set(`${prefix}.up_proj.weight`, draw('up', [h, d], 1 / Math.sqrt(d)));
    tensors.set(`${prefix}.down_proj.weight`, draw('second', [d, h], 1 / Math.sqrt(h)));
  }
  const file = path.join(dir, 'model.safetensors');
  writeSafetensorsStreaming(file, tensors, { generator: 'weightgames bench:scale', row: row.name, layer: String(i) });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(row.layout === 'fc' ? { model_type: 'opt', hidden_act: row.activation } : { model_type: 'llama', hidden_act: row.activation }) + '\n');
  return file;
}

/** Table 1's metric for one layer: entries of W within 1 % relative error, and the worst relative error (read a chunk of rows at a time). */
function judge(original: string, recovered: string, name: string): { parameters: number; recovered: number; maxRelativeError: number } {
  const a = SafetensorsFile.open(original);
  const b = SafetensorsFile.open(recovered);
  try {
    const [o, h] = a.header.entries.find((e) => e.name === name)!.shape;
    const rows = Math.max(1, Math.floor((8 << 20) / (h * 4)));
    let ok = 0;
    let worst = 0;
    for (let i0 = 0; i0 < o; i0 += rows) {
      const length = Math.min(rows, o - i0) * h * 4;
      const w = toFloat32(a.range(name, i0 * h * 4, length));
      const r = toFloat32(b.range(name, i0 * h * 4, length));
      for (let q = 0; q < w.length; q++) {
        const e = r[q] === w[q] ? 0 : Math.abs(r[q] - w[q]) / Math.abs(w[q]);
        if (e < 0.01) ok++;
        if (!(e <= worst)) worst = e;
      }
    }
    return { parameters: o * h, recovered: ok, maxRelativeError: worst };
  } finally {
    a.close();
    b.close();
  }
}

/** One lane of a row, in this process: its layers (i ≡ lane mod lanes, i < layersRun) one by one, everything of a layer deleted before the next. */
function runRow(row: Row, layersRun: number, lane: number, lanes: number): RowResult {
  const loadBefore = load();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `wg-scale-${row.name}-`));
  let [parameters, recovered, flaggedUnits, maxRelativeError, generateSeconds, releaseSeconds, attackSeconds, releaseBytes] = [0, 0, 0, 0, 0, 0, 0, 0];
  let [parametersAfterFirst, attackSecondsAfterFirst, recoverySecondsAfterFirst] = [0, 0, 0];
  let run = 0;
  try {
    for (let i = lane; i < layersRun; i += lanes) {
      run++;
      const dir = path.join(home, `layer-${i}`);
      fs.mkdirSync(dir);
      let t = performance.now();
      const input = writeLayer(row, i, dir);
      generateSeconds += (performance.now() - t) / 1000;
      const released = path.join(dir, 'released.safetensors');
      t = performance.now();
      releaseCheckpoint({ input, output: released, taylor: { order: 8, dtype: 'bf16' }, calibration: { synthetic: { rows: 64, scale: 1 } }, seed: `scale:${row.name}`, version });
      const releaseHere = (performance.now() - t) / 1000;
      releaseSeconds += releaseHere;
      releaseBytes = Math.max(releaseBytes, fs.statSync(released).size);
      const output = path.join(dir, 'recovered.safetensors');
      t = performance.now();
      const summary = attackReleasedFile(released, output, 'consensus', version);
      const seconds = (performance.now() - t) / 1000;
      attackSeconds += seconds;
      flaggedUnits += summary.total.unrecoverable;
      const name = row.layout === 'fc' ? `model.decoder.layers.${i}.fc2.weight` : `model.layers.${i}.mlp.down_proj.weight`;
      const verdict = judge(input, output, name);
      parameters += verdict.parameters;
      recovered += verdict.recovered;
      maxRelativeError = Math.max(maxRelativeError, verdict.maxRelativeError);
      if (run > 1) {
        parametersAfterFirst += verdict.parameters;
        attackSecondsAfterFirst += seconds;
        recoverySecondsAfterFirst += summary.recoverySeconds;
      }
      process.stderr.write(
        `  ${row.name} layer ${i + 1}/${row.layers}: release ${releaseHere.toFixed(2)} s, attack ${seconds.toFixed(2)} s (${(verdict.parameters / seconds / 1e6).toFixed(1)} M/s; block recovery ${summary.recoverySeconds.toFixed(2)} s), recovered ${((100 * verdict.recovered) / verdict.parameters).toFixed(4)} %, max rel. err. ${verdict.maxRelativeError.toExponential(2)}; load ${load()}\n`,
      );
      fs.rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
  return { name: row.name, layersRun: run, layers: row.layers, parameters, recovered, flaggedUnits, maxRelativeError, generateSeconds, releaseSeconds, attackSeconds, parametersAfterFirst, attackSecondsAfterFirst, recoverySecondsAfterFirst, peakRss: process.resourceUsage().maxRSS * 1024, releaseBytes, loadBefore, loadAfter: load() };
}

const fmt = (x: number): string => groupDigits(Math.round(x));

/** One lane's child process (its peak RSS is its own); resolves with its report. */
function runLane(row: Row, layersRun: number, lane: number, lanes: number): Promise<RowResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [__filename, '--row', row.name, String(layersRun), String(lane), String(lanes)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!) as RowResult) : reject(new Error(`${row.name} lane ${lane}: the process exited ${code}`))));
  });
}

/** The lanes' reports as one row: counts and core-seconds summed, the worst error and the largest peak RSS of a lane. */
function mergeLanes(parts: readonly RowResult[], loadBefore: string): RowResult {
  const sum = (f: (r: RowResult) => number): number => parts.reduce((a, r) => a + f(r), 0);
  const max = (f: (r: RowResult) => number): number => parts.reduce((a, r) => Math.max(a, f(r)), 0);
  return {
    name: parts[0].name,
    layersRun: sum((r) => r.layersRun),
    layers: parts[0].layers,
    parameters: sum((r) => r.parameters),
    recovered: sum((r) => r.recovered),
    flaggedUnits: sum((r) => r.flaggedUnits),
    maxRelativeError: max((r) => r.maxRelativeError),
    generateSeconds: sum((r) => r.generateSeconds),
    releaseSeconds: sum((r) => r.releaseSeconds),
    attackSeconds: sum((r) => r.attackSeconds),
    parametersAfterFirst: sum((r) => r.parametersAfterFirst),
    attackSecondsAfterFirst: sum((r) => r.attackSecondsAfterFirst),
    recoverySecondsAfterFirst: sum((r) => r.recoverySecondsAfterFirst),
    peakRss: max((r) => r.peakRss),
    releaseBytes: max((r) => r.releaseBytes),
    loadBefore,
    loadAfter: load(),
  };
}

/**
 * Issue 11's flatness criterion on the rows run: attack M/s per core within ± 25 % of one centre
 * holds exactly when the largest over the smallest is at most 1.25/0.75 = 5/3.
 */
function flatnessLine(throughput: ReadonlyArray<{ name: string; overall: number; afterFirst: number }>, key: 'overall' | 'afterFirst'): string {
  const rows = throughput.filter((r) => Number.isFinite(r[key]));
  if (rows.length < 2) return `(flatness, ${key === 'overall' ? 'overall' : "after each lane's first layer"}: fewer than two rows)`;
  const low = rows.reduce((a, b) => (b[key] < a[key] ? b : a));
  const high = rows.reduce((a, b) => (b[key] > a[key] ? b : a));
  const ratio = high[key] / low[key];
  return `(flatness, attack M/s per core ${key === 'overall' ? 'overall' : "after each lane's first layer"}: ${low.name} ${low[key].toFixed(2)} to ${high.name} ${high[key].toFixed(2)}, a ratio of ${ratio.toFixed(2)}: ${ratio <= 5 / 3 ? 'within' : 'not within'} ± 25 % of one centre, which needs ≤ ${(5 / 3).toFixed(2)})`;
}

async function main(): Promise<void> {
  const child = process.argv.indexOf('--row');
  if (child >= 0) {
    const row = ROWS.find((r) => r.name === process.argv[child + 1])!;
    const result = runRow(row, Number(process.argv[child + 2]), Number(process.argv[child + 3]), Number(process.argv[child + 4]));
    process.stdout.write(JSON.stringify(result) + '\n');
    return;
  }
  const wanted = (process.env.SCALE_ROWS ?? ROWS.map((r) => r.name).join(',')).split(',').map((s) => s.trim().toLowerCase());
  const unknown = wanted.filter((w) => !ROWS.some((r) => r.name === w));
  if (unknown.length > 0) throw new Error(`SCALE_ROWS: unknown rows ${unknown.join(', ')} (rows: ${ROWS.map((r) => r.name).join(', ')})`);
  const layersKnob = process.env.SCALE_LAYERS === undefined ? null : Number(process.env.SCALE_LAYERS);
  if (layersKnob !== null && !(Number.isInteger(layersKnob) && layersKnob > 0)) throw new Error(`SCALE_LAYERS must be a positive integer, got ${process.env.SCALE_LAYERS}`);
  const lanes = Number(process.env.SCALE_LANES ?? os.cpus().length);
  if (!(Number.isInteger(lanes) && lanes > 0)) throw new Error(`SCALE_LANES must be a positive integer, got ${process.env.SCALE_LANES}`);
  const lines: string[] = [
    `weightgames bench:scale — Table 1's shapes, bf16, N = 8, one layer at a time per lane (generated, released, attacked, judged, deleted), ${lanes} lane${lanes === 1 ? '' : 's'} (layers i ≡ lane mod ${lanes}, one process each: disk holds ${lanes} layer${lanes === 1 ? '' : 's'}); node ${process.version}, ${os.cpus().length} cores`,
    `| model | layers run | TaylorMLP parameters | recovered | ratio | attack time (Σ layers, one core each) | attack M/s per core | … after each lane's first layer | block recovery M/s per core, after each lane's first layer | release time (Σ) | generation (Σ) | row wall time | peak RSS (a lane) | paper: recovered, ratio, time | load before → after |`,
    `|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|`,
  ];
  const start = performance.now();
  /** Per row run: attack M/s per core, overall and after each lane's first layer (for the flatness line). */
  const throughput: Array<{ name: string; overall: number; afterFirst: number }> = [];
  for (const row of ROWS.filter((r) => wanted.includes(r.name))) {
    const layersRun = Math.min(row.layers, layersKnob ?? row.layers);
    process.stderr.write(`${row.name}: ${layersRun} of ${row.layers} layers (${row.dModel} → ${row.dFF}, ${row.activation})\n`);
    const loadBefore = load();
    const rowStart = performance.now();
    const x = mergeLanes(await Promise.all(Array.from({ length: Math.min(lanes, layersRun) }, (_, lane) => runLane(row, layersRun, lane, Math.min(lanes, layersRun)))), loadBefore);
    const rowWall = (performance.now() - rowStart) / 1000;
    const scale = x.layers / x.layersRun;
    const extrapolated = x.layersRun < x.layers;
    const tag = extrapolated ? ` (extrapolated ×${scale.toFixed(scale % 1 === 0 ? 0 : 2)} from ${x.layersRun} layer${x.layersRun === 1 ? '' : 's'}: ${fmt(x.parameters)} measured)` : '';
    const ratio = x.recovered / x.parameters;
    lines.push(
      `| ${row.name} | ${x.layersRun}/${x.layers} | ${fmt(x.parameters * scale)}${extrapolated ? ' (extrapolated)' : ''} | ${fmt(x.recovered * scale)}${tag} | ${(100 * ratio).toFixed(4)} % (max rel. err. ${x.maxRelativeError.toExponential(2)}; flagged units ${x.flaggedUnits}) | ${(x.attackSeconds * scale).toFixed(1)} s${extrapolated ? ` (extrapolated; ${x.attackSeconds.toFixed(1)} s measured)` : ''} | ${(x.parameters / x.attackSeconds / 1e6).toFixed(2)} | ${x.attackSecondsAfterFirst > 0 ? (x.parametersAfterFirst / x.attackSecondsAfterFirst / 1e6).toFixed(2) : '–'} | ${x.recoverySecondsAfterFirst > 0 ? (x.parametersAfterFirst / x.recoverySecondsAfterFirst / 1e6).toFixed(2) : '–'} | ${(x.releaseSeconds * scale).toFixed(1)} s${extrapolated ? ' (extrapolated)' : ''} | ${(x.generateSeconds * scale).toFixed(1)} s | ${(rowWall * scale).toFixed(1)} s${extrapolated ? ` (extrapolated; ${rowWall.toFixed(1)} s measured)` : ''} | ${(x.peakRss / 2 ** 20).toFixed(0)} MiB (release file ${(x.releaseBytes / 2 ** 20).toFixed(0)} MiB per layer) | ${fmt(row.paper.recovered)}, ${row.paper.ratio}, ${row.paper.seconds} s (${(row.paper.parameters / row.paper.seconds / 1e6).toFixed(2)} M/s on 20 cores) | ${x.loadBefore} → ${x.loadAfter} |`,
    );
    process.stderr.write(lines[lines.length - 1] + '\n');
    throughput.push({ name: row.name, overall: x.parameters / x.attackSeconds / 1e6, afterFirst: x.attackSecondsAfterFirst > 0 ? x.parametersAfterFirst / x.attackSecondsAfterFirst / 1e6 : NaN });
  }
  if (throughput.length > 1) lines.push(flatnessLine(throughput, 'overall'), flatnessLine(throughput, 'afterFirst'));
  lines.push(
    `(attack M/s per core: the row's parameters over its attack seconds; "after each lane's first layer" leaves out the layer where a lane's process compiles the attack and first touches its buffers — a cost per process, not per parameter, which a row of small layers split over ${lanes} lane${lanes === 1 ? '' : 's'} spreads over fewest parameters; "block recovery" is the same layers' recovery of their blocks as the attack's summary times it — the sample's and the chosen slabs' reads, the arithmetic, the recovered tensors' writes — without the release's hash, the copied tensors, the header and the final fsync)`,
  );
  lines.push(`(whole run ${((performance.now() - start) / 1000).toFixed(0)} s wall; attack and release times are in-process library calls — reading, recovery, writing with fsync — without node's start-up, summed over layers: with ${lanes} lanes the row's wall time is about their sum over ${lanes})`);
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
