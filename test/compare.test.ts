import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { syntheticCheckpoint } from '../src/models/synthetic';
import { writeSafetensors } from '../src/io/safetensors';
import { compareCheckpoints, ShapeMismatchError } from '../adversaries/taylormlp';

describe('compare: Table 1 metric and functional agreement, refusing mismatched shapes', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wg-compare-'));
  const tensors = syntheticCheckpoint({ layout: 'fc', layers: 1, inputDim: 8, hiddenDim: 16, seed: 'cmp', activation: 'gelu' });
  const original = path.join(home, 'original.safetensors');
  writeSafetensors(original, tensors);
  const fc2 = 'model.decoder.layers.0.fc2.weight';

  it('a recovered checkpoint equal to the original: every entry recovered, block outputs identical', () => {
    const c = compareCheckpoints(original, original, 0.01, undefined, { activation: 'gelu' });
    expect(c.total.ratio).toBe(1);
    expect(c.total.outputRelativeError).toBe(0);
    expect(c.functionalInputs).toMatch(/seeded/);
  });

  it('a perturbed W: the ratio drops and the output error is reported', () => {
    const perturbed = new Map(tensors);
    const entry = tensors.get(fc2)!;
    const values = new Float32Array(entry.bytes.buffer.slice(entry.bytes.byteOffset, entry.bytes.byteOffset + entry.bytes.byteLength));
    values[0] *= 1.5;
    perturbed.set(fc2, { ...entry, bytes: new Uint8Array(values.buffer) });
    const file = path.join(home, 'perturbed.safetensors');
    writeSafetensors(file, perturbed);
    const c = compareCheckpoints(original, file, 0.01, undefined, { activation: 'gelu' });
    expect(c.total.recovered).toBe(c.total.parameters - 1);
    expect(c.total.outputRelativeError!).toBeGreaterThan(0);
  });

  it.each([
    ['flattened', (shape: number[]) => [shape[0] * shape[1]]],
    ['transposed', (shape: number[]) => [shape[1], shape[0]]],
  ])('a %s W is refused with a ShapeMismatchError naming the tensor, never scored', (_label, reshape) => {
    const bad = new Map(tensors);
    const entry = tensors.get(fc2)!;
    bad.set(fc2, { ...entry, shape: reshape(entry.shape as number[]) });
    const file = path.join(home, `bad-${_label}.safetensors`);
    writeSafetensors(file, bad);
    expect(() => compareCheckpoints(original, file)).toThrow(ShapeMismatchError);
    expect(() => compareCheckpoints(original, file)).toThrow(/fc2\.weight/);
  });
});
