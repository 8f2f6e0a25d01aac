import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { temporaryDirectory } from './helpers/temporaryDirectories';

/**
 * The package as a user gets it: `npm pack`, installed from the tarball into a fresh ES-module
 * project whose tsconfig is `tsc --init`'s (strict, nodenext, noUncheckedIndexedAccess,
 * exactOptionalPropertyTypes, verbatimModuleSyntax) with `skipLibCheck: false`, so our .d.ts
 * files and everything they reference are checked too. The docs' examples must compile and run
 * there, and `weightgames evaluate --scheme` must play the project's own scheme module.
 */

const root = path.resolve(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
const readmeLines = (): string[] => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const block = /prints, for seed `readme`:\n\n```\n([\s\S]*?)```/.exec(readme);
  if (block === null) throw new Error('README: no printed quickstart output found');
  return (block[1] ?? '').trim().split('\n');
};

let work: string;
let tarball: string;
let files: string[];

beforeAll(() => {
  work = temporaryDirectory('weightgames-pack-');
  const packed = JSON.parse(execFileSync(npm, ['pack', '--json', '--pack-destination', work], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as { filename: string; files: { path: string }[] }[];
  const first = packed[0];
  if (first === undefined) throw new Error('npm pack reported nothing');
  tarball = path.join(work, first.filename);
  files = first.files.map((f) => f.path);
}, 120_000);

afterAll(() => {
  if (work !== undefined) fs.rmSync(work, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('ships the library, its types, README and LICENSE, and no tests, benches or source maps', () => {
    for (const required of ['LICENSE', 'README.md', 'package.json', 'dist/src/index.js', 'dist/src/index.d.ts']) expect(files).toContain(required);
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(files.filter((f) => /^dist\/(test|bench)\//.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.startsWith('docs/examples/'))).toEqual([]);
  });

  it('every export, the bin and every relative require of the shipped code resolve inside the tarball', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { bin: Record<string, string>; exports: Record<string, string | Record<string, string>> };
    const shipped = new Set(files);
    const targets = [...Object.values(pkg.bin), ...Object.values(pkg.exports).flatMap((e) => (typeof e === 'string' ? [e] : Object.values(e)))].map((p) => path.posix.normalize(p));
    expect(targets.filter((t) => !shipped.has(t))).toEqual([]);
    const dangling: string[] = [];
    for (const file of files.filter((f) => f.startsWith('dist/') && (f.endsWith('.js') || f.endsWith('.d.ts')))) {
      const text = fs.readFileSync(path.join(root, file), 'utf8');
      for (const match of text.matchAll(/(?:require\(|from |import\()["'](\.{1,2}\/[^"']+)["']/g)) {
        const base = path.posix.normalize(path.posix.join(path.posix.dirname(file), match[1] ?? ''));
        const candidates = file.endsWith('.d.ts') ? [`${base}.d.ts`, `${base}/index.d.ts`] : [`${base}.js`, base, `${base}/index.js`];
        if (!candidates.some((c) => shipped.has(c))) dangling.push(`${file} → ${match[1]}`);
      }
    }
    expect(dangling).toEqual([]);
  });
});

describe('a new ES-module project on the tarball, tsc --init strict defaults', () => {
  let project: string;

  beforeAll(() => {
    project = path.join(work, 'consumer');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2));
    execFileSync(process.execPath, [tsc, '--init', '--skipLibCheck', 'false'], { cwd: project, stdio: 'ignore' });
    // From npm's cache when it has the dependencies (CI's `npm ci` fills it); the registry otherwise.
    // A registry hiccup is not the package's fault: one retry before failing.
    const install = (): void => void execFileSync(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel', 'error', tarball], { cwd: project, stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      install();
    } catch {
      install();
    }
    for (const dir of ['docs/examples', 'test/fixtures/consumer']) {
      for (const name of fs.readdirSync(path.join(root, dir))) fs.copyFileSync(path.join(root, dir, name), path.join(project, name));
    }
  }, 240_000);

  it('uses tsc --init\'s strict options, with skipLibCheck off', () => {
    const config = fs.readFileSync(path.join(project, 'tsconfig.json'), 'utf8');
    for (const option of ['"module": "nodenext"', '"strict": true', '"noUncheckedIndexedAccess": true', '"exactOptionalPropertyTypes": true', '"verbatimModuleSyntax": true', '"skipLibCheck": false']) expect(config).toContain(option);
  });

  it('compiles the docs\' examples and a scheme module of its own', () => {
    const compiled = spawnSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8' });
    expect(compiled.stdout + compiled.stderr).toBe('');
    expect(compiled.status).toBe(0);
  }, 120_000);

  it('runs the quickstart, printing what the README says it prints, and the guide\'s reduction property', () => {
    const ran = spawnSync(process.execPath, ['runExamples.js'], { cwd: project, encoding: 'utf8' });
    expect(ran.stderr).toBe('');
    expect(ran.stdout.trim().split('\n')).toEqual([...readmeLines(), 'noisyReductionHolds: ok']);
  }, 120_000);

  it('weightgames evaluate --scheme ./myScheme.js plays the project\'s own entry, the same on 1 and 2 workers', () => {
    const evaluate = (workers: string) => {
      const out = spawnSync(path.join(project, 'node_modules/.bin/weightgames'), ['evaluate', '--scheme', './myScheme.js', '--trials', '20', '--workers', workers, '--json'], { cwd: project, encoding: 'utf8' });
      expect(out.stderr).toBe('');
      expect(out.status).toBe(0);
      return JSON.parse(out.stdout) as { options: { scheme: string }; rows: { game: string; adversary: string | null; estimate: { successes: number; trials: number } }[] };
    };
    const one = evaluate('1');
    expect(one.options.scheme).toBe('./myScheme.js');
    expect(one.rows.map((r) => `${r.game} ${r.adversary ?? '—'}`)).toEqual(['correctness —', 'wrec copy', 'effiinf B[copy]', 'effiinf×8 B[copy]', 'wind nearest', 'wind B[copy]']);
    // σ = 0.1 noise: copying is not recovery (WRec 0), and the nearest original gives b away.
    expect(one.rows.find((r) => r.game === 'wrec')?.estimate.successes).toBe(0);
    expect(one.rows.find((r) => r.adversary === 'nearest')?.estimate.successes).toBe(20);
    const two = evaluate('2');
    expect(two.rows.map((r) => r.estimate.successes)).toEqual(one.rows.map((r) => r.estimate.successes));
  }, 120_000);

  it('names a module without an entry in one line, exit code 2', () => {
    fs.writeFileSync(path.join(project, 'empty.js'), 'export const nothing = 1;\n');
    const out = spawnSync(path.join(project, 'node_modules/.bin/weightgames'), ['evaluate', '--scheme', './empty.js'], { cwd: project, encoding: 'utf8' });
    expect(out.status).toBe(2);
    expect(out.stderr.trim().split('\n')).toHaveLength(1);
    expect(out.stderr).toMatch(/exports no scheme entry/);
  });
});
