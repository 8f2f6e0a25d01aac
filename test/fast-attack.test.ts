import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SafetensorsFile, writeSafetensors, encodeFloats } from '../src/numerics/io/safetensors';
import { activationByName } from '../src/numerics/activations';
import { syntheticCheckpoint } from '../src/numerics/models/synthetic';
import { releaseCheckpoint } from '../schemes/taylormlp/checkpoint';
import type { TaylorOptions } from '../schemes/taylormlp/release';
import { readReleasedBlock, releasedInfo } from '../schemes/taylormlp/artifact';
import { consensusRecoverBlock } from '../adversaries/taylormlp/consensus';
import { adoptFastBuffers, fastApplies, fastBufferBytes, fastRecoverBlock } from '../adversaries/taylormlp/fastAttack';
import { fileJobScratch } from '../src/numerics/tensor/scratch';
import { UnitClass } from '../adversaries/taylormlp/recovered';
import { attackReleasedFile, latestPace, takeBlocks } from '../adversaries/taylormlp/attack';
import { temporaryDirectory } from './helpers/temporaryDirectories';
import { withEnvironment } from './helpers/environment';
import { compiledPath } from '../src/kernel/estimate/compiledPath';
import { SweepKernel } from '../src/numerics/tensor/simd/sweepKernel';
import { MisfitGridKernel } from '../src/numerics/tensor/simd/misfitGrid';

/**
 * The sampled attack path (adversaries/taylormlp/fastAttack.ts) on blocks big enough for it: 256
 * outputs × 32 (or 96) hidden units (fc layout, GELU, N = 6, signs), in every storage dtype. It
 * must recover W within 1 % of each unit's largest entry, entry by entry, give the full consensus's
 * classes, keep bf16/f16's worst entry near the full method's (it averages a few orders there),
 * send units short of exact (dead, saturated, far-tail units) to the per-unit fallback with the
 * full method's classes, and leave a block where no unit meets the tolerance to the full consensus.
 */

const PREFIX = 'model.decoder.layers.0';
const O = 256;
const H = 32;

type DType = 'f32' | 'f64' | 'bf16' | 'f16';

/** A released one-block checkpoint: `dead` units get W's column zero, `bias` sets b_j (far tails, saturation). */
function release(home: string, name: string, deadUnits: readonly number[], dtype: DType = 'f32', H = 32, bias: Record<number, number> = {}): { file: string; W: Float32Array } {
  const tensors = syntheticCheckpoint({ layout: 'fc', layers: 1, inputDim: O, hiddenDim: H, seed: 'fast-attack', activation: 'gelu' });
  const second = tensors.get(`${PREFIX}.fc2.weight`)!;
  const W = new Float32Array(second.bytes.slice().buffer);
  for (const j of deadUnits) for (let i = 0; i < O; i++) W[i * H + j] = 0;
  tensors.set(`${PREFIX}.fc2.weight`, { ...second, bytes: encodeFloats(Float64Array.from(W), 'F32') });
  const firstBias = tensors.get(`${PREFIX}.fc1.bias`)!;
  const b = new Float32Array(firstBias.bytes.slice().buffer);
  for (const [j, value] of Object.entries(bias)) b[Number(j)] = value;
  tensors.set(`${PREFIX}.fc1.bias`, { ...firstBias, bytes: encodeFloats(Float64Array.from(b), 'F32') });
  return { file: releaseIn(path.join(home, name), tensors, { model_type: 'opt', hidden_act: 'gelu' }, { order: 6, dtype, signs: true }), W };
}

/** A checkpoint of these tensors with its config.json in `dir`, released there by TaylorMLP (64 synthetic calibration rows, seed 'fast'): the release's path. */
function releaseIn(dir: string, tensors: Parameters<typeof writeSafetensors>[1], config: { model_type: string; hidden_act: string }, taylor: TaylorOptions): string {
  fs.mkdirSync(dir, { recursive: true });
  const input = path.join(dir, 'model.safetensors');
  writeSafetensors(input, tensors, {});
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  const output = path.join(dir, 'released.safetensors');
  releaseCheckpoint({ input, output, taylor, calibration: { synthetic: { rows: 64, scale: 1 } }, seed: 'fast', version: 'test' });
  return output;
}

/** Overwrite one bf16 Θ value of block `blockIndex` — order 6, row 1 (not a sample row), unit 3 — with NaN: its index in Θ and the block. */
function plantBf16NaN(file: string, blockIndex: number): { index: number; meta: ReturnType<typeof releasedInfo>['blocks'][number] } {
  const released = SafetensorsFile.open(file);
  const meta = releasedInfo(released.metadata).blocks[blockIndex];
  const entry = released.header.entries.find((e) => e.name === `${meta.prefix}.taylor.theta`)!;
  const index = (6 * O + 1) * H + 3;
  const at = released.header.dataStart + entry.begin + index * 2;
  released.close();
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, Uint8Array.from([0xc0, 0x7f]), 0, 2, at); // bf16 NaN, little-endian
  fs.closeSync(fd);
  return { index, meta };
}

function attackBoth(file: string, tol?: number) {
  const released = SafetensorsFile.open(file);
  try {
    const info = releasedInfo(released.metadata);
    const meta = info.blocks[0];
    const act = activationByName(info.activation);
    const block = readReleasedBlock((n) => released.tensor(n), meta, info);
    expect(fastApplies(meta, block.expanded.length)).toBe(true);
    const fast = fastRecoverBlock(released, meta, info, act, true, tol);
    const copy = fast === null ? null : { ...fast, second: new Float32Array(fast.tensors.get(meta.second)!.bytes.slice().buffer), unitClass: fast.unitClass.slice(), fallbackUnits: fast.fallbackUnits };
    const full = consensusRecoverBlock(block, act, info.dtype, { signs: true, tol });
    return { fast: copy, full };
  } finally {
    released.close();
  }
}

describe('the sampled attack path (fastAttack.ts)', () => {
  const home = temporaryDirectory('wg-fast-attack-');

  /** Worst relative error of the entries of the units whose class is `exact`, and every such entry within 1 % of its column's largest. */
  const checkExact = (second: ArrayLike<number>, W: Float32Array, classes: Uint8Array, H: number): number => {
    let worst = 0;
    for (let j = 0; j < H; j++) {
      if (classes[j] !== UnitClass.exact) continue;
      let largest = 0;
      for (let i = 0; i < O; i++) largest = Math.max(largest, Math.abs(W[i * H + j]));
      for (let i = 0; i < O; i++) {
        expect(Math.abs(second[i * H + j] - W[i * H + j])).toBeLessThanOrEqual(0.01 * largest);
        if (W[i * H + j] !== 0) worst = Math.max(worst, Math.abs(second[i * H + j] - W[i * H + j]) / Math.abs(W[i * H + j]));
      }
    }
    return worst;
  };

  it.each(['f32', 'f64', 'bf16', 'f16'] as const)('%s: recovers W within 1 %% on every exact unit, with the full consensus’s classes', (dtype) => {
    const { file, W } = release(home, `ok-${dtype}`, [], dtype);
    const { fast, full } = attackBoth(file);
    expect(fast).not.toBeNull();
    expect(Array.from(fast!.unitClass)).toEqual(Array.from(full.unitClass!));
    expect(Array.from(fast!.unitClass).filter((c) => c === UnitClass.exact).length).toBeGreaterThanOrEqual(H - 1);
    const fastWorst = checkExact(fast!.second, W, fast!.unitClass, H);
    if (dtype === 'bf16' || dtype === 'f16') {
      // A few orders averaged: the worst entry stays near the full method's (which averages all N).
      expect(fastWorst).toBeLessThanOrEqual(1.5 * checkExact(full.second, W, full.unitClass!, H));
      expect(fast!.orders.length).toBeGreaterThan(1);
    }
  });

  it('a block with a unit short of exact (a dead unit) sends that unit alone to the full consensus', () => {
    const { file, W } = release(home, 'dead', [5]);
    const { fast, full } = attackBoth(file);
    expect(full.unitClass![5]).toBe(UnitClass.dead);
    expect(fast).not.toBeNull();
    expect(fast!.fallbackUnits).toEqual([5]);
    expect(Array.from(fast!.unitClass)).toEqual(Array.from(full.unitClass!));
    for (let i = 0; i < O; i++) expect(fast!.second[i * H + 5]).toBe(0);
    checkExact(fast!.second, W, fast!.unitClass, H);
  });

  it('bf16: dead, saturated and far-tail units among 96 go to the per-unit fallback (with 64 anchors) and get the full method’s classes', () => {
    const dtype = 'bf16';
    const H96 = 96;
    const { file, W } = release(home, `tails-${dtype}`, [5], dtype, H96, { 9: 30, 12: -12, 40: -9, 41: -10 });
    const { fast, full } = attackBoth(file);
    expect(fast).not.toBeNull();
    expect(fast!.fallbackUnits).toEqual(expect.arrayContaining([5, 12]));
    expect(fast!.fallbackUnits.length).toBeLessThan(H96 - 64); // not every exact unit rode along: the anchors are a subset
    expect(Array.from(fast!.unitClass)).toEqual(Array.from(full.unitClass!));
    expect(Array.from(full.unitClass!).some((c) => c !== UnitClass.exact && c !== UnitClass.dead)).toBe(true);
    checkExact(fast!.second, W, fast!.unitClass, H96);
  });

  it('a NaN in an order slab the sampled path leaves unread is still refused (the hash on this thread checks every Θ value)', () => {
    const { file } = release(home, 'nan', [], 'bf16');
    const { index } = plantBf16NaN(file, 0);
    expect(() => attackReleasedFile(file, path.join(home, 'nan', 'recovered.safetensors'), 'consensus', 'test')).toThrow(new RegExp(`holds NaN \\(a non-finite value\\) at index ${index}:`));
  });

  it.each(['f32', 'bf16'] as const)('%s: a NaN in a row the sample reads is refused by the sampled path itself, named by its index in Θ', (dtype) => {
    const { file } = release(home, `nan-sample-${dtype}`, [], dtype);
    const released = SafetensorsFile.open(file);
    try {
      const info = releasedInfo(released.metadata);
      const meta = info.blocks[0];
      const entry = released.header.entries.find((e) => e.name === `${meta.prefix}.taylor.theta`)!;
      const size = dtype === 'f32' ? 4 : 2;
      const row = Math.floor((1.5 * O) / 64); // the second sample row
      const index = (3 * O + row) * H + 7; // order 3, that row, unit 7
      const fd = fs.openSync(file, 'r+');
      fs.writeSync(fd, dtype === 'f32' ? Uint8Array.from([0, 0, 0xc0, 0x7f]) : Uint8Array.from([0xc0, 0x7f]), 0, size, released.header.dataStart + entry.begin + index * size);
      fs.closeSync(fd);
      expect(() => fastRecoverBlock(released, meta, info, activationByName(info.activation), true)).toThrow(new RegExp(`holds NaN at index ${index}:`));
    } finally {
      released.close();
    }
  });

  it.each(['f32', 'bf16'] as const)('%s: the SIMD kernels run (the fit\'s grid, the sweep), and a NaN in a swept slab\'s row that the sample does not read is refused, named by its index in Θ — by the sweep\'s kernel where no unit goes to the per-unit fallback', (dtype) => {
    const { file } = release(home, `nan-sweep-${dtype}`, [], dtype);
    const released = SafetensorsFile.open(file);
    const grid = jest.spyOn(MisfitGridKernel.prototype, 'misfits');
    const accumulate = jest.spyOn(SweepKernel.prototype, 'accumulate');
    try {
      const info = releasedInfo(released.metadata);
      const meta = info.blocks[0];
      const act = activationByName(info.activation);
      const clean = fastRecoverBlock(released, meta, info, act, true);
      expect(clean).not.toBeNull();
      expect(grid).toHaveBeenCalled();
      expect(accumulate).toHaveBeenCalled();
      // The per-unit fallback reads whole rows of every order before the sweep: where it runs (here bf16, one unit) it names the NaN first; f32 has none, so there the sweep's kernel must find it.
      if (dtype === 'f32') expect(clean!.fallbackUnits).toEqual([]);
      const n = clean!.orders[0];
      const entry = released.header.entries.find((e) => e.name === `${meta.prefix}.taylor.theta`)!;
      const size = dtype === 'f32' ? 4 : 2;
      const index = (n * O + 1) * H + 3; // a swept order, row 1 (the sample's rows are 2, 6, 10, …), unit 3
      const fd = fs.openSync(file, 'r+');
      fs.writeSync(fd, dtype === 'f32' ? Uint8Array.from([0, 0, 0xc0, 0x7f]) : Uint8Array.from([0xc0, 0x7f]), 0, size, released.header.dataStart + entry.begin + index * size);
      fs.closeSync(fd);
      accumulate.mockClear();
      expect(() => fastRecoverBlock(released, meta, info, act, true)).toThrow(new RegExp(`holds NaN at index ${index}:`));
      if (clean!.fallbackUnits.length === 0) expect(accumulate.mock.results.some((r) => r.value === true)).toBe(true); // the kernel found it
    } finally {
      grid.mockRestore();
      accumulate.mockRestore();
      released.close();
    }
  });

  it.each(['f32', 'bf16'] as const)('%s: attack workers (leaving their blocks in shared slots for the calling thread to write, or writing them into the output themselves), alone or beside the calling thread taking blocks too, write what one thread writes — the same file byte for byte — none failing', (dtype) => {
    const dir = path.join(home, `workers-${dtype}`);
    const tensors = syntheticCheckpoint({ layout: 'fc', layers: 5, inputDim: O, hiddenDim: H, seed: 'fast-workers', activation: 'gelu' });
    const released = releaseIn(dir, tensors, { model_type: 'opt', hidden_act: 'gelu' }, { order: 6, dtype, signs: true });
    // WEIGHTGAMES_STRICT_WORKERS: a worker's failure is an error here, not a quiet re-run on this thread.
    // callerTakesBlocks '': as the workers' pace decides (takeBlocks, waiting for their answers).
    const attack = (out: string, workers: string, callerTakesBlocks: '0' | '1' | '', handoff: '0' | '1' = '1') =>
      withEnvironment({ WEIGHTGAMES_WORKERS: workers, WEIGHTGAMES_STRICT_WORKERS: '1', WEIGHTGAMES_ATTACK_THREAD_BLOCKS: callerTakesBlocks, WEIGHTGAMES_ATTACK_HANDOFF: handoff }, () => attackReleasedFile(released, path.join(dir, out), 'consensus', 'test'));
    const one = attack('one.safetensors', '0', '0');
    const two = attack('two.safetensors', '2', '0');
    const shared = attack('shared.safetensors', '1', '1');
    const writing = attack('writing.safetensors', '2', '0', '0');
    const paced = attack('paced.safetensors', '1', '');
    // The same file byte for byte, header included, whatever the threads.
    const [a, ...others] = ['one', 'two', 'shared', 'writing', 'paced'].map((f) => fs.readFileSync(path.join(dir, `${f}.safetensors`)));
    for (const b of others) expect(b.equals(a)).toBe(true);
    // The slots were used (the first block a worker recovers always finds one free), and not where they are off.
    expect(two.handedOff).toBeGreaterThanOrEqual(1);
    expect([one.handedOff, writing.handedOff]).toEqual([0, 0]);
    for (const run of [two, shared, writing, paced]) expect(run.blocks.map((b) => b.prefix)).toEqual(one.blocks.map((b) => b.prefix));
    expect(one.blocks.every((b) => b.thread === 'caller')).toBe(true);
    for (const run of [two, writing]) expect(run.blocks.every((b) => b.thread === 'worker')).toBe(true);
    // One worker is handed the first two blocks at once and needs ~0.2 s to start; this thread, the tiny release hashed
    // long before, takes blocks from the last: the last is its, and its blocks are a run at the end (how many depends on timing).
    const threads = shared.blocks.map((b) => b.thread);
    expect(threads.slice(0, 2)).toEqual(['worker', 'worker']);
    expect(threads[4]).toBe('caller');
    expect(threads.join(',')).toMatch(/^(worker,)+(caller,)*caller$/);
    expect(one.total.unrecoverable).toBe(0);
  });

  it("whether the calling thread takes blocks too: by the workers' latest block's time (they speed up as V8 compiles), not their mean so far, and not before their third block", () => {
    expect(latestPace([0.6, 0.3, 0.1, undefined, undefined])).toBe(0.1); // the mean, 0.33, would count the compiling blocks
    expect(latestPace([0.6, undefined, 0.2, undefined])).toBe(0.2);
    expect(latestPace([undefined, undefined])).toBe(Infinity); // none answered yet: as slow as can be
    expect(latestPace([])).toBe(Infinity);
    // Taking blocks: not on the compiling first blocks' pace (it waits for a third answer), then only where the blocks left take more than 3 s at the latest pace.
    expect(takeBlocks(9, [0.47, undefined, undefined])).toBe('wait'); // 9 × 0.47 s would have said take
    expect(takeBlocks(7, [0.47, 0.3, 0.16])).toBe('leave'); // 7 × 0.16 s
    expect(takeBlocks(20, [2.1, 1.4, 1.2])).toBe('take'); // 20 × 1.2 s
    expect(takeBlocks(0, [])).toBe('leave'); // nothing left to take
    expect(takeBlocks(12, [0.6, 0.3, 0.2])).toBe('leave'); // 12 × 0.2 s; their mean, 0.37 s, would have said take
    expect(takeBlocks(12, [0.6, 0.3, 0.2, undefined], 2)).toBe('wait'); // two workers: three answers may be their compiling first blocks
    expect(takeBlocks(10, [4, undefined])).toBe('take'); // big blocks: 10 × 4 s / 5 is more than 3 s whatever the pace to come
  });

  it.each([
    ['fc', 'f32', 1],
    ['fc', 'bf16', 1],
    ['fc', 'bf16', 0.5],
    ['llama', 'f32', 1],
    ['llama', 'bf16', 0.5],
  ] as const)('%s, %s, expanding %s of the units: the buffers fastBufferBytes plans (which a worker adopts, touched beforehand by the thread starting it) are all a block needs — none grows past them', (layout, dtype, fraction) => {
    const dir = path.join(home, `buffers-${layout}-${dtype}-${fraction}`);
    const activation = layout === 'fc' ? 'gelu' : 'silu';
    const tensors = syntheticCheckpoint({ layout, layers: 2, inputDim: O, hiddenDim: H, seed: 'fast-buffers', activation });
    const released = SafetensorsFile.open(releaseIn(dir, tensors, { model_type: layout === 'fc' ? 'opt' : 'llama', hidden_act: activation }, { order: 6, dtype, signs: true, expand: { fraction } }));
    try {
      const info = releasedInfo(released.metadata);
      const planned = fastBufferBytes(released, info);
      fileJobScratch.dropNow(); // this thread's buffers as a fresh worker's: nothing held
      adoptFastBuffers(Object.fromEntries(Object.entries(planned).map(([role, bytes]) => [role, new SharedArrayBuffer(bytes)])));
      const adopted = fileJobScratch.held;
      expect(adopted).toBeGreaterThan(0);
      for (const meta of info.blocks) expect(fastRecoverBlock(released, meta, info, activationByName(info.activation), true)).not.toBeNull();
      // A buffer asked for more than it holds is replaced by a bigger one: the total would grow.
      expect(fileJobScratch.held).toBe(adopted);
    } finally {
      released.close();
      fileJobScratch.dropNow();
    }
  });

  it.each(['f32', 'bf16'] as const)('%s, SwiGLU (Llama layout): the sampled path writes V and U as the full consensus does, byte for byte, and W as exact as it checks', (dtype) => {
    const dir = path.join(home, `llama-${dtype}`);
    const tensors = syntheticCheckpoint({ layout: 'llama', layers: 2, inputDim: O, hiddenDim: H, seed: 'fast-llama', activation: 'silu' });
    const released = releaseIn(dir, tensors, { model_type: 'llama', hidden_act: 'silu' }, { order: 6, dtype, signs: true });
    withEnvironment({ WEIGHTGAMES_FAST_ATTACK: '0' }, () => attackReleasedFile(released, path.join(dir, 'full.safetensors'), 'consensus', 'test'));
    const [file, full] = [released, path.join(dir, 'full.safetensors')].map((f) => SafetensorsFile.open(f));
    try {
      const info = releasedInfo(file.metadata);
      for (const meta of info.blocks) {
        expect(meta.up !== null && fastApplies(meta, H)).toBe(true);
        const fast = fastRecoverBlock(file, meta, info, activationByName(info.activation), true);
        expect(fast).not.toBeNull();
        expect(fast!.fallbackUnits).toEqual([]);
        for (const name of [meta.first, meta.up!]) expect(Buffer.from(fast!.tensors.get(name)!.bytes).equals(Buffer.from(full.tensor(name).bytes))).toBe(true);
        const original = new Float32Array(tensors.get(meta.second)!.bytes.slice().buffer);
        const recovered = new Float32Array(fast!.tensors.get(meta.second)!.bytes.slice().buffer);
        checkExact(Float64Array.from(recovered), original, fast!.unitClass, H);
      }
    } finally {
      file.close();
      full.close();
    }
  });

  it('a flush that fails on the thread writing the workers\' blocks (shared slots) fails the attack with a WritebackError — promptly (no hang), nothing left behind', () => {
    const dir = path.join(home, 'handoff-flush');
    const tensors = syntheticCheckpoint({ layout: 'fc', layers: 3, inputDim: O, hiddenDim: H, seed: 'fast-handoff-flush', activation: 'gelu' });
    const released = releaseIn(dir, tensors, { model_type: 'opt', hidden_act: 'gelu' }, { order: 6, dtype: 'f32' });
    const compiled = (file: string): string => compiledPath(path.join(__dirname, file));
    // In a child (compiled code, a time limit): its fdatasync fails as a disk's would; the worker threads, which do not flush here, keep theirs.
    const child = spawnSync(
      process.execPath,
      [
        '-e',
        `require('node:fs').fdatasyncSync = () => { const e = new Error('EIO: i/o error, fdatasync'); e.code = 'EIO'; throw e; };
const { attackReleasedFile } = require(${JSON.stringify(compiled('../adversaries/taylormlp/attack.ts'))});
try {
  attackReleasedFile(${JSON.stringify(released)}, ${JSON.stringify(path.join(dir, 'recovered.safetensors'))}, 'consensus', 'test');
  process.stdout.write('no error');
} catch (error) {
  process.stdout.write(error.name + ': ' + error.message);
}`,
      ],
      { encoding: 'utf8', timeout: 30_000, env: { ...process.env, WEIGHTGAMES_WORKERS: '1', WEIGHTGAMES_ATTACK_THREAD_BLOCKS: '0' } },
    );
    expect(child.signal).toBeNull();
    expect(child.stdout).toMatch(/^WritebackError: writing back the output failed: EIO/);
    expect(fs.readdirSync(dir).sort()).toEqual(['config.json', 'model.safetensors', 'released.safetensors']);
  });

  it('with a worker recovering blocks, a NaN in a slab no one reads stops the attack: the typed error, and no output or temporary file left', () => {
    const dir = path.join(home, 'nan-workers');
    const tensors = syntheticCheckpoint({ layout: 'fc', layers: 3, inputDim: O, hiddenDim: H, seed: 'fast-nan-workers', activation: 'gelu' });
    const file = releaseIn(dir, tensors, { model_type: 'opt', hidden_act: 'gelu' }, { order: 8, dtype: 'bf16' });
    const { index, meta } = plantBf16NaN(file, 2);
    withEnvironment({ WEIGHTGAMES_WORKERS: '1' }, () =>
      expect(() => attackReleasedFile(file, path.join(dir, 'recovered.safetensors'), 'consensus', 'test')).toThrow(new RegExp(`tensor ${meta.prefix.replace(/\./g, '\\.')}\\.taylor\\.theta holds NaN \\(a non-finite value\\) at index ${index}:`)),
    );
    expect(fs.readdirSync(dir).sort()).toEqual(['config.json', 'model.safetensors', 'released.safetensors']);
  });

  it('a tolerance no sample meets (every unit short of the margin) goes to the full consensus', () => {
    const { file } = release(home, 'tight', []);
    expect(attackBoth(file, 1e-9).fast).toBeNull();
  });
});
