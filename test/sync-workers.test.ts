import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SyncWorkerPool } from '../src/numerics/io/syncWorkers';
import { compiledPath } from '../src/kernel/estimate/compiledPath';
import { temporaryDirectory } from './helpers/temporaryDirectories';

/**
 * The synchronous worker pool (src/numerics/io/syncWorkers.ts) that the release and the attack
 * drive: answers in order, and — the case that used to hang — a worker whose script cannot load
 * answers every task with that failure instead of never answering.
 */

const dir = (): string => temporaryDirectory('wg-sync-workers-');
/** The compiled pool module, which worker threads and child processes load (they run JavaScript). */
const compiledPool = (): string => compiledPath(path.join(__dirname, '../src/numerics/io/syncWorkers.ts'));

/** A worker script `name` in `where` answering each task n by `body` (JavaScript, n in scope), on the compiled pool (worker threads load JavaScript): its path. */
function servingScript(where: string, name: string, body: string): string {
  const file = path.join(where, name);
  fs.writeFileSync(
    file,
    `const { parentPort, workerData } = require('node:worker_threads');
require(${JSON.stringify(compiledPool())}).serveSyncTasks(parentPort, workerData, (n) => {
${body}
});\n`,
  );
  return file;
}

/** A worker script doubling numbers (a negative one throws). */
const doubler = (where: string): string => servingScript(where, 'doubler.js', `if (n < 0) throw new RangeError('negative ' + n); return { value: 2 * n };`);

/**
 * `driver` (JavaScript, SyncWorkerPool in scope, writing one JSON value to stdout) run in a child
 * with a time limit — so that a pool that blocks fails the test instead of hanging the suite —
 * and its JSON.
 */
function inChild<T>(driver: string, timeout = 20_000): T {
  const child = spawnSync(process.execPath, ['-e', `const { SyncWorkerPool } = require(${JSON.stringify(compiledPool())});\n${driver}`], { encoding: 'utf8', timeout });
  expect(child.signal).toBeNull(); // not killed by the time limit: nothing blocked
  return JSON.parse(child.stdout) as T;
}

describe('SyncWorkerPool', () => {
  it('answers submitted and mapped tasks in order, a throwing task as { failed }', () => {
    const pool = new SyncWorkerPool<number, number>(doubler(dir()), 2);
    try {
      const ids = [3, -1, 5].map((n) => pool.submit(n));
      expect(ids.map((id) => pool.wait(id))).toEqual([{ ok: 6 }, { failed: 'RangeError: negative -1' }, { ok: 10 }]);
      expect(pool.map([1, 2, 3, 4])).toEqual([{ ok: 2 }, { ok: 4 }, { ok: 6 }, { ok: 8 }]);
    } finally {
      pool.close();
    }
  });

  it('a script that cannot load: every task is answered with the failure (no wait blocks), by submit and by map', () => {
    const where = dir();
    const broken = path.join(where, 'broken.js');
    fs.writeFileSync(broken, `require(${JSON.stringify(path.join(where, 'missing-module.js'))});\n`);
    // In a child with a time limit: a pool that blocks (the old behaviour) fails this test instead of hanging the suite.
    for (const script of [broken, path.join(where, 'no-such-script.js')]) {
      const { submitted, mapped } = inChild<{ submitted: unknown[]; mapped: unknown[] }>(`const p = new SyncWorkerPool(${JSON.stringify(script)}, 2, {}, 2);
const submitted = [1, 2, 3].map((n) => p.submit(n)).map((id) => p.wait(id));
const mapped = p.map([4, 5]);
p.close();
process.stdout.write(JSON.stringify({ submitted, mapped }));`);
      for (const answer of [...submitted, ...mapped]) expect(answer).toEqual({ failed: expect.stringMatching(/^the worker could not start: Error: Cannot find module/) });
      expect([submitted.length, mapped.length]).toEqual([3, 2]);
    }
  }, 60_000);

  it('a thread that ends with tasks unanswered (process.exit in a task, an error escaping from a callback): the pool answers every task it had handed that thread with a failure — no wait blocks — and the other thread goes on', () => {
    // Task 0: exit the thread. Task 1: an error thrown from a timer, the task never answered. Others: doubled.
    const script = servingScript(
      dir(),
      'dying.js',
      `if (n === 0) process.exit(3);
if (n === 1) return new Promise(() => setTimeout(() => { throw new Error('escaped'); }, 10));
return { value: 2 * n };`,
    );
    const { answers, lone } = inChild<{ answers: Array<Array<{ ok?: number; failed?: string }>>; lone: unknown[] }>(`const answers = [];
for (const doomed of [0, 1]) {
  const p = new SyncWorkerPool(${JSON.stringify(script)}, 2, {}, 2);
  // The doomed task and the one queued behind it on its thread both come back; the other thread answers its own.
  answers.push([doomed, 5, 6, 7].map((n) => p.submit(n)).map((id) => p.wait(id)));
  p.close();
}
// One thread, and it ends: the task queued behind the two it held fails too.
const alone = new SyncWorkerPool(${JSON.stringify(script)}, 1, {}, 2);
const lone = [0, 5, 6].map((n) => alone.submit(n)).map((id) => alone.wait(id));
alone.close();
process.stdout.write(JSON.stringify({ answers, lone }));`);
    expect(lone).toEqual([
      { failed: 'Error: the worker thread ended (exit code 3) before answering' },
      { failed: 'Error: the worker thread ended (exit code 3) before answering' },
      { failed: 'Error: every worker thread has ended' },
    ]);
    for (const [doomed, ...rest] of answers) {
      expect(doomed).toEqual({ failed: expect.stringMatching(/^Error: the worker thread ended \(exit code \d+\) before answering$/) });
      // Each other task: doubled, or (queued behind the doomed one on its thread) the same failure.
      rest.forEach((answer, q) => expect(answer.ok === 2 * [5, 6, 7][q] || /before answering$/.test(answer.failed ?? '')).toBe(true));
      expect(rest.filter((answer) => answer.ok !== undefined).length).toBeGreaterThanOrEqual(1);
    }
  }, 60_000);

  (process.platform === 'linux' ? it : it.skip)('a thread stopped without running its exit handlers (out of memory, under a small heap limit): the pool finds it gone and fails what it held — no wait blocks — by submit and by map (Linux: /proc/self/task)', () => {
    // Task 0: allocate until the thread's heap limit stops it (Node ends just that thread; its exit handlers do not run). Others: doubled.
    const script = servingScript(dir(), 'hungry.js', `if (n === 0) { const kept = []; for (;;) kept.push(new Array(1e5).fill(n)); }
return { value: 2 * n };`);
    const { submitted, mapped } = inChild<{ submitted: unknown[]; mapped: Array<{ ok?: number; failed?: string }> }>(
      `const limits = { resourceLimits: { maxOldGenerationSizeMb: 32 } };
const p = new SyncWorkerPool(${JSON.stringify(script)}, 1, {}, 2, limits);
const submitted = [5, 0, 6].map((n) => p.submit(n)).map((id) => p.wait(id));
p.close();
const q = new SyncWorkerPool(${JSON.stringify(script)}, 2, {}, 1, limits);
const mapped = q.map([0, 7, 8, 9]);
q.close();
process.stdout.write(JSON.stringify({ submitted, mapped }));`,
      30_000,
    );
    const gone = { failed: 'Error: the worker thread stopped (out of memory?) before answering' };
    // Answered before it went; the one that stopped it; the one queued behind it on the only thread.
    expect(submitted).toEqual([{ ok: 10 }, gone, gone]);
    // Two threads, one task each at a time: one goes; the other answers the rest (the one that went holds task 0 until found gone, and is handed nothing after).
    expect(mapped).toEqual([gone, { ok: 14 }, { ok: 16 }, { ok: 18 }]);
  }, 60_000);

  it('map beside submitted tasks: each gets its own answers (one numbering), a submitted task\'s kept for wait', () => {
    const pool = new SyncWorkerPool<number, number>(doubler(dir()), 1);
    try {
      const ids = [1, 3].map((n) => pool.submit(n));
      expect(pool.map([2, 5])).toEqual([{ ok: 4 }, { ok: 10 }]);
      expect(ids.map((id) => pool.wait(id))).toEqual([{ ok: 2 }, { ok: 6 }]);
    } finally {
      pool.close();
    }
  });
});
