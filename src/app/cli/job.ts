import { parentPort, workerData } from 'node:worker_threads';
import { errorKind } from '../../kernel/errors';
import type { AttackMethod } from '../../../adversaries/taylormlp';

// Each command's code is loaded when its job runs: a job thread loads only what its command uses
// (loading all three took ~200 ms of every command's start; an attack needs a tenth of the modules).
const release = (): typeof import('./release') => require('./release') as typeof import('./release');
const attack = (): typeof import('../../../adversaries/taylormlp/attack') => require('../../../adversaries/taylormlp/attack') as typeof import('../../../adversaries/taylormlp/attack');
const caseStudy = (): typeof import('./caseStudy') => require('./caseStudy') as typeof import('./caseStudy');

/**
 * The long commands (release, attack, case-study) as a worker thread's job: the work is
 * synchronous, so it runs here while the CLI's main thread stays free to answer signals
 * (./interruptible). Events and the result go back as messages; an error as its name, kind and
 * first line.
 */
export type JobRequest =
  | { readonly command: 'release'; readonly input: string; readonly output: string; readonly raw: Record<string, unknown>; readonly version: string }
  | { readonly command: 'attack'; readonly input: string; readonly output: string; readonly method: AttackMethod; readonly version: string }
  | { readonly command: 'case-study'; readonly out: string; readonly seed: string; readonly stories: string; readonly version: string };

export type JobMessage =
  | { readonly type: 'block'; readonly index: number; readonly total: number; readonly prefix: string }
  | { readonly type: 'log'; readonly line: string }
  | { readonly type: 'done'; readonly result: unknown }
  | { readonly type: 'error'; readonly name: string; readonly kind: ReturnType<typeof errorKind>; readonly message: string };

/** Run one job synchronously, reporting through `post`. */
export function runJob(job: JobRequest, post: (message: JobMessage) => void): void {
  const onBlock = (index: number, total: number, prefix: string) => post({ type: 'block', index, total, prefix });
  try {
    const result =
      job.command === 'release'
        ? release().runRelease(job.input, job.output, job.raw, job.version, onBlock)
        : job.command === 'attack'
          ? attack().attackReleasedFile(job.input, job.output, job.method, job.version, onBlock)
          : caseStudy().runCaseStudy({ out: job.out, seed: job.seed, stories: job.stories, version: job.version, log: (line) => post({ type: 'log', line }) });
    post({ type: 'done', result });
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    post({ type: 'error', name: e.name, kind: errorKind(e), message: e.message.split('\n')[0] });
  }
}

if (parentPort !== null && (workerData as { weightgamesJob?: JobRequest } | undefined)?.weightgamesJob !== undefined) {
  const port = parentPort;
  runJob((workerData as { weightgamesJob: JobRequest }).weightgamesJob, (message) => port.postMessage(message));
}
