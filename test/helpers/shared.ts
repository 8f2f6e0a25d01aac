import * as fs from 'node:fs';
import * as path from 'node:path';

/** ../shared beside the repository: present in CI, maybe absent elsewhere. */
export const SHARED = path.resolve(__dirname, '../../../shared');
export const STORIES = path.join(SHARED, 'models/stories260K');
export const haveStories = fs.existsSync(path.join(STORIES, 'model.safetensors'));

/** `it` when stories260K is present; otherwise a visibly skipped test that says why. */
export const itWithStories: jest.It = haveStories
  ? it
  : (((name: string, fn?: jest.ProvidesCallback, timeout?: number) => it.skip(`${name} [skipped: ${STORIES} is absent]`, fn, timeout)) as unknown as jest.It);

if (!haveStories) {
  // A visible message in the test output, not a silent pass.
  console.warn(`weightgames tests: ${STORIES} not found — tests that need stories260K are skipped`);
}
