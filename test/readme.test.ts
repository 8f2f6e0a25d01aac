import * as fs from 'node:fs';
import * as path from 'node:path';
import { quickstart } from '../docs/examples/quickstart';

describe('the README example', () => {
  it('is docs/examples/quickstart.ts verbatim', () => {
    const readme = fs.readFileSync(path.join(__dirname, '../README.md'), 'utf8');
    const example = fs.readFileSync(path.join(__dirname, '../docs/examples/quickstart.ts'), 'utf8');
    expect(readme).toContain(example.trim());
  });

  it('runs and finds every game broken, with the scheme correct', async () => {
    const lines = await quickstart();
    expect(lines).toHaveLength(4);
    for (const line of lines) expect(line).toMatch(/advantage 1\.000 ∈ \[0\.9[89]\d, 1\.000\]/);
  });
});
