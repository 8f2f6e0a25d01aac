import * as fs from 'node:fs';
import * as os from 'node:os';
import { MessageChannel, MessagePort, ResourceLimits, Worker, receiveMessageOnPort } from 'node:worker_threads';
import { WritebackError, isWritebackFailure, writebackFailureMessage } from './writeback';

/**
 * A pool of worker threads driven synchronously: `map` hands out tasks and blocks (Atomics.wait on
 * a shared counter the workers bump after each reply) until every answer is in. For the long
 * synchronous file jobs (release, attack) that already run off the CLI's main thread, so that
 * their layers spread over the cores without turning the whole job asynchronous.
 *
 * A task that throws in a worker comes back as `{ failed: message }`; the caller decides what to
 * do (the release re-runs such a task in its own thread, which throws the typed error).
 */

/** What a worker script gets: a port to answer on and the shared counter to bump. */
export interface SyncWorkerData {
  readonly syncPort: MessagePort;
  readonly syncSignal: SharedArrayBuffer;
  readonly [key: string]: unknown;
}

export type SyncAnswer<R> = { readonly ok: R } | { readonly failed: string };

type Handled<R> = { value: R; transfer?: ArrayBuffer[] };

/**
 * The worker side: answer every task posted to this thread with `handle`'s value (or its error).
 * `handle` may answer through a promise (e.g. a release's writes in flight while it computes); a
 * pool made with `ahead` 1 hands a worker its next task only once it has answered, so tasks never
 * interleave (with `ahead` 2 the next task waits in the worker's queue: for synchronous handlers only).
 */
export function serveSyncTasks<T, R>(parent: MessagePort | null, data: SyncWorkerData, handle: (task: T) => Handled<R> | Promise<Handled<R>>): void {
  if (parent === null) return;
  const signal = new Int32Array(data.syncSignal);
  const reply = (answer: { id: number; answer: SyncAnswer<R> }, transfer: ArrayBuffer[]): void => {
    data.syncPort.postMessage(answer, transfer);
    Atomics.add(signal, 0, 1);
    Atomics.notify(signal, 0);
  };
  const failed = (id: number, error: unknown) => ({ id, answer: { failed: error instanceof Error ? `${error.name}: ${error.message}` : String(error) } });
  parent.on('message', (message: { id: number; task: T }) => {
    let handled: Handled<R> | Promise<Handled<R>>;
    try {
      handled = handle(message.task);
    } catch (error) {
      return reply(failed(message.id, error), []);
    }
    if (handled instanceof Promise) {
      handled.then(
        ({ value, transfer }) => reply({ id: message.id, answer: { ok: value } }, transfer ?? []),
        (error: unknown) => reply(failed(message.id, error), []),
      );
    } else reply({ id: message.id, answer: { ok: handled.value } }, handled.transfer ?? []);
  });
}

/**
 * A task a worker failed is re-run by the caller on its own thread (which throws the typed error,
 * or succeeds where the worker could not) — except where a re-run cannot mend it: a lost writeback
 * (./writeback) may have taken other tasks' bytes with it, so it is thrown here as a
 * WritebackError. WEIGHTGAMES_STRICT_WORKERS=1 (tests, debugging) makes every failure itself the
 * error, so that a worker path failing quietly cannot pass for a working one.
 */
export function refuseIfStrictWorkers(failure: string, what: string): void {
  if (isWritebackFailure(failure)) throw new WritebackError(`a worker's ${what}: ${writebackFailureMessage(failure)}`);
  if (process.env.WEIGHTGAMES_STRICT_WORKERS === '1') throw new Error(`a worker failed on ${what}: ${failure}`);
}

/** How many workers a job of `tasks` independent tasks should use on this machine (0: stay on this thread). */
export function workerCount(tasks: number, worthIt: boolean): number {
  if (!worthIt || tasks < 2) return 0;
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(0, Math.min(tasks, cores));
}

/**
 * What each pool thread runs: the worker script, and if loading it throws (a module missing, a
 * file the script opens at its top gone), an answer to every task with that failure — the caller
 * then re-runs the task on its own thread, which throws the typed error — so that `wait` and `map`
 * never block on a thread that died before it could answer. A thread that ends later (process.exit
 * in a task, an error escaping from a callback) says so as it exits, and the pool answers every
 * task it had handed that thread with a failure; one stopped without running its exit handlers
 * (out of memory) the pool finds gone itself (reapDead). Plain JavaScript: it must run where
 * nothing of this package loads.
 */
const BOOTSTRAP = `
const { parentPort, workerData } = require('node:worker_threads');
const signal = new Int32Array(workerData.syncSignal);
// This thread's kernel id, where the system shows it (Linux): the pool checks it is still there (see SyncWorkerPool.reapDead).
try {
  Atomics.store(new Int32Array(workerData.syncThreads), workerData.syncIndex, Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop()) || 0);
} catch {}
const notify = () => {
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
};
// Ending with tasks unanswered (or queued for it unseen): the pool fails whatever it handed this thread and not had answered.
process.on('exit', (code) => {
  workerData.syncPort.postMessage({ ended: 'Error: the worker thread ended (exit code ' + code + ') before answering' });
  notify();
});
try {
  require(workerData.syncScript);
} catch (error) {
  const failed = (error && error.name ? error.name : 'Error') + ': ' + (error && error.message ? error.message : String(error));
  parentPort.on('message', (message) => {
    workerData.syncPort.postMessage({ id: message.id, answer: { failed: 'the worker could not start: ' + failed } });
    notify();
  });
}
`;

export class SyncWorkerPool<T, R> {
  private readonly workers: Worker[];
  private readonly ports: MessagePort[];
  private readonly signal: Int32Array;

  /**
   * `ahead`: tasks handed to a worker at a time — 1, or 2 so that a worker finds its next task
   * waiting when this thread is busy with work of its own (only for workers that answer each task
   * synchronously: a worker answering through a promise would start the next task before it answers).
   * `options.resourceLimits`: each thread's heap limits (the tests use it to run a thread out of memory).
   */
  constructor(script: string, size: number, workerData: Record<string, unknown> = {}, private readonly ahead: 1 | 2 = 1, options: { readonly resourceLimits?: ResourceLimits } = {}) {
    const shared = new SharedArrayBuffer(4);
    this.signal = new Int32Array(shared);
    const threads = new SharedArrayBuffer(4 * size);
    this.threads = new Int32Array(threads);
    this.workers = [];
    this.ports = [];
    for (let w = 0; w < size; w++) {
      const { port1, port2 } = new MessageChannel();
      this.ports.push(port1);
      const worker = new Worker(BOOTSTRAP, { eval: true, resourceLimits: options.resourceLimits, workerData: { ...workerData, syncPort: port2, syncSignal: shared, syncScript: script, syncThreads: threads, syncIndex: w }, transferList: [port2] });
      // A worker's errors come back as `{ failed }` answers; one that escapes (its thread dies) must not also
      // end this process as an unhandled 'error' event once this thread returns to its event loop.
      worker.on('error', () => undefined);
      this.workers.push(worker);
    }
    this.inFlight = new Array<number>(size).fill(0);
  }

  private nextId = 0;
  private readonly queue: Array<{ id: number; task: T }> = [];
  private readonly answers = new Map<number, SyncAnswer<R>>();
  /** Tasks handed to each worker and not yet answered. */
  private readonly inFlight: number[];
  /** The worker each task handed out went to, until it is answered. */
  private readonly assigned = new Map<number, number>();
  /** Workers whose thread has ended (they are handed nothing more). */
  private readonly ended = new Set<number>();
  /** Each worker's kernel thread id, as it wrote it at its start (0: not known). */
  private readonly threads: Int32Array;

  /** Queue one task (it starts as soon as a worker is free); `wait(id)` answers it. */
  submit(task: T): number {
    const id = this.nextId++;
    this.queue.push({ id, task });
    this.dispatch();
    return id;
  }

  /** Tasks no worker has been handed yet. */
  get queued(): number {
    return this.queue.length;
  }

  /** Task `id`'s answer if it has arrived (kept for `wait`), else undefined; collects what has arrived first. */
  peek(id: number): SyncAnswer<R> | undefined {
    this.drain();
    return this.answers.get(id);
  }

  /** Take back the last task no worker has been handed yet, to run it on this thread: its id (not to be waited for), or undefined when none is left. */
  withdrawLast(): number | undefined {
    return this.queue.pop()?.id;
  }

  /** Drop the tasks no worker has started yet (an error elsewhere made them moot); answers their ids, which must not be waited for. */
  cancelQueued(): number[] {
    const ids = this.queue.map((t) => t.id);
    this.queue.length = 0;
    return ids;
  }

  /**
   * Collect the answers that have arrived and hand the queued tasks to the workers they freed,
   * without blocking: tasks are handed out only on this thread, so a thread busy with work of its
   * own calls this now and then, or its idle workers wait for it.
   */
  poll(): void {
    this.drain();
  }

  /**
   * Block until task `id` (from `submit`) is answered; other answers that arrive meanwhile are kept,
   * and `onArrival` runs whenever some have arrived (e.g. to free what they hold for their workers).
   */
  wait(id: number, onArrival: () => void = () => undefined): SyncAnswer<R> {
    for (;;) {
      const answer = this.answers.get(id);
      if (answer !== undefined) {
        this.answers.delete(id);
        return answer;
      }
      this.awaitArrival(onArrival);
    }
  }

  /**
   * Collect what has arrived (`onArrival` runs where any has), or else block until something does,
   * at most a second (then look for threads gone: reapDead). Answers stay for `wait`. The one
   * blocking step of `wait`, `map` and callers waiting for any answer.
   */
  awaitArrival(onArrival: () => void = () => undefined): void {
    const seen = Atomics.load(this.signal, 0);
    if (this.drain()) return onArrival();
    if (Atomics.wait(this.signal, 0, seen, 1000) === 'timed-out') this.reapDead();
  }

  /**
   * A second without an answer: are the threads that hold tasks still there? A thread stopped
   * without running its exit handlers (V8 out of memory: Node ends just that thread) never says it
   * has ended, so its tasks would be waited for forever. Where the system lists a process's
   * threads (Linux: /proc/self/task), a thread gone is ended here as if it had said so — after
   * collecting what it answered before it went. Elsewhere nothing is known, and nothing is done;
   * nor for a thread that died before it wrote its id, or whose id a new thread of this process has
   * taken since (the process's ids would have to wrap around): those still leave their tasks waiting.
   */
  private reapDead(): void {
    const gone: number[] = [];
    for (let w = 0; w < this.workers.length; w++) {
      const tid = Atomics.load(this.threads, w);
      if (!this.ended.has(w) && this.inFlight[w] > 0 && tid > 0 && !fs.existsSync(`/proc/self/task/${tid}`)) gone.push(w);
    }
    if (gone.length === 0) return;
    // Handed nothing more from here (drain dispatches), then everything they posted before they went collected, then what they still held failed.
    for (const w of gone) this.ended.add(w);
    while (this.drain());
    for (const w of gone) this.endWorker(w, 'Error: the worker thread stopped (out of memory?) before answering');
    this.dispatch();
  }

  /** Worker `w`'s thread has ended: every task it held is answered as failed (the caller re-runs it), and it is handed nothing more. */
  private endWorker(w: number, failure: string): void {
    this.ended.add(w);
    for (const [id, holder] of this.assigned) {
      if (holder !== w) continue;
      this.answers.set(id, { failed: failure });
      this.assigned.delete(id);
    }
    this.inFlight[w] = 0;
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let w = -1;
      for (let v = 0; v < this.inFlight.length; v++) if (!this.ended.has(v) && (w < 0 || this.inFlight[v] < this.inFlight[w])) w = v;
      if (w < 0) {
        // Every thread has ended: what is still queued is answered as failed (the caller re-runs it), never left waiting.
        for (const { id } of this.queue.splice(0)) this.answers.set(id, { failed: 'Error: every worker thread has ended' });
        return;
      }
      if (!(this.inFlight[w] < this.ahead)) return;
      const { id, task } = this.queue.shift()!;
      this.inFlight[w]++;
      this.assigned.set(id, w);
      this.workers[w].postMessage({ id, task });
    }
  }

  private drain(): boolean {
    let any = false;
    for (let w = 0; w < this.ports.length; w++) {
      const received = receiveMessageOnPort(this.ports[w]);
      if (received === undefined) continue;
      any = true;
      const message = received.message as { id: number; answer: SyncAnswer<R> } | { ended: string };
      if ('ended' in message) {
        // Its answers came before this on the same port: what it still held will never be answered.
        this.endWorker(w, message.ended);
        continue;
      }
      this.answers.set(message.id, message.answer);
      this.assigned.delete(message.id);
      this.inFlight[w]--;
    }
    if (any) this.dispatch();
    return any;
  }

  /**
   * Answers to `tasks` in order: they are submitted (idle workers take them as they free up; largest
   * first is the caller's choice of order) and waited for; `onAnswer` runs as answers are collected
   * (in task order among those collected together). Tasks submitted before keep their answers for `wait`.
   */
  map(tasks: readonly T[], onAnswer: (index: number, answer: SyncAnswer<R>) => void = () => undefined): Array<SyncAnswer<R>> {
    const answers: Array<SyncAnswer<R> | undefined> = new Array(tasks.length);
    const waiting = new Map(tasks.map((task, index) => [this.submit(task), index]));
    for (;;) {
      for (const [id, index] of waiting) {
        const answer = this.answers.get(id);
        if (answer === undefined) continue;
        this.answers.delete(id);
        waiting.delete(id);
        answers[index] = answer;
        onAnswer(index, answer);
      }
      if (waiting.size === 0) break;
      this.awaitArrival();
    }
    return answers as Array<SyncAnswer<R>>;
  }

  close(): void {
    for (const port of this.ports) port.close();
    for (const worker of this.workers) void worker.terminate();
  }
}
