import * as fs from 'node:fs';
import { WeightgamesError } from '../../kernel/errors';

/**
 * A flush (fdatasync) that failed: bytes already written may never reach the disk. Linux reports
 * such an error once per open file, and the threads of a job share their file, so neither a later
 * flush nor a re-run of the one task that saw it can tell what was lost: the job must fail (its
 * temporary file is then removed), never go on to rename a file that may be damaged.
 */
export class WritebackError extends WeightgamesError {
  override readonly name = 'WritebackError';
  readonly kind = 'fault';
}

/** The WritebackError for a failed flush: `cause` itself where it is one, else wrapped with its message. */
export function lostWriteback(cause: unknown): WritebackError {
  return cause instanceof WritebackError ? cause : new WritebackError(`writing back the output failed: ${cause instanceof Error ? cause.message : String(cause)}`);
}

/** fdatasync(fd) on this thread; a failure is a WritebackError. */
export function datasyncSync(fd: number): void {
  try {
    fs.fdatasyncSync(fd);
  } catch (error) {
    throw lostWriteback(error);
  }
}

/** fdatasync(fd) in libuv's pool; a failure rejects with a WritebackError. */
export function datasyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (error) => (error !== null ? reject(lostWriteback(error)) : resolve())));
}

/** How a worker's failure names a lost writeback (its `name: message`, as serveSyncTasks answers it). */
const FAILURE_PREFIX = 'WritebackError: ';

/** Whether a worker's failure is a lost writeback, which no re-run may paper over. */
export const isWritebackFailure = (failure: string): boolean => failure.startsWith(FAILURE_PREFIX);

/** A lost writeback's message, out of a worker's failure (isWritebackFailure). */
export const writebackFailureMessage = (failure: string): string => failure.slice(FAILURE_PREFIX.length);
