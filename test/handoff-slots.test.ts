import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HandoffSlots } from '../src/numerics/io/handoffSlots';
import { compiledPath } from '../src/kernel/estimate/compiledPath';
import { temporaryDirectory } from './helpers/temporaryDirectories';

/**
 * The shared output slots (src/numerics/io/handoffSlots.ts) through which attack workers leave
 * recovered blocks for the attack's own thread to write: the bytes come back as put, a taken slot
 * is never handed out again before it is released, and a worker finding none free is told so at
 * once (it writes its block itself) instead of waiting.
 */

const bytes = (length: number, seed: number): Uint8Array => Uint8Array.from({ length }, (_, i) => (i * 31 + seed * 7) & 0xff);

describe('HandoffSlots', () => {
  it('gives back each piece as it was put, at its file position; no free slot answers null; reuses a released slot; refuses what does not fit', () => {
    const slots = HandoffSlots.create(2, 64);
    const a = slots.tryFill([
      { position: 1000, bytes: bytes(40, 1) },
      { position: 5, bytes: bytes(24, 2) },
    ])!;
    const b = slots.tryFill([{ position: 7, bytes: bytes(64, 3) }])!;
    expect(a.slot).not.toBe(b.slot);
    expect(a.pieces.map(([position, , length]) => [position, length])).toEqual([
      [1000, 40],
      [5, 24],
    ]);
    expect(slots.view(a, a.pieces[0])).toEqual(bytes(40, 1));
    expect(slots.view(a, a.pieces[1])).toEqual(bytes(24, 2));
    expect(slots.view(b, b.pieces[0])).toEqual(bytes(64, 3));
    expect(slots.tryFill([{ position: 0, bytes: bytes(8, 9) }])).toBeNull(); // both taken: nothing overwritten
    expect(slots.view(a, a.pieces[0])).toEqual(bytes(40, 1));
    slots.release(a);
    expect(() => slots.view(a, a.pieces[0])).toThrow(/not full/);
    const c = slots.tryFill([{ position: 0, bytes: bytes(8, 4) }])!;
    expect(c.slot).toBe(a.slot);
    expect(slots.view(b, b.pieces[0])).toEqual(bytes(64, 3)); // the other slot untouched
    expect(() => slots.tryFill([{ position: 0, bytes: bytes(65, 5) }])).toThrow(RangeError);
  });

  it('across threads: a worker fills the slots the owner has released, and is told at once (null) while the owner holds them all', () => {
    const where = temporaryDirectory('wg-handoff-');
    const worker = path.join(where, 'filler.js');
    const pool = compiledPath(path.join(__dirname, '../src/numerics/io/syncWorkers.ts'));
    const handoff = compiledPath(path.join(__dirname, '../src/numerics/io/handoffSlots.ts'));
    // Task n: 4096 bytes of value n into a slot, or null where none is free.
    fs.writeFileSync(
      worker,
      `const { parentPort, workerData } = require('node:worker_threads');
const { HandoffSlots } = require(${JSON.stringify(handoff)});
const slots = HandoffSlots.attach(workerData.handoff);
require(${JSON.stringify(pool)}).serveSyncTasks(parentPort, workerData, (n) => ({ value: slots.tryFill([{ position: n, bytes: new Uint8Array(4096).fill(n) }]) }));\n`,
    );
    // In a child with a time limit, so that a worker that waits for a slot fails the test instead of hanging the suite.
    const child = spawnSync(
      process.execPath,
      [
        '-e',
        `const { SyncWorkerPool } = require(${JSON.stringify(pool)});
const { HandoffSlots } = require(${JSON.stringify(handoff)});
const slots = HandoffSlots.create(2, 4096);
const p = new SyncWorkerPool(${JSON.stringify(worker)}, 1, { handoff: slots.shared }, 2);
const seen = [];
for (const n of [1, 2, 3, 4, 5, 6]) {
  const answer = p.wait(p.submit(n));
  const view = slots.view(answer.ok, answer.ok.pieces[0]);
  seen.push([answer.ok.pieces[0][0], view.every((v) => v === n)]);
  slots.release(answer.ok);
}
// Both slots held: the third is refused at once; released, one is filled again.
const held = [7, 8].map((n) => p.wait(p.submit(n)).ok);
const refused = p.wait(p.submit(9)).ok;
const heldIntact = held.map((h, q) => slots.view(h, h.pieces[0]).every((v) => v === 7 + q));
slots.release(held[0]);
const again = p.wait(p.submit(10)).ok;
p.close();
process.stdout.write(JSON.stringify({ seen, refused, heldIntact, again: again.slot === held[0].slot }));`,
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(child.signal).toBeNull();
    expect(JSON.parse(child.stdout)).toEqual({ seen: [1, 2, 3, 4, 5, 6].map((n) => [n, true]), refused: null, heldIntact: [true, true], again: true });
  });
});
