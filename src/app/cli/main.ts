#!/usr/bin/env node
import { ErrorKind, errorKind } from '../../kernel/errors';
import { Command, CommanderError } from 'commander';
import * as t from 'io-ts';
import { isLeft } from 'fp-ts/Either';
import { writeFileAtomic } from '../../numerics/io/atomicWrite';
// Each command's code loads when that command runs: the main thread of `attack` or `release`
// parses options and waits for its job thread (./job, which loads only its command's code); every
// command once loaded them all (~0.15 s of every process's start; the catalogue alone a sixth of a second).
const catalogue = (): typeof import('../../../adversaries/catalog') => require('../../../adversaries/catalog') as typeof import('../../../adversaries/catalog');
const evaluation = (): typeof import('./evaluate') => require('./evaluate') as typeof import('./evaluate');
const comparison = (): typeof import('../../../adversaries/taylormlp/compare') => require('../../../adversaries/taylormlp/compare') as typeof import('../../../adversaries/taylormlp/compare');
const llama = (): typeof import('../../numerics/models/llama') => require('../../numerics/models/llama') as typeof import('../../numerics/models/llama');
const tokenizers = (): typeof import('../../numerics/models/tokenizer') => require('../../numerics/models/tokenizer') as typeof import('../../numerics/models/tokenizer');
const releasedMlp = (): typeof import('../../../schemes/taylormlp/releasedMlp') => require('../../../schemes/taylormlp/releasedMlp') as typeof import('../../../schemes/taylormlp/releasedMlp');
const randomness = (): typeof import('../../kernel/prob/rng') => require('../../kernel/prob/rng') as typeof import('../../kernel/prob/rng');
const progressBars = (): typeof import('./progress') => require('./progress') as typeof import('./progress');
import { version } from './version';
import { CliUsageError, integerOption } from './integerOption';
import type { runRelease } from './release';
import { taylorOptionsFromCli } from './releaseOptions';
import { checkInputFile, checkOutputPath, temporaryPathFor } from '../../numerics/io/paths';
import { runInterruptible } from './interruptible';
import type { AttackSummary } from '../../../adversaries/taylormlp';
import type { runCaseStudy as RunCaseStudy } from './caseStudy';
import * as path from 'node:path';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { groupDigits } from './groupDigits';

/** Exit codes: distinct per failure class so scripts can tell them apart. */
export const ExitCode = { ok: 0, usage: 2, input: 3, runtime: 4 } as const;

/** The exit code of an error's kind (src/kernel/errors.ts): usage 2, input 3, fault 4. */
export const exitCodeOf = (kind: ErrorKind): number => (kind === 'usage' ? ExitCode.usage : kind === 'input' ? ExitCode.input : ExitCode.runtime);

export { CliUsageError };

/** Worker threads beyond this many per core only add overhead (and memory). */
export const WORKERS_PER_CORE = 2;

/** The worker threads evaluate starts: never more than trials, nor than WORKERS_PER_CORE × cores. */
export const effectiveWorkers = (requested: number, trials: number): number => Math.max(1, Math.min(requested, trials, WORKERS_PER_CORE * os.availableParallelism()));

const EvaluateCli = t.type({
  scheme: t.string,
  trials: t.number,
  seed: t.string,
  workers: t.number,
  confidence: t.number,
  method: t.keyof({ 'clopper-pearson': null, wilson: null }),
  inputs: t.union([t.number, t.undefined]),
  json: t.boolean,
});

function program(): Command {
  const cmd = new Command('weightgames')
    .description('Security games for model weight release schemes')
    .version(version)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined });
  cmd
    .command('schemes')
    .description('list the built-in schemes')
    .action(() => {
      for (const [name, entry] of Object.entries(catalogue().builtinSchemes)) process.stdout.write(`${name.padEnd(30)} ${entry.describe}\n`);
    });
  cmd
    .command('evaluate')
    .description('play every game against every adversary a scheme\'s registry entry lists; print the scorecard')
    .requiredOption('--scheme <name|module>', 'required: a built-in scheme (`weightgames schemes` lists them) or the path of a module exporting a defineScheme entry')
    .option('--trials <n>', 'trials per game', integerOption('trials', 1), 200)
    .option('--seed <s>', 'seed of every stream', '0')
    .option('--workers <k>', 'worker threads', integerOption('workers', 1), 1)
    .option('--confidence <c>', 'interval confidence', '0.95')
    .option('--method <m>', 'clopper-pearson | wilson', 'clopper-pearson')
    .option('--inputs <q>', 'q for the q-input EffiInf game (default: the scheme\'s, 8 for toys, 1000 for taylormlp)', integerOption('inputs', 1))
    .option('--out <file>', 'also write the JSON scorecard to this file (atomically)')
    .option('--json', 'print JSON instead of the table', false)
    .action(async (raw: Record<string, unknown>) => {
      const confidence = Number(raw.confidence);
      if (!(confidence > 0 && confidence < 1)) throw new CliUsageError(`--confidence must be in (0, 1), got "${String(raw.confidence)}"`);
      const decoded = EvaluateCli.decode({ ...raw, confidence });
      if (isLeft(decoded)) throw new CliUsageError(`--method must be clopper-pearson or wilson, got "${String(raw.method)}"`);
      const o = decoded.right;
      const { evaluateScheme, formatScorecard, resolveScheme } = evaluation();
      const { entry } = resolveScheme(o.scheme); // an unknown scheme or a bad module: a usage error at once
      if (typeof raw.out === 'string') checkOutputPath(raw.out); // before the evaluation, not after it
      const data = entry.use((e) => e.data.encode(e.defaultData));
      const options = { scheme: o.scheme, trials: o.trials, seed: o.seed, workers: effectiveWorkers(o.workers, o.trials), confidence: o.confidence, method: o.method, data, ...(o.inputs === undefined ? {} : { inputs: o.inputs }) };
      const card = await evaluateScheme(options, version, (row, i, total) => {
        if (!o.json) process.stderr.write(`[${i + 1}/${total}] ${row.game} ${row.adversary ?? ''}\n`);
      });
      const json = JSON.stringify(card, null, 2) + '\n';
      if (typeof raw.out === 'string') writeFileAtomic(raw.out, json);
      process.stdout.write(o.json ? json : formatScorecard(card) + '\n');
    });
  cmd
    .command('release')
    .description('release a checkpoint under TaylorMLP (Algorithm 1): MLP blocks become Taylor coefficients')
    .argument('<in>', 'input checkpoint (.safetensors; config.json beside it names the activation)')
    .argument('<out>', 'output file (.safetensors), written atomically')
    .requiredOption('--scheme <name>', 'required: the release scheme (taylormlp)')
    .requiredOption('--order <N>', 'required: the highest Taylor order N')
    .option('--act <name>', 'activation: silu | gelu | gelu_tanh | sigmoid (default: from config.json)')
    .option('--dtype <dtype>', 'storage dtype: f32 | bf16 | f16', 'f32')
    .option('--expand <K|P%>', 'expand only K units (or P% of them), smallest calibration range first (default: all)')
    .option('--signs', 'random ±1 sign per expanded unit (the secret key)', false)
    .option('--mask-order <M>', 'use orders above M only where |z − z0| ≤ the threshold')
    .option('--mask-threshold <T>', 'threshold of the order mask')
    .option('--calibration <file>', 'recorded MLP inputs per layer (safetensors), e.g. activations.safetensors')
    .option('--calibration-rows <n>', 'rows of seeded synthetic calibration inputs when no file is given', '256')
    .option('--seed <s>', 'seed (signs, synthetic calibration)', '0')
    .option('--widen', 'if a value overflows --dtype, store the release in the narrowest wider dtype that holds it (default: refuse)', false)
    .option('--json', 'print the summary as JSON', false)
    .action(async (input: string, output: string, raw: Record<string, unknown>) => {
      taylorOptionsFromCli(raw); // usage errors at once, before starting the worker
      const progress = progressBars().blockProgress('release');
      const { summary, text } = await runInterruptible<ReturnType<typeof runRelease>>(
        { command: 'release', input, output, raw, version },
        { temporaries: [temporaryPathFor(output)], onEvent: (e) => e.type === 'block' && progress.onBlock(e.index, e.total, e.prefix), onInterrupt: () => progress.stop() },
      );
      progress.stop();
      process.stdout.write(raw.json === true ? JSON.stringify({ tool: 'weightgames', version, command: 'release', ...summary }, null, 2) + '\n' : text + '\n');
    });
  cmd
    .command('generate')
    .description('generate text with a Llama-architecture model (config.json, model.safetensors, tok512.bin), optionally with its MLPs replaced by a TaylorMLP release')
    .argument('<model-dir>', 'model directory')
    .option('--released <file>', 'a TaylorMLP release of this model: run Run′ and report the slowdown')
    .option('--prompt <text>', 'prompt (BOS is prepended)', '')
    .option('--tokens <n>', 'new tokens at most', integerOption('tokens', 1), 64)
    .option('--temperature <t>', 'sampling temperature (0: greedy)', '0')
    .option('--seed <s>', 'seed of the sampling stream', '0')
    .option('--json', 'print JSON', false)
    .action((dir: string, raw: Record<string, unknown>) => {
      const temperature = Number(raw.temperature);
      if (!(temperature >= 0)) throw new CliUsageError(`--temperature must be ≥ 0, got "${String(raw.temperature)}"`);
      for (const f of ['config.json', 'model.safetensors', 'tok512.bin']) checkInputFile(path.join(dir, f), f);
      if (typeof raw.released === 'string') checkInputFile(raw.released, 'release');
      const { loadLlama, sampleDecode } = llama();
      const model = loadLlama(dir);
      const tokenizer = tokenizers().readTokenizer(path.join(dir, 'tok512.bin'), model.config.vocab_size);
      // The context bound, prompt included — checked on a lower bound of the prompt's length before
      // encoding it (no piece is longer than the longest in the vocabulary), then exactly.
      const context = model.config.maxPositions;
      const longest = Math.max(1, ...tokenizer.vocab.map((piece) => Buffer.byteLength(piece)));
      const atLeast = 1 + Math.ceil((Buffer.byteLength(String(raw.prompt)) + 1) / longest);
      const tooLong = (tokens: number, exact: boolean) =>
        new CliUsageError(`--prompt is ${exact ? '' : 'at least '}${tokens} tokens (BOS included); the model's context is max_position_embeddings = ${context}, prompt and new tokens included`);
      if (String(raw.prompt).length > 0 && atLeast >= context) throw tooLong(atLeast, false);
      const prompt = tokenizer.encode(String(raw.prompt));
      if (prompt.length >= context) throw tooLong(prompt.length, true);
      const newTokens = Math.min(raw.tokens as number, context - prompt.length);
      const decode = (mlp?: Parameters<typeof sampleDecode>[5]) => {
        const rng = randomness().streamRng({ seed: String(raw.seed), trial: 0, label: 'generate' });
        const t0 = performance.now();
        const tokens = sampleDecode(model, prompt, newTokens, temperature, rng.uniform, mlp);
        const seconds = (performance.now() - t0) / 1000;
        let previous = prompt[prompt.length - 1];
        let text = '';
        for (const t of tokens) {
          text += tokenizer.decode(previous, t);
          previous = t;
        }
        return { tokens, text, seconds, tokensPerSecond: tokens.length / seconds };
      };
      const original = decode();
      const released = typeof raw.released === 'string' ? decode(releasedMlp().releasedMlpRunner(raw.released, model.layers.map((l) => l.mlp))) : undefined;
      const result = { tool: 'weightgames', version, command: 'generate', model: dir, prompt: String(raw.prompt), promptTokens: prompt.length, context, seed: String(raw.seed), temperature, original, released, slowdown: released === undefined ? null : original.tokensPerSecond / released.tokensPerSecond, sameTokens: released === undefined ? null : JSON.stringify(released.tokens) === JSON.stringify(original.tokens) };
      if (raw.json === true) {
        process.stdout.write(JSON.stringify(result, null, 2) + '\n');
        return;
      }
      const shown = released ?? original;
      process.stdout.write(`${String(raw.prompt)}${shown.text}\n\n${original.tokens.length} tokens, ${original.tokensPerSecond.toFixed(1)} tokens/s (original)`);
      if (released !== undefined) process.stdout.write(`; ${released.tokensPerSecond.toFixed(1)} tokens/s with the release (${result.slowdown! >= 1 ? `${result.slowdown!.toFixed(2)}× slower` : `${(1 / result.slowdown!).toFixed(2)}× faster`}, ${result.sameTokens ? 'the same tokens' : 'different tokens'})`);
      process.stdout.write('\n');
    });
  cmd
    .command('case-study')
    .description("the paper's case study: release → attack → compare → games; Table 1 and Figures 2–4")
    .option('--out <dir>', 'output directory', 'case-study')
    .option('--seed <s>', 'seed', '0')
    .option('--stories <dir>', 'stories260K directory (by default ../shared/models/stories260K beside the package\'s folder, as in a checkout of the repository; the case study skips that part where it is absent)', path.resolve(__dirname, '../../../../../shared/models/stories260K'))
    .action(async (raw: Record<string, unknown>) => {
      // The case study's scratch folder (~850 MB) goes under a folder of ours, removed on a signal.
      const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'wg-'));
      let result: ReturnType<typeof RunCaseStudy>;
      try {
        result = await runInterruptible<ReturnType<typeof RunCaseStudy>>(
          { command: 'case-study', out: String(raw.out), seed: String(raw.seed), stories: String(raw.stories), version },
          { temporaries: [scratch], temporaryDirs: [String(raw.out)], tmpdir: scratch, onEvent: (e) => e.type === 'log' && process.stderr.write(`${e.line}\n`) },
        );
      } finally {
        fs.rmSync(scratch, { recursive: true, force: true });
      }
      process.stdout.write(fs.readFileSync(result.files.find((f) => f.endsWith('.md'))!, 'utf8'));
      process.stdout.write(`\nwrote ${result.files.join(', ')}\n`);
    });
  cmd
    .command('attack')
    .description('recover the original weights from a TaylorMLP release (the release is the only input)')
    .argument('<released>', 'a TaylorMLP release (.safetensors)')
    .argument('<out>', 'recovered checkpoint, original tensor names and layout')
    .option('--method <m>', 'consensus | pairwise', 'consensus')
    .option('--json', 'print the summary as JSON', false)
    .action(async (input: string, output: string, raw: Record<string, unknown>) => {
      if (raw.method !== 'consensus' && raw.method !== 'pairwise') throw new CliUsageError(`--method must be consensus or pairwise, got "${String(raw.method)}"`);
      checkOutputPath(output, [checkInputFile(input, 'release')]); // paths before any work
      const progress = progressBars().blockProgress('attack');
      const summary = await runInterruptible<AttackSummary>(
        { command: 'attack', input, output, method: raw.method, version },
        { temporaries: [temporaryPathFor(output)], onEvent: (e) => e.type === 'block' && progress.onBlock(e.index, e.total, e.prefix), onInterrupt: () => progress.stop() },
      );
      progress.stop();
      if (raw.json === true) {
        process.stdout.write(JSON.stringify({ tool: 'weightgames', version, command: 'attack', ...summary }, null, 2) + '\n');
        return;
      }
      process.stdout.write(
        [
          `recovered ${summary.blocks.length} MLP blocks of ${input} → ${output} (${summary.method})`,
          `  activation ${summary.activation}, N = ${summary.order}, stored ${summary.dtype}, signs ${summary.signs ? 'on' : 'off'}`,
          `  units: ${summary.total.units} (${summary.total.plain} released plain, ${summary.total.unrecoverable} unrecoverable: flagged, written as 0${summary.total.unrecoverable > 0 ? ` — ${Object.entries(summary.total.reasons).map(([why, n]) => `${n} ${why}`).join(', ')}` : ''})`,
          `  ${groupDigits(summary.recoveredParameters)} parameters of W recovered (the expanded units' columns; the others' are released in the clear) in ${summary.recoverySeconds.toFixed(2)} s (${(summary.recoveredParameters / summary.recoverySeconds / 1e6).toFixed(1)} M/s); ${summary.seconds.toFixed(2)} s with I/O`,
        ].join('\n') + '\n',
      );
    });
  cmd
    .command('compare')
    .description("Table 1's columns: a recovered checkpoint against the original")
    .argument('<original>', 'the original checkpoint')
    .argument('<recovered>', 'the recovered checkpoint')
    .option('--tol <t>', 'relative error below which an entry counts as recovered', '0.01')
    .option('--inputs <file>', 'recorded MLP inputs per layer (safetensors, e.g. activations.safetensors) for the block-output error; default seeded N(0, 1)')
    .option('--json', 'print JSON', false)
    .action((original: string, recovered: string, raw: Record<string, unknown>) => {
      const tol = Number(raw.tol);
      if (!(tol > 0)) throw new CliUsageError(`--tol must be a positive number, got "${String(raw.tol)}"`);
      const inputs = typeof raw.inputs === 'string' ? raw.inputs : undefined;
      checkInputFile(original, 'original');
      checkInputFile(recovered, 'recovered');
      if (inputs !== undefined) checkInputFile(inputs, 'recorded inputs');
      const c = comparison().compareCheckpoints(original, recovered, tol, undefined, { inputs });
      if (raw.json === true) {
        process.stdout.write(JSON.stringify({ tool: 'weightgames', version, command: 'compare', original, recovered, ...c }, null, 2) + '\n');
        return;
      }
      const e = (x: number | null) => (x === null ? '—' : x.toExponential(2));
      const pct = (d: { ratio: number; units: number } | null) => (d === null ? '—' : `${(100 * d.ratio).toFixed(2)} % (${groupDigits(d.units)} units)`);
      const rows = c.layers.map((l) => `| ${l.layer} | ${groupDigits(l.parameters)} | ${groupDigits(l.recovered)} | ${(100 * l.ratio).toFixed(2)} % | ${pct(l.determined)} | ${e(l.medianRelativeError)} | ${e(l.maxRelativeError)} | ${e(l.biasMaxAbsError)} | ${e(l.outputRelativeError)} |`);
      const g = c.greedy;
      process.stdout.write(
        [
          `| layer | parameters | recovered (rel. err. < ${tol}) | ratio | ratio where W is determined | median rel. err. | max rel. err. | max abs. err. of b | block output rel. err. |`,
          '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
          ...rows,
          `| total | ${groupDigits(c.total.parameters)} | ${groupDigits(c.total.recovered)} | ${(100 * c.total.ratio).toFixed(2)} % | ${pct(c.total.determined)} | ${e(c.total.medianRelativeError)} | ${e(c.total.maxRelativeError)} | ${e(c.total.biasMaxAbsError)} | ${e(c.total.outputRelativeError)} |`,
          '',
          `block outputs on ${c.functionalInputs}`,
          ...(g === null ? [] : [`greedy tokens (${g.model}, ${g.prompts} seeded prompts, ≤ ${g.maxTokens} tokens): ${g.identical}/${g.prompts} continuations identical, ${g.agreeingTokens}/${g.tokens} tokens agree`]),
        ].join('\n') + '\n',
      );
    });
  return cmd;
}

/** Run the CLI; returns the exit code. Errors print one line on stderr, never a stack trace. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    await program().parseAsync([...argv], { from: 'user' });
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return ExitCode.ok;
      process.stderr.write(`weightgames: ${error.message.replace(/^error: /, '')}\n`);
      return ExitCode.usage;
    }
    const e = error instanceof Error ? error : new Error(String(error));
    process.stderr.write(`weightgames: ${e.name}: ${e.message.split('\n')[0]}\n`);
    return exitCodeOf(errorKind(e));
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
