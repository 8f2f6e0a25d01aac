import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

/**
 * The project's layers, lowest first. A module may import its own layer or a lower one, never a
 * higher one: the kernel (randomness, cost, Σ, Same, adversary, game, estimation, reductions) knows
 * nothing of tensors; the numerics (tensors, activations, safetensors I/O, model forwards) nothing
 * of games or schemes; games nothing of schemes; schemes nothing of attacks; nothing below the
 * application imports the CLI, plots or testing helpers.
 */
export const LAYERS = [
  { name: 'kernel', matches: (file: string) => file.startsWith('src/kernel/') },
  { name: 'numerics', matches: (file: string) => file.startsWith('src/numerics/') },
  // The package's main entry re-exports the kernel and the tensors (and so sits just above them).
  { name: 'entry', matches: (file: string) => file === 'src/index.ts' },
  { name: 'games', matches: (file: string) => file.startsWith('games/') },
  { name: 'schemes', matches: (file: string) => file.startsWith('schemes/') },
  { name: 'adversaries', matches: (file: string) => file.startsWith('adversaries/') },
  { name: 'application', matches: (file: string) => file.startsWith('src/app/') },
] as const;

export interface LayerViolation {
  readonly file: string;
  readonly fileLayer: string;
  readonly imports: string;
  readonly importedLayer: string;
}

const layerOf = (file: string): number => LAYERS.findIndex((layer) => layer.matches(file));

/** Every .ts file under `dirs` of `root`, as root-relative POSIX paths. */
export function sourceFiles(root: string, dirs: readonly string[]): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith('.ts')) found.push(rel);
    }
  };
  for (const dir of dirs) if (fs.existsSync(path.join(root, dir))) walk(dir);
  return found.sort();
}

/** The root-relative file a relative specifier names (x.ts or x/index.ts), or undefined. */
function resolveSpecifier(root: string, from: string, specifier: string): string | undefined {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  for (const candidate of [`${base}.ts`, base, `${base}/index.ts`]) {
    const full = path.join(root, candidate);
    if (fs.existsSync(full) && fs.statSync(full).isFile()) return candidate.replace(/\.js$/, '.ts');
  }
  return undefined;
}

/**
 * Imports (static, type-only, re-exports, dynamic `import()` and `require`) that go from a lower
 * layer to a higher one. Files outside every layer (tests, benches) are not checked.
 */
export function layerViolations(root: string, files: readonly string[]): LayerViolation[] {
  const violations: LayerViolation[] = [];
  for (const file of files) {
    const own = layerOf(file);
    if (own < 0) continue;
    const info = ts.preProcessFile(fs.readFileSync(path.join(root, file), 'utf8'), true, true);
    for (const imported of info.importedFiles) {
      if (!imported.fileName.startsWith('.')) continue;
      const target = resolveSpecifier(root, file, imported.fileName);
      if (target === undefined) continue;
      const theirs = layerOf(target);
      if (theirs > own) violations.push({ file, fileLayer: LAYERS[own]!.name, imports: target, importedLayer: LAYERS[theirs]!.name });
    }
  }
  return violations;
}
