import * as fs from 'node:fs';
import * as path from 'node:path';

export class OutputPathError extends Error {
  override readonly name = 'OutputPathError';
}

/**
 * Write a file so that it is either absent or complete: write a temporary file beside it,
 * flush it, then rename it over the target (atomic on one file system). Refuses to overwrite
 * any of `inputs`.
 */
export function writeFileAtomic(target: string, data: string | Uint8Array, inputs: readonly string[] = []): void {
  const resolved = path.resolve(target);
  for (const input of inputs) {
    if (path.resolve(input) === resolved) throw new OutputPathError(`refusing to overwrite the input ${input}`);
  }
  const temp = path.join(path.dirname(resolved), `.${path.basename(resolved)}.${process.pid}.${Date.now()}.tmp`);
  const fd = fs.openSync(temp, 'w');
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(temp, resolved);
  } catch (error) {
    try {
      fs.closeSync(fd);
    } catch {
      /* already closed */
    }
    fs.rmSync(temp, { force: true });
    throw error;
  }
}
