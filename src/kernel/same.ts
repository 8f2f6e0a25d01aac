/** The numeric arrays a Dist reads (the tensors' storage type, without depending on the numerics layer). */
export type FloatArray = Float32Array | Float64Array;

// Bound once: global lookups in hot loops are slow inside sandboxed module scopes (Jest's vm).
const { abs, max, pow } = Math;
const isNaN = Number.isNaN;
const INFINITY = Number.POSITIVE_INFINITY;

/**
 * Dist and Same (paper §3.1): Same(a, b) ⇔ Dist(a, b) ≤ δ. Both are values a user passes to
 * the games, never constants hidden inside them.
 */
export interface Dist<T> {
  readonly name: string;
  readonly measure: (a: T, b: T) => number;
}

export interface Same<T> {
  /** e.g. `maxRelativeError ≤ 0.01`. */
  readonly name: string;
  readonly dist: Dist<T>;
  /** δ */
  readonly threshold: number;
  readonly test: (a: T, b: T) => boolean;
}

/** Same(a, b) ⇔ Dist(a, b) ≤ δ. NaN distances are never Same. */
export function sameWithin<T>(dist: Dist<T>, threshold: number): Same<T> {
  if (!(threshold >= 0)) throw new RangeError(`Same threshold δ must be ≥ 0, got ${threshold}`);
  return { name: `${dist.name} ≤ ${threshold}`, dist, threshold, test: (a, b) => dist.measure(a, b) <= threshold };
}

/** Exact equality as a Same (Dist = 0 or 1). */
export function sameExactly<T>(equal: (a: T, b: T) => boolean, name = 'equal'): Same<T> {
  return sameWithin({ name: `not ${name}`, measure: (a, b) => (equal(a, b) ? 0 : 1) }, 0);
}

/** How to see a value as a list of numeric arrays, in a fixed order. */
export type NumericView<T> = (value: T) => readonly FloatArray[];

/** Both values' arrays, or undefined when their shapes differ (then they are never Same). */
function pairedArrays<T>(view: NumericView<T>, a: T, b: T): [readonly FloatArray[], readonly FloatArray[]] | undefined {
  const xs = view(a);
  const ys = view(b);
  if (xs.length !== ys.length) return undefined;
  for (let i = 0; i < xs.length; i++) if (xs[i].length !== ys[i].length) return undefined;
  return [xs, ys];
}

/**
 * ‖a − b‖_p over all entries (p = Infinity for the max norm); with `relative`, divided by ‖b‖_p
 * (b is the reference: the original weight or Run's output).
 */
export function normDistance<T>(view: NumericView<T>, options: { p?: number; relative?: boolean } = {}): Dist<T> {
  const p = options.p ?? 2;
  const relative = options.relative ?? false;
  const norm = (values: (i: number, j: number) => number, arrays: readonly FloatArray[]): number => {
    let acc = 0;
    for (let i = 0; i < arrays.length; i++) {
      for (let j = 0; j < arrays[i].length; j++) {
        const v = abs(values(i, j));
        if (isNaN(v)) return NaN;
        acc = p === INFINITY ? max(acc, v) : acc + pow(v, p);
      }
    }
    return p === INFINITY ? acc : pow(acc, 1 / p);
  };
  return {
    name: `${relative ? 'relative ' : ''}L${p === INFINITY ? '∞' : p} distance`,
    measure: (a, b) => {
      const paired = pairedArrays(view, a, b);
      if (paired === undefined) return INFINITY;
      const [xs, ys] = paired;
      const diff = norm((i, j) => xs[i][j] - ys[i][j], xs);
      if (!relative) return diff;
      const ref = norm((i, j) => ys[i][j], ys);
      return ref === 0 ? (diff === 0 ? 0 : INFINITY) : diff / ref;
    },
  };
}

/** Entry i is recovered iff |a_i − b_i| ≤ tol·|b_i| (relative error at most tol; b is the reference). */
const withinRelative = (a: number, b: number, tol: number): boolean => abs(a - b) <= tol * abs(b);

/** max_i |a_i − b_i| / |b_i| (an exact 0 reference entry counts 0 if matched, ∞ otherwise). */
export function maxRelativeError<T>(view: NumericView<T>): Dist<T> {
  return {
    name: 'max relative error',
    measure: (a, b) => {
      const paired = pairedArrays(view, a, b);
      if (paired === undefined) return INFINITY;
      const [xs, ys] = paired;
      let worst = 0;
      for (let i = 0; i < xs.length; i++) {
        for (let j = 0; j < xs[i].length; j++) {
          const diff = abs(xs[i][j] - ys[i][j]);
          const ref = abs(ys[i][j]);
          const err = diff === 0 ? 0 : ref === 0 ? INFINITY : diff / ref;
          if (isNaN(err)) return NaN;
          if (err > worst) worst = err;
        }
      }
      return worst;
    },
  };
}

/**
 * The paper's "recovered ratio" (Table 1): the share of entries within relative error `tol`
 * (1 % in the paper). As a Dist it is 1 − ratio, so Same(δ) means "at least 1 − δ recovered".
 */
export function recoveredRatio<T>(view: NumericView<T>, a: T, b: T, tol = 0.01): number {
  const paired = pairedArrays(view, a, b);
  if (paired === undefined) return 0;
  const [xs, ys] = paired;
  let total = 0;
  let recovered = 0;
  for (let i = 0; i < xs.length; i++) {
    for (let j = 0; j < xs[i].length; j++) {
      total++;
      if (withinRelative(xs[i][j], ys[i][j], tol)) recovered++;
    }
  }
  return total === 0 ? 1 : recovered / total;
}

export function unrecoveredShare<T>(view: NumericView<T>, tol = 0.01): Dist<T> {
  return { name: `share of entries with relative error > ${tol}`, measure: (a, b) => 1 - recoveredRatio(view, a, b, tol) };
}

/** Same on weights via the recovered ratio: Same ⇔ ratio ≥ minRatio. */
export const sameByRecoveredRatio = <T>(view: NumericView<T>, options: { tol?: number; minRatio?: number } = {}): Same<T> =>
  sameWithin(unrecoveredShare(view, options.tol ?? 0.01), 1 - (options.minRatio ?? 1));
