import * as fs from 'node:fs';
import * as path from 'node:path';

/** The package root: three levels above this file (src/kernel/estimate), whether it runs from src/ or dist/src/. */
const here = __dirname;
const packageRoot = path.basename(path.resolve(here, '../../..')) === 'dist' ? path.resolve(here, '../../../..') : path.resolve(here, '../../..');

/**
 * The JavaScript file a worker thread can load for `file`. Worker threads run plain Node, so a
 * TypeScript source of this package (as seen under ts-jest) maps to its compiled twin in dist/.
 */
export function compiledPath(file: string): string {
  if (!file.endsWith('.ts')) return file;
  const relative = path.relative(packageRoot, file);
  if (relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new Error(`worker threads cannot load TypeScript outside this package: ${file} (compile it and pass the .js path)`);
  }
  const compiled = path.join(packageRoot, 'dist', relative.replace(/\.ts$/, '.js'));
  if (!fs.existsSync(compiled)) throw new Error(`worker threads need the compiled ${compiled}: run \`npm run build\` first`);
  return compiled;
}
