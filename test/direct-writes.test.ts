import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { DIRECT_MIN_BYTES, DirectFile, FILE_ALIGN, MEMORY_ALIGN, STAGE_BYTES } from '../src/numerics/io/directWrites';
import { PositionedWrite, performWrites, performWritesOverlapped } from '../src/numerics/io/positionedWrites';
import { pageAlignedBytes } from '../src/numerics/tensor/scratch';
import { temporaryDirectory } from './helpers/temporaryDirectories';
import { directPossible } from './helpers/directIo';
import { withEnvironment } from './helpers/environment';
import { createCipheriv, createHash } from 'node:crypto';

/**
 * Direct writes (src/numerics/io/directWrites.ts): whatever the split into an unaligned head and
 * tail and a page-aligned middle, and whether the file system takes O_DIRECT or not, the file holds
 * exactly the bytes written, each counted once.
 */

const tmp = (): string => temporaryDirectory('wg-direct-');

/** Bytes that differ from place to place (a misplaced or missing piece shows): AES-CTR's stream under a key hashed from `seed`, native and fast. */
function bytesOf(length: number, seed: string): Uint8Array {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16);
  return new Uint8Array(createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(length)));
}

/** A file of `size` bytes cut into writes at `cuts`, written in `order` through a DirectFile; answers the file's bytes and the writer's counts. */
function writeCut(dir: string, size: number, cuts: number[], order: number[], content: Uint8Array): { bytes: Buffer; direct: number; buffered: number; wasDirect: boolean } {
  const file = path.join(dir, `cut-${size}-${cuts.length}.bin`);
  const fd = fs.openSync(file, 'w+');
  try {
    fs.ftruncateSync(fd, size);
    const bounds = [0, ...cuts, size];
    const writer = DirectFile.open(fd);
    const wasDirect = writer.direct;
    try {
      for (const k of order) writer.writeSync(content.subarray(bounds[k], bounds[k + 1]), bounds[k]);
    } finally {
      writer.close();
    }
    return { bytes: fs.readFileSync(file), ...writer.stats, wasDirect };
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file);
  }
}

describe('direct writes', () => {
  it('page-aligned buffers start on a 4096-byte boundary (an O_DIRECT write from them is accepted)', () => {
    const dir = tmp();
    if (!directPossible(dir)) return console.warn('direct-writes: this file system refuses O_DIRECT; alignment not checked here');
    const fd = fs.openSync(path.join(dir, 'aligned.bin'), fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_DIRECT);
    try {
      fs.ftruncateSync(fd, 3 * MEMORY_ALIGN);
      const aligned = pageAlignedBytes(3 * MEMORY_ALIGN);
      expect(fs.writeSync(fd, aligned, 0, MEMORY_ALIGN, MEMORY_ALIGN)).toBe(MEMORY_ALIGN);
      // The same call 16 bytes off the page is refused: the check above can fail.
      expect(() => fs.writeSync(fd, aligned.subarray(16), 0, MEMORY_ALIGN, MEMORY_ALIGN)).toThrow(/EINVAL/);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('any cut of a file into writes, in any order, gives the same bytes, each counted once; big ones go direct where the file system allows', () => {
    const dir = tmp();
    const possible = directPossible(dir);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 * 2 ** 20 }),
        fc.array(fc.integer({ min: 1, max: 3 * 2 ** 20 }), { maxLength: 6 }),
        fc.integer({ min: 0, max: 2 ** 30 }),
        (size, offsets, seed) => {
          const cuts = [...new Set(offsets.map((c) => c % size).filter((c) => c > 0))].sort((a, b) => a - b);
          const order = Array.from({ length: cuts.length + 1 }, (_, k) => k).sort((a, b) => ((a * 7919 + seed) % 13) - ((b * 7919 + seed) % 13));
          const content = bytesOf(size, String(seed));
          const out = writeCut(dir, size, cuts, order, content);
          expect(Buffer.compare(out.bytes, Buffer.from(content))).toBe(0);
          expect(out.direct + out.buffered).toBe(size);
          const bounds = [0, ...cuts, size];
          const bigAligned = bounds.slice(0, -1).some((b, k) => bounds[k + 1] - b >= DIRECT_MIN_BYTES && Math.floor(bounds[k + 1] / FILE_ALIGN) > Math.ceil(b / FILE_ALIGN));
          expect(out.wasDirect).toBe(possible);
          if (possible) expect(out.direct > 0).toBe(bigAligned);
          else expect(out.direct).toBe(0);
        },
      ),
      { numRuns: 20, seed: 20261130 },
    );
  });

  it('with direct writes turned off (WEIGHTGAMES_DIRECT_WRITES=0): the same bytes, all through the page cache', () => {
    const dir = tmp();
    const content = bytesOf(2 ** 20 + 1234, 'off');
    const out = withEnvironment({ WEIGHTGAMES_DIRECT_WRITES: '0' }, () => writeCut(dir, content.length, [777, 600_000], [2, 0, 1], content));
    expect(Buffer.compare(out.bytes, Buffer.from(content))).toBe(0);
    expect(out).toMatchObject({ direct: 0, buffered: content.length, wasDirect: false });
  });

  it('the overlapped driver, two big writes in flight from two alternating buffers: the same file as the synchronous driver with direct writes off', async () => {
    const dir = tmp();
    const slab = 700_001; // odd: every write's head and tail are off the page
    const positions = [3, 5, 1, 0, 4, 2].map((k) => 4099 + k * slab);
    const size = 4099 + 6 * slab;
    function* producer(): Generator<PositionedWrite, number, void> {
      const buffers = [new Uint8Array(slab), new Uint8Array(slab)];
      for (let k = 0; k < positions.length; k++) {
        buffers[k % 2].set(bytesOf(slab, `slab-${k}`));
        yield { bytes: buffers[k % 2], position: positions[k] };
      }
      return positions.length;
    }
    const run = async (name: string, overlapped: boolean): Promise<Buffer> => {
      const file = path.join(dir, name);
      const fd = fs.openSync(file, 'w+');
      try {
        fs.ftruncateSync(fd, size);
        expect(overlapped ? await performWritesOverlapped(producer(), fd) : performWrites(producer(), fd)).toBe(positions.length);
        return fs.readFileSync(file);
      } finally {
        fs.closeSync(fd);
      }
    };
    const direct = await run('overlapped.bin', true);
    const plain = await withEnvironment({ WEIGHTGAMES_DIRECT_WRITES: '0' }, () => run('plain.bin', false));
    expect(direct.length).toBe(size);
    expect(Buffer.compare(direct, plain)).toBe(0);
    // Every slab landed (not left as the file's zeros).
    for (let k = 0; k < positions.length; k++) expect(Buffer.compare(direct.subarray(positions[k], positions[k] + slab), Buffer.from(bytesOf(slab, `slab-${k}`)))).toBe(0);
  });

  it('a middle bigger than a staging buffer (asynchronous writer, written in pieces here and now): the same bytes', async () => {
    const dir = tmp();
    const size = STAGE_BYTES + 3 * FILE_ALIGN + 12345;
    const content = bytesOf(size, 'big');
    const file = path.join(dir, 'big.bin');
    const fd = fs.openSync(file, 'w+');
    try {
      fs.ftruncateSync(fd, size + 777);
      const writer = DirectFile.open(fd);
      await writer.writeAsync(content, 777);
      writer.close();
      expect(Buffer.compare(fs.readFileSync(file).subarray(777), Buffer.from(content))).toBe(0);
      if (directPossible(dir)) expect(writer.stats.direct).toBeGreaterThan(STAGE_BYTES);
      expect(writer.stats.direct + writer.stats.buffered).toBe(size);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('a write whose head fails rejects only once its direct middle has settled (nothing left running on the file)', async () => {
    const dir = tmp();
    if (!directPossible(dir)) return console.warn('direct-writes: this file system refuses O_DIRECT; the in-flight case is not reachable here');
    const file = path.join(dir, 'fail.bin');
    const fd = fs.openSync(file, 'w+');
    fs.ftruncateSync(fd, 6 * FILE_ALIGN);
    const writer = DirectFile.open(fd);
    // The ordinary descriptor closed under the writer: its head and tail writes fail (EBADF), the direct one goes on.
    fs.closeSync(fd);
    const middleDone = { at: -1 };
    const outcome = await writer.writeAsync(bytesOf(5 * FILE_ALIGN, 'fail'), 5).then(
      () => 'resolved',
      (error: NodeJS.ErrnoException) => error.code,
    );
    middleDone.at = writer.stats.direct;
    writer.close();
    expect(outcome).toBe('EBADF');
    // Settled before rejecting: the direct middle's bytes are counted (it finished), not still in flight.
    expect(middleDone.at).toBe(4 * FILE_ALIGN);
  });
});

