import { spawnSync } from 'node:child_process';
import { compiledPath } from '../src/kernel/estimate/compiledPath';
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { activations, ActivationName } from '../src/numerics/activations';
import { MlpBlock, runMlp } from '../src/numerics/models/mlp';
import { tensor, Tensor } from '../src/numerics/tensor/tensor';
import { releaseBlock, runReleasedBlock, releaseCheckpoint, loadReleasedModel, CalibrationRange, TaylorOptions, unitsToExpand } from '../schemes/taylormlp';
import { writeSyntheticCheckpoint } from '../src/numerics/models/synthetic';
import { SafetensorsFile, toFloat64 } from '../src/numerics/io/safetensors';
import { findMlpBlocks, loadMlpBlock, LayoutError } from '../src/numerics/models/layouts';
import * as P from '../src/kernel/prob/prob';
import { withMeter } from '../src/kernel/cost/meter';
import { trialContext } from '../src/kernel/prob/challenger';
import { temporaryDirectory } from './helpers/temporaryDirectories';
import { withEnvironment } from './helpers/environment';

const ctx = (label: string) => trialContext(label, 0);

function randomBlock(kind: 'plain' | 'swiglu', d: number, h: number, o: number, seed: string, weightScale = 1): MlpBlock {
  const c = ctx(seed);
  return {
    kind,
    inputDim: d,
    hiddenDim: h,
    outputDim: o,
    first: P.normalArray(h * d, weightScale / Math.sqrt(d))(c),
    firstBias: kind === 'plain' ? P.normalArray(h, 1)(c) : null,
    up: kind === 'swiglu' ? P.normalArray(h * d, 1 / Math.sqrt(d))(c) : null,
    second: P.normalArray(o * h, 1 / Math.sqrt(h))(c),
    secondBias: kind === 'plain' ? P.normalArray(o, 0.1)(c) : null,
  };
}

function inputsIn(rows: number, d: number, seed: string): Tensor {
  const c = ctx(seed);
  return tensor([rows, d], Float64Array.from({ length: rows * d }, () => 2 * c.rng.uniform() - 1));
}

const relErr = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
};

/** The released polynomial computed independently: Σ_n Act⁽ⁿ⁾(z0+b)/n!·(z−z0)ⁿ per unit, through W, plus c. */
function polynomialReference(block: MlpBlock, actName: ActivationName, range: CalibrationRange, expanded: Set<number>, N: number, inputs: Tensor): Float64Array {
  const act = activations[actName];
  const T = inputs.shape[0];
  const { inputDim: d, hiddenDim: h, outputDim: o } = block;
  const out = new Float64Array(T * o);
  for (let t = 0; t < T; t++) {
    const hidden = new Float64Array(h);
    for (let j = 0; j < h; j++) {
      let z = 0;
      for (let k = 0; k < d; k++) z += block.first[j * d + k] * inputs.data[t * d + k];
      let upValue = 1;
      if (block.up !== null) {
        upValue = 0;
        for (let k = 0; k < d; k++) upValue += block.up[j * d + k] * inputs.data[t * d + k];
      }
      const b = block.firstBias === null ? 0 : block.firstBias[j];
      if (!expanded.has(j)) {
        hidden[j] = act.value(z + b) * upValue;
        continue;
      }
      const z0 = (range.min[j] + range.max[j]) / 2;
      const derivs = act.derivatives(z0 + b, N);
      let series = 0;
      let fact = 1;
      for (let n = 0; n <= N; n++) {
        if (n > 0) fact *= n;
        series += (derivs[n] / fact) * Math.pow(z - z0, n);
      }
      hidden[j] = series * upValue;
    }
    for (let i = 0; i < o; i++) {
      let y = block.secondBias === null ? 0 : block.secondBias[i];
      for (let j = 0; j < h; j++) y += block.second[i * h + j] * hidden[j];
      out[t * o + i] = y;
    }
  }
  return out;
}

describe('Run′ is exactly the released polynomial (float64 storage)', () => {
  it('equals Σ_n Act⁽ⁿ⁾(z0+b)/n!·(z−z0)ⁿ pushed through W to 1e-9 relative — any activation, order, expansion, signs, SwiGLU', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<ActivationName>('silu', 'gelu', 'gelu_tanh', 'sigmoid'),
        fc.integer({ min: 0, max: 12 }),
        fc.constantFrom<'plain' | 'swiglu'>('plain', 'swiglu'),
        fc.boolean(),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.nat(1000),
        (actName, N, kind, signs, fraction, seed) => {
          const block = randomBlock(kind, 6, 10, 4, `poly-${seed}`);
          const act = kind === 'swiglu' ? activations.silu : activations[actName];
          const calibration = inputsIn(32, 6, `cal-${seed}`);
          const range: CalibrationRange = (() => {
            const min = new Float64Array(10).fill(Infinity);
            const max = new Float64Array(10).fill(-Infinity);
            for (let t = 0; t < 32; t++)
              for (let j = 0; j < 10; j++) {
                let v = 0;
                for (let k = 0; k < 6; k++) v += block.first[j * 6 + k] * calibration.data[t * 6 + k];
                min[j] = Math.min(min[j], v);
                max[j] = Math.max(max[j], v);
              }
            return { min, max };
          })();
          const options: TaylorOptions = { order: N, expand: { fraction }, signs, dtype: 'f64' };
          const signArray = signs ? Int8Array.from({ length: 10 }, (_, j) => (j % 3 === 0 ? -1 : 1)) : null;
          const released = releaseBlock(block, act, range, options, signArray);
          const inputs = inputsIn(5, 6, `x-${seed}`);
          const ours = runReleasedBlock(released, act, inputs).data;
          const reference = polynomialReference(block, act.name, range, new Set(unitsToExpand(range, { fraction })), N, inputs);
          expect(relErr(ours, reference)).toBeLessThanOrEqual(1e-9);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('costs N+1 products with Θ: FLOPs grow linearly in N', () => {
    const block = randomBlock('plain', 16, 64, 16, 'cost');
    const range = { min: new Float64Array(64).fill(-1), max: new Float64Array(64).fill(1) };
    const inputs = inputsIn(8, 16, 'cost-x');
    const flops = [2, 4, 8].map((N) => withMeter(() => runReleasedBlock(releaseBlock(block, activations.gelu, range, { order: N, dtype: 'f64' }, null), activations.gelu, inputs))[1].flops);
    const perOrder = 2 * 8 * 16 * 64; // one product of Θ_n [16, 64] with 8 token vectors
    expect(flops[1] - flops[0]).toBeGreaterThanOrEqual(2 * perOrder);
    expect(flops[2] - flops[1]).toBeGreaterThanOrEqual(4 * perOrder);
    const run = withMeter(() => runMlp(block, activations.gelu, inputs))[1].flops;
    // Run′ does Run's first product and then N+1 products with Θ where Run does one with W.
    expect(flops[2]).toBeGreaterThanOrEqual(run + 8 * perOrder);
  });
});

describe('convergence of Run′ to Run', () => {
  // GELU is entire, but its Taylor remainder at N = 12 is gelu⁽¹³⁾(ξ)/13!·δ¹³, and
  // max|gelu⁽¹³⁾|/13! is about 1e-6 (see the counterexample below): with |δ| up to 1 the error
  // reaches ~1e-8, so GELU's 1e-9 is met from N = 14 on, not at N = 12.
  it.each([
    ['silu', 12, 1e-5],
    ['sigmoid', 12, 1e-5],
    ['gelu', 14, 1e-9],
    ['gelu_tanh', 12, 1e-5],
  ] as Array<[ActivationName, number, number]>)('%s: on |z − z0| ≤ 1 the error falls with N and at N = %s is ≤ %s', (actName, atOrder, bound) => {
    // V scaled so |z| ≤ 1 on inputs in [−1, 1]^d, and z0 = 0: |z − z0| ≤ 1.
    const d = 8;
    const block = randomBlock('plain', d, 32, 6, `conv-${actName}`);
    const first = block.first.map((v) => v);
    for (let j = 0; j < 32; j++) {
      let norm = 0;
      for (let k = 0; k < d; k++) norm += Math.abs(first[j * d + k]);
      for (let k = 0; k < d; k++) first[j * d + k] /= norm;
    }
    const scaled = { ...block, first };
    const range = { min: new Float64Array(32).fill(-1), max: new Float64Array(32).fill(1) };
    const inputs = inputsIn(64, d, `conv-x-${actName}`);
    const act = activations[actName];
    const exact = runMlp(scaled, act, inputs).data;
    const orders = [2, 4, 8, 12, atOrder].filter((n, i, a) => a.indexOf(n) === i);
    const errors = orders.map((N) => relErr(runReleasedBlock(releaseBlock(scaled, act, range, { order: N, dtype: 'f64' }, null), act, inputs).data, exact));
    for (let i = 1; i < errors.length; i++) expect(errors[i]).toBeLessThan(errors[i - 1]);
    expect(errors[errors.length - 1]).toBeLessThanOrEqual(bound);
  });

  it('GELU at N = 12 cannot reach 1e-9 on |δ| ≤ 1: one unit where the remainder alone is larger', () => {
    // Find where |gelu⁽¹³⁾| peaks on [−6, 6] and expand there with δ = 1.
    let peak = 0;
    let at = 0;
    for (let x = -6; x <= 6; x += 0.001) {
      const v = Math.abs(activations.gelu.derivatives(x, 13)[13]);
      if (v > peak) [peak, at] = [v, x];
    }
    const block: MlpBlock = { kind: 'plain', inputDim: 1, hiddenDim: 1, outputDim: 1, first: new Float64Array([1]), firstBias: new Float64Array([at - 0.5]), up: null, second: new Float64Array([1]), secondBias: new Float64Array([0]) };
    const range = { min: new Float64Array([0]), max: new Float64Array([1]) }; // z0 = 0.5, u = at
    const inputs = tensor([2, 1], new Float64Array([1.5, -0.5])); // δ = ±1
    const exact = runMlp(block, activations.gelu, inputs).data;
    const err12 = relErr(runReleasedBlock(releaseBlock(block, activations.gelu, range, { order: 12, dtype: 'f64' }, null), activations.gelu, inputs).data, exact);
    expect(peak / 6227020800).toBeGreaterThan(1e-7);
    expect(err12).toBeGreaterThan(1e-9);
  });
});

describe('checkpoints', () => {
  const dir = () => temporaryDirectory('wg-tm-');

  it.each([
    ['fc', 'gelu'],
    ['gpt2', 'gelu_new'],
    ['llama', 'silu'],
  ] as const)('%s layout: release → file → Run′ matches Run, metadata recorded, no released tensor equals W or b', (layout, act) => {
    const d0 = dir();
    const input = writeSyntheticCheckpoint(d0, { layout, layers: 2, inputDim: 16, hiddenDim: 48, seed: `ck-${layout}`, activation: act, biasScale: 0.5 });
    const output = path.join(d0, 'released.safetensors');
    const summary = releaseCheckpoint({ input, output, taylor: { order: 16, dtype: 'f64', signs: true }, calibration: { synthetic: { rows: 128, scale: 0.3 } }, seed: 's1', version: 'test' });
    expect(summary.blocks).toHaveLength(2);
    const released = SafetensorsFile.open(output);
    const original = SafetensorsFile.open(input);
    expect(released.metadata).toMatchObject({ scheme: 'taylormlp', order: '16', seed: 's1', dtype: 'f64' });
    expect(released.metadata.calibration).toMatch(/^synthetic/);
    expect(JSON.parse(released.metadata.options)).toMatchObject({ order: 16, signs: true });
    // Non-MLP tensors are copied unchanged; W and b are gone.
    const locations = findMlpBlocks(original.names);
    for (const name of original.names) {
      const isMlp = locations.some((l) => [l.first, l.second, l.firstBias, l.secondBias, l.up].includes(name));
      if (!isMlp) expect(Buffer.from(released.tensor(name).bytes).equals(Buffer.from(original.tensor(name).bytes))).toBe(true);
    }
    const secrets = locations.flatMap((l) => [l.second, l.firstBias, l.secondBias].filter((n): n is string => n !== null)).map((n) => toFloat64(original.tensor(n)));
    for (const l of locations) for (const n of [l.second, l.firstBias, l.secondBias]) if (n !== null) expect(released.has(n)).toBe(false);
    for (const name of released.names) {
      const values = toFloat64(released.tensor(name));
      for (const secret of secrets) {
        const equal = values.length === secret.length && values.every((v, i) => v === secret[i]);
        expect(equal).toBe(false);
      }
    }
    // Run′ from the file matches Run on inputs near the calibration distribution.
    const model = loadReleasedModel(output);
    locations.forEach((location, index) => {
      const block = loadMlpBlock((n) => original.tensor(n), location);
      const inputs = tensor([16, 16], P.normalArray(256, 0.3)(ctx(`run-${layout}-${index}`)));
      const exact = runMlp(block, model.activation, inputs).data;
      expect(relErr(runReleasedBlock(model.blocks[index].block, model.activation, inputs).data, exact)).toBeLessThan(1e-6);
    });
    released.close();
    original.close();
  });

  it('same seed and options → the same file, byte for byte', () => {
    const d0 = dir();
    const input = writeSyntheticCheckpoint(d0, { layout: 'fc', layers: 1, inputDim: 8, hiddenDim: 16, seed: 'repro', activation: 'gelu' });
    const run = (out: string) => releaseCheckpoint({ input, output: path.join(d0, out), taylor: { order: 4, signs: true, expand: { fraction: 0.5 } }, calibration: { synthetic: { rows: 32, scale: 1 } }, seed: 'r', version: 'test' });
    run('a.safetensors');
    run('b.safetensors');
    expect(fs.readFileSync(path.join(d0, 'a.safetensors')).equals(fs.readFileSync(path.join(d0, 'b.safetensors')))).toBe(true);
  });

  it.each(['f32', 'bf16'] as const)('%s: two release workers (slab writes overlapping the arithmetic) write the file one thread writes, byte for byte', (dtype) => {
    const d0 = dir();
    const input = writeSyntheticCheckpoint(d0, { layout: 'llama', layers: 3, inputDim: 32, hiddenDim: 96, seed: 'workers', activation: 'silu' });
    // WEIGHTGAMES_STRICT_WORKERS: a worker's failure is an error here, not a quiet re-run on this thread.
    const run = (out: string, workers: string) =>
      withEnvironment({ WEIGHTGAMES_WORKERS: workers, WEIGHTGAMES_STRICT_WORKERS: '1' }, () =>
        releaseCheckpoint({ input, output: path.join(d0, out), taylor: { order: 6, dtype, signs: true }, calibration: { synthetic: { rows: 32, scale: 1 } }, seed: 'w', version: 'test' }),
      );
    run('one.safetensors', '0');
    run('two.safetensors', '2');
    expect(fs.readFileSync(path.join(d0, 'two.safetensors')).equals(fs.readFileSync(path.join(d0, 'one.safetensors')))).toBe(true);
  });

  it.each(['f32', 'bf16'] as const)('%s: Θ written a few rows of W at a time (big layers: WEIGHTGAMES_SLAB_CHUNK_BYTES) is the same file, byte for byte, biases included', (dtype) => {
    const d0 = dir();
    const input = writeSyntheticCheckpoint(d0, { layout: 'fc', layers: 2, inputDim: 24, hiddenDim: 40, seed: 'chunks', activation: 'gelu', biasScale: 0.5 });
    const run = (out: string, chunkBytes: string | null) =>
      withEnvironment(chunkBytes === null ? {} : { WEIGHTGAMES_SLAB_CHUNK_BYTES: chunkBytes }, () =>
        releaseCheckpoint({ input, output: path.join(d0, out), taylor: { order: 5, dtype, signs: true }, calibration: { synthetic: { rows: 16, scale: 1 } }, seed: 'c', version: 'test' }),
      );
    run('whole.safetensors', null);
    run('chunked.safetensors', String(3 * 40 * 4 + 7)); // 3 rows of W per chunk: 24 rows in 8 chunks
    expect(fs.readFileSync(path.join(d0, 'chunked.safetensors')).equals(fs.readFileSync(path.join(d0, 'whole.safetensors')))).toBe(true);
  });

  it('with workers, a progress callback that throws: its error, after every started block is in (the ones not started are dropped, never waited for), and no file left', () => {
    const d0 = dir();
    const input = writeSyntheticCheckpoint(d0, { layout: 'llama', layers: 6, inputDim: 16, hiddenDim: 48, seed: 'stop', activation: 'silu' });
    const before = fs.readdirSync(d0).sort();
    // Six blocks on two workers: four are queued when the first answer comes. Were they waited for
    // once dropped, the release would block for good: so it runs in a child with a time limit.
    const release = compiledPath(path.join(__dirname, '../schemes/taylormlp/checkpoint.ts'));
    const child = spawnSync(
      process.execPath,
      [
        '-e',
        `let calls = 0;
try {
  require(${JSON.stringify(release)}).releaseCheckpoint({ input: ${JSON.stringify(input)}, output: ${JSON.stringify(path.join(d0, 'stopped.safetensors'))}, taylor: { order: 4 }, calibration: { synthetic: { rows: 8, scale: 1 } }, seed: 's', version: 'test', onBlock: () => { calls++; throw new Error('stop here'); } });
  process.stdout.write(JSON.stringify({ calls, error: null }));
} catch (error) { process.stdout.write(JSON.stringify({ calls, error: error.message })); }`,
      ],
      { encoding: 'utf8', timeout: 30_000, env: { ...process.env, WEIGHTGAMES_WORKERS: '2' } },
    );
    expect(child.signal).toBeNull(); // not killed by the time limit: nothing blocked
    expect(JSON.parse(child.stdout)).toEqual({ calls: 1, error: 'stop here' });
    expect(fs.readdirSync(d0).sort()).toEqual(before);
  });

  it('a checkpoint with no recognisable MLP gets an error that lists what it found', () => {
    expect(() => findMlpBlocks(['embed.weight', 'attn.q.weight'])).toThrow(LayoutError);
    expect(() => findMlpBlocks(['embed.weight', 'attn.q.weight'])).toThrow(/found embed\.weight, attn\.q\.weight/);
  });
});
