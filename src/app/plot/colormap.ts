/**
 * Viridis (matplotlib's default colour map: perceptually uniform, readable in grey and by
 * colour-blind readers), as 9 control points at t = 0, 1/8, …, 1, linearly interpolated.
 */
const VIRIDIS: ReadonlyArray<readonly [number, number, number]> = [
  [68, 1, 84],
  [71, 45, 123],
  [59, 82, 139],
  [44, 114, 142],
  [33, 145, 140],
  [40, 174, 128],
  [94, 201, 98],
  [173, 220, 48],
  [253, 231, 37],
];

/** The colour at t ∈ [0, 1] (clamped; NaN → the top colour), as [r, g, b] bytes. */
export function viridis(t: number): [number, number, number] {
  const c = Number.isNaN(t) ? 1 : Math.min(1, Math.max(0, t));
  const x = c * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const lo = VIRIDIS[i];
  const hi = VIRIDIS[i + 1];
  return [Math.round(lo[0] + f * (hi[0] - lo[0])), Math.round(lo[1] + f * (hi[1] - lo[1])), Math.round(lo[2] + f * (hi[2] - lo[2]))];
}

/** `#rrggbb` of a colour. */
export const hex = ([r, g, b]: readonly [number, number, number]): string => `#${[r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('')}`;

/**
 * A discrete scale: `levels` equal bins over [min, max], each drawn in the viridis colour of its
 * centre. Values below min fall in the first bin, above max (and NaN, ±∞ above) in the last.
 */
export interface BinnedScale {
  readonly min: number;
  readonly max: number;
  readonly levels: number;
  readonly bin: (v: number) => number;
  readonly colors: ReadonlyArray<[number, number, number]>;
}

export function binnedScale(min: number, max: number, levels: number): BinnedScale {
  if (!(Number.isFinite(min) && Number.isFinite(max) && max > min)) throw new RangeError(`binnedScale: need finite min < max, got [${min}, ${max}]`);
  if (!(Number.isInteger(levels) && levels >= 2 && levels <= 256)) throw new RangeError(`binnedScale: levels must be an integer in [2, 256], got ${levels}`);
  const colors = Array.from({ length: levels }, (_, k) => viridis((k + 0.5) / levels));
  const bin = (v: number): number => (Number.isNaN(v) ? levels - 1 : Math.min(levels - 1, Math.max(0, Math.floor(((v - min) / (max - min)) * levels))));
  return { min, max, levels, bin, colors };
}
