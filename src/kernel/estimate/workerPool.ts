import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { GameRef, TrialResult } from '../game';
import { compiledPath } from './compiledPath';
import { WeightgamesError } from '../errors';

/** A trial failed inside a worker thread; carries the original error's name and message. */
export class WorkerTrialError extends WeightgamesError {
  override readonly name = 'WorkerTrialError';
  readonly kind = 'fault' as const;
  constructor(readonly originalName: string, message: string) {
    super(`${originalName}: ${message}`);
  }
}

type Reply = { kind: 'ready' } | { kind: 'results'; from: number; results: TrialResult[] } | { kind: 'error'; name: string; message: string };

/** One worker thread holding one rebuilt game; answers one request at a time. */
class TrialWorker {
  private readonly worker: Worker;
  private pending: { resolve: (reply: Reply) => void; reject: (error: Error) => void } | undefined;

  constructor(script: string) {
    this.worker = new Worker(script);
    this.worker.on('message', (reply: Reply) => {
      const p = this.pending;
      this.pending = undefined;
      if (p === undefined) return;
      if (reply.kind === 'error') p.reject(new WorkerTrialError(reply.name, reply.message));
      else p.resolve(reply);
    });
    this.worker.on('error', (error) => {
      const p = this.pending;
      this.pending = undefined;
      p?.reject(error);
    });
  }

  request(message: unknown): Promise<Reply> {
    // Held open only while a request is pending: an idle pool never keeps the process alive.
    this.worker.ref();
    return new Promise<Reply>((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(message);
    }).finally(() => this.worker.unref());
  }

  /** Let the process exit while this worker waits for work. */
  idle(): void {
    this.worker.unref();
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

/**
 * A pool of worker threads that each rebuild the game from its ref once, then play chunks of
 * trials handed to whichever thread is free. Each trial's randomness depends on (seed, trial)
 * only, and results are put back in trial order, so the outcome is identical to one thread.
 */
export class TrialWorkerPool {
  private constructor(private readonly workers: readonly TrialWorker[]) {}

  static async start(ref: GameRef, size: number): Promise<TrialWorkerPool> {
    const script = compiledPath(path.join(__dirname, path.basename(__filename).replace(/workerPool\.(ts|js)$/, 'trialWorker.$1')));
    const resolvedRef: GameRef = { ...ref, module: compiledPath(ref.module) };
    const workers = Array.from({ length: size }, () => new TrialWorker(script));
    for (const w of workers) w.idle();
    const pool = new TrialWorkerPool(workers);
    try {
      await Promise.all(workers.map((w) => w.request({ kind: 'init', ref: resolvedRef })));
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  async play(seed: string, from: number, to: number): Promise<TrialResult[]> {
    const total = to - from;
    const chunk = Math.max(1, Math.min(64, Math.ceil(total / (this.workers.length * 4))));
    const results: TrialResult[] = new Array(total);
    let next = from;
    await Promise.all(
      this.workers.map(async (worker) => {
        while (next < to) {
          const start = next;
          next = Math.min(to, next + chunk);
          const reply = await worker.request({ kind: 'play', seed, from: start, to: next });
          if (reply.kind === 'results') reply.results.forEach((r, i) => (results[reply.from - from + i] = r));
        }
      }),
    );
    return results;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/**
 * Pools kept for reuse, by game ref and size: starting threads and rebuilding the game costs
 * 0.4–0.6 s, so consecutive estimates of the same game (a scorecard's rows, a sequential run)
 * share one pool. At most `MAX_POOLS` are kept; the least recently used is closed.
 */
const MAX_POOLS = 4;
const pools = new Map<string, Promise<TrialWorkerPool>>();

export function sharedPool(ref: GameRef, size: number): Promise<TrialWorkerPool> {
  const key = JSON.stringify([ref.module, ref.exportName, ref.args ?? null, size]);
  const existing = pools.get(key);
  if (existing !== undefined) {
    pools.delete(key);
    pools.set(key, existing); // most recently used last
    return existing;
  }
  const started = TrialWorkerPool.start(ref, size);
  started.catch(() => pools.delete(key));
  pools.set(key, started);
  while (pools.size > MAX_POOLS) {
    const [oldest, pool] = pools.entries().next().value as [string, Promise<TrialWorkerPool>];
    pools.delete(oldest);
    void pool.then((p) => p.close(), () => undefined);
  }
  return started;
}

/** Close every pool kept for reuse (their threads never hold the process open; this frees them at once). */
export async function closeWorkerPools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.then((pool) => pool.close(), () => undefined)));
}
