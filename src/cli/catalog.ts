import * as t from 'io-ts';
import { isLeft } from 'fp-ts/Either';
import { PathReporter } from 'io-ts/PathReporter';
import type { Game } from '../game';
import type { AnyScheme } from '../scheme';
import type { WRecAdversary, WindAdversary } from '../adversary';
import { effiInfFromWRec, windFromWRec } from '../reductions';
import { correctnessGame, effiInfGame, effiInfQInputGame, windGame, wrecGame } from '../../games';
import { ToyTask, openRelease, additiveMask, additiveShares, neuronPermutation } from '../../schemes';
import { copyAdversary, randomGuessWRec, randomGuessWind, unmaskAdversary, sumSharesAdversary, permutationMatching } from '../../adversaries';

/**
 * The catalogue: every built-in scheme with the adversaries that apply to it, by name. The CLI's
 * `evaluate` plays all of them, and worker threads rebuild a game from its JSON arguments here.
 */

interface SchemeEntry {
  readonly describe: string;
  readonly build: (task: ToyTask) => AnyScheme;
  /** WRec adversaries; each also yields B_A for EffiInf and W-IND through the reductions. */
  readonly wrec: Record<string, (task: ToyTask) => WRecAdversary<any, any, any>>;
  /** Direct W-IND adversaries. */
  readonly wind: Record<string, () => WindAdversary<any, any, any>>;
}

const common = {
  copy: () => copyAdversary(),
  'random-guess': (task: ToyTask) => randomGuessWRec(task),
};

export const schemeCatalog: Readonly<Record<string, SchemeEntry>> = {
  'open-release': { describe: 'W′ = W (no protection)', build: () => openRelease(), wrec: common, wind: { 'random-bit': randomGuessWind } },
  'additive-mask': {
    describe: 'W′ = W + K, pk = ⊥ (secure, incorrect)',
    build: (task) => additiveMask(task, { publishKey: false }),
    wrec: { ...common, unmask: () => unmaskAdversary },
    wind: { 'random-bit': randomGuessWind },
  },
  'additive-mask-public': {
    describe: 'W′ = W + K, pk = K (correct, insecure)',
    build: (task) => additiveMask(task, { publishKey: true }),
    wrec: { ...common, unmask: () => unmaskAdversary },
    wind: { 'random-bit': randomGuessWind },
  },
  'additive-shares': {
    describe: 'first layer as 3 additive shares (correct, 3× slower Run′)',
    build: () => additiveShares({ shares: 3 }),
    wrec: { 'random-guess': common['random-guess'], 'sum-shares': () => sumSharesAdversary },
    wind: { 'random-bit': randomGuessWind },
  },
  'neuron-permutation': {
    describe: 'hidden units secretly permuted; elementwise Same',
    build: (task) => neuronPermutation(task),
    wrec: common,
    wind: { 'random-bit': randomGuessWind, 'permutation-matching': () => permutationMatching },
  },
  'neuron-permutation-invariant': {
    describe: 'hidden units secretly permuted; permutation-invariant Same',
    build: (task) => neuronPermutation(task, { same: 'permutation-invariant' }),
    wrec: common,
    wind: { 'random-bit': randomGuessWind, 'permutation-matching': () => permutationMatching },
  },
};

export const GameKindCodec = t.keyof({ correctness: null, wrec: null, effiinf: null, 'effiinf-q': null, wind: null });
export type GameKind = t.TypeOf<typeof GameKindCodec>;

export const ToyTaskCodec = t.type({ inputDim: t.number, hiddenDim: t.number, outputDim: t.number });

export const CatalogGameArgsCodec = t.intersection([
  t.type({ game: GameKindCodec, scheme: t.string, task: ToyTaskCodec }),
  t.partial({ adversary: t.string, inputs: t.number }),
]);
export type CatalogGameArgs = t.TypeOf<typeof CatalogGameArgsCodec>;

export class CatalogError extends Error {
  override readonly name = 'CatalogError';
}

const reductionPrefix = /^B\[(.+)\]$/;

/** Build a catalogue game from JSON arguments (the worker-thread entry point too). */
export function catalogGame(raw: unknown): Game {
  const decoded = CatalogGameArgsCodec.decode(raw);
  if (isLeft(decoded)) throw new CatalogError(`invalid catalogue game arguments: ${PathReporter.report(decoded).join('; ')}`);
  const args = decoded.right;
  const entry = schemeCatalog[args.scheme];
  if (entry === undefined) throw new CatalogError(`unknown scheme "${args.scheme}"; known: ${Object.keys(schemeCatalog).join(', ')}`);
  const scheme = entry.build(args.task);
  const wrecAdversary = (name: string): WRecAdversary<any, any, any> => {
    const make = entry.wrec[name];
    if (make === undefined) throw new CatalogError(`no WRec adversary "${name}" for ${args.scheme}; known: ${Object.keys(entry.wrec).join(', ')}`);
    return make(args.task);
  };
  const reduced = (): string => {
    const match = reductionPrefix.exec(args.adversary ?? '');
    if (match === null) throw new CatalogError(`${args.game} takes a reduction B[<wrec adversary>], got "${args.adversary}"`);
    return match[1];
  };
  const ref = { module: __filename, exportName: 'catalogGame', args };
  switch (args.game) {
    case 'correctness':
      return { ...correctnessGame(scheme, args.task), ref };
    case 'wrec':
      return { ...wrecGame(scheme, args.task, wrecAdversary(args.adversary ?? '')), ref };
    case 'effiinf':
      return { ...effiInfGame(scheme, args.task, effiInfFromWRec(scheme, wrecAdversary(reduced()))), ref };
    case 'effiinf-q':
      return { ...effiInfQInputGame(scheme, args.task, effiInfFromWRec(scheme, wrecAdversary(reduced())), { inputs: args.inputs ?? 8 }), ref };
    case 'wind': {
      const name = args.adversary ?? '';
      const direct = entry.wind[name];
      const adversary = direct !== undefined ? direct() : windFromWRec(scheme, wrecAdversary(reduced()));
      return { ...windGame(scheme, args.task, adversary), ref };
    }
  }
}

/** Every (game, adversary) pair the catalogue has for a scheme, in a fixed order. */
export function scorecardEntries(schemeName: string, task: ToyTask, inputs = 8): CatalogGameArgs[] {
  const entry = schemeCatalog[schemeName];
  if (entry === undefined) throw new CatalogError(`unknown scheme "${schemeName}"; known: ${Object.keys(schemeCatalog).join(', ')}`);
  const wrecNames = Object.keys(entry.wrec);
  return [
    { game: 'correctness', scheme: schemeName, task },
    ...wrecNames.map((adversary) => ({ game: 'wrec' as const, scheme: schemeName, task, adversary })),
    ...wrecNames.map((a) => ({ game: 'effiinf' as const, scheme: schemeName, task, adversary: `B[${a}]` })),
    ...wrecNames.map((a) => ({ game: 'effiinf-q' as const, scheme: schemeName, task, adversary: `B[${a}]`, inputs })),
    ...Object.keys(entry.wind).map((adversary) => ({ game: 'wind' as const, scheme: schemeName, task, adversary })),
    ...wrecNames.map((a) => ({ game: 'wind' as const, scheme: schemeName, task, adversary: `B[${a}]` })),
  ];
}
