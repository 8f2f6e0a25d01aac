import { parentPort, workerData } from 'node:worker_threads';
import { SafetensorsFile } from '../../src/numerics/io/safetensors';
import { DirectFile } from '../../src/numerics/io/directWrites';
import { SyncWorkerData, serveSyncTasks } from '../../src/numerics/io/syncWorkers';
import { activationByName } from '../../src/numerics/activations';
import { datasyncSync } from '../../src/numerics/io/writeback';
import { Handoff, HandoffShared, HandoffSlots } from '../../src/numerics/io/handoffSlots';
import { releasedInfo } from '../../schemes/taylormlp/artifact';
import { FastScratchRole, adoptFastBuffers, fastRecoverBlock } from './fastAttack';

/**
 * An attack worker (see attackReleasedFile): opens the release once, then recovers whichever
 * block it is handed by the sampled fast path (null where the full consensus must decide) and
 * leaves it in a shared slot for the thread that started the workers to write (that thread hashes
 * the release meanwhile, and is otherwise idle) — or, where there are no slots or none is free,
 * writes it into the output itself.
 */
/** A block to recover, and where its tensors go in the output (descriptor `fd`, each tensor's [name, absolute offset, byte length]). */
export type AttackTask = { readonly index: number; readonly signs: boolean; readonly fd: number; readonly places: ReadonlyArray<readonly [string, number, number]> };

export interface AttackAnswer {
  readonly status: Uint8Array;
  readonly reason: Uint8Array;
  readonly unitClass: Uint8Array;
  readonly seconds: number;
  /** Where the block's tensors wait for the calling thread to write them (shared slots); absent where this worker wrote them. */
  readonly handoff?: Handoff;
}

/** Sets of the sampled path's buffers, touched by the starting thread: each worker takes the next (`taken` counts them), those beyond the sets none. */
export interface AttackWorkerBuffers {
  readonly sets: ReadonlyArray<Record<FastScratchRole, SharedArrayBuffer>>;
  readonly taken: SharedArrayBuffer;
}

const data = workerData as (SyncWorkerData & { input: string; handoff?: HandoffShared; buffers?: AttackWorkerBuffers }) | undefined;
if (parentPort !== null && data?.syncPort !== undefined) {
  // Workers start before the release is validated: a release this thread cannot open (an unknown
  // activation, say) fails each task it is handed — the calling thread then throws the typed error —
  // instead of ending the thread, whose tasks would never be answered.
  let opened: { file: SafetensorsFile; info: ReturnType<typeof releasedInfo>; act: ReturnType<typeof activationByName>; slots: HandoffSlots | null } | { error: unknown };
  try {
    const file = SafetensorsFile.open(data.input);
    const info = releasedInfo(file.metadata);
    opened = { file, info, act: activationByName(info.activation), slots: data.handoff === undefined ? null : HandoffSlots.attach(data.handoff) };
    // This thread's buffers: a set the starting thread has touched already, where one is left for it (else its own, faulted in as used).
    const set = data.buffers === undefined ? undefined : data.buffers.sets[Atomics.add(new Int32Array(data.buffers.taken), 0, 1)];
    if (set !== undefined) adoptFastBuffers(set);
    // What its first block would load (GELU's erfc, ~45 ms of modules), loaded now: until the starting thread has touched the buffers above and hands out tasks, this thread waits.
    opened.act.value(0);
  } catch (error) {
    opened = { error };
  }
  serveSyncTasks<AttackTask, AttackAnswer | null>(parentPort, data, (task) => {
    if ('error' in opened) throw opened.error;
    const { file, info, act, slots } = opened;
    const t0 = performance.now();
    const fast = fastRecoverBlock(file, info.blocks[task.index], info, act, task.signs);
    if (fast === null) return { value: null };
    const pieces = task.places.map(([name, position, byteLength]) => {
      const bytes = fast.tensors.get(name)?.bytes;
      if (bytes === undefined || bytes.length !== byteLength) throw new Error(`tensor "${name}": ${bytes?.length ?? 0} bytes recovered, the header says ${byteLength}`);
      return { position, bytes };
    });
    const answer = { status: fast.status, reason: fast.reason, unitClass: fast.unitClass };
    const handoff = slots?.tryFill(pieces) ?? null; // every slot taken (the calling thread busy): written here instead
    if (handoff !== null) return { value: { ...answer, seconds: (performance.now() - t0) / 1000, handoff } };
    // Written here, from this thread's buffers, at the offsets the writer gave (file descriptors are the process's, not the thread's).
    const output = DirectFile.open(task.fd); // big tensors directly, where allowed (../../src/numerics/io/directWrites)
    try {
      for (const { position, bytes } of pieces) output.writeSync(bytes, position);
    } finally {
      output.close();
    }
    // Flushed here, while the other threads compute, rather than all at the final fsync (the writer's tail after the last block).
    datasyncSync(task.fd); // a failure is a WritebackError, which the calling thread refuses to re-run
    return { value: { ...answer, seconds: (performance.now() - t0) / 1000 } };
  });
}
