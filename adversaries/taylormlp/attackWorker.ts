import { parentPort, workerData } from 'node:worker_threads';
import { SafetensorsFile } from '../../src/io/safetensors';
import { SyncWorkerData, serveSyncTasks } from '../../src/io/syncWorkers';
import { activationByName } from '../../src/numerics/activations';
import { sha256File } from '../../src/io/hash';
import { releasedInfo } from '../../schemes/taylormlp/artifact';
import { fastRecoverBlock } from './fastAttack';

/**
 * An attack worker (see attackReleasedFile): opens the release once, then recovers whichever
 * block it is handed by the sampled fast path (null where the full consensus must decide), or
 * hashes the release (the recovered file's provenance) while the blocks are recovered.
 */
export type AttackTask = { readonly kind: 'block'; readonly index: number; readonly signs: boolean } | { readonly kind: 'hash' };

export interface AttackAnswer {
  readonly status: Uint8Array;
  readonly reason: Uint8Array;
  readonly unitClass: Uint8Array;
  readonly tensors: ReadonlyArray<[string, Uint8Array]>;
  readonly seconds: number;
}

const data = workerData as (SyncWorkerData & { input: string }) | undefined;
if (parentPort !== null && data?.syncPort !== undefined) {
  const file = SafetensorsFile.open(data.input);
  const info = releasedInfo(file.metadata);
  const act = activationByName(info.activation);
  serveSyncTasks<AttackTask, AttackAnswer | string | null>(parentPort, data, (task) => {
    if (task.kind === 'hash') return { value: sha256File(data.input) };
    const t0 = performance.now();
    const fast = fastRecoverBlock(file, info.blocks[task.index], info, act, task.signs);
    if (fast === null) return { value: null };
    const tensors = [...fast.tensors].map(([name, t]): [string, Uint8Array] => [name, t.bytes.slice()]);
    return {
      value: { status: fast.status, reason: fast.reason, unitClass: fast.unitClass, tensors, seconds: (performance.now() - t0) / 1000 },
      transfer: tensors.map(([, bytes]) => bytes.buffer as ArrayBuffer),
    };
  });
}
