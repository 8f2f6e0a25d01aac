import { DirectFile } from './directWrites';
import { datasyncAsync, lostWriteback } from './writeback';

/** One write a producer asks for: `bytes` at absolute file offset `position`. */
export interface PositionedWrite {
  readonly bytes: Uint8Array;
  readonly position: number;
  /** `bytes` sit on the same offset within a memory page as `position` within a file page: a direct write needs no staging copy (./directWrites). */
  readonly pageCongruent?: boolean;
}

/**
 * A producer of writes is a generator yielding them in order and returning its result. Its
 * contract with the drivers below: the bytes of write k may be overwritten by the producer once it
 * has yielded write k + 1 and been resumed (so it can fill two buffers in alternation) — a driver
 * finishes write k before it resumes the producer past write k + 1.
 */
export type WriteProducer<R> = Generator<PositionedWrite, R, void>;

/** Each write done (big ones directly where the file system allows: ./directWrites) before the producer resumes. */
export function performWrites<R>(writes: WriteProducer<R>, fd: number): R {
  const file = DirectFile.open(fd);
  try {
    for (let next = writes.next(); ; next = writes.next()) {
      if (next.done === true) return next.value;
      file.writeSync(next.value.bytes, next.value.position, next.value.pageCongruent === true);
    }
  } finally {
    file.close();
  }
}

/** How the overlapped driver writes and flushes (defaults: DirectFile.writeAsync, big writes direct where allowed; fs.fdatasync). Tests inject failures here. */
export interface OverlappedWriting {
  readonly write?: (fd: number, bytes: Uint8Array, position: number, pageCongruent: boolean) => Promise<void>;
  /**
   * Start an fdatasync of the file once this many bytes have been written since the last one began
   * (one in flight at a time; 0 or absent: never). The disk's writeback then runs beside the
   * arithmetic instead of all at the caller's final fsync, which finds little left. Durability is
   * unchanged: the caller still fsyncs before it renames, and a failed datasync rejects with a
   * WritebackError (./writeback: no re-run may paper over it).
   */
  readonly syncEvery?: number;
  readonly datasync?: (fd: number) => Promise<void>;
}

/**
 * Each write handed to libuv's thread pool as soon as it is yielded, while the producer computes
 * the next (one write in flight beside the arithmetic): the same bytes at the same offsets as
 * performWrites. Resolves once every write (and every datasync it started) is done; a failed
 * write or datasync (or a producer's throw) rejects, after whatever is in flight has settled, so
 * that nothing still touches the file when the caller cleans up.
 */
export async function performWritesOverlapped<R>(writes: WriteProducer<R>, fd: number, how: OverlappedWriting = {}): Promise<R> {
  const file = how.write === undefined ? DirectFile.open(fd) : null;
  try {
    return await overlapped(writes, fd, how, file === null ? how.write! : (_fd, bytes, position, pageCongruent) => file.writeAsync(bytes, position, pageCongruent));
  } finally {
    file?.close(); // every write has settled by now (overlapped waits for them, even when it fails)
  }
}

async function overlapped<R>(writes: WriteProducer<R>, fd: number, how: OverlappedWriting, write: (fd: number, bytes: Uint8Array, position: number, pageCongruent: boolean) => Promise<void>): Promise<R> {
  const datasync = how.datasync ?? datasyncAsync;
  const syncEvery = how.syncEvery ?? 0;
  let previous: Promise<void> = Promise.resolve();
  let current: Promise<void> = Promise.resolve();
  let syncing: Promise<void> | null = null;
  let syncFailure: unknown = null;
  let unsynced = 0;
  const settle = (): Promise<unknown> => Promise.allSettled([previous, current, syncing ?? Promise.resolve()]);
  try {
    for (let next = writes.next(); ; ) {
      if (syncFailure !== null) throw syncFailure;
      if (next.done === true) {
        await previous;
        if (syncing !== null) await syncing;
        if (syncFailure !== null) throw syncFailure;
        return next.value;
      }
      current = write(fd, next.value.bytes, next.value.position, next.value.pageCongruent === true);
      current.catch(() => undefined); // handled: awaited (and its error thrown) one step later, never left unhandled meanwhile
      await previous; // the producer may reuse the buffer of the write before this one once resumed
      unsynced += next.value.bytes.length;
      if (syncEvery > 0 && unsynced >= syncEvery && syncing === null) {
        // After `previous` settled: the datasync covers the writes done so far, and runs beside the next arithmetic.
        unsynced = 0;
        syncing = datasync(fd).then(
          () => {
            syncing = null;
          },
          (error: unknown) => {
            // A lost writeback, whatever the flush was (see WritebackError): the job must fail, not re-run a task.
            syncFailure = lostWriteback(error);
            syncing = null;
          },
        );
      }
      previous = current;
      next = writes.next();
    }
  } catch (error) {
    // Every write that may be in flight (the one that failed, and the one started after it) and the datasync settle first.
    await settle();
    writes.return(undefined as never); // the producer's finally blocks run
    throw error;
  }
}
