import * as fs from 'node:fs';
import * as path from 'node:path';
import { PositionedWrite, performWrites, performWritesOverlapped } from '../src/numerics/io/positionedWrites';
import { temporaryDirectory } from './helpers/temporaryDirectories';
import { WritebackError } from '../src/numerics/io/writeback';
import { withEnvironment } from './helpers/environment';
import { refuseIfStrictWorkers } from '../src/numerics/io/syncWorkers';

/**
 * The drivers of a producer of positioned writes (src/numerics/io/positionedWrites.ts): the
 * overlapped one must write the same bytes as the synchronous one, must have finished write k
 * whenever it resumes the producer past write k + 1 (the producer then reuses write k's buffer),
 * and on a failed write must reject with that error once nothing is in flight, running the
 * producer's clean-up.
 */

const tmp = (): string => temporaryDirectory('wg-writes-');

/** 12 writes of 64 KiB at scattered offsets from two alternating buffers; after each resume it checks (by reading the file) that the write two back is on disk, and records violations. */
function* producer(fd: number, violations: string[], cleaned: { done: boolean }): Generator<PositionedWrite, number, void> {
  const size = 1 << 16;
  const buffers = [new Uint8Array(size), new Uint8Array(size)];
  const positions = Array.from({ length: 12 }, (_, k) => ((k * 7) % 12) * size);
  try {
    for (let k = 0; k < positions.length; k++) {
      if (k >= 2) {
        const back = new Uint8Array(size);
        fs.readSync(fd, back, 0, size, positions[k - 2]);
        if (!back.every((b) => b === (k - 2 + 1) % 256)) violations.push(`write ${k - 2} not on disk when buffer ${k % 2} was reused`);
      }
      buffers[k % 2].fill(k + 1);
      yield { bytes: buffers[k % 2], position: positions[k] };
    }
    return positions.length;
  } finally {
    cleaned.done = true;
  }
}

describe('positioned writes: synchronous and overlapped drivers', () => {
  it('write the same file, and the overlapped driver never lets a buffer be reused before its write is done', async () => {
    const dir = tmp();
    const files = ['sync.bin', 'overlapped.bin'].map((f) => path.join(dir, f));
    const violations: string[] = [];
    const cleaned = { done: false };
    let fd = fs.openSync(files[0], 'w+');
    expect(performWrites(producer(fd, violations, cleaned), fd)).toBe(12);
    fs.closeSync(fd);
    fd = fs.openSync(files[1], 'w+');
    await expect(performWritesOverlapped(producer(fd, violations, cleaned), fd)).resolves.toBe(12);
    fs.closeSync(fd);
    expect(violations).toEqual([]);
    expect(fs.readFileSync(files[1]).equals(fs.readFileSync(files[0]))).toBe(true);
    expect(fs.readFileSync(files[0])[5 * (1 << 16)]).toBe(12); // slot 5 = (11·7) mod 12: the last write, k = 11, fills 12
  });

  it('a failed write rejects with its error once no write is in flight, and the producer cleans up', async () => {
    const dir = tmp();
    const fd = fs.openSync(path.join(dir, 'unused.bin'), 'w+');
    const cleaned = { done: false };
    // Write 0 fails after 5 ms; write 1, started meanwhile, takes 30 ms: the rejection must wait for it.
    const done: number[] = [];
    let calls = 0;
    const write = (_fd: number, _bytes: Uint8Array, _position: number): Promise<void> => {
      const k = calls++;
      return new Promise((resolve, reject) =>
        setTimeout(() => {
          done.push(k);
          if (k === 0) reject(Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' }));
          else resolve();
        }, k === 0 ? 5 : 30),
      );
    };
    let outstanding = -1;
    await performWritesOverlapped(producer(fd, [], cleaned), fd, { write }).catch((error: Error) => {
      outstanding = calls - done.length;
      expect(error.message).toMatch(/EIO/);
    });
    expect(calls).toBe(2); // the write after the failing one had started
    expect(outstanding).toBe(0);
    expect(cleaned.done).toBe(true);
    fs.closeSync(fd);
  });

  it('starts a datasync every syncEvery bytes, one at a time, and resolves only once the last has finished', async () => {
    const dir = tmp();
    const fd = fs.openSync(path.join(dir, 'synced.bin'), 'w+');
    const events: string[] = [];
    let running = 0;
    let most = 0;
    const datasync = (): Promise<void> => {
      running++;
      most = Math.max(most, running);
      events.push(`sync ${events.filter((e) => e.startsWith('sync')).length}`);
      return new Promise((resolve) =>
        setTimeout(() => {
          running--;
          resolve();
        }, 20),
      );
    };
    // 12 writes of 64 KiB; a datasync due every 128 KiB, but a 20 ms one blocks the next from starting.
    await expect(performWritesOverlapped(producer(fd, [], { done: false }), fd, { syncEvery: 2 << 16, datasync })).resolves.toBe(12);
    expect(running).toBe(0); // resolved after the last datasync finished
    expect(most).toBe(1);
    expect(events.length).toBeGreaterThanOrEqual(1);
    expect(events.length).toBeLessThanOrEqual(6);
    // Without syncEvery, none.
    events.length = 0;
    await performWritesOverlapped(producer(fd, [], { done: false }), fd, { datasync });
    expect(events).toEqual([]);
    fs.closeSync(fd);
  });

  it('starts its datasyncs every syncEvery bytes written: after writes 2, 4, …, 12 of 64 KiB at 128 KiB', async () => {
    const dir = tmp();
    const fd = fs.openSync(path.join(dir, 'spaced.bin'), 'w+');
    let writes = 0;
    const startedAfter: number[] = [];
    const write = (f: number, bytes: Uint8Array, position: number): Promise<void> => {
      writes++;
      fs.writeSync(f, bytes, 0, bytes.length, position);
      return Promise.resolve();
    };
    const datasync = (): Promise<void> => {
      startedAfter.push(writes);
      return Promise.resolve();
    };
    await performWritesOverlapped(producer(fd, [], { done: false }), fd, { write, datasync, syncEvery: 2 << 16 });
    expect(startedAfter).toEqual([2, 4, 6, 8, 10, 12]);
    fs.closeSync(fd);
  });

  it('a failed datasync rejects with its error once nothing is in flight, and the producer cleans up', async () => {
    const dir = tmp();
    const fd = fs.openSync(path.join(dir, 'unsynced.bin'), 'w+');
    const cleaned = { done: false };
    let writesInFlight = 0;
    let writesAtRejection = -1;
    const write = (f: number, bytes: Uint8Array, position: number): Promise<void> => {
      writesInFlight++;
      return new Promise((resolve) =>
        setTimeout(() => {
          fs.writeSync(f, bytes, 0, bytes.length, position);
          writesInFlight--;
          resolve();
        }, 5),
      );
    };
    const datasync = (): Promise<void> => new Promise((_, reject) => setTimeout(() => reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })), 12));
    await performWritesOverlapped(producer(fd, [], cleaned), fd, { write, datasync, syncEvery: 1 << 16 }).then(
      () => {
        throw new Error('resolved');
      },
      (error: Error) => {
        writesAtRejection = writesInFlight;
        // A lost writeback (WritebackError): a worker's task failing with it is refused, never re-run.
        expect(error).toBeInstanceOf(WritebackError);
        expect(error.message).toMatch(/fdatasync/);
        expect(() => refuseIfStrictWorkers(`${error.name}: ${error.message}`, 'release block b')).toThrow(WritebackError);
        expect(() => withEnvironment({ WEIGHTGAMES_STRICT_WORKERS: '0' }, () => refuseIfStrictWorkers('CalibrationError: no rows', 'release block b'))).not.toThrow(); // other failures: re-run
      },
    );
    expect(writesAtRejection).toBe(0);
    expect(cleaned.done).toBe(true);
    fs.closeSync(fd);
  });
});
