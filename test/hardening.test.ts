/**
 * Issue 14: what a red team found in the CLI's paths, numbers, signals and release checks. One
 * describe per defect, numbered as in the issue (item 6, compare's shape checks, is tested with
 * compare). Every case drives the built CLI as a user would and checks a real property: the exit
 * code of the error's kind, one line on stderr, and what is (not) on disk afterwards.
 */
import fc from 'fast-check';
import { spawn, spawnSync, SpawnSyncReturns } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeSyntheticCheckpoint } from '../src/numerics/models/synthetic';
import { DTYPE_SIZES, SafetensorsFile, readSafetensors, writeSafetensors, encodeFloats, firstNonFinite, toFloat64, TensorToWrite } from '../src/numerics/io/safetensors';
import { STORIES, haveStories, itWithStories } from './helpers/shared';
import { ErrorKind, WeightgamesError, errorKind } from '../src/kernel/errors';
import { InputFileError, OutputPathError } from '../src/numerics/io/paths';
import { SafetensorsError } from '../src/numerics/io/safetensors';
import { StrictJsonError } from '../src/numerics/io/strictJson';
import { LayoutError } from '../src/numerics/models/layouts';
import { ModelError } from '../src/numerics/models/llama';
import { TokenizerError } from '../src/numerics/models/tokenizer';
import { ActivationError } from '../src/numerics/activations';
import { ShapeError } from '../src/numerics/tensor/tensor';
import { CalibrationError, NonFiniteReleaseError, NonFiniteWeightError, ReleasedFileError, StorageOverflowError, TaylorOptionsError } from '../schemes/taylormlp';
import { ReleaseUsageError } from '../src/app/cli/release';
import { CliUsageError } from '../src/app/cli/main';
import { temporaryDirectory } from './helpers/temporaryDirectories';

/** SafetensorsError takes the problem first. */
class SafetensorsErrorAs extends SafetensorsError {
  constructor(message: string) {
    super('bad-entry', message);
  }
}

const cli = path.resolve(__dirname, '../dist/src/app/cli/main.js');
const run = (args: string[], options: { cwd?: string; timeout?: number; env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<string> =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', ...options });
const dir = () => temporaryDirectory('wg-hard-');
const RELEASE = ['--scheme', 'taylormlp', '--order', '6'];
const sha256 = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** A failure as the CLI must report it: this exit code, one line naming the problem, no stack trace. */
function expectFailure(r: SpawnSyncReturns<string>, code: number, message: RegExp): void {
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: code, stderr: expect.stringMatching(message) });
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

const small = (d: string, seed = 'hard') => writeSyntheticCheckpoint(d, { layout: 'fc', layers: 2, inputDim: 8, hiddenDim: 16, seed, activation: 'gelu' });

/** Copy a safetensors file with its tensors and metadata edited. */
function rewrite(from: string, to: string, edit: (tensors: Map<string, TensorToWrite>, metadata: Record<string, string>) => void): void {
  const { tensors, metadata } = readSafetensors(from);
  const copy = new Map<string, TensorToWrite>([...tensors].map(([n, t]) => [n, { dtype: t.dtype, shape: [...t.shape], bytes: Uint8Array.from(t.bytes) }]));
  const meta = { ...metadata };
  edit(copy, meta);
  writeSafetensors(to, copy, meta);
}
const f32 = (values: number[], shape: number[]): TensorToWrite => ({ dtype: 'F32', shape, bytes: encodeFloats(values, 'F32') });
const i32 = (values: number[]): TensorToWrite => {
  const bytes = new Uint8Array(values.length * 4);
  values.forEach((v, i) => new DataView(bytes.buffer).setInt32(i * 4, v, true));
  return { dtype: 'I32', shape: [values.length], bytes };
};
const fill = (t: TensorToWrite, value: number): TensorToWrite => f32(new Array(t.bytes.length / 4).fill(value), [...t.shape]);

/** Every file under `root` (recursively), relative. */
const tree = (root: string): string[] =>
  fs.readdirSync(root, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? [`${e.name}/`, ...tree(path.join(root, e.name)).map((f) => `${e.name}/${f}`)] : [e.name])).sort();

describe('1. inputs are never overwritten, whatever path names them (file identity, not path strings)', () => {
  it('release through a symlinked input, a symlinked directory, and onto the calibration; attack onto its release', () => {
    const d = dir();
    const model = small(d);
    const bytes = fs.readFileSync(model);
    fs.symlinkSync('model.safetensors', path.join(d, 'in.safetensors'));
    expectFailure(run(['release', path.join(d, 'in.safetensors'), model, ...RELEASE]), 3, /refusing to overwrite the input/);
    fs.symlinkSync(d, path.join(os.tmpdir(), `wg-latest-${process.pid}`));
    const latest = path.join(os.tmpdir(), `wg-latest-${process.pid}`);
    try {
      expectFailure(run(['release', model, path.join(latest, 'model.safetensors'), ...RELEASE]), 3, /refusing to overwrite the input/);
      // a hard link is the same file too
      fs.linkSync(model, path.join(d, 'hard.safetensors'));
      expectFailure(run(['release', model, path.join(d, 'hard.safetensors'), ...RELEASE]), 3, /refusing to overwrite the input/);
      fs.rmSync(path.join(d, 'hard.safetensors'));
      // the calibration file, named through the symlinked directory
      const calibration = path.join(d, 'calibration.safetensors');
      writeSafetensors(calibration, { 'layers.0.mlp_input': f32(new Array(32).fill(0.5), [4, 8]), 'layers.1.mlp_input': f32(new Array(32).fill(0.5), [4, 8]) });
      const calibrationBytes = fs.readFileSync(calibration);
      expectFailure(run(['release', model, path.join(latest, 'calibration.safetensors'), ...RELEASE, '--calibration', calibration]), 3, /refusing to overwrite the input/);
      expect(fs.readFileSync(calibration).equals(calibrationBytes)).toBe(true);
      // attack onto its own release through the symlinked directory
      const released = path.join(d, 'released.safetensors');
      expect(run(['release', model, released, ...RELEASE]).status).toBe(0);
      const releasedBytes = fs.readFileSync(released);
      expectFailure(run(['attack', released, path.join(latest, 'released.safetensors')]), 3, /refusing to overwrite the input/);
      expect(fs.readFileSync(released).equals(releasedBytes)).toBe(true);
    } finally {
      fs.rmSync(latest);
    }
    expect(fs.readFileSync(model).equals(bytes)).toBe(true);
  });
});

describe('2. a non-finite calibration is refused, naming the layer and the cause', () => {
  it.each([
    ['one Inf', (rows: number[]) => ((rows[5] = Infinity), rows), 4],
    ['all NaN', (rows: number[]) => rows.map(() => NaN), 4],
    ['0 rows', () => [] as number[], 0],
  ] as const)('%s → exit 3, nothing written', (_what, corrupt, rows) => {
    const d = dir();
    const model = small(d);
    const calibration = path.join(d, 'calibration.safetensors');
    const good = () => Array.from({ length: 32 }, (_, i) => Math.sin(i));
    writeSafetensors(calibration, { 'layers.0.mlp_input': f32(good(), [4, 8]), 'layers.1.mlp_input': f32(corrupt(good()), [rows, 8]) });
    const out = path.join(d, 'released.safetensors');
    expectFailure(run(['release', model, out, ...RELEASE, '--calibration', calibration]), 3, /CalibrationError: .*layers\.1.*(non-finite|no rows)/);
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe('3. coefficients that overflow the storage dtype are refused (or stored wider when asked)', () => {
  /** The small model with layer 1's first bias set to `bias` and its W to `weight` (and its config.json beside it), in a directory of its own. */
  const hotCheckpoint = (bias: number, weight: number): { d: string; hot: string } => {
    const d = dir();
    const model = small(d);
    const hot = path.join(d, 'hot', 'model.safetensors');
    fs.mkdirSync(path.dirname(hot));
    fs.copyFileSync(path.join(d, 'config.json'), path.join(d, 'hot', 'config.json'));
    rewrite(model, hot, (t) => {
      t.set('model.decoder.layers.1.fc1.bias', fill(t.get('model.decoder.layers.1.fc1.bias')!, bias));
      t.set('model.decoder.layers.1.fc2.weight', fill(t.get('model.decoder.layers.1.fc2.weight')!, weight));
    });
    return { d, hot };
  };

  it.each([
    ['f16', 100, 1000],
    ['f32', 1e6, 1e35],
  ] as const)('%s: b = %s, W = %s → exit 3 naming the layer and the dtype; --widen stores a finite release', (dtype, bias, weight) => {
    const { d, hot } = hotCheckpoint(bias, weight);
    const out = path.join(d, 'released.safetensors');
    expectFailure(run(['release', hot, out, ...RELEASE, '--dtype', dtype]), 3, new RegExp(`StorageOverflowError: .*layers\\.1.* overflows? ${dtype}`));
    expect(fs.existsSync(out)).toBe(false);
    const widened = run(['release', hot, out, ...RELEASE, '--dtype', dtype, '--widen', '--json']);
    expect(widened.status).toBe(0);
    const file = SafetensorsFile.open(out);
    expect(file.metadata.dtype).not.toBe(dtype);
    expect(JSON.parse(widened.stdout).dtype).toBe(file.metadata.dtype);
    for (const name of file.names) if (file.header.entries.find((e) => e.name === name)!.dtype !== 'I32') expect(toFloat64(file.tensor(name)).every(Number.isFinite)).toBe(true);
    file.close();
  });

  it('with two release workers (each block planned and written in one task, the header already out): the same refusal, and nothing left behind', () => {
    const { hot } = hotCheckpoint(100, 1000);
    const out = path.join(path.dirname(hot), 'released.safetensors');
    const before = fs.readdirSync(path.dirname(out)).sort();
    expectFailure(run(['release', hot, out, ...RELEASE, '--dtype', 'f16'], { env: { ...process.env, WEIGHTGAMES_WORKERS: '2' } }), 3, /StorageOverflowError: .*layers\.1.* overflows? f16/);
    expect(fs.readdirSync(path.dirname(out)).sort()).toEqual(before); // no output, no temporary file
  });
});

describe('4. SIGINT, SIGTERM and SIGHUP remove the temporary files, then exit 128 + n', () => {
  /** Start the CLI, wait until `ready()` holds, send `signal`; resolve with the exit code. */
  async function interrupt(args: string[], signal: NodeJS.Signals, ready: () => boolean, env?: NodeJS.ProcessEnv): Promise<{ code: number | null; sawWork: boolean }> {
    const child = spawn(process.execPath, [cli, ...args], { env: env ?? process.env, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let done = false;
    void exited.then(() => (done = true));
    const sawWork = await new Promise<boolean>((resolve) => {
      const poll = setInterval(() => {
        if (done) return clearInterval(poll), resolve(false);
        if (ready()) {
          clearInterval(poll);
          child.kill(signal);
          resolve(true);
        }
      }, 5);
    });
    return { code: await exited, sawWork };
  }
  const growing = (d: string) => () => fs.readdirSync(d).some((f) => f.endsWith('.tmp') && fs.statSync(path.join(d, f)).size > 0);

  it('a release killed mid-write (SIGINT, SIGTERM, SIGHUP) leaves no temporary file; an attack likewise', async () => {
    const d = dir();
    const input = writeSyntheticCheckpoint(d, { layout: 'fc', layers: 4, inputDim: 512, hiddenDim: 2048, seed: 'kill', activation: 'gelu' });
    const before = fs.readFileSync(input);
    const output = path.join(d, 'released.safetensors');
    for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
      const r = await interrupt(['release', input, output, '--scheme', 'taylormlp', '--order', '12'], signal, growing(d));
      expect({ signal, ...r }).toEqual({ signal, code, sawWork: true });
      expect(fs.readdirSync(d).sort()).toEqual(['config.json', 'model.safetensors']);
    }
    expect(fs.readFileSync(input).equals(before)).toBe(true);
    expect(run(['release', input, output, '--scheme', 'taylormlp', '--order', '12']).status).toBe(0);
    const r = await interrupt(['attack', output, path.join(d, 'recovered.safetensors')], 'SIGINT', growing(d));
    expect(r).toEqual({ code: 130, sawWork: true });
    expect(fs.readdirSync(d).sort()).toEqual(['config.json', 'model.safetensors', 'released.safetensors']);
  });

  it('an interrupted case study leaves nothing in the temporary folder', async () => {
    const tmp = dir();
    const out = dir();
    const r = await interrupt(['case-study', '--out', out, '--stories', path.join(tmp, 'absent')], 'SIGINT', () => tree(tmp).some((f) => f.endsWith('.safetensors')), { ...process.env, TMPDIR: tmp });
    expect(r).toEqual({ code: 130, sawWork: true });
    expect(tree(tmp)).toEqual([]);
  });
});

describe('5. outputs are regular files or absent: never a device, a FIFO or a symlink', () => {
  it('refuses a device node, a FIFO and a symlink, and leaves them as they were', () => {
    const d = dir();
    const model = small(d);
    // A null device of our own (never the system's /dev/null: on a build that replaces devices, as
    // this one did, the test must not damage the machine). Needs root; else only FIFO and symlink.
    const device = path.join(d, 'null');
    if (spawnSync('mknod', ['-m', '666', device, 'c', '1', '3']).status === 0) {
      const before = fs.lstatSync(device);
      expectFailure(run(['release', model, device, ...RELEASE]), 3, /OutputPathError: .*null is not a regular file/);
      const after = fs.lstatSync(device);
      expect([after.isCharacterDevice(), after.rdev, after.ino]).toEqual([true, before.rdev, before.ino]);
    } else console.warn('device case skipped: mknod needs root');
    const fifo = path.join(d, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    expectFailure(run(['release', model, fifo, ...RELEASE], { timeout: 20_000 }), 3, /is not a regular file/);
    expect(fs.lstatSync(fifo).isFIFO()).toBe(true);
    const target = path.join(d, 'target.bin');
    fs.writeFileSync(target, 'keep');
    fs.symlinkSync(target, path.join(d, 'link.safetensors'));
    expectFailure(run(['release', model, path.join(d, 'link.safetensors'), ...RELEASE]), 3, /is a symbolic link/);
    expect(fs.lstatSync(path.join(d, 'link.safetensors')).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(target, 'utf8')).toBe('keep');
    const released = path.join(d, 'released.safetensors');
    expect(run(['release', model, released, ...RELEASE]).status).toBe(0);
    expectFailure(run(['attack', released, path.join(d, 'link.safetensors')]), 3, /is a symbolic link/);
    expect(fs.readFileSync(target, 'utf8')).toBe('keep');
  });
});

describe('7. generate bounds the context by max_position_embeddings, prompt included', () => {
  const copyStories = (d: string) => {
    for (const f of ['config.json', 'model.safetensors', 'tok512.bin']) fs.copyFileSync(path.join(STORIES, f), path.join(d, f));
    return d;
  };
  itWithStories('a 10,000-character prompt is refused at once; new tokens stop at the context end', () => {
    const r = run(['generate', STORIES, '--prompt', 'Once upon a time '.repeat(600)], { timeout: 30_000 });
    expectFailure(r, 2, /--prompt .* max_position_embeddings = 512/);
    // A context of 24 positions: prompt + generated tokens ≤ 24, however many tokens are asked for.
    const d = copyStories(dir());
    const config = JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8'));
    fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify({ ...config, max_position_embeddings: 24 }));
    const g = run(['generate', d, '--prompt', 'Once upon a time', '--tokens', '200', '--temperature', '1', '--json']);
    expect(g.status).toBe(0);
    const result = JSON.parse(g.stdout);
    expect(result.promptTokens + result.original.tokens.length).toBeLessThanOrEqual(24);
    expect(result.original.tokens.length).toBeGreaterThan(0);
  });
});

describe('8. the order range of release is the one attack reads', () => {
  it('--order 24 is refused by release; --order 23 is released and attacked', () => {
    const d = dir();
    const model = writeSyntheticCheckpoint(d, { layout: 'fc', layers: 1, inputDim: 8, hiddenDim: 16, seed: 'order', activation: 'gelu' });
    const out = path.join(d, 'released.safetensors');
    expectFailure(run(['release', model, out, '--scheme', 'taylormlp', '--order', '24']), 2, /order N must be an integer in \[0, 23\]/);
    expect(run(['release', model, out, '--scheme', 'taylormlp', '--order', '23']).status).toBe(0);
    const a = run(['attack', out, path.join(d, 'recovered.safetensors')]);
    expect(a.stderr).toBe('');
    expect(a.status).toBe(0);
  });
});

describe('9. --mask-threshold must be a finite positive number', () => {
  it.each(['Infinity', '1e309', 'NaN', '-1', '0x10'])('--mask-threshold %s → exit 2, nothing written', (threshold) => {
    const d = dir();
    const model = small(d);
    const out = path.join(d, 'released.safetensors');
    expectFailure(run(['release', model, out, ...RELEASE, '--mask-order', '2', '--mask-threshold', threshold]), 2, /--mask-threshold must be a finite positive number/);
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe('10. release never overwrites the config.json it reads', () => {
  it('output = the config.json beside the input → exit 3, config unchanged', () => {
    const d = dir();
    const model = small(d);
    const config = fs.readFileSync(path.join(d, 'config.json'));
    expectFailure(run(['release', model, path.join(d, 'config.json'), ...RELEASE]), 3, /refusing to overwrite the input .*config\.json/);
    expect(fs.readFileSync(path.join(d, 'config.json')).equals(config)).toBe(true);
  });
});

describe("11. attack checks a release's structure before recovering anything", () => {
  const released = (d: string) => {
    const model = small(d);
    const out = path.join(d, 'released.safetensors');
    expect(run(['release', model, out, ...RELEASE, '--expand', '50%']).status).toBe(0);
    return out;
  };
  const blocksOf = (m: Record<string, string>): Array<Record<string, unknown>> => JSON.parse(m.blocks) as Array<Record<string, unknown>>;
  type Edit = (t: Map<string, TensorToWrite>, m: Record<string, string>) => void;
  const cases: Array<[string, Edit, RegExp]> = [
    ['a duplicate expanded index', (t) => {
      const e = Array.from(toFloat64({ name: '', ...t.get('model.decoder.layers.0.taylor.expanded_units')! }));
      e[1] = e[0];
      t.set('model.decoder.layers.0.taylor.expanded_units', i32(e));
    }, /expanded_units.* (twice|more than once)/],
    ['an index out of range', (t) => {
      const e = Array.from(toFloat64({ name: '', ...t.get('model.decoder.layers.0.taylor.expanded_units')! }));
      e[0] = 16;
      t.set('model.decoder.layers.0.taylor.expanded_units', i32(e));
    }, /out of range/],
    ['no blocks', (_t, m) => {
      m.blocks = '[]';
    }, /no (MLP )?block/],
    ['a duplicated block', (_t, m) => {
      m.blocks = JSON.stringify([blocksOf(m)[0], blocksOf(m)[0]]);
    }, /(twice|more than once)/],
    ['a block whose θ is missing', (t) => {
      t.delete('model.decoder.layers.1.taylor.theta');
    }, /model\.decoder\.layers\.1\.taylor\.theta/],
    ['released tensors of a block the metadata omits', (_t, m) => {
      m.blocks = JSON.stringify([blocksOf(m)[0]]);
    }, /layers\.1\.taylor.* no block/],
  ];
  it.each(cases)('%s → exit 3 before any work, nothing written', (_what, edit, message) => {
    const d = dir();
    const bad = path.join(d, 'bad.safetensors');
    rewrite(released(d), bad, edit);
    const out = path.join(d, 'recovered.safetensors');
    expectFailure(run(['attack', bad, out]), 3, message);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('an activation no attack knows, with a worker started before the release is checked → exit 3, one line, nothing written (the worker does not crash the process)', () => {
    const d = dir();
    const bad = path.join(d, 'bad.safetensors');
    rewrite(released(d), bad, (_t, m) => {
      m.activation = 'relu';
    });
    const out = path.join(d, 'recovered.safetensors');
    expectFailure(run(['attack', bad, out], { env: { ...process.env, WEIGHTGAMES_WORKERS: '1' } }), 3, /unsupported activation "relu"/);
    expect(fs.readdirSync(d).sort()).toEqual(['bad.safetensors', 'config.json', 'model.safetensors', 'released.safetensors']);
  });
});

describe('12. attack never copies NaN from tensors released in the clear', () => {
  // A clear tensor copied as is, a clear tensor of a block, and (forged) Θ: none reaches the output.
  it.each(['model.decoder.layers.0.final_layer_norm.weight', 'model.decoder.layers.1.fc1.weight', 'model.decoder.layers.1.taylor.theta'])('NaN in %s → exit 3, nothing written', (name) => {
    const d = dir();
    const model = small(d);
    const out = path.join(d, 'released.safetensors');
    expect(run(['release', model, out, ...RELEASE]).status).toBe(0);
    const bad = path.join(d, 'bad.safetensors');
    rewrite(out, bad, (t) => {
      const values = Array.from(toFloat64({ name, ...t.get(name)! }));
      values[3] = NaN;
      t.set(name, f32(values, [...t.get(name)!.shape]));
    });
    const recovered = path.join(d, 'recovered.safetensors');
    expectFailure(run(['attack', bad, recovered]), 3, new RegExp(`${name.replace(/\./g, '\\.')}.* NaN`));
    expect(fs.existsSync(recovered)).toBe(false);
  });
});

describe('12. (the scan) firstNonFinite reads the stored bits of every float dtype', () => {
  it('finds the first NaN or ±∞ exactly where widening to float64 does', () => {
    const values = [0, -1.5, 65504, 1e-8, 3e38, -2, Infinity, NaN, -Infinity, 7];
    for (const dtype of ['F64', 'F32', 'F16', 'BF16'] as const) {
      for (let start = 0; start < values.length; start++) {
        const slice = values.slice(start);
        const bytes = encodeFloats(slice, dtype);
        // Aligned (a typed view) and at an odd byte offset (the DataView): the same answer.
        const unaligned = new Uint8Array(bytes.length + 1).subarray(1);
        unaligned.set(bytes);
        for (const b of [bytes, unaligned]) {
          const stored = { name: 't', dtype, shape: [slice.length], bytes: b };
          expect(firstNonFinite(stored)).toBe(Array.from(toFloat64(stored)).findIndex((v) => !Number.isFinite(v)));
        }
      }
    }
  });

  it('long tensors at every alignment (the scan reads words in blocks): the first NaN or ±∞ wherever it is, or none', () => {
    const specials = [NaN, Infinity, -Infinity];
    fc.assert(
      fc.property(
        fc.constantFrom('F32' as const, 'F16' as const, 'BF16' as const),
        fc.integer({ min: 0, max: 90 }),
        fc.array(fc.tuple(fc.nat(), fc.constantFrom(0, 1, 2)), { maxLength: 3 }),
        fc.constantFrom(0, 2, 4, 6),
        (dtype, n, planted, offset) => {
          const values = Array.from({ length: n }, (_, i) => ((i * 37) % 11) - 5 + i / 7);
          for (const [at, which] of planted) if (n > 0) values[at % n] = specials[which];
          const encoded = encodeFloats(values, dtype);
          const bytes = new Uint8Array(encoded.length + 8).subarray(offset, offset + encoded.length);
          bytes.set(encoded);
          if (bytes.byteOffset % DTYPE_SIZES[dtype] !== 0) return; // F32 at offsets 2 and 6: the DataView path, tested above
          const stored = { name: 't', dtype, shape: [n], bytes };
          expect(firstNonFinite(stored)).toBe(Array.from(toFloat64(stored)).findIndex((v) => !Number.isFinite(v)));
        },
      ),
      { numRuns: 400, seed: 12 },
    );
  });
});

describe('13. bad input exits 3, whatever part of the input is bad', () => {
  it('a directory as input or calibration, an output that is a directory, a name too long', () => {
    const d = dir();
    const model = small(d);
    fs.mkdirSync(path.join(d, 'sub'));
    expectFailure(run(['release', path.join(d, 'sub'), path.join(d, 'o.safetensors'), ...RELEASE]), 3, /sub is a directory/);
    expectFailure(run(['release', model, path.join(d, 'o.safetensors'), ...RELEASE, '--calibration', path.join(d, 'sub')]), 3, /sub is a directory/);
    expectFailure(run(['release', model, path.join(d, 'sub'), ...RELEASE]), 3, /sub is a directory/);
    expectFailure(run(['attack', path.join(d, 'sub'), path.join(d, 'o.safetensors')]), 3, /sub is a directory/);
    expectFailure(run(['release', model, path.join(d, `${'n'.repeat(300)}.safetensors`), ...RELEASE]), 3, /name too long/);
    expect(fs.readdirSync(d).sort()).toEqual(['config.json', 'model.safetensors', 'sub']);
  });

  itWithStories('a corrupt tokenizer, a config with missing fields, --released of another model or with a layer missing', () => {
    const d = dir();
    for (const f of ['config.json', 'model.safetensors', 'tok512.bin']) fs.copyFileSync(path.join(STORIES, f), path.join(d, f));
    const tok = fs.readFileSync(path.join(d, 'tok512.bin'));
    const corrupt = Buffer.from(tok);
    corrupt.writeInt32LE(0x7fffffff, 8); // token 0's length
    fs.writeFileSync(path.join(d, 'tok512.bin'), corrupt);
    expectFailure(run(['generate', d, '--tokens', '2']), 3, /TokenizerError/);
    fs.writeFileSync(path.join(d, 'tok512.bin'), tok);
    const config = JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8'));
    const { hidden_size: _dropped, ...missing } = config;
    fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify(missing));
    expectFailure(run(['generate', d, '--tokens', '2']), 3, /ModelError: .*hidden_size/);
    fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify(config));
    const other = dir();
    const otherRelease = path.join(other, 'released.safetensors');
    expect(run(['release', small(other), otherRelease, ...RELEASE]).status).toBe(0);
    expectFailure(run(['generate', d, '--tokens', '2', '--released', otherRelease]), 3, /ReleasedFileError: .*(layer|shape|dimension)/);
    const storiesRelease = path.join(other, 'stories.safetensors');
    expect(run(['release', path.join(d, 'model.safetensors'), storiesRelease, ...RELEASE]).status).toBe(0);
    const partial = path.join(other, 'partial.safetensors');
    rewrite(storiesRelease, partial, (t, m) => {
      m.blocks = JSON.stringify((JSON.parse(m.blocks) as Array<{ layer: number }>).filter((b) => b.layer !== 4));
      for (const name of [...t.keys()]) if (name.startsWith('model.layers.4.mlp.')) t.delete(name);
    });
    expectFailure(run(['generate', d, '--tokens', '2', '--released', partial]), 3, /ReleasedFileError: .*no released MLP for layer 4/);
  });

  const canMount = process.getuid?.() === 0 && spawnSync('which', ['mount']).status === 0;
  (canMount ? it : it.skip)('a read-only file system (EROFS) is bad input, found before any work', () => {
    const d = dir();
    const model = small(d);
    const ro = path.join(d, 'ro');
    fs.mkdirSync(ro);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro]);
    if (mounted.status !== 0) return console.warn(`EROFS case skipped: mount failed (${mounted.stderr})`);
    try {
      expectFailure(run(['release', model, path.join(ro, 'out.safetensors'), ...RELEASE]), 3, /read-only file system/);
      const released = path.join(d, 'released.safetensors');
      expect(run(['release', model, released, ...RELEASE]).status).toBe(0);
      expectFailure(run(['attack', released, path.join(ro, 'out.safetensors')]), 3, /read-only file system/);
    } finally {
      spawnSync('umount', [ro]);
    }
  });
});

describe('13. exit codes come from the error kind, not from class names', () => {
  it('every error class of the project derives from WeightgamesError; node path errors are input, others faults', () => {
    const classes: Array<[new (message: string) => Error, ErrorKind]> = [
      [InputFileError, 'input'], [OutputPathError, 'input'], [SafetensorsErrorAs, 'input'], [StrictJsonError, 'input'], [LayoutError, 'input'], [ModelError, 'input'],
      [TokenizerError, 'input'], [ActivationError, 'input'], [ReleasedFileError, 'input'], [CalibrationError, 'input'], [NonFiniteWeightError, 'input'],
      [NonFiniteReleaseError, 'input'], [StorageOverflowError, 'input'], [TaylorOptionsError, 'usage'], [ReleaseUsageError, 'usage'], [CliUsageError, 'usage'], [ShapeError, 'fault'],
    ];
    for (const [Class, kind] of classes) {
      const e = new Class('x');
      expect([e.name, e instanceof WeightgamesError, errorKind(e)]).toEqual([Class.name.replace(/As$/, ''), true, kind]);
    }
    for (const code of ['ENOENT', 'EISDIR', 'ENOTDIR', 'EACCES', 'EROFS', 'ENAMETOOLONG']) expect(errorKind(Object.assign(new Error(code), { code }))).toBe('input');
    for (const code of ['ENOSPC', 'EIO', undefined]) expect(errorKind(Object.assign(new Error('x'), { code }))).toBe('fault');
    expect(errorKind(new RangeError('x'))).toBe('fault');
  });

  it('no class in the library extends a built-in error directly: all go through WeightgamesError', () => {
    const root = path.resolve(__dirname, '..');
    const direct: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
        const rel = `${dir}/${entry.name}`;
        if (entry.isDirectory()) walk(rel);
        else if (rel.endsWith('.ts')) {
          for (const m of fs.readFileSync(path.join(root, rel), 'utf8').matchAll(/class (\w+) extends (Error|RangeError|TypeError|SyntaxError)\b/g)) direct.push(`${rel}: ${m[1]} extends ${m[2]}`);
        }
      }
    };
    for (const dir of ['src', 'games', 'schemes', 'adversaries']) walk(dir);
    expect(direct).toEqual(['src/kernel/errors.ts: WeightgamesError extends Error']);
  });
});

describe('14. output paths are checked before any work', () => {
  it('release: a missing output directory is reported before a calibration problem found in pass 1', () => {
    const d = dir();
    const model = small(d);
    const calibration = path.join(d, 'calibration.safetensors');
    writeSafetensors(calibration, { unrelated: f32([1], [1]) });
    expectFailure(run(['release', model, path.join(d, 'missing', 'out.safetensors'), ...RELEASE, '--calibration', calibration]), 3, /OutputPathError: .*missing.* does not exist/);
    fs.mkdirSync(path.join(d, 'out.safetensors'));
    expectFailure(run(['release', model, path.join(d, 'out.safetensors'), ...RELEASE, '--calibration', calibration]), 3, /OutputPathError: .*out\.safetensors is a directory/);
  });

  it('attack: an output that is a directory is reported before recovering (not after the whole file is written)', () => {
    const d = dir();
    const model = small(d);
    const out = path.join(d, 'released.safetensors');
    expect(run(['release', model, out, ...RELEASE]).status).toBe(0);
    // θ of the last block has the wrong values' count: found only when the writer reaches it.
    const bad = path.join(d, 'bad.safetensors');
    rewrite(out, bad, (t) => t.set('model.decoder.layers.1.taylor.z0', f32([1], [1])));
    fs.mkdirSync(path.join(d, 'recovered.safetensors'));
    expectFailure(run(['attack', bad, path.join(d, 'recovered.safetensors')]), 3, /OutputPathError: .*recovered\.safetensors is a directory/);
  });
});

describe('15. temporary names fit any legal output name', () => {
  it('a 250-byte output name is written (and one of 250 bytes of UTF-8 in 125 characters)', () => {
    const d = dir();
    const model = small(d);
    for (const name of [`${'a'.repeat(238)}.safetensors`, `${'é'.repeat(119)}.safetensors`]) {
      expect(Buffer.byteLength(name)).toBe(250);
      const r = run(['release', model, path.join(d, name), ...RELEASE]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(fs.statSync(path.join(d, name)).isFile()).toBe(true);
    }
  });
});

describe('also: artefact paths, --trials and --workers', () => {
  it('release metadata records file names and sha256, never the directories typed', () => {
    const d = dir();
    const model = small(d);
    const calibration = path.join(d, 'private-calibration.safetensors');
    writeSafetensors(calibration, { 'layers.0.mlp_input': f32(Array.from({ length: 32 }, (_, i) => Math.sin(i)), [4, 8]), 'layers.1.mlp_input': f32(Array.from({ length: 32 }, (_, i) => Math.cos(i)), [4, 8]) });
    const out = path.join(d, 'released.safetensors');
    expect(run(['release', model, out, ...RELEASE, '--calibration', calibration]).status).toBe(0);
    const metadata = SafetensorsFile.open(out).metadata;
    for (const value of Object.values(metadata)) expect(value).not.toContain(d);
    expect(metadata).toMatchObject({ calibration: 'file:private-calibration.safetensors', calibration_sha256: sha256(calibration), source_file: 'model.safetensors', source_sha256: sha256(model) });
    const recovered = path.join(d, 'recovered.safetensors');
    expect(run(['attack', out, recovered]).status).toBe(0);
    const recoveredMetadata = SafetensorsFile.open(recovered).metadata;
    for (const value of Object.values(recoveredMetadata)) expect(value).not.toContain(d);
    expect(recoveredMetadata).toMatchObject({ source_release: 'released.safetensors', source_release_sha256: sha256(out) });
  });

  it.each([['--trials', '9007199254740993'], ['--trials', '1e3'], ['--workers', '99999999999999999999']])('%s %s → exit 2', (flag, value) => {
    expectFailure(run(['evaluate', '--scheme', 'additive-mask', flag, value], { timeout: 30_000 }), 2, new RegExp(`${flag} must be an integer`));
  });

  it('--workers 1000 for 20 trials starts no more threads than trials or than 2 × cores', () => {
    const r = run(['evaluate', '--scheme', 'additive-mask', '--trials', '20', '--workers', '1000', '--json'], { timeout: 60_000 });
    expect(r.status).toBe(0);
    const card = JSON.parse(r.stdout);
    expect(card.options.workers).toBeLessThanOrEqual(Math.min(20, 2 * os.availableParallelism()));
  });
});

if (!haveStories) console.warn('hardening: the stories260K cases are skipped');
