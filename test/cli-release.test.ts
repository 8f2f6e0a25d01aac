import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeSyntheticCheckpoint } from '../src/numerics/models/synthetic';
import { SafetensorsFile, writeSafetensors, encodeFloats } from '../src/numerics/io/safetensors';
import { STORIES, itWithStories } from './helpers/shared';
import { temporaryDirectory } from './helpers/temporaryDirectories';

const cli = path.resolve(__dirname, '../dist/src/app/cli/main.js');
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const dir = () => temporaryDirectory('wg-cli-');

describe('weightgames release', () => {
  it('releases a checkpoint: JSON summary with seed and options, file metadata, every option honoured', () => {
    const d = dir();
    const input = writeSyntheticCheckpoint(d, { layout: 'fc', layers: 2, inputDim: 16, hiddenDim: 40, seed: 'cli', activation: 'gelu' });
    const out = path.join(d, 'released.safetensors');
    const r = run('release', input, out, '--scheme', 'taylormlp', '--order', '6', '--dtype', 'bf16', '--expand', '25%', '--signs', '--mask-order', '4', '--mask-threshold', '2.5', '--seed', '42', '--json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ command: 'release', seed: '42', activation: 'gelu', options: { order: 6, dtype: 'bf16', signs: true, expand: { fraction: 0.25 }, mask: { minOrder: 4, threshold: 2.5 } } });
    expect(summary.blocks.map((b: { expanded: number }) => b.expanded)).toEqual([10, 10]);
    const file = SafetensorsFile.open(out);
    expect(file.metadata).toMatchObject({ scheme: 'taylormlp', order: '6', dtype: 'bf16', seed: '42' });
    expect(file.tensor('model.decoder.layers.0.taylor.theta')).toMatchObject({ dtype: 'BF16', shape: [7, 16, 10] });
    file.close();
  });

  it.each([
    [['release', 'missing.safetensors', 'o.safetensors', '--scheme', 'taylormlp', '--order', '4'], 3, /input .*missing\.safetensors does not exist/],
    [['release', 'IN', 'IN', '--scheme', 'taylormlp', '--order', '4'], 3, /refusing to overwrite the input/],
    [['release', 'IN', 'o.safetensors', '--scheme', 'taylormlp', '--order', 'eight'], 2, /--order must be an integer/],
    [['release', 'IN', 'o.safetensors', '--scheme', 'taylormlp', '--order', '30'], 2, /order N must be an integer in \[0, 23\]/],
    [['release', 'IN', 'o.safetensors', '--scheme', 'taylormlp', '--order', '4', '--dtype', 'f8'], 2, /--dtype must be/],
    [['release', 'IN', 'o.safetensors', '--scheme', 'taylormlp', '--order', '4', '--mask-order', '2'], 2, /go together/],
    [['release', 'IN', 'o.safetensors', '--scheme', 'taylormlp', '--order', '4', '--act', 'relu'], 3, /unsupported activation "relu"/],
    [['release', 'NOMLP', 'o.safetensors', '--scheme', 'taylormlp', '--order', '4'], 3, /no MLP block found: .*found embed\.weight/],
    [['release', 'GARBAGE', 'o.safetensors', '--scheme', 'taylormlp', '--order', '4'], 3, /header length \d+ exceeds 100000000 bytes/],
    [['release', 'NAN', 'o.safetensors', '--scheme', 'taylormlp', '--order', '4'], 3, /tensor "model\.decoder\.layers\.0\.fc2\.weight" holds NaN at .* index 5: release refuses non-finite weights/],
  ])('%j → exit %s, one line naming the problem, nothing written', (args, code, message) => {
    const d = dir();
    const input = writeSyntheticCheckpoint(d, { layout: 'fc', layers: 1, inputDim: 8, hiddenDim: 16, seed: 'bad', activation: 'gelu' });
    const noMlp = path.join(d, 'nomlp.safetensors');
    writeSafetensors(noMlp, { 'embed.weight': { dtype: 'F32', shape: [2], bytes: encodeFloats([1, 2], 'F32') } });
    const garbage = path.join(d, 'garbage.safetensors');
    fs.writeFileSync(garbage, Buffer.from('this is not a safetensors file at all'));
    const withNan = path.join(d, 'nan.safetensors');
    const source = SafetensorsFile.open(input);
    const copy = new Map(source.names.map((n) => [n, { dtype: source.tensor(n).dtype, shape: [...source.tensor(n).shape], bytes: Uint8Array.from(source.tensor(n).bytes) }]));
    source.close();
    new DataView(copy.get('model.decoder.layers.0.fc2.weight')!.bytes.buffer).setFloat32(5 * 4, NaN, true);
    writeSafetensors(withNan, copy);
    const before = fs.readdirSync(d).sort();
    const resolved = (args as string[]).map((a) => (a === 'IN' ? input : a === 'NOMLP' ? noMlp : a === 'GARBAGE' ? garbage : a === 'NAN' ? withNan : a === 'o.safetensors' ? path.join(d, a) : a));
    const r = spawnSync(process.execPath, [cli, ...resolved], { encoding: 'utf8', cwd: d });
    expect(r.status).toBe(code);
    expect(r.stderr).toMatch(message as RegExp);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(fs.readdirSync(d).sort()).toEqual(before);
  });

  itWithStories('releases stories260K calibrated on its recorded activations', () => {
    const d = dir();
    const out = path.join(d, 'stories-released.safetensors');
    const r = run('release', path.join(STORIES, 'model.safetensors'), out, '--scheme', 'taylormlp', '--order', '8', '--expand', '25%', '--calibration', path.join(STORIES, 'activations.safetensors'), '--json');
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.activation).toBe('silu');
    expect(summary.calibration).toMatch(/^file:.*activations\.safetensors$/);
    expect(summary.blocks).toHaveLength(5);
    expect(summary.blocks.every((b: { layout: string; expanded: number }) => b.layout === 'llama' && b.expanded === 43)).toBe(true);
  });
});
