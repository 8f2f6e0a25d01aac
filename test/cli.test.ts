import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { estimateAdvantage } from '../src/kernel/estimate/estimate';
import { builtinSchemeLocation, builtinSchemes } from '../adversaries/catalog';
import { adversaryLabel, scorecardGame, scorecardRows } from '../games/scorecard';
import { temporaryDirectory } from './helpers/temporaryDirectories';

const cli = path.resolve(__dirname, '../dist/src/app/cli/main.js');
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const task = { inputDim: 8, hiddenDim: 16, outputDim: 4 };

describe('catalogue games on worker threads', () => {
  it('give identical estimates with 1, 2 and 4 workers, and across runs', async () => {
    const shares = builtinSchemes['additive-shares']!;
    const permutation = builtinSchemes['neuron-permutation']!;
    const cases = [
      { entry: shares, row: scorecardRows(shares)[4]!, name: 'additive-shares' },
      { entry: permutation, row: scorecardRows(permutation).find((row) => adversaryLabel(row) === 'permutation-matching')!, name: 'neuron-permutation' },
    ];
    expect(cases.map((c) => adversaryLabel(c.row))).toEqual(['B[sum-shares]', 'permutation-matching']);
    for (const { entry, row, name } of cases) {
      const game = scorecardGame(entry, row, { data: task, location: builtinSchemeLocation(name) });
      const strip = (e: Awaited<ReturnType<typeof estimateAdvantage>>) => {
        const { meanCosts, results, ...rest } = e;
        return { ...rest, flops: Object.fromEntries(Object.entries(meanCosts).map(([k, c]) => [k, c.flops])), wins: results?.map((r) => r.win) };
      };
      const one = strip(await estimateAdvantage(game, { trials: 120, seed: 'cat', keepTrials: true }));
      expect(strip(await estimateAdvantage(game, { trials: 120, seed: 'cat', keepTrials: true }))).toEqual(one);
      for (const workers of [2, 4]) expect(strip(await estimateAdvantage(game, { trials: 120, seed: 'cat', workers, keepTrials: true, autoThreads: false }))).toEqual(one);
    }
  });
});

describe('weightgames evaluate', () => {
  it('prints a scorecard for every scheme in the catalogue', () => {
    for (const scheme of Object.keys(builtinSchemes)) {
      // A few trials suffice here: the shape of every scorecard (figures are checked elsewhere).
      const out = run('evaluate', '--scheme', scheme, '--trials', '3', '--json');
      expect(out.status).toBe(0);
      const card = JSON.parse(out.stdout);
      expect(card.options).toMatchObject({ scheme, trials: 3, seed: '0', workers: 1 });
      expect(card.version).toMatch(/^\d+\.\d+\.\d+/);
      for (const row of card.rows) expect(row.estimate).toMatchObject({ trials: 3, seed: '0', method: 'clopper-pearson', confidence: 0.95 });
    }
  });

  it('gives the same scorecard with 1, 2 and 4 workers, up to wall time', () => {
    const strip = (s: string) => JSON.parse(s, (k, v) => (k === 'wallMs' || k === 'workers' ? undefined : v));
    const a = run('evaluate', '--scheme', 'open-release', '--trials', '30', '--seed', 'r', '--json');
    for (const workers of ['2', '4']) {
      const b = run('evaluate', '--scheme', 'open-release', '--trials', '30', '--seed', 'r', '--workers', workers, '--json');
      expect(strip(b.stdout)).toEqual(strip(a.stdout));
    }
  });

  it('writes --out atomically and the table shows the interval method', () => {
    const dir = temporaryDirectory('wg-');
    const out = path.join(dir, 'card.json');
    const r = run('evaluate', '--scheme', 'additive-mask-public', '--trials', '10', '--out', out);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/clopper-pearson 95% intervals/);
    expect(JSON.parse(fs.readFileSync(out, 'utf8')).options.scheme).toBe('additive-mask-public');
    expect(fs.readdirSync(dir)).toEqual(['card.json']);
  });

  it.each([
    [['evaluate', '--scheme', 'nope'], /unknown scheme "nope"/, 2],
    [['evaluate', '--scheme', 'open-release', '--trials', 'ten'], /--trials must be an integer/, 2],
    [['evaluate', '--scheme', 'open-release', '--confidence', '2'], /--confidence must be in/, 2],
    [['evaluate'], /required option/, 2],
    [['frobnicate'], /unknown command/, 2],
  ])('bad input %j: one line on stderr, no stack trace, exit code %s', (args, message, code) => {
    const r = run(...(args as string[]));
    expect(r.status).toBe(code);
    expect(r.stderr).toMatch(message as RegExp);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('weightgames evaluate --scheme taylormlp', () => {
  it('shows WRec advantage 1 for consensus with its interval, and a break-even for recover-then-run', () => {
    const out = run('evaluate', '--scheme', 'taylormlp', '--trials', '12', '--json');
    expect(out.status).toBe(0);
    const card = JSON.parse(out.stdout);
    const row = (game: string, adversary: string) => card.rows.find((r: { game: string; adversary: string }) => r.game === game && r.adversary === adversary);
    expect(row('wrec', 'consensus').estimate).toMatchObject({ advantage: 1, successes: 12, method: 'clopper-pearson' });
    expect(row('wrec', 'consensus').estimate.interval.lower).toBeGreaterThan(0.7);
    // EffiInf's win bit is Same (advantage = Pr[Same]); whether the adversary's cost stays below
    // Run′'s is recorded apart: one query — recovery costs more than Run′ (inadmissible); 4000
    // queries — recovery pays for itself (admissible), with a break-even (~3,000 with exact metering).
    expect(row('effiinf', 'B[consensus]').estimate.advantage).toBe(1);
    expect(row('effiinf', 'B[consensus]').estimate.admissibility.verdict).toBe('inadmissible');
    expect(row('effiinf×4000', 'B[consensus]').estimate.advantage).toBe(1);
    expect(row('effiinf×4000', 'B[consensus]').estimate.admissibility.verdict).toBe('admissible');
    expect(row('effiinf×4000', 'B[consensus]').medianBreakEven).toBeGreaterThan(1);
    expect(row('wind', 'published-first-layer').estimate.advantage).toBe(1);
  });
});
