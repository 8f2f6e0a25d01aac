import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Fresh directories under the OS temp dir, removed after the test file's last test (pass or
 * fail): a test run leaves nothing behind in /tmp. Import at the top of a test file (the
 * cleanup hook registers on import).
 */
const made: string[] = [];

afterAll(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

export function temporaryDirectory(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}
