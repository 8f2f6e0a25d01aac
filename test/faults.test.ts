import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeSafetensors, encodeFloats } from '../src/numerics/io/safetensors';
import { writeSyntheticCheckpoint } from '../src/numerics/models/synthetic';
import { temporaryDirectory } from './helpers/temporaryDirectories';

const cli = path.resolve(__dirname, '../dist/src/app/cli/main.js');

describe('faults', () => {
  it('a write error mid-file (disk full) is a clear error, and leaves neither the output nor a temporary file', () => {
    const dir = temporaryDirectory('wg-full-');
    const target = path.join(dir, 'out.safetensors');
    let calls = 0;
    // ENOSPC on the second write (the first tensor's bytes), as a full disk would answer.
    const writeChunk = (fd: number, bytes: Uint8Array): void => {
      if (++calls === 2) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      fs.writeSync(fd, bytes);
    };
    expect(() => writeSafetensors(target, { a: { dtype: 'F32', shape: [4], bytes: encodeFloats([1, 2, 3, 4], 'F32') } }, {}, { writeChunk })).toThrow(/ENOSPC/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('an interrupted release (killed mid-write) leaves no output file; the input is untouched', async () => {
    const dir = temporaryDirectory('wg-kill-');
    const input = writeSyntheticCheckpoint(dir, { layout: 'fc', layers: 4, inputDim: 512, hiddenDim: 2048, seed: 'kill', activation: 'gelu' });
    const before = fs.readFileSync(input);
    const output = path.join(dir, 'released.safetensors');
    const child = spawn(process.execPath, [cli, 'release', input, output, '--scheme', 'taylormlp', '--order', '12', '--dtype', 'f32']);
    // Kill it once the temporary file has started to grow.
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        const temporary = fs.readdirSync(dir).find((f) => f.endsWith('.tmp'));
        if (temporary !== undefined && fs.statSync(path.join(dir, temporary)).size > 0) {
          clearInterval(poll);
          child.kill('SIGKILL');
          resolve();
        }
      }, 5);
    });
    await new Promise((resolve) => child.on('exit', resolve));
    expect(fs.existsSync(output)).toBe(false);
    expect(fs.readFileSync(input).equals(before)).toBe(true);
    // What remains is at most the hidden temporary file (.NAME.PID.tmp, PID in base 36), never a file under the output's name.
    for (const f of fs.readdirSync(dir)) expect(['model.safetensors', 'config.json'].includes(f) || f === `.released.safetensors.${child.pid!.toString(36)}.tmp`).toBe(true);
  });
});
