import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SafetensorsFile, writeSafetensors, encodeFloats } from '../src/numerics/io/safetensors';
import { activationByName } from '../src/numerics/activations';
import { syntheticCheckpoint } from '../src/numerics/models/synthetic';
import { releaseCheckpoint } from '../schemes/taylormlp/checkpoint';
import { readReleasedBlock, releasedInfo } from '../schemes/taylormlp/artifact';
import { consensusRecoverBlock } from '../adversaries/taylormlp/consensus';
import { fastApplies, fastRecoverBlock } from '../adversaries/taylormlp/fastAttack';
import { UnitClass } from '../adversaries/taylormlp/recovered';

/**
 * The sampled attack path (adversaries/taylormlp/fastAttack.ts) on a block big enough for it: 256
 * outputs × 32 hidden units (fc layout, GELU, N = 6, f32, signs). It must recover W within 1 % of
 * each unit's largest entry, entry by entry, give the full consensus's classes, and leave a block
 * with a unit short of exact (a dead unit: W's column zero) to the full consensus (null).
 */

const PREFIX = 'model.decoder.layers.0';
const O = 256;
const H = 32;

function release(home: string, name: string, deadUnit: number | null, dtype: 'f32' | 'f64' = 'f32'): { file: string; W: Float32Array } {
  const dir = path.join(home, name);
  fs.mkdirSync(dir, { recursive: true });
  const tensors = syntheticCheckpoint({ layout: 'fc', layers: 1, inputDim: O, hiddenDim: H, seed: 'fast-attack', activation: 'gelu' });
  const second = tensors.get(`${PREFIX}.fc2.weight`)!;
  const W = new Float32Array(second.bytes.slice().buffer);
  if (deadUnit !== null) {
    for (let i = 0; i < O; i++) W[i * H + deadUnit] = 0;
    tensors.set(`${PREFIX}.fc2.weight`, { ...second, bytes: encodeFloats(Float64Array.from(W), 'F32') });
  }
  const input = path.join(dir, 'model.safetensors');
  writeSafetensors(input, tensors, {});
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'opt', hidden_act: 'gelu' }));
  const output = path.join(dir, 'released.safetensors');
  releaseCheckpoint({ input, output, taylor: { order: 6, dtype, signs: true }, calibration: { synthetic: { rows: 64, scale: 1 } }, seed: 'fast', version: 'test' });
  return { file: output, W };
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
    const copy = fast === null ? null : { ...fast, second: new Float32Array(fast.tensors.get(meta.second)!.bytes.slice().buffer), unitClass: fast.unitClass.slice() };
    const full = consensusRecoverBlock(block, act, info.dtype, { signs: true, tol });
    return { fast: copy, full };
  } finally {
    released.close();
  }
}

describe('the sampled attack path (fastAttack.ts)', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wg-fast-attack-'));
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  it.each(['f32', 'f64'] as const)('%s: recovers W within 1 %% on every unit, with the full consensus’s classes', (dtype) => {
    const { file, W } = release(home, `ok-${dtype}`, null, dtype);
    const { fast, full } = attackBoth(file);
    expect(fast).not.toBeNull();
    expect(Array.from(fast!.unitClass)).toEqual(Array.from(full.unitClass!));
    expect(Array.from(fast!.unitClass).every((c) => c === UnitClass.exact)).toBe(true);
    for (let j = 0; j < H; j++) {
      let largest = 0;
      for (let i = 0; i < O; i++) largest = Math.max(largest, Math.abs(W[i * H + j]));
      for (let i = 0; i < O; i++) expect(Math.abs(fast!.second[i * H + j] - W[i * H + j])).toBeLessThanOrEqual(0.01 * largest);
    }
  });

  it('a block with a unit short of exact (a dead unit) goes to the full consensus', () => {
    const { file } = release(home, 'dead', 5);
    const { fast, full } = attackBoth(file);
    expect(full.unitClass![5]).not.toBe(UnitClass.exact);
    expect(fast).toBeNull();
  });

  it('a tolerance no sample meets (every unit short of the margin) goes to the full consensus', () => {
    const { file } = release(home, 'tight', null);
    expect(attackBoth(file, 1e-9).fast).toBeNull();
  });
});
