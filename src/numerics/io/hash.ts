import * as crypto from 'node:crypto';
import * as fs from 'node:fs';

/**
 * The SHA-256 of a file's content (hex), read in 4 MiB chunks: memory stays flat for any size.
 * `betweenChunks` runs after each chunk (a thread that hashes while its worker pool runs lets the
 * pool hand out tasks there).
 */
export function sha256File(file: string, betweenChunks: () => void = () => undefined): string {
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const chunk = Buffer.allocUnsafe(4 << 20);
    for (;;) {
      const read = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      hash.update(chunk.subarray(0, read));
      betweenChunks();
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}
