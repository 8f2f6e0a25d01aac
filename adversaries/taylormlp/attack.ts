import { transposeMatrix } from '../../src/numerics/tensor/tensor';
import { SafeDType, SafetensorsFile, encodeFloats, writeSafetensorsPositional } from '../../src/numerics/io/safetensors';
import { DirectFile } from '../../src/numerics/io/directWrites';
import { activationByName } from '../../src/numerics/activations';
import type { WRecAdversary } from '../../src/kernel/adversary';
import { markAudited } from '../../src/kernel/cost/audit';
import type { TrainedMlp } from '../../src/numerics/models/train';
import { BlockMeta, ReleasedFileError, ReleasedModelInfo, readReleasedBlock, releasedInfo } from '../../schemes/taylormlp/artifact';
import { finiteClearTensor, validateRelease } from '../../schemes/taylormlp/validate';
import { sha256File } from '../../src/numerics/io/hash';
import type { ReleasedMlp } from '../../schemes/taylormlp/scheme';
import type { ReleasedBlock } from '../../schemes/taylormlp/release';
import type { StorageDType } from '../../schemes/taylormlp/storage';
import { consensusRecoverBlock, ConsensusOptions } from './consensus';
import { FastScratchRole, dropFastBuffersSoon, fastBufferBytes, fastRecoverBlock } from './fastAttack';
import type { AttackAnswer, AttackTask, AttackWorkerBuffers } from './attackWorker';
import { hashAndScan } from './releaseHash';
import { SyncWorkerPool, refuseIfStrictWorkers, workerCount } from '../../src/numerics/io/syncWorkers';
import { HandoffSlots } from '../../src/numerics/io/handoffSlots';
import { datasyncSync } from '../../src/numerics/io/writeback';
import { compiledPath } from '../../src/kernel/estimate/compiledPath';
import * as path from 'node:path';
import { pairwiseRecoverBlock } from './pairwise';
import { RecoveredBlock, RecoverySummary, UnitClass, summarizeRecovery, unitClassDetermines, unitClassNames } from './recovered';
import type { Activation } from '../../src/numerics/activations';

export type AttackMethod = 'consensus' | 'pairwise';

/** Work left to the workers (at their latest pace: takeBlocks) above which the attack's own thread recovers blocks too, once it has hashed the release. */
const STEAL_WORTH_SECONDS = 3;

/**
 * Shared slots (HandoffSlots) through which the workers leave recovered blocks for this thread to
 * write: two per worker, at most this many bytes in all — so only for blocks of small models' size
 * (the OPT-125M shape's take 19 MB); workers write bigger blocks, or any block when no slot is free,
 * themselves.
 */
const HANDOFF_BYTES = 256 * 2 ** 20;

/** The shared slots for blocks of `largestBlockBytes` at most, or null where they are not worth it or cannot be had (see HANDOFF_BYTES). */
function handoffSlots(workers: number, largestBlockBytes: number): HandoffSlots | null {
  const count = Math.min(2 * workers, Math.floor(HANDOFF_BYTES / Math.max(1, largestBlockBytes)));
  if (workers === 0 || largestBlockBytes === 0 || count < 2 || process.env.WEIGHTGAMES_ATTACK_HANDOFF === '0') return null;
  try {
    return HandoffSlots.create(count, largestBlockBytes);
  } catch {
    return null; // no shared memory to be had: the workers write their blocks themselves
  }
}

/**
 * The workers' own buffers touched by this thread beside the slots, at most this many bytes in all
 * (the OPT-125M shape's take ~36 MB per worker; on two cores there is one worker): while it touches
 * them the workers wait, so more would only move their faults onto this thread; a bigger block's
 * fresh pages are a small part of its work anyway.
 */
const WORKER_BUFFER_BYTES = 64 * 2 ** 20;

/**
 * Sets of the sampled path's buffers (fastBufferBytes) as shared memory that this thread touches
 * while the workers start — the pages a worker's first block would otherwise fault in one by one on
 * the critical path (see Scratch) — one per worker while WORKER_BUFFER_BYTES allows, and a counter
 * through which each worker takes one (those beyond the sets allocate their own); null where not
 * even one set fits or shared memory cannot be had.
 */
function workerBuffers(workers: number, file: SafetensorsFile, info: ReleasedModelInfo): AttackWorkerBuffers | null {
  const bytes = fastBufferBytes(file, info);
  const total = Object.values(bytes).reduce((a, b) => a + b, 0);
  const count = Math.min(workers, Math.floor(WORKER_BUFFER_BYTES / Math.max(1, total)));
  if (count === 0 || total === 0) return null;
  try {
    const sets = Array.from({ length: count }, () => Object.fromEntries(Object.entries(bytes).map(([role, n]) => [role, new SharedArrayBuffer(Math.ceil(n / 8) * 8)])) as Record<FastScratchRole, SharedArrayBuffer>);
    return { sets, taken: new SharedArrayBuffer(4) };
  } catch {
    return null; // no shared memory to be had: the workers allocate their own
  }
}

/** Recover one released block with either attack. */
export function recoverBlock(method: AttackMethod, released: ReleasedBlock, act: Activation, dtype: StorageDType, options: ConsensusOptions = {}): RecoveredBlock {
  return method === 'consensus' ? consensusRecoverBlock(released, act, dtype, options) : pairwiseRecoverBlock(released, act, { dtype, signs: options.signs, tol: options.tol });
}

/** The consensus attack as a WRec adversary of the game-level TaylorMLP scheme (all its arithmetic in metered kernels: audited). */
export const consensusAdversary = (dtype: StorageDType = 'f32', signs = false): WRecAdversary<undefined, ReleasedMlp, TrainedMlp> =>
  markAudited({
    name: 'consensus',
    recover: (_pk: undefined, released: ReleasedMlp) => () => ({
      activation: released.activation,
      block: consensusRecoverBlock(released.block, activationByName(released.activation), dtype, { signs }),
    }),
  });

/** The paper's pairwise attack as a WRec adversary. */
export const pairwiseAdversaryFor = (dtype: StorageDType = 'f32', signs = false): WRecAdversary<undefined, ReleasedMlp, TrainedMlp> => ({
  name: 'pairwise',
  recover: (_pk, released) => () => ({ activation: released.activation, block: pairwiseRecoverBlock(released.block, activationByName(released.activation), { dtype, signs }) }),
});

/** The paper's pairwise attack on f32 releases that may carry random signs (both signs tried; s resolved where the pair equations allow). */
export const pairwiseAdversary: WRecAdversary<undefined, ReleasedMlp, TrainedMlp> = pairwiseAdversaryFor('f32', true);


/** Names and shapes of a block's recovered tensors (original layout), known before recovering it. */
export function recoveredShapes(meta: BlockMeta): Map<string, number[]> {
  const { inputDim: d, hiddenDim: h, outputDim: o } = meta;
  const conv = meta.layout === 'gpt2';
  const out = new Map<string, number[]>([
    [meta.first, conv ? [d, h] : [h, d]],
    [meta.second, conv ? [h, o] : [o, h]],
  ]);
  if (meta.up !== null) out.set(meta.up, [h, d]);
  if (meta.firstBias !== null) out.set(meta.firstBias, [h]);
  if (meta.secondBias !== null) out.set(meta.secondBias, [o]);
  return out;
}

/** The recovered tensors of a block under the original checkpoint's names and layout (float32). */
export function recoveredTensors(meta: BlockMeta, block: RecoveredBlock): Map<string, { dtype: 'F32'; shape: number[]; bytes: Uint8Array }> {
  const { inputDim: d, hiddenDim: h, outputDim: o } = meta;
  const conv = meta.layout === 'gpt2';
  const values = new Map<string, ArrayLike<number> | null>([
    [meta.first, conv ? transposeMatrix(block.first, h, d) : block.first],
    [meta.second, conv ? transposeMatrix(block.second, o, h) : block.second],
  ]);
  if (meta.up !== null) values.set(meta.up, block.up);
  if (meta.firstBias !== null) values.set(meta.firstBias, block.firstBias);
  if (meta.secondBias !== null) values.set(meta.secondBias, block.secondBias);
  const out = new Map<string, { dtype: 'F32'; shape: number[]; bytes: Uint8Array }>();
  for (const [name, shape] of recoveredShapes(meta)) {
    const data = values.get(name);
    if (data !== undefined && data !== null) out.set(name, { dtype: 'F32', shape, bytes: encodeFloats(data, 'F32') });
  }
  return out;
}

/** A block's identifiability classes as one character per hidden unit (the class code, 0–9). */
export function classString(block: Pick<RecoveredBlock, 'status' | 'unitClass'>): string {
  let out = '';
  for (let j = 0; j < block.status.length; j++) out += String(block.unitClass?.[j] ?? (block.status[j] === 1 ? UnitClass.plain : block.status[j] === 2 ? UnitClass.flagged : UnitClass.exact));
  return out;
}

export interface AttackSummary {
  readonly method: AttackMethod;
  readonly released: string;
  readonly output: string;
  readonly activation: string;
  readonly order: number;
  readonly dtype: StorageDType;
  readonly signs: boolean;
  /** Per block: its figures, its recovery's seconds and the thread that recovered it (a worker, or the thread that called the attack). */
  readonly blocks: ReadonlyArray<{ prefix: string; units: number; plain: number; unrecoverable: number; classes: Readonly<Record<string, number>>; seconds: number; thread: 'worker' | 'caller' }>;
  /** What each identifiability class determines. */
  readonly classesDetermine: Readonly<Record<string, string>>;
  readonly total: RecoverySummary;
  /** Wall time of the blocks' recovery, summed: each block's reads of the release, its arithmetic and the writes of its recovered tensors (the release's hash, the copied tensors, the header and the final fsync excluded; a worker's blocks as the worker timed them). */
  readonly recoverySeconds: number;
  readonly seconds: number;
  readonly recoveredParameters: number;
  /** Blocks the workers left in shared slots for the calling thread to write (the others each thread wrote itself). */
  readonly handedOff: number;
}

/**
 * `weightgames attack`: read a TaylorMLP release (and nothing else), recover every block, and
 * write a checkpoint with the original tensor names and layout — the MLP tensors recovered, every
 * other tensor copied from the release — so it loads wherever the original did.
 */
export function attackReleasedFile(input: string, output: string, method: AttackMethod, version: string, onBlock?: (index: number, total: number, prefix: string) => void): AttackSummary {
  const start = performance.now();
  // The sampled fast path for big blocks (./fastAttack); WEIGHTGAMES_FAST_ATTACK=0 runs the full consensus everywhere.
  const fastAttack = process.env.WEIGHTGAMES_FAST_ATTACK !== '0';
  const released = SafetensorsFile.open(input);
  let pool: SyncWorkerPool<AttackTask, AttackAnswer | null> | null = null;
  try {
    const info = releasedInfo(released.metadata);
    // The workers start first: a thread takes ~0.2 s to load its modules and open the release, time in
    // which this thread validates the release and lays out the output (on an invalid release they are closed below).
    const workers = method === 'consensus' && fastAttack ? attackWorkers(released, info) : 0;
    const largestBlockBytes = Math.max(0, ...info.blocks.map((meta) => [...recoveredShapes(meta).values()].reduce((sum, shape) => sum + 4 * shape.reduce((a, b) => a * b, 1), 0)));
    const slots = handoffSlots(workers, largestBlockBytes);
    const buffers = workerBuffers(workers, released, info);
    pool = workers > 0 ? new SyncWorkerPool<AttackTask, AttackAnswer | null>(compiledPath(path.join(__dirname, `attackWorker${path.extname(__filename)}`)), workers, { input, ...(slots === null ? {} : { handoff: slots.shared }), ...(buffers === null ? {} : { buffers }) }, 2) : null;
    // While the workers load: the buffers their first block uses (before it could), then the slots (before the first task is submitted: it zeroes every slot).
    for (const set of buffers?.sets ?? []) for (const memory of Object.values(set)) new Uint8Array(memory).fill(0);
    slots?.prefault();
    validateRelease(released, info);
    const act = activationByName(info.activation);
    let signs = false;
    try {
      signs = (JSON.parse(info.metadata.options ?? '{}') as { signs?: boolean }).signs === true;
    } catch {
      signs = true; // unknown: fit both signs
    }
    // Worker threads recover the blocks (sampled fast path) while this thread, which would otherwise
    // only wait, hashes the release and writes the blocks they leave in shared slots (a worker with
    // no slot writes its block into the output itself, at its offsets). A block a worker leaves
    // (null) or fails is recovered here, and its error, if any, thrown here.
    const blockStats: Array<{ prefix: string; units: number; plain: number; unrecoverable: number; classes: Readonly<Record<string, number>>; seconds: number; thread: 'worker' | 'caller' }> = [];
    const statuses: Array<{ status: Uint8Array; reason?: Uint8Array; unitClass?: Uint8Array }> = [];
    // Per block, one character per hidden unit: its identifiability class code (the legend below).
    const classCodes = new Map<string, string>();
    let recoveredParameters = 0;
    let recoverySeconds = 0;
    /** One recovered block, whichever path recovered it (a worker, the sampled path, the full method): its figures into the summary. */
    const account = (index: number, outcome: Parameters<typeof summarizeRecovery>[0][number] & Parameters<typeof classString>[0], seconds: number, thread: 'worker' | 'caller'): void => {
      const meta = info.blocks[index];
      recoverySeconds += seconds;
      statuses.push({ status: outcome.status, reason: outcome.reason, unitClass: outcome.unitClass });
      classCodes.set(meta.prefix, classString(outcome));
      recoveredParameters += meta.outputDim * outcome.status.filter((x) => x === 0).length;
      const summary = summarizeRecovery([outcome]);
      blockStats.push({ prefix: meta.prefix, units: summary.units, plain: summary.plain, unrecoverable: summary.unrecoverable, classes: summary.classes, seconds, thread });
    };
    /**
     * The release's SHA-256, on this thread: where the sampled path may leave order slabs unread,
     * every Θ value is checked finite in the same read (the full consensus reads, and checks, all of
     * Θ itself). With workers it runs while they recover blocks, the pool polled between chunks.
     */
    const releaseHash = (): string => {
      if (!(method === 'consensus' && fastAttack)) return sha256File(input);
      const answer = hashAndScan(input, released, info.blocks.map((b) => `${b.prefix}.taylor.theta`), () => {
        pool?.poll();
        landArrived();
      });
      if (answer.startsWith('nonfinite:')) throw new ReleasedFileError(answer.slice('nonfinite:'.length));
      return answer;
    };
    const shapes = new Map<string, { dtype: SafeDType; shape: readonly number[] }>();
    for (const meta of info.blocks) for (const [name, shape] of recoveredShapes(meta)) shapes.set(name, { dtype: 'F32', shape });
    const taylorPrefixes = info.blocks.map((meta) => `${meta.prefix}.taylor.`);
    const copied = released.names.filter((name) => !shapes.has(name) && !taylorPrefixes.some((prefix) => name.startsWith(prefix)));
    for (const name of copied) {
      const entry = released.header.entries.find((e) => e.name === name)!;
      shapes.set(name, { dtype: entry.dtype, shape: entry.shape });
    }
    // With no workers the hash (and its finiteness scan of all of Θ) comes first: a damaged release is refused before any block's work.
    /** Blocks the workers left in shared slots, written as they arrive (set once the output is open). */
    let landArrived = (): void => undefined;
    let handedOff = 0;
    const hashFirst = pool === null ? releaseHash() : undefined;
    let hashBeside: string | undefined;
    writeSafetensorsPositional(
      output,
      shapes,
      {
        recovered_by: `weightgames attack --method ${method}`,
        weightgames_version: version,
        source_release: input.split(/[\\/]/).pop() ?? input,
        release_seed: info.metadata.seed ?? '',
        activation: info.activation,
        unit_class_legend: JSON.stringify(Object.fromEntries(unitClassNames.map((name, code) => [code, `${name}: ${unitClassDetermines[name]}`]))),
        note: 'unit_classes.<block>: the identifiability class of each hidden unit, one character per unit in unit order (codes in unit_class_legend). Dead units are written as 0; product-only units as a representative (same products W·Act⁽ⁿ⁾(u)); W-only units with b at its bound; function-only units as one of the two sign hypotheses (same function)',
      },
      (fd, offsets) => {
        const written = new Set<string>();
        // Big tensors written directly where the file system allows (./directWrites: no fresh page-cache pages).
        const file = DirectFile.open(fd);
        const put = (name: string, bytes: Uint8Array): void => {
          const place = offsets.get(name)!;
          if (bytes.length !== place.byteLength) throw new Error(`tensor "${name}": ${bytes.length} bytes recovered, the header says ${place.byteLength}`);
          file.writeSync(bytes, place.position);
          written.add(name);
        };
        // Each block's tensors as [name, offset, byte length]: what a worker writes, and what this thread then counts written.
        const places = info.blocks.map((meta): Array<[string, number, number]> => [...recoveredShapes(meta).keys()].map((name) => [name, offsets.get(name)!.position, offsets.get(name)!.byteLength]));
        const tasks = pool === null ? [] : info.blocks.map((_, index) => pool!.submit({ index, signs, fd, places: places[index] }));
        const pending = new Set(tasks);
        const landed = new Set<number>();
        /** A worker's block left in a shared slot: written from there, flushed, and the slot freed. */
        const land = (id: number, answer: ReturnType<SyncWorkerPool<AttackTask, AttackAnswer | null>['wait']> | undefined): void => {
          const handoff = answer !== undefined && 'ok' in answer ? answer.ok?.handoff : undefined;
          if (handoff === undefined || slots === null || landed.has(id)) return;
          for (const piece of handoff.pieces) file.writeSync(slots.view(handoff, piece), piece[0]);
          datasyncSync(fd); // here, not at the final fsync; a failure is a WritebackError
          slots.release(handoff);
          landed.add(id);
          handedOff++;
        };
        landArrived = () => {
          if (slots === null) return;
          for (const id of pending) land(id, pool?.peek(id));
        };
        try {
          for (const name of copied) put(name, finiteClearTensor(released.tensor(name)));
          // The hash (and finiteness scan) here, while the workers recover the blocks; a damaged release stops them below.
          if (pool !== null) hashBeside = releaseHash();
          /** Block `index` recovered on this thread and written: by the sampled path, or by the full method where `full` (a worker left it to it) or where the sampled path does. */
          const recoverHere = (index: number, full: boolean): { outcome: Parameters<typeof account>[1]; seconds: number } => {
            const meta = info.blocks[index];
            const t0 = performance.now();
            const fast = method === 'consensus' && fastAttack && !full ? fastRecoverBlock(released, meta, info, act, signs) : null;
            if (fast !== null) {
              for (const [name, t] of fast.tensors) put(name, t.bytes);
              return { outcome: fast, seconds: (performance.now() - t0) / 1000 };
            }
            const block = readReleasedBlock((n) => released.tensor(n), meta, info);
            const rec = recoverBlock(method, block, act, info.dtype, { signs });
            for (const [name, t] of recoveredTensors(meta, rec)) put(name, t.bytes);
            return { outcome: rec, seconds: (performance.now() - t0) / 1000 };
          };
          // The hash done, this thread takes the blocks no worker has been handed yet, from the last
          // (the workers go on from the first), and lets the pool hand out the next between blocks —
          // where they are worth its start (takeBlocks: decided as the workers' answers come).
          const doneHere = new Map<number, ReturnType<typeof recoverHere>>();
          const share = process.env.WEIGHTGAMES_ATTACK_THREAD_BLOCKS; // 1: always, 0: never (tests, measurements); unset: by the workers' pace
          for (let decided = pool === null || share === '0'; !decided; ) {
            const seconds = tasks.map((id) => pool!.peek(id)).map((a) => (a !== undefined && 'ok' in a && a.ok !== null ? a.ok.seconds : undefined));
            const decision = share === '1' ? 'take' : takeBlocks(pool!.queued, seconds, workers);
            if (decision === 'wait') {
              pool!.awaitArrival(landArrived);
              continue;
            }
            decided = true;
            if (decision === 'leave') break;
            const indexOf = new Map(tasks.map((id, index) => [id, index]));
            for (let id = pool!.withdrawLast(); id !== undefined; id = pool!.withdrawLast()) {
              pending.delete(id);
              const index = indexOf.get(id)!;
              doneHere.set(index, recoverHere(index, false));
              pool!.poll();
              landArrived();
            }
          }
          // Accounted in block order, whichever thread recovered each.
          info.blocks.forEach((meta, index) => {
            onBlock?.(index, info.blocks.length, meta.prefix);
            const here = doneHere.get(index);
            if (here !== undefined) return account(index, here.outcome, here.seconds, 'caller');
            let leftToFull = false;
            if (pool !== null) {
              // Blocks the workers leave in shared slots meanwhile are written as they come (a worker finding none free writes its own).
              const answer = pool.wait(tasks[index], landArrived);
              pending.delete(tasks[index]); // answered: the error path below must not wait for it again
              land(tasks[index], answer);
              if ('ok' in answer && answer.ok !== null && typeof answer.ok === 'object') {
                account(index, answer.ok, answer.ok.seconds, 'worker');
                for (const [name] of places[index]) written.add(name);
                return;
              }
              if ('failed' in answer) refuseIfStrictWorkers(answer.failed, `attack block ${meta.prefix}`);
              leftToFull = 'ok' in answer && answer.ok === null;
            }
            // Here: no workers, a worker left the block (null: the full consensus decides), or it failed (re-run here, so that its typed error is thrown here).
            const { outcome, seconds } = recoverHere(index, leftToFull);
            account(index, outcome, seconds, 'caller');
          });
        } catch (error) {
          // No worker may still write into the file the writer is about to delete: the tasks not started are dropped, the running ones waited for.
          if (pool !== null) {
            for (const id of pool.cancelQueued()) pending.delete(id);
            for (const id of pending) pool.wait(id);
          }
          throw error;
        } finally {
          file.close();
        }
        return written;
      },
      {
        inputs: [input],
        // The classes and the release's hash are known only once every block is recovered; their lengths now.
        deferred: {
          // With workers the hash is taken while they work; without, first. Deferred on both paths, so that the
          // header's keys come in one order whatever the threads: the same file byte for byte.
          source_release_sha256: { length: 64, value: () => hashFirst ?? hashBeside ?? releaseHash() },
          ...Object.fromEntries(info.blocks.map((meta) => [`unit_classes.${meta.prefix}`, { length: meta.hiddenDim, value: () => classCodes.get(meta.prefix) ?? '' }])),
        },
      },
    );
    const total = summarizeRecovery(statuses);
    return {
      method,
      released: input,
      output,
      activation: info.activation,
      order: info.order,
      dtype: info.dtype,
      signs,
      blocks: blockStats,
      classesDetermine: unitClassDetermines,
      total,
      recoverySeconds,
      seconds: (performance.now() - start) / 1000,
      recoveredParameters,
      handedOff,
    };
  } finally {
    pool?.close();
    released.close();
    dropFastBuffersSoon();
  }
}

/** Blocks a worker recovers before its pace says what its next ones take: its first run 2–5× slower while V8 compiles (the per-block seconds of `weightgames attack … --json`). */
const WARM_BLOCKS = 3;
/** How much faster than its compiling first blocks a worker's later ones run, at most (see WARM_BLOCKS). */
const WARM_SPEEDUP = 5;

/**
 * Whether the calling thread, its hash done, should take the `queued` blocks no worker has started
 * (`seconds`: the `workers` workers' answers so far in block order, undefined where not answered):
 * - 'take' where the blocks left take more than STEAL_WORTH_SECONDS at the workers' pace — its own
 *   first blocks run 2–5× slower while V8 compiles (~0.5–1 s of CPU here), which only that much
 *   work left pays for. Their pace is their latest block's time, not the mean so far (on the
 *   OPT-125M-shaped bf16 release the mean, and the first block's time alone, made this thread take
 *   the last blocks cold and finish ~0.3 s after the worker would have).
 * - 'wait' (for the next answer, then ask again) until each worker has answered WARM_BLOCKS on
 *   average, whose pace says more than their compiling first blocks — unless the blocks left take
 *   more than STEAL_WORTH_SECONDS even WARM_SPEEDUP× faster than the fastest answer so far (big
 *   blocks: this thread would only idle).
 * - else 'leave'.
 */
export function takeBlocks(queued: number, seconds: ReadonlyArray<number | undefined>, workers = 1): 'take' | 'wait' | 'leave' {
  if (queued === 0) return 'leave';
  const answered = seconds.filter((value): value is number => value !== undefined);
  if (answered.length > 0 && (queued * Math.min(...answered)) / WARM_SPEEDUP > STEAL_WORTH_SECONDS) return 'take';
  if (answered.length < WARM_BLOCKS * Math.max(1, workers)) return 'wait';
  return queued * latestPace(seconds) > STEAL_WORTH_SECONDS ? 'take' : 'leave';
}

/** The workers' pace, seconds per block, from their answers so far in block order (undefined: not answered): the latest block's (Infinity before any). */
export function latestPace(seconds: ReadonlyArray<number | undefined>): number {
  for (let index = seconds.length - 1; index >= 0; index--) {
    const value = seconds[index];
    if (value !== undefined) return value;
  }
  return Infinity;
}

/** Worker threads for an attack beside this thread: only where the blocks are big enough to pay for starting them (WEIGHTGAMES_WORKERS=0 forbids, =n asks for n). */
function attackWorkers(file: SafetensorsFile, info: ReleasedModelInfo): number {
  const forced = process.env.WEIGHTGAMES_WORKERS;
  if (forced !== undefined && /^\d+$/.test(forced)) return Math.min(Number(forced), info.blocks.length);
  const bytes = info.blocks.reduce((a, meta) => {
    const e = file.header.entries.find((x) => x.name === `${meta.prefix}.taylor.theta`);
    return a + (e === undefined ? 0 : e.end - e.begin);
  }, 0);
  // One thread per core in all: this thread hashes the release and then recovers blocks too.
  const threads = workerCount(info.blocks.length, bytes >= 64 * 2 ** 20);
  return threads >= 2 ? threads - 1 : threads;
}
