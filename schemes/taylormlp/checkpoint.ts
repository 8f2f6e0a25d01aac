import { WeightgamesError } from '../../src/kernel/errors';
import { SafeDType, SafetensorsFile, StoredTensor, firstNonFinite, toFloat64, writeAt, writeSafetensorsPositional } from '../../src/numerics/io/safetensors';
import { SyncWorkerPool, refuseIfStrictWorkers, workerCount } from '../../src/numerics/io/syncWorkers';
import { compiledPath } from '../../src/kernel/estimate/compiledPath';
import { Activation, activationByName } from '../../src/numerics/activations';
import { LayoutError, MlpBlockLocation, checkpointActivation, findMlpBlocks, loadMlpBlock, recordedMlpInputCandidates } from '../../src/numerics/models/layouts';
import type { MlpBlock } from '../../src/numerics/models/mlp';
import { FloatArray, Tensor, tensor } from '../../src/numerics/tensor/tensor';
import * as P from '../../src/kernel/prob/prob';
import type { StorageDType } from './storage';
import { CalibrationRange, TaylorOptions, calibrationRange, checkTaylorOptions, expandedCount, releaseBlock, unitsToExpand } from './release';
import { BlockMeta, ReleasedFileError, blockMeta, releasedBlockShapes, releasedBlockTensors } from './artifact';
import { seededStream } from '../../src/kernel/prob/challenger';
import { ReleaseMagnitudes, checkMagnitudes, checkReleasedFinite, releaseMagnitudes, widenedDtype } from './finite';
import { checkInputFile, checkOutputPath, identityIfExists } from '../../src/numerics/io/paths';
import { sha256File } from '../../src/numerics/io/hash';
import { DirectFile } from '../../src/numerics/io/directWrites';
import { blockDims, dropReleaseBuffersSoon, narrowWeights, streamable, writeStreamedBlock, writeStreamedBlockOverlapped, writebackInterval } from './streamedBlock';
import { matMulTransposedRange } from '../../src/numerics/tensor/kernels';
import * as path from 'node:path';

/** Where z0 comes from: recorded MLP inputs per layer (a safetensors file), or seeded synthetic inputs. */
export type CalibrationSource = { readonly file: string } | { readonly synthetic: { readonly rows: number; readonly scale: number } };

export class CalibrationError extends WeightgamesError {
  override readonly name = 'CalibrationError';
  readonly kind = 'input';
}

/** A weight that is NaN or ±∞: TaylorMLP would publish garbage coefficients, so release refuses it. */
export class NonFiniteWeightError extends WeightgamesError {
  override readonly name = 'NonFiniteWeightError';
  readonly kind = 'input';
}

/** Refuse a block holding a non-finite weight, naming the tensor and the (flat, stored-order) index. */
function checkFinite(block: Pick<MlpBlock, never> & { readonly first: FloatArray; readonly firstBias: FloatArray | null; readonly up: FloatArray | null; readonly second: FloatArray; readonly secondBias: FloatArray | null }, location: MlpBlockLocation): void {
  const parts: Array<[string | null, FloatArray | null]> = [
    [location.first, block.first],
    [location.firstBias, block.firstBias],
    [location.up, block.up],
    [location.second, block.second],
    [location.secondBias, block.secondBias],
  ];
  for (const [name, values] of parts) {
    if (name === null || values === null) continue;
    // The stored bits scanned in place (firstNonFinite: float32 exponents eight at a time), not a call per weight.
    const q = firstNonFinite({ name, dtype: values instanceof Float32Array ? 'F32' : 'F64', shape: [values.length], bytes: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) });
    if (q >= 0) throw new NonFiniteWeightError(`tensor "${name}" holds ${values[q]} at (canonical [out, in]) index ${q}: release refuses non-finite weights`);
  }
}

/** The calibration inputs [T, input] of one block from a file in stories260K's activations.safetensors format. */
export function calibrationInputs(file: SafetensorsFile, location: MlpBlockLocation, inputDim: number): Tensor {
  const candidates = recordedMlpInputCandidates(location, ['calibration']);
  const name = candidates.find((n) => file.has(n));
  if (name === undefined) throw new CalibrationError(`calibration file ${file.path} has none of ${candidates.join(', ')} for block ${location.prefix}`);
  const stored: StoredTensor = file.tensor(name);
  if (stored.shape.length !== 2 || stored.shape[1] !== inputDim) throw new CalibrationError(`${name}: shape [${stored.shape.join(', ')}], expected [T, ${inputDim}]`);
  if (stored.shape[0] === 0) throw new CalibrationError(`${name} (block ${location.prefix}): no rows — z0 would be undefined`);
  const values = toFloat64(stored);
  for (let q = 0; q < values.length; q++) {
    if (!Number.isFinite(values[q])) throw new CalibrationError(`${name} (block ${location.prefix}): non-finite value ${values[q]} at row ${Math.floor(q / inputDim)}, column ${q % inputDim}`);
  }
  return tensor(stored.shape, values);
}

/** The calibration range must be finite (finite inputs can still overflow z = V·x). */
function checkRange(range: CalibrationRange, location: MlpBlockLocation): void {
  for (let j = 0; j < range.min.length; j++) {
    if (!Number.isFinite(range.min[j]) || !Number.isFinite(range.max[j])) {
      throw new CalibrationError(`block ${location.prefix}: the calibration range of unit ${j} is non-finite ([${range.min[j]}, ${range.max[j]}])`);
    }
  }
}

/** Seeded synthetic calibration inputs x ~ N(0, scale²·I), on the caller's sub-stream `calibration/<prefix>`. */
export const syntheticCalibration = (rows: number, inputDim: number, scale: number, prefix: string): P.Prob<Tensor> =>
  P.stream(`calibration/${prefix}`, (ctx) => tensor([rows, inputDim], P.normalArray(rows * inputDim, scale)(ctx)));

/** KGen for TaylorMLP: a ±1 sign per hidden unit of each block, on KGen's sub-stream `<prefix>` (so `kgen/<prefix>` in a game). */
export const drawSigns = (hidden: number, prefix: string): P.Prob<Int8Array> =>
  P.stream(prefix, (ctx) => Int8Array.from({ length: hidden }, () => (ctx.rng.uniform() < 0.5 ? -1 : 1)));

export interface ReleaseCheckpointOptions {
  readonly input: string;
  readonly output: string;
  readonly taylor: TaylorOptions;
  /** An activation name (flag); otherwise config.json beside the input. */
  readonly activation?: string;
  readonly calibration: CalibrationSource;
  readonly seed: string;
  readonly version: string;
  /** When a value overflows the storage dtype: store the whole release in the narrowest wider dtype that holds it (default: refuse). */
  readonly widen?: boolean;
  readonly onBlock?: (index: number, total: number, prefix: string) => void;
}

export interface ReleaseSummary {
  readonly input: string;
  readonly output: string;
  readonly seed: string;
  readonly activation: string;
  readonly activationSource: string;
  readonly calibration: string;
  readonly options: TaylorOptions;
  /** The dtype stored: the one asked for, or a wider one (`widen`). */
  readonly dtype: StorageDType;
  readonly blocks: ReadonlyArray<{ prefix: string; layout: string; hidden: number; expanded: number; thetaEntries: number }>;
  readonly taylorParameters: number;
  readonly seconds: number;
}

/** Pass 1 of one block: its calibration range, the magnitudes its release will store, its signs and K. */
export interface BlockPlan {
  readonly location: MlpBlockLocation;
  readonly range: CalibrationRange;
  readonly magnitudes: ReleaseMagnitudes;
  readonly signs: Int8Array | null;
  readonly K: number;
  readonly hidden: number;
  readonly input: number;
  readonly output: number;
}

/** What pass 1 and pass 2 of a block need besides the files (plain data: it goes to worker threads). */
export interface BlockJob {
  readonly taylor: TaylorOptions;
  readonly calibration: CalibrationSource;
  readonly seed: string;
}

/** Pass 1 of one block (on this thread or a worker's): calibration range, finiteness of the weights, magnitudes, signs, K. */
export function planBlock(source: SafetensorsFile, calibrationFile: SafetensorsFile | null, location: MlpBlockLocation, activation: Activation, job: BlockJob): BlockPlan {
  const narrow = narrowWeights(source, location);
  if (narrow !== null) return planNarrow(source, calibrationFile, location, activation, job, narrow);
  const block = loadMlpBlock((n) => source.tensor(n), location);
  checkFinite(block, location);
  const inputs =
    calibrationFile !== null
      ? calibrationInputs(calibrationFile, location, block.inputDim)
      : seededStream(job.seed, '', syntheticCalibration((job.calibration as { synthetic: { rows: number; scale: number } }).synthetic.rows, block.inputDim, (job.calibration as { synthetic: { rows: number; scale: number } }).synthetic.scale, location.prefix));
  const range = calibrationRange(block, inputs, job.taylor.rangeIncludesZero ?? false);
  checkRange(range, location);
  const magnitudes = releaseMagnitudes(location.prefix, block, activation, range, job.taylor);
  const signs = job.taylor.signs === true ? seededStream(job.seed, 'kgen', drawSigns(block.hiddenDim, location.prefix)) : null;
  const K = unitsToExpand(range, job.taylor.expand ?? { all: true }).length;
  return { location, range, magnitudes, signs, K, hidden: block.hiddenDim, input: block.inputDim, output: block.outputDim };
}

/** Pass 1 on weights read as float32 (exact for F32/BF16/F16): the same plan as from loadMlpBlock's float64 copies, without them or z. */
function planNarrow(source: SafetensorsFile, calibrationFile: SafetensorsFile | null, location: MlpBlockLocation, activation: Activation, job: BlockJob, w: NonNullable<ReturnType<typeof narrowWeights>>): BlockPlan {
  const vector = (name: string | null, length: number): Float64Array | null => {
    if (name === null) return null;
    const v = toFloat64(source.tensor(name));
    if (v.length !== length) throw new LayoutError(`${name}: expected ${length} entries, found ${v.length}`);
    return v;
  };
  const block = { hiddenDim: w.hidden, outputDim: w.output, first: w.first, second: w.second, up: w.up, firstBias: vector(location.firstBias, w.hidden), secondBias: vector(location.secondBias, w.output) };
  checkFinite(block, location);
  const inputs =
    calibrationFile !== null
      ? calibrationInputs(calibrationFile, location, w.input)
      : seededStream(job.seed, '', syntheticCalibration((job.calibration as { synthetic: { rows: number; scale: number } }).synthetic.rows, w.input, (job.calibration as { synthetic: { rows: number; scale: number } }).synthetic.scale, location.prefix));
  const includeZero = job.taylor.rangeIncludesZero ?? false;
  const range: CalibrationRange = { min: new Float64Array(w.hidden).fill(includeZero ? 0 : Infinity), max: new Float64Array(w.hidden).fill(includeZero ? 0 : -Infinity) };
  matMulTransposedRange(inputs.data, inputs.shape[0], w.first, w.hidden, w.input, range.min, range.max);
  checkRange(range, location);
  const magnitudes = releaseMagnitudes(location.prefix, block, activation, range, job.taylor);
  const signs = job.taylor.signs === true ? seededStream(job.seed, 'kgen', drawSigns(w.hidden, location.prefix)) : null;
  const K = unitsToExpand(range, job.taylor.expand ?? { all: true }).length;
  return { location, range, magnitudes, signs, K, hidden: w.hidden, input: w.input, output: w.output };
}

/** Pass 2 of one block: release it (in `taylor.dtype`), check every stored value, and write its tensors at their offsets. Answers the names written. */
export function writeReleasedBlock(source: SafetensorsFile, plan: BlockPlan, activation: Activation, taylor: TaylorOptions, fd: number, offsets: ReadonlyMap<string, { readonly position: number; readonly byteLength: number }>): string[] {
  const dtype = taylor.dtype ?? 'f32';
  if (streamable(source, plan.location, dtype)) return writeStreamedBlock(source, plan, activation, taylor, fd, offsets);
  const block: MlpBlock = loadMlpBlock((n) => source.tensor(n), plan.location);
  const released = releaseBlock(block, activation, plan.range, taylor, plan.signs);
  checkReleasedFinite(plan.location.prefix, released, dtype);
  const tensors = releasedBlockTensors(blockMeta(plan.location, released), released, dtype);
  const names: string[] = [];
  for (const [name, t] of tensors) {
    const at = offsets.get(name);
    if (at === undefined || at.byteLength !== t.bytes.length) throw new ReleasedFileError(`${name}: the header has no slot of ${t.bytes.length} bytes for it`);
    writeAt(fd, t.bytes, at.position);
    names.push(name);
  }
  return names;
}

/** writeReleasedBlock on a release worker: a streamed block's order slabs written while the next is computed (writeStreamedBlockOverlapped; the same bytes). */
export function writeReleasedBlockOverlapped(source: SafetensorsFile, plan: BlockPlan, activation: Activation, taylor: TaylorOptions, fd: number, offsets: ReadonlyMap<string, { readonly position: number; readonly byteLength: number }>, syncEvery: number): Promise<string[]> {
  if (streamable(source, plan.location, taylor.dtype ?? 'f32')) return writeStreamedBlockOverlapped(source, plan, activation, taylor, fd, offsets, syncEvery);
  return Promise.resolve(writeReleasedBlock(source, plan, activation, taylor, fd, offsets));
}

/** A task a release worker failed, re-run here (see refuseIfStrictWorkers). */
function strictOr<T>(answer: { readonly failed: string }, prefix: string, rerun: () => T): T {
  refuseIfStrictWorkers(answer.failed, `release block ${prefix}`);
  return rerun();
}

/** Worker threads for a release: only when the blocks are big enough to pay for starting them (WEIGHTGAMES_WORKERS=0 forbids, =n asks for n). */
function releaseWorkers(locations: readonly MlpBlockLocation[], source: SafetensorsFile, activation: Activation, job: BlockJob): number {
  const forced = process.env.WEIGHTGAMES_WORKERS;
  if (forced !== undefined && /^\d+$/.test(forced)) return Math.min(Number(forced), locations.length);
  const entry = (name: string) => source.header.entries.find((e) => e.name === name);
  const work = locations.reduce((a, l) => a + ((entry(l.second)?.end ?? 0) - (entry(l.second)?.begin ?? 0)) * (job.taylor.order + 1), 0);
  let sameActivation = false;
  try {
    sameActivation = activationByName(activation.name).name === activation.name;
  } catch {
    sameActivation = false;
  }
  return workerCount(locations.length, sameActivation && work >= 64 * 2 ** 20);
}

const releaseWorkerScript = (): string => compiledPath(path.join(__dirname, `releaseWorker${path.extname(__filename)}`));

/**
 * Release a whole checkpoint: every MLP block becomes its TaylorMLP form, every other tensor is
 * copied. The header needs each block's K, which the expand option gives before calibration; so
 * with worker threads each block is planned (calibration, guard, signs) and written in one task,
 * while this thread hashes the inputs. Alone, or with --widen (whose dtype depends on every block's
 * magnitudes), pass 1 plans every block first and pass 2 writes them. A thread holds one block at
 * a time; a block that fails in a worker is re-run here, which throws its typed error.
 */
export function releaseCheckpoint(o: ReleaseCheckpointOptions): ReleaseSummary {
  checkTaylorOptions(o.taylor);
  const start = performance.now();
  // Every path before any work: the inputs (by identity), the config.json beside the input, the output.
  const input = checkInputFile(o.input, 'input');
  const calibrationInput = 'file' in o.calibration ? checkInputFile(o.calibration.file, 'calibration file') : null;
  checkOutputPath(o.output, [input, identityIfExists(path.join(path.dirname(o.input), 'config.json')), calibrationInput]);
  const source = SafetensorsFile.open(o.input);
  const calibrationFile = 'file' in o.calibration ? SafetensorsFile.open(o.calibration.file) : null;
  let pool: SyncWorkerPool<ReleaseTask, unknown> | null = null;
  try {
    const { activation, source: activationSource } = checkpointActivation(o.input, o.activation);
    const locations = findMlpBlocks(source.names);
    const job: BlockJob = { taylor: o.taylor, calibration: o.calibration, seed: o.seed };
    const workers = releaseWorkers(locations, source, activation, job);
    if (workers > 0) pool = new SyncWorkerPool<ReleaseTask, unknown>(releaseWorkerScript(), workers, { input: o.input, calibrationFile: 'file' in o.calibration ? o.calibration.file : null, activation: activation.name });
    const hashInputs = (betweenChunks?: () => void): { calibration: string | null; source: string } => ({
      calibration: 'file' in o.calibration ? sha256File(o.calibration.file, betweenChunks) : null,
      source: sha256File(o.input, betweenChunks),
    });
    let hashes: { calibration: string | null; source: string } | null = null;
    const requested = o.taylor.dtype ?? 'f32';
    const widenHint = o.widen === true ? '' : '; --widen stores it in a wider dtype';
    const planHere = (index: number): BlockPlan => planBlock(source, calibrationFile, locations[index], activation, job);
    // Each block's shapes are known before its calibration (K from the expand option) unless --widen
    // may change the dtype: then, with workers, each block is planned and written in one task (its
    // weights read once, no pass between), and this thread hashes meanwhile. Otherwise pass 1 plans
    // every block first, and the finiteness guard decides (refuse, or widen) before the header.
    const predicted = pool !== null && o.widen !== true ? predictedLayout(source, locations, o.taylor) : null;
    let plans: BlockPlan[] | null = null;
    if (predicted === null) {
      const planned = pool === null ? [] : locations.map((location) => pool!.submit({ kind: 'plan', location, job }));
      // Alone, this thread plans first: a refusal then comes before reading the whole input again.
      if (pool !== null) hashes = hashInputs(() => pool!.poll());
      plans =
        pool === null
          ? locations.map((_, index) => planHere(index))
          : planned.map((id, index) => {
              const answer = pool!.wait(id);
              return 'ok' in answer ? (answer.ok as BlockPlan) : strictOr(answer, locations[index].prefix, () => planHere(index));
            });
      hashes ??= hashInputs();
    }
    const dtype: StorageDType = plans !== null && o.widen === true ? widenedDtype(plans.map((p) => p.magnitudes), requested) : requested;
    if (plans !== null) for (const plan of plans) checkMagnitudes(plan.magnitudes, dtype, widenHint);
    const taylor: TaylorOptions = { ...o.taylor, dtype };
    const layout: readonly BlockLayout[] = plans ?? predicted!;
    const replaced = new Set(locations.flatMap((l) => [l.first, l.up, l.second, l.firstBias, l.secondBias].filter((n): n is string => n !== null)));
    const shapes = new Map<string, { dtype: SafeDType; shape: readonly number[] }>();
    const copied: string[] = [];
    for (const entry of source.header.entries) {
      if (replaced.has(entry.name)) continue;
      shapes.set(entry.name, { dtype: entry.dtype, shape: entry.shape });
      copied.push(entry.name);
    }
    for (const block of layout) for (const [name, shape] of releasedBlockShapes(metaOf(block), block.K, o.taylor.order, dtype)) shapes.set(name, shape);
    const metas = layout.map(metaOf);
    // File names and content hashes, never the paths typed (an owner's directories stay private).
    const calibration = 'file' in o.calibration ? `file:${path.basename(o.calibration.file)}` : `synthetic:N(0,${o.calibration.synthetic.scale}²)×${o.calibration.synthetic.rows}`;
    const metadata: Record<string, string> = {
      scheme: 'taylormlp',
      order: String(o.taylor.order),
      activation: activation.name,
      dtype,
      mask: JSON.stringify(o.taylor.mask ?? null),
      blocks: JSON.stringify(metas),
      options: JSON.stringify(taylor),
      seed: o.seed,
      calibration,
      weightgames_version: o.version,
      source_file: path.basename(o.input),
    };
    if (dtype !== requested) metadata.dtype_requested = requested;
    // The content hashes are filled in once known (deferred, on every path: the same header whatever the threads).
    const sha256Length = 64;
    const deferred = {
      ...('file' in o.calibration ? { calibration_sha256: { length: sha256Length, value: () => hashes!.calibration! } } : {}),
      source_sha256: { length: sha256Length, value: () => hashes!.source },
    };
    const fill = (fd: number, offsets: ReadonlyMap<string, { readonly position: number; readonly byteLength: number }>): Set<string> => {
      const written = new Set<string>();
      const slots = (block: BlockLayout): Array<[string, { position: number; byteLength: number }]> => [...releasedBlockShapes(metaOf(block), block.K, o.taylor.order, dtype).keys()].map((n) => [n, offsets.get(n)!]);
      // Pass 2: each block released and written at its offsets (one block per thread in memory).
      const writeHere = (index: number, plan: BlockPlan): string[] => {
        o.onBlock?.(index, locations.length, locations[index].prefix);
        return writeReleasedBlock(source, plan, activation, taylor, fd, offsets);
      };
      if (pool === null) plans!.forEach((plan, index) => writeHere(index, plan).forEach((n) => written.add(n)));
      else if (plans !== null) {
        const answers = pool.map(
          plans.map((plan) => ({ kind: 'write', plan, taylor, fd, offsets: slots(plan), syncEvery: writebackInterval(workers) }) as ReleaseTask),
          (index) => o.onBlock?.(index, locations.length, locations[index].prefix),
        );
        answers.forEach((answer, index) => ('ok' in answer ? (answer.ok as string[]) : strictOr(answer, locations[index].prefix, () => writeHere(index, plans![index]))).forEach((n) => written.add(n)));
      } else {
        // Planned and written in one task per block; the hashes here meanwhile. Every answer is in
        // before any is judged, so that no worker still writes when a refusal below removes the file.
        const ids = predicted!.map((block) => pool!.submit({ kind: 'planWrite', location: block.location, job, expected: block, hint: widenHint, taylor, fd, offsets: slots(block), syncEvery: writebackInterval(workers) }));
        // A failure here (the hash, or a progress callback's throw) is thrown once no worker still
        // writes; the tasks not started by then are dropped (`cancelQueued`: never waited for).
        const cancelled = new Set<number>();
        const dropQueued = (): void => pool!.cancelQueued().forEach((id) => cancelled.add(id));
        let failure: { error: unknown } | null = null;
        try {
          hashes = hashInputs(() => pool!.poll());
        } catch (error) {
          failure = { error };
          dropQueued();
        }
        const answers = ids.map((id, index) => {
          if (cancelled.has(id)) return undefined;
          const answer = pool!.wait(id);
          // A block refused (or failed): the blocks not started yet are not computed in vain; those before
          // the failed one are planned and written here, in order, below, so the first bad block still names the error.
          if ('failed' in answer) dropQueued();
          if (failure === null) {
            try {
              o.onBlock?.(index, locations.length, locations[index].prefix);
            } catch (error) {
              failure = { error };
              dropQueued();
            }
          }
          return answer;
        });
        if (failure !== null) throw failure.error;
        plans = answers.map((answer, index) => {
          if (answer !== undefined && 'ok' in answer) {
            const done = answer.ok as { plan: BlockPlan; names: string[] };
            done.names.forEach((n) => written.add(n));
            return done.plan;
          }
          // Here: a bad block throws its typed error (the first in block order); a dropped or failed one is written here.
          const here = (): BlockPlan => {
            const plan = planHere(index);
            checkBlockPlan(plan, predicted![index], widenHint, dtype);
            writeReleasedBlock(source, plan, activation, taylor, fd, offsets).forEach((n) => written.add(n));
            return plan;
          };
          return answer === undefined ? here() : strictOr(answer, locations[index].prefix, here);
        });
      }
      // The tensors the release keeps, copied one at a time (big ones directly, where allowed).
      const file = DirectFile.open(fd);
      try {
        for (const name of copied) {
          file.writeSync(source.tensor(name).bytes, offsets.get(name)!.position);
          written.add(name);
        }
      } finally {
        file.close();
      }
      return written;
    };
    writeSafetensorsPositional(o.output, shapes, metadata, fill, { inputs: [input, identityIfExists(path.join(path.dirname(o.input), 'config.json')), calibrationInput], deferred });
    const done = plans!;
    return {
      input: o.input,
      output: o.output,
      seed: o.seed,
      activation: activation.name,
      activationSource,
      calibration,
      options: o.taylor,
      dtype,
      blocks: done.map((p) => ({ prefix: p.location.prefix, layout: p.location.layout, hidden: p.hidden, expanded: p.K, thetaEntries: (o.taylor.order + 1) * p.output * p.K })),
      taylorParameters: done.reduce((a, p) => a + p.output * p.K, 0),
      seconds: (performance.now() - start) / 1000,
    };
  } finally {
    pool?.close();
    source.close();
    calibrationFile?.close();
    dropReleaseBuffersSoon();
  }
}

/** What the header needs of a block: where it is, its dimensions and K (a plan has them; so has predictedLayout). */
export type BlockLayout = Pick<BlockPlan, 'location' | 'input' | 'hidden' | 'output' | 'K'>;

const metaOf = (block: BlockLayout): BlockMeta => ({
  prefix: block.location.prefix,
  layout: block.location.layout,
  layer: block.location.layer,
  kind: block.location.layout === 'llama' ? 'swiglu' : 'plain',
  first: block.location.first,
  up: block.location.up,
  second: block.location.second,
  firstBias: block.location.firstBias,
  secondBias: block.location.secondBias,
  inputDim: block.input,
  hiddenDim: block.hidden,
  outputDim: block.output,
});

/**
 * Each block's layout from the checkpoint's header alone: dimensions from its shapes (blockDims),
 * K from the expand option. Null where a shape is not a plain matrix pair: pass 1 then plans
 * first, and its loader names the problem.
 */
export function predictedLayout(source: SafetensorsFile, locations: readonly MlpBlockLocation[], taylor: TaylorOptions): BlockLayout[] | null {
  const layout: BlockLayout[] = [];
  for (const location of locations) {
    const dims = blockDims(source, location);
    if (dims === null) return null;
    layout.push({ location, ...dims, K: expandedCount(dims.hidden, taylor.expand ?? { all: true }) });
  }
  return layout;
}

/** A block planned after its header was written: its guard (as pass 1's), and the layout the header promised. */
function checkBlockPlan(plan: BlockPlan, expected: BlockLayout, hint: string, dtype: StorageDType): void {
  checkMagnitudes(plan.magnitudes, dtype, hint);
  if (plan.K !== expected.K || plan.hidden !== expected.hidden || plan.input !== expected.input || plan.output !== expected.output) {
    throw new ReleasedFileError(`${plan.location.prefix}: planned as ${plan.output}×${plan.hidden}×${plan.input} with K = ${plan.K}, but the header holds ${expected.output}×${expected.hidden}×${expected.input} with K = ${expected.K}`);
  }
}

/** Pass 1 and pass 2 of one block in one go, on a release worker (the header already written): its plan and the names written. */
export async function planAndWriteBlock(source: SafetensorsFile, calibrationFile: SafetensorsFile | null, activation: Activation, task: Extract<ReleaseTask, { kind: 'planWrite' }>): Promise<{ plan: BlockPlan; names: string[] }> {
  const plan = planBlock(source, calibrationFile, task.location, activation, task.job);
  checkBlockPlan(plan, task.expected, task.hint, task.taylor.dtype ?? 'f32');
  const names = await writeReleasedBlockOverlapped(source, plan, activation, task.taylor, task.fd, new Map(task.offsets), task.syncEvery);
  return { plan, names };
}

type Offsets = ReadonlyArray<[string, { position: number; byteLength: number }]>;

/** A task for a release worker (./releaseWorker): pass 1, pass 2, or both, of one block. */
export type ReleaseTask =
  | { readonly kind: 'plan'; readonly location: MlpBlockLocation; readonly job: BlockJob }
  | { readonly kind: 'write'; readonly plan: BlockPlan; readonly taylor: TaylorOptions; readonly fd: number; readonly offsets: Offsets; readonly syncEvery: number }
  | { readonly kind: 'planWrite'; readonly location: MlpBlockLocation; readonly job: BlockJob; readonly expected: BlockLayout; readonly hint: string; readonly taylor: TaylorOptions; readonly fd: number; readonly offsets: Offsets; readonly syncEvery: number };
