import { parentPort, workerData } from 'node:worker_threads';
import { SafetensorsFile } from '../../src/numerics/io/safetensors';
import { SyncWorkerData, serveSyncTasks } from '../../src/numerics/io/syncWorkers';
import { activationByName } from '../../src/numerics/activations';
import { ReleaseTask, planAndWriteBlock, planBlock, writeReleasedBlockOverlapped } from './checkpoint';

/**
 * A release worker (see releaseCheckpoint): opens the checkpoint (and calibration file) once,
 * then runs pass 1 (`plan`), pass 2 (`write`, positional writes into the release's temporary
 * file, each order slab's write overlapping the next slab's arithmetic), or both (`planWrite`) of
 * whichever block it is handed.
 */
const data = workerData as (SyncWorkerData & { input: string; calibrationFile: string | null; activation: string }) | undefined;
if (parentPort !== null && data?.syncPort !== undefined) {
  const source = SafetensorsFile.open(data.input);
  const calibrationFile = data.calibrationFile === null ? null : SafetensorsFile.open(data.calibrationFile);
  const activation = activationByName(data.activation);
  serveSyncTasks<ReleaseTask, unknown>(parentPort, data, (task) => {
    if (task.kind === 'plan') return { value: planBlock(source, calibrationFile, task.location, activation, task.job) };
    if (task.kind === 'planWrite') return planAndWriteBlock(source, calibrationFile, activation, task).then((value) => ({ value }));
    return writeReleasedBlockOverlapped(source, task.plan, activation, task.taylor, task.fd, new Map(task.offsets), task.syncEvery).then((value) => ({ value }));
  });
}
