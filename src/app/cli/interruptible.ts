import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ForwardedError } from '../../kernel/errors';
import { compiledPath } from '../../kernel/estimate/compiledPath';
import type { JobMessage, JobRequest } from './job';

/** The signals after which the CLI cleans up and exits 128 + n (SIGHUP 129, SIGINT 130, SIGTERM 143). */
export const CLEANUP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export interface Interruptible {
  /** Files and directories to remove if a signal arrives (temporary files, scratch folders). */
  readonly temporaries: readonly string[];
  /** Also remove this process's temporary files (`.NAME.PID.tmp`) found in these directories. */
  readonly temporaryDirs?: readonly string[];
  /** Called for every event the job reports (progress, log lines). */
  readonly onEvent?: (message: Extract<JobMessage, { type: 'block' | 'log' }>) => void;
  /** Called before cleaning up after a signal (e.g. to stop a progress bar). */
  readonly onInterrupt?: () => void;
  /** Extra environment of the worker thread (e.g. TMPDIR pointing into a scratch folder). */
  readonly tmpdir?: string;
}

/**
 * Run a job on a worker thread while the main thread handles SIGINT, SIGTERM and SIGHUP: on a
 * signal it stops the worker (V8 terminates it even inside synchronous work), removes the
 * temporary files and folders the job may have created, says so in one line, and exits with
 * 128 + the signal's number. Node would otherwise run a handler only once the synchronous work
 * returned — or, without one, die at once and leave the temporary files behind.
 */
export async function runInterruptible<T>(job: JobRequest, o: Interruptible): Promise<T> {
  const previousTmpdir = process.env.TMPDIR;
  if (o.tmpdir !== undefined) process.env.TMPDIR = o.tmpdir; // os.tmpdir() of the worker (it reads the process environment)
  const worker = new Worker(compiledPath(path.join(__dirname, `job${path.extname(__filename)}`)), { workerData: { weightgamesJob: job } });
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    o.onInterrupt?.();
    void worker.terminate().finally(() => {
      removeTemporaries(o);
      process.stderr.write(`weightgames: interrupted by ${signal}; temporary files removed\n`);
      process.exit(128 + os.constants.signals[signal]);
    });
  };
  for (const signal of CLEANUP_SIGNALS) process.on(signal, onSignal);
  try {
    return await new Promise<T>((resolve, reject) => {
      let settled = false;
      worker.on('message', (message: JobMessage) => {
        if (message.type === 'done') (settled = true), resolve(message.result as T);
        else if (message.type === 'error') (settled = true), reject(new ForwardedError(message.name, message.kind, message.message));
        else o.onEvent?.(message);
      });
      worker.on('error', (error) => ((settled = true), reject(error)));
      worker.on('exit', (code) => {
        if (!settled && !interrupted) reject(new ForwardedError('WorkerExitError', 'fault', `the ${job.command} worker exited with code ${code} before finishing`));
      });
    });
  } finally {
    if (!interrupted) {
      await worker.terminate();
      for (const signal of CLEANUP_SIGNALS) process.off(signal, onSignal);
      if (o.tmpdir !== undefined) {
        if (previousTmpdir === undefined) delete process.env.TMPDIR;
        else process.env.TMPDIR = previousTmpdir;
      }
    }
  }
}

/** Remove what a job may have left: the given paths, and `.*.PID.tmp` files of this process in the given directories. */
function removeTemporaries(o: Interruptible): void {
  for (const p of o.temporaries) fs.rmSync(p, { recursive: true, force: true });
  const mine = new RegExp(`^\\..*\\.${process.pid.toString(36)}\\.tmp$`);
  for (const dir of o.temporaryDirs ?? []) {
    let names: string[] = [];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) if (mine.test(name)) fs.rmSync(path.join(dir, name), { force: true });
  }
}
