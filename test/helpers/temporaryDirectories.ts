import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Fresh directories under the OS temp dir, removed after the test file's last test (pass or
 * fail): a test run leaves nothing behind in /tmp. Import at the top of a test file (the
 * cleanup hook registers on import). Jest runs no afterAll in a file none of whose tests runs
 * (a `-t` filter matching none): a directory made while such a file is collected stays.
 */
const made: string[] = [];

afterAll(() => {
  // Every directory is tried; the first failure is reported after.
  let failure: unknown = null;
  for (const dir of made.splice(0)) {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch (error) {
      failure ??= error;
    }
  }
  if (failure !== null) throw failure;
});

export function temporaryDirectory(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}
