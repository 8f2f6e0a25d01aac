import type * as t from 'io-ts';
import type { WeightReleaseScheme } from './scheme';
import type { Same } from './same';
import type {
  ApiEffiInfAdversary,
  ApiWRecAdversary,
  EffiInfAdversary,
  StatefulEffiInfAdversary,
  WRecAdversary,
  WindAdversary,
} from './adversary';

/**
 * A stateful adversary whose state type S is its own business: the registry keeps it packed, and
 * whoever plays it unpacks it with `use` (an existential type — no `any`).
 */
export interface PackedStateful<PK, R, X, Y> {
  readonly name: string;
  use<T>(play: <S>(adversary: StatefulEffiInfAdversary<PK, R, X, Y, S>) => T): T;
}

/** The same for API-access EffiInf adversaries (distillation): their state is the surrogate. */
export interface PackedApiEffiInf<PK, R, X, Y> {
  readonly name: string;
  use<T>(play: <S>(adversary: ApiEffiInfAdversary<PK, R, X, Y, S>) => T): T;
}

/** An EffiInf adversary that answers one input (EffiInf) and, prepared once, many (q-input EffiInf). */
export interface DirectEffiInf<PK, R, X, Y, W> {
  readonly single: EffiInfAdversary<PK, R, X, Y, W>;
  readonly stateful: PackedStateful<PK, R, X, Y>;
}

/** Pack an adversary that is both an `EffiInfAdversary` and a `StatefulEffiInfAdversary`. */
export const directEffiInf = <PK, R, X, Y, W, S>(adversary: EffiInfAdversary<PK, R, X, Y, W> & StatefulEffiInfAdversary<PK, R, X, Y, S>): DirectEffiInf<PK, R, X, Y, W> => ({
  single: adversary,
  stateful: { name: adversary.name, use: (play) => play(adversary) },
});

/** Pack an API-access EffiInf adversary. */
export const apiEffiInf = <PK, R, X, Y, S>(adversary: ApiEffiInfAdversary<PK, R, X, Y, S>): PackedApiEffiInf<PK, R, X, Y> => ({
  name: adversary.name,
  use: (play) => play(adversary),
});

/**
 * The reductions of §3.3 that apply to a scheme's WRec adversaries: each turns a WRec adversary A
 * into B_A for another game. A scheme lists the ones whose assumptions can hold for it (the games
 * check them trial by trial anyway); the scorecard plays B_A for every WRec adversary.
 */
export interface Reductions {
  /** Lemma: WRec ⇒ EffiInf — B_A recovers W* and runs Run(W*, x) (`effiInfFromWRec`). */
  readonly effiInfFromWRec: boolean;
  /** Lemma: WRec ⇒ W-IND — B_A recovers W* and answers the W_b nearer to it (`windFromWRec`). */
  readonly windFromWRec: boolean;
}

/** API-access rows (the paper's Figure 1, b1): adversaries that only query Run′(pk, W′, ·). */
export interface ApiRows<W, X, Y, PK, R> {
  /** The query budget q of each row. */
  readonly queries: number;
  /** WRec-API adversaries, each with the Same on weights that judges it (e.g. up to hidden-unit symmetries), and its own budget if it needs another. */
  readonly wrec?: Readonly<Record<string, { readonly adversary: () => ApiWRecAdversary<PK, X, Y, W>; readonly same: () => Same<W>; readonly queries?: number }>>;
  /** EffiInf-API adversaries (their queries are charged to them). */
  readonly effiinf?: Readonly<Record<string, () => PackedApiEffiInf<PK, R, X, Y>>>;
}

/** The scheme half of a registry entry: its name, D's codec and default, and Σ for a given D. */
export interface SchemeDefinition<D, W, X, Y, PK, SK, R> {
  /** The key `evaluate --scheme` knows it by. */
  readonly name: string;
  readonly describe: string;
  /** D's codec: decodes D from JSON (`--data`, worker threads) and encodes it back. */
  readonly data: t.Type<D, unknown, unknown>;
  /** D when none is given. */
  readonly defaultData: D;
  /** Σ for the given D. */
  readonly build: (data: D) => WeightReleaseScheme<D, W, X, Y, PK, SK, R>;
}

/**
 * The attack half: the adversaries that apply to the scheme and the reductions that turn its
 * WRec adversaries into others. Every factory takes no argument — an adversary is built from
 * public information only, never from D (the paper: D is given to Train, not to A).
 */
export interface SchemeAttacks<W, X, Y, PK, R> {
  /** WRec adversaries A. */
  readonly wrec: Readonly<Record<string, () => WRecAdversary<PK, R, W>>>;
  /** Which reductions turn each WRec adversary into B_A for EffiInf and W-IND. */
  readonly reductions: Reductions;
  /** Direct W-IND adversaries. */
  readonly wind?: Readonly<Record<string, () => WindAdversary<PK, W, R>>>;
  /** Direct EffiInf adversaries (no recovery), played for one input and for q inputs. */
  readonly effiinf?: Readonly<Record<string, () => DirectEffiInf<PK, R, X, Y, W>>>;
  /** q of the q-input EffiInf rows when the caller gives none (default 8). */
  readonly inputs?: number;
  /** Generic adversaries through a Run′ oracle. */
  readonly api?: ApiRows<W, X, Y, PK, R>;
}

/**
 * A scheme's registry entry: what `evaluate` (and `scorecard`) need to play every game against it.
 * Type parameters as the scheme's: D training data, W weights, X inputs, Y outputs, PK/SK keys,
 * R released weights.
 */
export type SchemeEntry<D, W, X, Y, PK, SK, R> = SchemeDefinition<D, W, X, Y, PK, SK, R> & SchemeAttacks<W, X, Y, PK, R>;

const ENTRY = Symbol.for('weightgames.schemeEntry');

/**
 * A scheme entry with its types packed away, so entries of different schemes sit in one
 * catalogue. `use` hands the typed entry to code that works for any types.
 */
export interface PackedSchemeEntry {
  readonly [ENTRY]: true;
  readonly name: string;
  readonly describe: string;
  use<T>(play: <D, W, X, Y, PK, SK, R>(entry: SchemeEntry<D, W, X, Y, PK, SK, R>) => T): T;
}

/** A scheme whose types are known, waiting for its attacks. */
export interface SchemeRegistration<D, W, X, Y, PK, SK, R> {
  /** The adversaries and reductions that apply; gives the packed entry. */
  attacks(attacks: SchemeAttacks<W, X, Y, PK, R>): PackedSchemeEntry;
}

/**
 * Register a scheme: `defineScheme({ name, describe, data, defaultData, build }).attacks({ wrec,
 * reductions, … })`. The first call fixes the scheme's types from `build`; the second is checked
 * against them (an adversary of the wrong type is a compile error at that adversary).
 */
export function defineScheme<D, W, X, Y, PK, SK, R>(definition: SchemeDefinition<D, W, X, Y, PK, SK, R>): SchemeRegistration<D, W, X, Y, PK, SK, R> {
  return {
    attacks: (attacks) => {
      const entry: SchemeEntry<D, W, X, Y, PK, SK, R> = { ...definition, ...attacks };
      return Object.freeze({
        [ENTRY]: true as const,
        name: entry.name,
        describe: entry.describe,
        use: <T>(play: <D2, W2, X2, Y2, PK2, SK2, R2>(e: SchemeEntry<D2, W2, X2, Y2, PK2, SK2, R2>) => T) => play(entry),
      });
    },
  };
}

/** Is `value` an entry made by `defineScheme` (of this or another copy of the library)? */
export const isSchemeEntry = (value: unknown): value is PackedSchemeEntry =>
  typeof value === 'object' && value !== null && (value as { [ENTRY]?: unknown })[ENTRY] === true && typeof (value as { use?: unknown }).use === 'function';
