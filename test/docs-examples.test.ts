import * as fs from 'node:fs';
import * as path from 'node:path';
import { noisyReleaseReport, noisyReductionHolds } from '../docs/examples/noisyRelease';

describe('docs/writing-a-scheme.md', () => {
  it('its example runs and gives the figures the guide quotes', async () => {
    const report = await noisyReleaseReport();
    const guide = fs.readFileSync(path.join(__dirname, '../docs/writing-a-scheme.md'), 'utf8');
    for (const [name, value] of Object.entries(report)) expect(guide).toContain(`| ${name} | ${value.toFixed(3)} |`);
    expect(report['WRec copy σ=0.0001']).toBe(1);
    expect(report['correctness σ=0.0001']).toBe(1);
    noisyReductionHolds();
  });

  it('quotes the example file verbatim', () => {
    const guide = fs.readFileSync(path.join(__dirname, '../docs/writing-a-scheme.md'), 'utf8');
    const example = fs.readFileSync(path.join(__dirname, '../docs/examples/noisyRelease.ts'), 'utf8');
    expect(guide).toContain(example.trim());
  });
});
