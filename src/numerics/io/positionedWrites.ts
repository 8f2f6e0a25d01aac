import * as fs from 'node:fs';
import { writeAt } from './safetensors';

/** One write a producer asks for: `bytes` at absolute file offset `position`. */
export interface PositionedWrite {
  readonly bytes: Uint8Array;
  readonly position: number;
}

/**
 * A producer of writes is a generator yielding them in order and returning its result. Its
 * contract with the drivers below: the bytes of write k may be overwritten by the producer once it
 * has yielded write k + 1 and been resumed (so it can fill two buffers in alternation) — a driver
 * finishes write k before it resumes the producer past write k + 1.
 */
export type WriteProducer<R> = Generator<PositionedWrite, R, void>;

/** Each write done (fs.writeSync, short writes continued) before the producer resumes. */
export function performWrites<R>(writes: WriteProducer<R>, fd: number): R {
  for (let next = writes.next(); ; next = writes.next()) {
    if (next.done === true) return next.value;
    writeAt(fd, next.value.bytes, next.value.position);
  }
}

/**
 * Each write handed to libuv's thread pool as soon as it is yielded, while the producer computes
 * the next (one write in flight beside the arithmetic): the same bytes at the same offsets as
 * performWrites. Resolves once every write is done; a failed write (or a producer's throw)
 * rejects, after the write in flight has settled, so that nothing still writes into the file
 * when the caller cleans up. `write` (default: fs.write until done): tests inject failures here.
 */
export async function performWritesOverlapped<R>(writes: WriteProducer<R>, fd: number, write: (fd: number, bytes: Uint8Array, position: number) => Promise<void> = writeAtAsync): Promise<R> {
  let previous: Promise<void> = Promise.resolve();
  let current: Promise<void> = Promise.resolve();
  try {
    for (let next = writes.next(); ; ) {
      if (next.done === true) {
        await previous;
        return next.value;
      }
      current = write(fd, next.value.bytes, next.value.position);
      current.catch(() => undefined); // handled: awaited (and its error thrown) one step later, never left unhandled meanwhile
      await previous; // the producer may reuse the buffer of the write before this one once resumed
      previous = current;
      next = writes.next();
    }
  } catch (error) {
    // Both writes that may be in flight (the one that failed, and the one started after it) settle first.
    await Promise.allSettled([previous, current]);
    writes.return(undefined as never); // the producer's finally blocks run
    throw error;
  }
}

/** fs.write until every byte is at `position` (libuv's thread pool; short writes continued). */
function writeAtAsync(fd: number, bytes: Uint8Array, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const from = (done: number): void => {
      if (done >= bytes.length) return resolve();
      fs.write(fd, bytes, done, bytes.length - done, position + done, (error, written) => (error !== null ? reject(error) : from(done + written)));
    };
    from(0);
  });
}
