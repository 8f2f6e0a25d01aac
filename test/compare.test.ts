import * as path from 'node:path';
import { syntheticCheckpoint } from '../src/numerics/models/synthetic';
import { encodeFloats, SafetensorsFile, toFloat64, writeSafetensors } from '../src/numerics/io/safetensors';
import { writeSyntheticGpt2 } from '../src/numerics/models/gpt2';
import { findMlpBlocks, loadMlpBlock } from '../src/numerics/models/layouts';
import { runMlp } from '../src/numerics/models/mlp';
import { activations } from '../src/numerics/activations';
import { tensor } from '../src/numerics/tensor/tensor';
import { compareCheckpoints, ShapeMismatchError } from '../adversaries/taylormlp';
import { temporaryDirectory } from './helpers/temporaryDirectories';

describe('compare: Table 1 metric and functional agreement, refusing mismatched shapes', () => {
  const home = temporaryDirectory('wg-compare-');
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

  it('the ratio over units whose class says W is determined (unit_classes metadata), beside the ratio over all', () => {
    // Unit 0 is written as a product-only representative (W off by 50 %); unit 1 exact but wrong in one entry.
    const h = 16;
    const entry = tensors.get(fc2)!;
    const values = new Float32Array(entry.bytes.buffer.slice(entry.bytes.byteOffset, entry.bytes.byteOffset + entry.bytes.byteLength));
    const rows = values.length / h;
    for (let i = 0; i < rows; i++) values[i * h] *= 1.5;
    values[1] *= 1.5;
    const classed = new Map(tensors);
    classed.set(fc2, { ...entry, bytes: new Uint8Array(values.buffer) });
    const file = path.join(home, 'classed.safetensors');
    writeSafetensors(file, classed, { 'unit_classes.model.decoder.layers.0': '2' + '0'.repeat(h - 1) });
    const c = compareCheckpoints(original, file, 0.01, undefined, { activation: 'gelu' });
    expect(c.total.recovered).toBe(c.total.parameters - rows - 1);
    expect(c.total.determined).toEqual({ units: h - 1, parameters: rows * (h - 1), recovered: rows * (h - 1) - 1, ratio: (rows * (h - 1) - 1) / (rows * (h - 1)) });
    // Without classes there is nothing to restrict to.
    expect(compareCheckpoints(original, original).total.determined).toBeNull();
  });

  it('block-output error on recorded inputs (--inputs) when given', () => {
    const [location] = findMlpBlocks([...tensors.keys()]);
    const block = loadMlpBlock((n) => SafetensorsFile.open(original).tensor(n), location);
    const recorded = Float64Array.from({ length: 5 * 8 }, (_, q) => Math.sin(q) * 3);
    const inputs = path.join(home, 'inputs.safetensors');
    writeSafetensors(inputs, new Map([['layers.0.mlp_input', { dtype: 'F32' as const, shape: [5, 8], bytes: encodeFloats(recorded, 'F32') }]]));
    const perturbed = new Map(tensors);
    const bias = 'model.decoder.layers.0.fc2.bias';
    const c0 = toFloat64(SafetensorsFile.open(original).tensor(bias));
    perturbed.set(bias, { dtype: 'F32', shape: [c0.length], bytes: encodeFloats(c0.map((v) => v + 0.01), 'F32') });
    const file = path.join(home, 'bias-shift.safetensors');
    writeSafetensors(file, perturbed);
    const c = compareCheckpoints(original, file, 0.01, undefined, { activation: 'gelu', inputs });
    expect(c.functionalInputs).toMatch(/recorded/);
    const x = tensor([5, 8], Float64Array.from(new Float32Array(recorded)));
    const y = runMlp(block, activations.gelu, x).data;
    const norm = Math.sqrt(Array.from(y).reduce((a, v) => a + v * v, 0));
    expect(c.total.outputRelativeError!).toBeCloseTo((0.01 * Math.sqrt(y.length)) / norm, 5);
  });

  it('whole models: greedy-token agreement of the original against itself and against a broken MLP', () => {
    const dir = path.join(home, 'gpt2');
    const model = writeSyntheticGpt2(dir, { seed: 'cmp', d: 16, heads: 2, layers: 2, vocab: 40, positions: 32 });
    const same = compareCheckpoints(model, model, 0.01, undefined, { activation: 'gelu_tanh' });
    expect(same.greedy).toMatchObject({ model: 'gpt2', prompts: 8, identical: 8 });
    expect(same.greedy!.agreeingTokens).toBe(same.greedy!.tokens);
    // W of every block negated: the continuations differ.
    const file = SafetensorsFile.open(model);
    const broken = new Map(file.names.map((n) => [n, { dtype: 'F32' as const, shape: file.tensor(n).shape as number[], bytes: encodeFloats(toFloat64(file.tensor(n)).map((v) => (n.endsWith('mlp.c_proj.weight') ? -4 * v : v)), 'F32') }]));
    file.close();
    const brokenFile = path.join(home, 'broken.safetensors');
    writeSafetensors(brokenFile, broken);
    const c = compareCheckpoints(model, brokenFile, 0.01, undefined, { activation: 'gelu_tanh' });
    expect(c.greedy!.agreeingTokens).toBeLessThan(c.greedy!.tokens);
    // Not a whole model (no config.json beside it): no greedy agreement.
    expect(compareCheckpoints(original, original).greedy).toBeNull();
  });
});
