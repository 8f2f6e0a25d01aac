import * as fs from 'node:fs';
import * as path from 'node:path';

/** Whether this directory's file system takes an O_DIRECT open (Linux, not tmpfs): then big writes must go direct (src/numerics/io/directWrites.ts). */
export function directPossible(dir: string): boolean {
  if (process.platform !== 'linux') return false;
  const probe = path.join(dir, 'probe');
  try {
    fs.closeSync(fs.openSync(probe, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_DIRECT));
    return true;
  } catch {
    return false;
  } finally {
    fs.rmSync(probe, { force: true });
  }
}
