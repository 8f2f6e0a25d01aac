import seedrandom from 'seedrandom';

/**
 * A seeded source of uniform doubles. Every random draw in weightgames goes through one of
 * these; `Math.random` is never used, so a result is a function of its seed alone.
 */
export interface Rng {
  /** Uniform in [0, 1), 53 bits. */
  readonly uniform: () => number;
  /** Standard normal N(0, 1). */
  readonly normal: () => number;
  /** Uniform integer in [0, n). */
  readonly int: (n: number) => number;
}

/** The address of one random stream: (seed, trial, label). */
export interface StreamAddress {
  readonly seed: string;
  readonly trial: number;
  readonly label: string;
}

/**
 * The generator for a stream address. The address is serialised without ambiguity
 * (JSON of the triple) and fed to seedrandom's Alea, which hashes it into its state:
 * distinct addresses give independent-looking streams, equal addresses equal streams.
 */
export function streamRng(address: StreamAddress): Rng {
  const key = JSON.stringify([address.seed, address.trial, address.label]);
  return rngFromPrng(seedrandom.alea(key));
}

function rngFromPrng(prng: { double: () => number }): Rng {
  let spare: number | undefined;
  const uniform = (): number => prng.double();
  const normal = (): number => {
    // Box–Muller, keeping the second variate; deterministic because the stream is.
    if (spare !== undefined) {
      const value = spare;
      spare = undefined;
      return value;
    }
    let u = 0;
    while (u === 0) u = uniform();
    const v = uniform();
    const radius = Math.sqrt(-2 * Math.log(u));
    spare = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  };
  const int = (n: number): number => {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`Rng.int needs a positive integer bound, got ${n}`);
    return Math.floor(uniform() * n);
  };
  return { uniform, normal, int };
}
