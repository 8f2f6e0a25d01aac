import betaQuantile from '@stdlib/stats-base-dists-beta-quantile';

/** A two-sided confidence interval for a probability. */
export interface Interval {
  readonly lower: number;
  readonly upper: number;
}

export type IntervalMethod = 'clopper-pearson' | 'wilson';

const checkCounts = (successes: number, trials: number, confidence: number): void => {
  if (!Number.isInteger(trials) || trials < 1) throw new RangeError(`trials must be a positive integer, got ${trials}`);
  if (!Number.isInteger(successes) || successes < 0 || successes > trials) {
    throw new RangeError(`successes must be an integer in [0, ${trials}], got ${successes}`);
  }
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
};

/**
 * Exact (Clopper–Pearson) interval: lower = B⁻¹(α/2; k, n−k+1), upper = B⁻¹(1−α/2; k+1, n−k),
 * with the conventions lower = 0 at k = 0 and upper = 1 at k = n. Coverage ≥ confidence for every p.
 */
export function clopperPearson(successes: number, trials: number, confidence = 0.95): Interval {
  checkCounts(successes, trials, confidence);
  const alpha = 1 - confidence;
  const k = successes;
  const n = trials;
  const lower = k === 0 ? 0 : betaQuantile(alpha / 2, k, n - k + 1);
  const upper = k === n ? 1 : betaQuantile(1 - alpha / 2, k + 1, n - k);
  return { lower, upper };
}

/** Inverse standard normal CDF: Acklam's rational approximation (relative error below 1.2e-9, ample for a z value). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile needs p in (0, 1), got ${p}`);
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  let x: number;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - low) {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  return x;
}

/** Wilson score interval: approximate, narrower than Clopper–Pearson, may under-cover near 0 and 1. */
export function wilson(successes: number, trials: number, confidence = 0.95): Interval {
  checkCounts(successes, trials, confidence);
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const n = trials;
  const p = successes / n;
  const denom = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denom;
  return { lower: Math.max(0, centre - half), upper: Math.min(1, centre + half) };
}

export function probabilityInterval(method: IntervalMethod, successes: number, trials: number, confidence: number): Interval {
  return method === 'wilson' ? wilson(successes, trials, confidence) : clopperPearson(successes, trials, confidence);
}

/**
 * The W-IND advantage 2|p − ½| over an interval [lo, hi] for p: the image of the interval
 * under p ↦ 2|p − ½|, which contains 0 when ½ ∈ [lo, hi]. Same confidence as the p interval.
 */
export function distinguishingInterval(p: Interval): Interval {
  const a = 2 * Math.abs(p.lower - 0.5);
  const b = 2 * Math.abs(p.upper - 0.5);
  if (p.lower <= 0.5 && p.upper >= 0.5) return { lower: 0, upper: Math.max(a, b) };
  return { lower: Math.min(a, b), upper: Math.max(a, b) };
}
