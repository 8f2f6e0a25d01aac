import seedrandom from 'seedrandom';

/**
 * A seeded source of uniform doubles. Every random draw in weightgames goes through one of
 * these; `Math.random` is never used, so a result is a function of its seed alone.
 *
 * An Rng is a capability: it can draw, and it can `split` into sub-streams *below* its own
 * stream, but it cannot name or reach any other stream. Its address (seed, trial, label) is kept
 * in a closure and never exposed, so an algorithm handed an Rng learns nothing about the trial
 * and cannot replay the challenger's streams (Train, KGen, Release, input sampling).
 */
export interface Rng {
  /** Uniform in [0, 1), 53 bits. */
  readonly uniform: () => number;
  /** Standard normal N(0, 1). */
  readonly normal: () => number;
  /** Uniform integer in [0, n). */
  readonly int: (n: number) => number;
  /** The sub-stream `label` of this stream (labels nest with `/`): independent of every other stream. */
  readonly split: (label: string) => Rng;
}

/** The address of one random stream: (seed, trial, label). Held by the challenger only. */
export interface StreamAddress {
  readonly seed: string;
  readonly trial: number;
  readonly label: string;
}

const { sqrt, log, sin, cos, floor, PI } = Math;
const isInteger = Number.isInteger;

/**
 * The generator for a stream address. The address is serialised without ambiguity
 * (JSON of the triple) and fed to seedrandom's Alea, which hashes it into its state:
 * distinct addresses give independent-looking streams, equal addresses equal streams.
 */
export function streamRng(address: StreamAddress): Rng {
  const key = JSON.stringify([address.seed, address.trial, address.label]);
  const rng = rngFromPrng(seedrandom.alea(key), (label) => {
    const full = address.label === '' ? label : `${address.label}/${label}`;
    return streamRng({ seed: address.seed, trial: address.trial, label: full });
  });
  return rng;
}

/**
 * An Rng from an opaque key with no stream address: an adversary's coins inside an isolated
 * worker, or a user's own experiments (`sampleWith`). Its sub-streams derive from the key alone.
 */
export function keyedRng(key: string): Rng {
  return rngFromPrng(seedrandom.alea(JSON.stringify(['keyed', key])), (label) => keyedRng(`${key}/${label}`));
}

function rngFromPrng(prng: { double: () => number }, split: (label: string) => Rng): Rng {
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
    const radius = sqrt(-2 * log(u));
    spare = radius * sin(2 * PI * v);
    return radius * cos(2 * PI * v);
  };
  const int = (n: number): number => {
    if (!isInteger(n) || n <= 0) throw new RangeError(`Rng.int needs a positive integer bound, got ${n}`);
    return floor(uniform() * n);
  };
  const checkedSplit = (label: string): Rng => {
    if (typeof label !== 'string' || label === '') throw new RangeError('Rng.split needs a non-empty label');
    return split(label);
  };
  return Object.freeze({ uniform, normal, int, split: checkedSplit });
}
