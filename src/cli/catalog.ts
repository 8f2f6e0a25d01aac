import * as t from 'io-ts';
import { isLeft } from 'fp-ts/Either';
import { PathReporter } from 'io-ts/PathReporter';
import type { Game } from '../game';
import type { AnyScheme } from '../scheme';
import type { WRecAdversary, WindAdversary } from '../adversary';
import { effiInfFromWRec, windFromWRec } from '../reductions';
import { correctnessGame, effiInfGame, effiInfQInputGame, windGame, wrecGame } from '../../games';
import { ToyTask, openRelease, additiveMask, additiveShares, neuronPermutation, taylorMlp } from '../../schemes';
import { copyAdversary, randomGuessWRec, randomGuessWind, unmaskAdversary, sumSharesAdversary, permutationMatching } from '../../adversaries';
import { consensusAdversary, pairwiseAdversary, publishedLayerDistinguisher, truncatedOrders } from '../../adversaries/taylormlp';
import type { EffiInfAdversary, StatefulEffiInfAdversary, ApiEffiInfAdversary, ApiWRecAdversary } from '../adversary';
import type { RegressionTask } from '../models/train';
import { WeightgamesError } from '../errors';
import type { Same } from '../same';
import { wrecApiGame, effiInfApiGame } from '../../games/apiAccess';
import { OneHiddenLayerFormat, distillation, reluExtraction, sameUpToHiddenSymmetry, toyFormat, trainedMlpFormat } from '../../adversaries/generic';

/**
 * The catalogue: every built-in scheme with the adversaries that apply to it, by name. The CLI's
 * `evaluate` plays all of them, and worker threads rebuild a game from its JSON arguments here.
 */

interface SchemeEntry {
  readonly describe: string;
  /** D when none is given, and its decoder. */
  readonly defaultData: unknown;
  readonly data: t.Decoder<unknown, any>;
  readonly build: (data: any) => AnyScheme;
  /**
   * WRec adversaries; each also yields B_A for EffiInf and W-IND through the reductions. A
   * factory takes no arguments: an adversary is built from public information only, never
   * from D (the paper: D is not given to A).
   */
  readonly wrec: Record<string, () => WRecAdversary<any, any, any>>;
  /** Direct W-IND adversaries. */
  readonly wind: Record<string, () => WindAdversary<any, any, any>>;
  /** q of the q-input EffiInf game when the caller gives none (recovery that costs thousands of Run′s needs a large q to break even). */
  readonly inputs?: number;
  /** Direct EffiInf adversaries (no recovery), usable for q inputs too. */
  readonly effiinf?: Record<string, () => EffiInfAdversary<any, any, any, any, any> & StatefulEffiInfAdversary<any, any, any, any, any>>;
  /** Generic adversaries with a Run′ oracle (adversaries/generic): every scheme whose Run is a one-hidden-layer MLP. */
  readonly api?: ApiEntry;
}

/** The API-access rows of a scheme: WRec through Run′ queries only, and EffiInf by distillation. */
interface ApiEntry {
  /** The query budget q of each row. */
  readonly queries: number;
  /** WRec-API adversaries, each with the Same on weights that judges it (e.g. up to hidden-unit symmetries). */
  readonly wrec?: Record<string, { readonly adversary: () => ApiWRecAdversary<any, any, any, any>; readonly same: () => Same<any> }>;
  /** EffiInf-API adversaries (their queries are charged to them). */
  readonly effiinf?: Record<string, () => ApiEffiInfAdversary<any, any, any, any, any>>;
}

const ToyTaskDecoder = t.intersection([
  t.type({ inputDim: t.number, hiddenDim: t.number, outputDim: t.number }),
  t.partial({ activation: t.keyof({ tanh: null, relu: null }), training: t.intersection([t.type({ dataSeed: t.string, samples: t.number, steps: t.number }), t.partial({ learningRate: t.number })]) }),
]);
const defaultToy: ToyTask = { inputDim: 8, hiddenDim: 16, outputDim: 4 };
const RegressionTaskDecoder = t.intersection([
  t.type({ dataSeed: t.string, samples: t.number, inputDim: t.number, hiddenDim: t.number, outputDim: t.number, activation: t.keyof({ silu: null, gelu: null, gelu_tanh: null, sigmoid: null }), steps: t.number }),
  t.partial({ learningRate: t.number, inputScale: t.number }),
]);
/** The TaylorMLP games' task: small trained GELU MLPs with biases (fresh weights every trial). */
export const defaultTaylorTask: RegressionTask = { dataSeed: 'evaluate', samples: 128, inputDim: 8, hiddenDim: 32, outputDim: 4, activation: 'gelu', steps: 100 };
const toy = { defaultData: defaultToy, data: ToyTaskDecoder };
/** The generic attacks' subjects: trained one-hidden-layer ReLU MLPs 16 → 32 → 4. */
export const defaultReluTask: ToyTask = { inputDim: 16, hiddenDim: 32, outputDim: 4, activation: 'relu', training: { dataSeed: 'evaluate', samples: 128, steps: 100 } };
const reluToy = { defaultData: defaultReluTask, data: ToyTaskDecoder };
const reluFormat = toyFormat('relu');
/** Distillation with q = 256 queries into Run's architecture (one hidden layer of `hidden` units). */
const distill = <W, X, Y>(format: OneHiddenLayerFormat<W, X, Y>, hidden: number) => ({ 'distill-q256': () => distillation(format, { queries: 256, hiddenDim: hidden }) });
/** The API rows of the ReLU subjects: critical-point extraction (judged up to permutation and positive scaling) and distillation. */
const reluApi: ApiEntry = {
  queries: 1_000_000,
  wrec: { 'relu-extraction': { adversary: () => reluExtraction(reluFormat), same: () => sameUpToHiddenSymmetry(reluFormat) } },
  effiinf: distill(reluFormat, 32),
};

const common = {
  copy: () => copyAdversary(),
  'random-guess': () => randomGuessWRec(),
};

export const schemeCatalog: Readonly<Record<string, SchemeEntry>> = {
  'open-release': { ...toy, describe: 'W′ = W (no protection)', build: () => openRelease(), wrec: common, wind: { 'random-bit': randomGuessWind } },
  'additive-mask': {
    ...toy,
    describe: 'W′ = W + K, pk = ⊥ (secure, incorrect)',
    build: (task) => additiveMask(task, { publishKey: false }),
    wrec: { ...common, unmask: () => unmaskAdversary },
    wind: { 'random-bit': randomGuessWind },
  },
  'additive-mask-public': {
    ...toy,
    describe: 'W′ = W + K, pk = K (correct, insecure)',
    build: (task) => additiveMask(task, { publishKey: true }),
    wrec: { ...common, unmask: () => unmaskAdversary },
    wind: { 'random-bit': randomGuessWind },
  },
  'additive-shares': {
    ...toy,
    describe: 'first layer as 3 additive shares (correct, 3× slower Run′)',
    build: () => additiveShares({ shares: 3 }),
    wrec: { 'random-guess': common['random-guess'], 'sum-shares': () => sumSharesAdversary },
    wind: { 'random-bit': randomGuessWind },
  },
  'neuron-permutation': {
    ...toy,
    describe: 'hidden units secretly permuted; elementwise Same',
    build: (task) => neuronPermutation(task),
    wrec: common,
    wind: { 'random-bit': randomGuessWind, 'permutation-matching': () => permutationMatching },
  },
  'neuron-permutation-invariant': {
    ...toy,
    describe: 'hidden units secretly permuted; permutation-invariant Same',
    build: (task) => neuronPermutation(task, { same: 'permutation-invariant' }),
    wrec: common,
    wind: { 'random-bit': randomGuessWind, 'permutation-matching': () => permutationMatching },
  },
  'open-release-relu': {
    ...reluToy,
    describe: 'W′ = W on trained 16 → 32 → 4 ReLU MLPs (generic attacks\' subject)',
    build: () => openRelease({ activation: 'relu' }),
    wrec: common,
    wind: { 'random-bit': randomGuessWind },
    api: reluApi,
  },
  'neuron-permutation-relu': {
    ...reluToy,
    describe: 'hidden units of trained 16 → 32 → 4 ReLU MLPs secretly permuted',
    build: (task) => neuronPermutation(task),
    wrec: common,
    wind: { 'random-bit': randomGuessWind, 'permutation-matching': () => permutationMatching },
    api: reluApi,
  },
  'additive-shares-relu': {
    ...reluToy,
    describe: 'first layer of trained 16 → 32 → 4 ReLU MLPs as 3 additive shares',
    build: () => additiveShares({ shares: 3, activation: 'relu' }),
    wrec: { 'random-guess': common['random-guess'], 'sum-shares': () => sumSharesAdversary },
    wind: { 'random-bit': randomGuessWind },
    api: reluApi,
  },
  taylormlp: {
    describe: 'TaylorMLP (Algorithm 1) on trained 8 → 32 → 4 GELU MLPs, N = 12, f32, full expansion, signs; inputs near z0, Same within 1 %',
    defaultData: defaultTaylorTask,
    data: RegressionTaskDecoder,
    build: (task: RegressionTask) => taylorMlp(task, { taylor: { order: 12, dtype: 'f32', signs: true }, inputSpread: 0.1, outputThreshold: 1e-2 }),
    wrec: { consensus: () => consensusAdversary('f32', true), pairwise: () => pairwiseAdversary },
    wind: { 'random-bit': randomGuessWind, 'published-first-layer': () => publishedLayerDistinguisher },
    effiinf: { 'truncate-to-4': () => truncatedOrders(4) },
    // Exactly metered, consensus recovery costs ~8.4 MFLOPs ≈ 2,000 Run′ calls: q must exceed the break-even.
    inputs: 4000,
    api: { queries: 256, effiinf: distill(trainedMlpFormat('gelu'), 32) },
  },
};

export const GameKindCodec = t.keyof({ correctness: null, wrec: null, effiinf: null, 'effiinf-q': null, wind: null, 'wrec-api': null, 'effiinf-api': null });
export type GameKind = t.TypeOf<typeof GameKindCodec>;

export const CatalogGameArgsCodec = t.intersection([t.type({ game: GameKindCodec, scheme: t.string }), t.partial({ data: t.unknown, adversary: t.string, inputs: t.number, queries: t.number })]);
export type CatalogGameArgs = t.TypeOf<typeof CatalogGameArgsCodec>;

export class CatalogError extends WeightgamesError {
  override readonly name = 'CatalogError';
  readonly kind = 'usage' as const;
}

const reductionPrefix = /^B\[(.+)\]$/;

/** Build a catalogue game from JSON arguments (the worker-thread entry point too). */
export function catalogGame(raw: unknown): Game {
  const decoded = CatalogGameArgsCodec.decode(raw);
  if (isLeft(decoded)) throw new CatalogError(`invalid catalogue game arguments: ${PathReporter.report(decoded).join('; ')}`);
  const args = decoded.right;
  const entry = schemeCatalog[args.scheme];
  if (entry === undefined) throw new CatalogError(`unknown scheme "${args.scheme}"; known: ${Object.keys(schemeCatalog).join(', ')}`);
  const decodedData = entry.data.decode(args.data ?? entry.defaultData);
  if (isLeft(decodedData)) throw new CatalogError(`invalid data for ${args.scheme}: ${PathReporter.report(decodedData).join('; ')}`);
  const data = decodedData.right;
  const scheme = entry.build(data);
  const wrecAdversary = (name: string): WRecAdversary<any, any, any> => {
    const make = entry.wrec[name];
    if (make === undefined) throw new CatalogError(`no WRec adversary "${name}" for ${args.scheme}; known: ${Object.keys(entry.wrec).join(', ')}`);
    return make();
  };
  const direct = (): (EffiInfAdversary<any, any, any, any, any> & StatefulEffiInfAdversary<any, any, any, any, any>) | undefined => entry.effiinf?.[args.adversary ?? '']?.();
  const reduced = (): string => {
    const match = reductionPrefix.exec(args.adversary ?? '');
    if (match === null) throw new CatalogError(`${args.game} takes a reduction B[<wrec adversary>], got "${args.adversary}"`);
    return match[1];
  };
  const ref = { module: __filename, exportName: 'catalogGame', args };
  switch (args.game) {
    case 'correctness':
      return { ...correctnessGame(scheme, data), ref };
    case 'wrec':
      return { ...wrecGame(scheme, data, wrecAdversary(args.adversary ?? '')), ref };
    case 'effiinf':
      return { ...effiInfGame(scheme, data, direct() ?? effiInfFromWRec(scheme, wrecAdversary(reduced()))), ref };
    case 'effiinf-q':
      return { ...effiInfQInputGame(scheme, data, direct() ?? effiInfFromWRec(scheme, wrecAdversary(reduced())), { inputs: args.inputs ?? 8 }), ref };
    case 'wrec-api': {
      const row = entry.api?.wrec?.[args.adversary ?? ''];
      if (row === undefined) throw new CatalogError(`no WRec-API adversary "${args.adversary}" for ${args.scheme}; known: ${Object.keys(entry.api?.wrec ?? {}).join(', ')}`);
      return { ...wrecApiGame(scheme, data, row.adversary(), { queries: args.queries ?? entry.api!.queries, same: row.same() }), ref };
    }
    case 'effiinf-api': {
      const make = entry.api?.effiinf?.[args.adversary ?? ''];
      if (make === undefined) throw new CatalogError(`no EffiInf-API adversary "${args.adversary}" for ${args.scheme}; known: ${Object.keys(entry.api?.effiinf ?? {}).join(', ')}`);
      return { ...effiInfApiGame(scheme, data, make(), { queries: args.queries ?? entry.api!.queries, inputs: args.inputs ?? 1 }), ref };
    }
    case 'wind': {
      const name = args.adversary ?? '';
      const directWind = entry.wind[name];
      const adversary = directWind !== undefined ? directWind() : windFromWRec(scheme, wrecAdversary(reduced()));
      return { ...windGame(scheme, data, adversary), ref };
    }
  }
}

/** Every (game, adversary) pair the catalogue has for a scheme, in a fixed order. */
export function scorecardEntries(schemeName: string, data?: unknown, q?: number): CatalogGameArgs[] {
  const entry = schemeCatalog[schemeName];
  if (entry === undefined) throw new CatalogError(`unknown scheme "${schemeName}"; known: ${Object.keys(schemeCatalog).join(', ')}`);
  const inputs = q ?? entry.inputs ?? 8;
  const d = data ?? entry.defaultData;
  const wrecNames = Object.keys(entry.wrec);
  const direct = Object.keys(entry.effiinf ?? {});
  return [
    { game: 'correctness', scheme: schemeName, data: d },
    ...wrecNames.map((adversary) => ({ game: 'wrec' as const, scheme: schemeName, data: d, adversary })),
    ...[...wrecNames.map((a) => `B[${a}]`), ...direct].map((adversary) => ({ game: 'effiinf' as const, scheme: schemeName, data: d, adversary })),
    ...[...wrecNames.map((a) => `B[${a}]`), ...direct].map((adversary) => ({ game: 'effiinf-q' as const, scheme: schemeName, data: d, adversary, inputs })),
    ...Object.keys(entry.wind).map((adversary) => ({ game: 'wind' as const, scheme: schemeName, data: d, adversary })),
    ...wrecNames.map((a) => ({ game: 'wind' as const, scheme: schemeName, data: d, adversary: `B[${a}]` })),
    ...Object.keys(entry.api?.wrec ?? {}).map((adversary) => ({ game: 'wrec-api' as const, scheme: schemeName, data: d, adversary, queries: entry.api!.queries })),
    ...Object.keys(entry.api?.effiinf ?? {}).map((adversary) => ({ game: 'effiinf-api' as const, scheme: schemeName, data: d, adversary, queries: entry.api!.queries, inputs: 1 })),
  ];
}
