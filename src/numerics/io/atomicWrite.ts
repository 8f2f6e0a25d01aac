import * as fs from 'node:fs';
import { OutputPathError, checkOutputPath, openTemporary, recheckOutput } from './paths';

export { OutputPathError };

/**
 * Write a file so that it is either absent or complete: write a temporary file beside it,
 * flush it, then rename it over the target (atomic on one file system). The output path passes
 * the guard of ./paths first (never an input, never a symlink, a device or a directory).
 */
export function writeFileAtomic(target: string, data: string | Uint8Array, inputs: readonly string[] = []): void {
  const plan = checkOutputPath(target, inputs);
  const fd = openTemporary(plan);
  let closed = false;
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let done = 0;
    while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    closed = true;
    recheckOutput(plan);
    fs.renameSync(plan.temporary, plan.target);
  } catch (error) {
    if (!closed) fs.closeSync(fd);
    fs.rmSync(plan.temporary, { force: true });
    throw error;
  }
}
