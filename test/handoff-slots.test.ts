import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HandoffAbandoned, HandoffSlots } from '../src/numerics/io/handoffSlots';
import { compiledPath } from '../src/kernel/estimate/compiledPath';
import { temporaryDirectory } from './helpers/temporaryDirectories';

/**
 * The shared output slots (src/numerics/io/handoffSlots.ts) through which attack workers leave
 * recovered blocks for the attack's own thread to write: the bytes come back as put, a full slot
 * is never overwritten before it is released (a worker waits), and abandoning wakes a waiting worker.
 */

const bytes = (length: number, seed: number): Uint8Array => Uint8Array.from({ length }, (_, i) => (i * 31 + seed * 7) & 0xff);

describe('HandoffSlots', () => {
  it('gives back each piece as it was put, at its file position; reuses a released slot; refuses what does not fit and, once abandoned, every claim', () => {
    const slots = HandoffSlots.create(2, 64);
    const a = slots.fill([
      { position: 1000, bytes: bytes(40, 1) },
      { position: 5, bytes: bytes(24, 2) },
    ]);
    const b = slots.fill([{ position: 7, bytes: bytes(64, 3) }]);
    expect(a.slot).not.toBe(b.slot);
    expect(a.pieces.map(([position, , length]) => [position, length])).toEqual([
      [1000, 40],
      [5, 24],
    ]);
    expect(slots.view(a, a.pieces[0])).toEqual(bytes(40, 1));
    expect(slots.view(a, a.pieces[1])).toEqual(bytes(24, 2));
    expect(slots.view(b, b.pieces[0])).toEqual(bytes(64, 3));
    slots.release(a);
    expect(() => slots.view(a, a.pieces[0])).toThrow(/not full/);
    const c = slots.fill([{ position: 0, bytes: bytes(8, 4) }]);
    expect(c.slot).toBe(a.slot);
    expect(slots.view(b, b.pieces[0])).toEqual(bytes(64, 3)); // the other slot untouched
    expect(() => slots.fill([{ position: 0, bytes: bytes(65, 5) }])).toThrow(RangeError);
    slots.release(c);
    slots.abandon();
    expect(() => slots.fill([{ position: 0, bytes: bytes(1, 6) }])).toThrow(HandoffAbandoned);
  });

  it('across threads: a worker finding every slot full waits until one is released (never overwrites one), and abandoning wakes it with a failure', () => {
    const where = temporaryDirectory('wg-handoff-');
    const worker = path.join(where, 'filler.js');
    const pool = compiledPath(path.join(__dirname, '../src/numerics/io/syncWorkers.ts'));
    const handoff = compiledPath(path.join(__dirname, '../src/numerics/io/handoffSlots.ts'));
    // Task n: 4096 bytes of value n into a slot.
    fs.writeFileSync(
      worker,
      `const { parentPort, workerData } = require('node:worker_threads');
const { HandoffSlots } = require(${JSON.stringify(handoff)});
const slots = HandoffSlots.attach(workerData.handoff);
require(${JSON.stringify(pool)}).serveSyncTasks(parentPort, workerData, (n) => ({ value: slots.fill([{ position: n, bytes: new Uint8Array(4096).fill(n) }]) }));\n`,
    );
    // In a child with a time limit, so that a slot protocol that deadlocks fails the test instead of hanging the suite.
    const child = spawnSync(
      process.execPath,
      [
        '-e',
        `const { SyncWorkerPool } = require(${JSON.stringify(pool)});
const { HandoffSlots } = require(${JSON.stringify(handoff)});
const slots = HandoffSlots.create(2, 4096);
const p = new SyncWorkerPool(${JSON.stringify(worker)}, 1, { handoff: slots.shared }, 2);
const ids = [1, 2, 3, 4, 5, 6].map((n) => p.submit(n));
const seen = [];
for (const id of ids) {
  const answer = p.wait(id);
  // Hold the slot a while (the worker, two tasks ahead, must wait for it rather than refill it), then check it and free it.
  const until = Date.now() + 30; while (Date.now() < until);
  const view = slots.view(answer.ok, answer.ok.pieces[0]);
  seen.push([answer.ok.pieces[0][0], view.every((v) => v === answer.ok.pieces[0][0])]);
  slots.release(answer.ok);
}
// Two blocks left unreleased, a third waits for a slot; abandoning answers it.
const held = [7, 8].map((n) => p.wait(p.submit(n)));
const third = p.submit(9);
const until = Date.now() + 100; while (Date.now() < until);
slots.abandon();
const last = p.wait(third);
p.close();
process.stdout.write(JSON.stringify({ seen, held: held.map((a) => a.ok.pieces[0][0]), last }));`,
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(child.error).toBeUndefined();
    expect(JSON.parse(child.stdout)).toEqual({
      seen: [1, 2, 3, 4, 5, 6].map((n) => [n, true]),
      held: [7, 8],
      last: { failed: 'HandoffAbandoned: the output was abandoned (the job failed elsewhere)' },
    });
  });
});
