import * as path from 'node:path';
import { LAYERS, layerViolations, sourceFiles } from './helpers/layers';

const root = path.resolve(__dirname, '..');

describe('import boundaries between layers', () => {
  it('the tree imports only downwards', () => {
    const files = sourceFiles(root, ['src', 'games', 'schemes', 'adversaries']);
    // Every library file belongs to a layer: a new top-level folder must be placed on purpose.
    const unplaced = files.filter((file) => !LAYERS.some((layer) => layer.matches(file)));
    expect(unplaced).toEqual([]);
    expect(files.length).toBeGreaterThan(100);
    expect(layerViolations(root, files)).toEqual([]);
  });

  it('fails on a fixture where the kernel imports the application', () => {
    const fixture = path.join(root, 'test/fixtures/upward-import');
    const files = sourceFiles(fixture, ['src']);
    expect(files).toEqual(['src/app/cli/banner.ts', 'src/kernel/leak.ts']);
    expect(layerViolations(fixture, files)).toEqual([
      { file: 'src/kernel/leak.ts', fileLayer: 'kernel', imports: 'src/app/cli/banner.ts', importedLayer: 'application' },
    ]);
  });
});
