import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { GameRef, TrialResult } from '../game';
import { compiledPath } from './compiledPath';

/** A trial failed inside a worker thread; carries the original error's name and message. */
export class WorkerTrialError extends Error {
  override readonly name = 'WorkerTrialError';
  constructor(readonly originalName: string, message: string) {
    super(`${originalName}: ${message}`);
  }
}

/**
 * Play trials [from, to) on `workers` threads, in chunks handed to whichever thread is free.
 * Each trial's randomness depends on (seed, trial) only, and results are put back in trial
 * order, so the outcome is identical to playing them on one thread.
 */
export async function runTrialsOnWorkers(ref: GameRef, seed: string, from: number, to: number, workers: number): Promise<TrialResult[]> {
  const script = compiledPath(path.join(__dirname, path.basename(__filename).replace(/workerPool\.(ts|js)$/, 'trialWorker.$1')));
  const resolvedRef: GameRef = { ...ref, module: compiledPath(ref.module) };
  const total = to - from;
  const chunk = Math.max(1, Math.min(64, Math.ceil(total / (workers * 4))));
  const results: TrialResult[] = new Array(total);
  let next = from;
  const threads = Array.from({ length: Math.min(workers, total) }, () => new Worker(script));
  try {
    await Promise.all(
      threads.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const sendNext = (): void => {
              if (next >= to) {
                resolve();
                return;
              }
              const start = next;
              next = Math.min(to, next + chunk);
              worker.postMessage({ kind: 'play', seed, from: start, to: next });
            };
            worker.on('message', (message: { kind: string; from?: number; results?: TrialResult[]; name?: string; message?: string }) => {
              if (message.kind === 'error') reject(new WorkerTrialError(message.name ?? 'Error', message.message ?? ''));
              else if (message.kind === 'ready') sendNext();
              else if (message.kind === 'results' && message.results !== undefined && message.from !== undefined) {
                message.results.forEach((r, i) => (results[message.from! - from + i] = r));
                sendNext();
              }
            });
            worker.on('error', reject);
            worker.postMessage({ kind: 'init', ref: resolvedRef });
          }),
      ),
    );
  } finally {
    await Promise.all(threads.map((w) => w.terminate()));
  }
  return results;
}
