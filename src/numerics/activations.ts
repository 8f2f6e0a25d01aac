import { WeightgamesError } from '../kernel/errors';
import type erfcFunction from '@stdlib/math-base-special-erfc';
import { SPECIAL_FLOPS } from './tensor/flopModel';

/**
 * Smooth activations with their derivatives of every order up to MAX_ORDER, in float64.
 * Each formula is chosen to stay accurate in relative terms over [−40, 40]: no 1 − σ(x) for
 * large x, no φ(x)·poly(x) that underflows before the product does.
 */
export const MAX_ORDER = 25;

export type ActivationName = 'silu' | 'gelu' | 'gelu_tanh' | 'sigmoid';

export interface Activation {
  readonly name: ActivationName;
  /** Act(x). */
  readonly value: (x: number) => number;
  /** Act′(x), by its closed form (fast: for training). */
  readonly slope: (x: number) => number;
  /** The FLOPs `value(x)` performs (src/numerics/tensor/flopModel.ts), branch taken at x included. */
  readonly valueFlops: (x: number) => number;
  /** The FLOPs `slope(x)` performs. */
  readonly slopeFlops: (x: number) => number;
  /** out[n] = Act⁽ⁿ⁾(x) for n = 0..order (order ≤ MAX_ORDER). */
  readonly derivatives: (x: number, order: number, out?: Float64Array) => Float64Array;
  /**
   * The same into `out`, returning the FLOPs it performed (src/numerics/tensor/flopModel.ts), counted
   * where they run. Metered callers use the kernel `activationDerivatives` (src/numerics/tensor/derivativeKernels.ts).
   */
  readonly derivativesCounted: (x: number, order: number, out: Float64Array) => number;
}

/*
 * How the derivatives count: each `…Into(x, order, out)` below fills `out` and returns the FLOPs
 * it performed, with no object passed in or handed back and no argument left optional. Written
 * with a tally object, optional arguments and tuple returns, V8 boxed their doubles: 235 bytes
 * allocated per GELU call and 716 per SiLU call (measured); the attacks call them millions of
 * times, and garbage collection had become a tenth of an attack's time. They are reached through
 * the registry below (Activation.derivatives / derivativesCounted).
 */

/** Horner's second sum (Σ|c[k]|·|v|^(k−from)), handed back beside its value. */
const hornerAbs = new Float64Array(1);
/** sigmoidScaledInto's e = exp(−|y|) and σ(y), handed back beside its scaled derivatives. */
const sigmoidParts = new Float64Array(2);

export class ActivationError extends WeightgamesError {
  override readonly name = 'ActivationError';
  readonly kind = 'input';
}

const checkOrder = (order: number): void => {
  if (!Number.isInteger(order) || order < 0 || order > MAX_ORDER) throw new ActivationError(`derivative order must be an integer in [0, ${MAX_ORDER}], got ${order}`);
};

// ---- sigmoid ---------------------------------------------------------------------------

/**
 * σ⁽ⁿ⁾ = P_n(σ) with P₀(s) = s, P_{n+1}(s) = P_n′(s)·(s − s²) (the notes' recurrence).
 * Coefficients a[n][k] of s^k (k = 1..n+1): a′_k = k·a_k − (k−1)·a_{k−1}.
 */
const SIGMOID_IN_S: Float64Array[] = polynomialTable((a, k) => k * a[k] - (k - 1) * a[k - 1]);

/**
 * The same derivatives as polynomials in t = tanh(x/2) (σ = (1 + t)/2, t′ = (1 − t²)/2):
 * σ⁽ⁿ⁾ = ½Q_n(t) for n ≥ 1 with Q₀(t) = t, Q_{n+1} = Q_n′·(1 − t²)/2, i.e.
 * b′_k = ((k+1)·b_{k+1} − (k−1)·b_{k−1})/2. Near x = 0 (t small) this form has far less
 * cancellation than the polynomial in s ≈ ½.
 */
const SIGMOID_IN_T: Float64Array[] = polynomialTable((b, k) => ((k + 1) * b[k + 1] - (k - 1) * (k >= 1 ? b[k - 1] : 0)) / 2, 0);

function polynomialTable(step: (previous: Float64Array, k: number) => number, lowest = 1): Float64Array[] {
  const table: Float64Array[] = [];
  let current = new Float64Array(MAX_ORDER + 4);
  current[1] = 1;
  table.push(current);
  for (let n = 1; n <= MAX_ORDER + 1; n++) {
    const next = new Float64Array(MAX_ORDER + 4);
    for (let k = lowest; k <= n + 1; k++) next[k] = step(current, k);
    table.push(next);
    current = next;
  }
  return table;
}

/** Σ_k c[k]·v^(k−from) for k = from..degree by Horner; Σ|c[k]|·|v|^(k−from) (for the condition) into hornerAbs[0]. 4 FLOPs per term. */
function horner(c: Float64Array, from: number, degree: number, v: number): number {
  let acc = 0;
  let abs = 0;
  const av = Math.abs(v);
  for (let k = degree; k >= from; k--) {
    acc = acc * v + c[k];
    abs = abs * av + Math.abs(c[k]);
  }
  hornerAbs[0] = abs;
  return acc;
}
const hornerFlops = (from: number, degree: number): number => (degree >= from ? 4 * (degree - from + 1) : 0);

/**
 * The sigmoid's derivatives in scaled form, the basis of every activation here:
 * σ⁽ʲ⁾(y) = e·scaled[j] for j ≥ 1, with e = exp(−|y|), so that far tails (σ⁽ʲ⁾ ≈ ±e) never
 * pass through subnormal numbers; value = σ(y). Each order is evaluated at −|y| in whichever
 * of the two polynomial forms (in s = σ(−|y|), or in t = tanh(−|y|/2)) is better conditioned
 * there, then mapped by the symmetry σ⁽ʲ⁾(y) = (−1)ʲ⁺¹ σ⁽ʲ⁾(−y). Into `scaled`; e and σ(y) into
 * sigmoidParts; returns its FLOPs.
 */
function sigmoidScaledInto(y: number, order: number, scaled: Float64Array): number {
  const t0 = -Math.abs(y);
  const e = Math.exp(t0);
  const s = e / (1 + e);
  const em1 = Math.expm1(t0);
  const t = em1 / (2 + em1);
  const positive = y > 0;
  let flops = 2 * SPECIAL_FLOPS + 4 + (positive ? 2 : 0) + 4 * order; // e, s, em1, t, the value; per order: 2 conditions, the scaled value
  scaled[0] = NaN; // σ itself is `value`; it is not small in the positive tail.
  for (let n = 1; n <= order; n++) {
    // σ⁽ⁿ⁾ = s·Σ a_k s^(k−1) = e·Σ a_k s^(k−1)/(1 + e)
    const ps = horner(SIGMOID_IN_S[n], 1, n + 1, s);
    const as = hornerAbs[0];
    const pt = horner(SIGMOID_IN_T[n], 0, n + 1, t);
    const at = hornerAbs[0];
    flops += hornerFlops(1, n + 1) + hornerFlops(0, n + 1);
    const conditionS = as / Math.abs(ps);
    const conditionT = at / Math.abs(pt);
    let value = conditionT < conditionS ? (0.5 * pt) / e : ps / (1 + e);
    if (positive && n % 2 === 0) value = -value;
    scaled[n] = value;
  }
  sigmoidParts[0] = e;
  sigmoidParts[1] = positive ? 1 / (1 + e) : s;
  return flops;
}

/** Scratch of sigmoidDerivativesInto (its scaled derivatives) and siluDerivativesInto (σ's): neither calls itself. */
const sigmoidScratch = new Float64Array(MAX_ORDER + 2);
const siluScratch = new Float64Array(MAX_ORDER + 2);

/** σ⁽ⁿ⁾(x) for n = 0..order into out. */
function sigmoidDerivativesInto(x: number, order: number, out: Float64Array): number {
  const flops = sigmoidScaledInto(x, order, sigmoidScratch);
  const e = sigmoidParts[0];
  out[0] = sigmoidParts[1];
  for (let n = 1; n <= order; n++) out[n] = e * sigmoidScratch[n];
  return flops + order;
}

export const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/** FLOPs of `sigmoid(x)`: one exp, +, ÷ for x ≥ 0; two exps, +, ÷ otherwise (NaN included). */
const sigmoidFlops = (x: number): number => (x >= 0 ? SPECIAL_FLOPS + 2 : 2 * SPECIAL_FLOPS + 2);

// ---- SiLU ------------------------------------------------------------------------------

/** silu = x·σ(x); silu⁽ⁿ⁾ = x·σ⁽ⁿ⁾ + n·σ⁽ⁿ⁻¹⁾. */
function siluDerivativesInto(x: number, order: number, out: Float64Array): number {
  const flops = sigmoidDerivativesInto(x, order, siluScratch);
  const sig = siluScratch;
  out[0] = x * sig[0];
  for (let n = 1; n <= order; n++) out[n] = x * sig[n] + n * sig[n - 1];
  return flops + 1 + 3 * order;
}

// ---- exact GELU ------------------------------------------------------------------------

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

const NORMAL_CDF_FLOPS = SPECIAL_FLOPS + 2; // −x/√2 (÷), erfc, ½· (×)
/** See GELU_DIRECT_LOG_PHI (declared here, before its use: a module constant read before its declaration carries a hole check). */
const DIRECT_LOG_PHI = -700;

/**
 * @stdlib's erfc, loaded at its first use: its 131 small modules take ~45 ms to load, which every
 * thread loading this module paid — the CLI's job thread before it starts its workers included —
 * though only GELU's evaluations need it. The first call replaces this binding with it.
 */
let erfc: typeof erfcFunction = (x: number): number => {
  erfc = require('@stdlib/math-base-special-erfc') as typeof erfcFunction;
  return erfc(x);
};

/** Φ(x) = ½ erfc(−x/√2): accurate in both tails. */
export const normalCdf = (x: number): number => 0.5 * erfc(-x / Math.SQRT2);

/**
 * gelu = x·Φ(x); gelu′ = Φ + x·φ; for n ≥ 2, gelu⁽ⁿ⁾ = x·φ⁽ⁿ⁻¹⁾ + n·φ⁽ⁿ⁻²⁾, which with
 * φ⁽ᵏ⁾ = (−1)ᵏ Heₖ·φ (probabilists' Hermite, He_{k+1} = x·Heₖ − k·He_{k−1}) is
 * (−1)ⁿ⁺¹ φ(x)·(Heₙ(x) − Heₙ₋₂(x)). Where φ(x) is a normal number (log φ > −700, |x| ≲ 37.4) the
 * product is formed directly (one rounding, no exp per order); beyond, in log space, so that it
 * does not underflow before the value does.
 */
function geluDerivativesInto(x: number, order: number, out: Float64Array): number {
  let flops = NORMAL_CDF_FLOPS + 1;
  const cdf = normalCdf(x);
  out[0] = x * cdf;
  if (order === 0) return flops;
  const logPhi = -0.5 * x * x - LOG_SQRT_2PI;
  const phi = Math.exp(logPhi);
  out[1] = cdf + x * phi;
  flops += 3 + SPECIAL_FLOPS + 2;
  const direct = logPhi > DIRECT_LOG_PHI;
  let h0 = 1;
  let h1 = x;
  for (let n = 2; n <= order; n++) {
    const h2 = x * h1 - (n - 1) * h0; // He_n, with h0 = He_{n−2}
    const poly = h2 - h0;
    if (direct) {
      out[n] = poly === 0 ? 0 : (n % 2 === 1 ? poly : -poly) * phi;
      flops += 5 + (poly === 0 ? 0 : 1); // He_n (3), poly, the sign; the product
    } else {
      const sign = (n % 2 === 1 ? 1 : -1) * Math.sign(poly);
      out[n] = poly === 0 ? 0 : sign * Math.exp(logPhi + Math.log(Math.abs(poly)));
      flops += 5 + (poly === 0 ? 0 : 2 * SPECIAL_FLOPS + 2); // He_n (3), poly, sign; the log-space product
    }
    h0 = h1;
    h1 = h2;
  }
  return flops;
}

/** log φ above which φ is a normal float64 (φ > 1e-304): GELU's derivatives are then φ·(Heₙ − Heₙ₋₂) directly. */
export const GELU_DIRECT_LOG_PHI = DIRECT_LOG_PHI;

// ---- GELU (tanh approximation) ---------------------------------------------------------

const TANH_C = Math.sqrt(2 / Math.PI);
const TANH_A = 0.044715;

/**
 * gelu_tanh = ½x(1 + tanh(c(x + a x³))) = x·S(x) with S = σ∘v and the cubic v = 2c(x + a x³).
 * S's Taylor coefficients at x come from the ODE S′ = v′·S(1 − S) (Taylor-mode recurrence:
 * (m+1)·S_{m+1} = Σ_k V_k·W_{m−k}, W = S − S∗S, V the coefficients of v′, a quadratic). To stay
 * accurate in both tails the recurrence runs on R = σ(−|v|) = the smaller of S and 1 − S, scaled
 * by e = exp(−|v₀|) so that nothing passes through subnormal numbers: R̂ = R/e,
 * (m+1)·R̂_{m+1} = −sgn(v₀)·Σ_k V_k·(R̂ − e·R̂∗R̂)_{m−k}. (Composing σ's Taylor series with the
 * cubic instead alternates in sign and loses ~7 digits at order 16; this recurrence does not.)
 * Then g⁽ⁿ⁾ = x·S⁽ⁿ⁾ + n·S⁽ⁿ⁻¹⁾.
 */
function geluTanhDerivativesInto(x: number, order: number, out: Float64Array): number {
  let flops = 0;
  const v0 = 2 * TANH_C * (x + TANH_A * x * x * x);
  const V = [2 * TANH_C * (1 + 3 * TANH_A * x * x), 2 * 2 * TANH_C * 3 * TANH_A * x, 3 * 2 * TANH_C * TANH_A];
  const sign = v0 > 0 ? 1 : -1;
  const logE = -Math.abs(v0);
  const e = Math.exp(logE);
  const scaled = new Float64Array(order + 1); // R̂_m = R_m/e
  scaled[0] = 1 / (1 + e);
  flops += 6 + 14 + SPECIAL_FLOPS + 2; // v0, V, e, R̂_0
  for (let m = 0; m < order; m++) {
    let acc = 0;
    for (let k = 0; k <= 2 && k <= m; k++) {
      const i = m - k;
      let conv = 0;
      for (let a = 0; a <= i; a++) conv += scaled[a] * scaled[i - a];
      acc += V[k] * (scaled[i] - e * conv);
      flops += 2 * (i + 1) + 4;
    }
    scaled[m + 1] = (-sign * acc) / (m + 1);
    flops += 2;
  }
  // S⁽ᵐ⁾/e for m ≥ 1: S = 1 − R when v₀ > 0, S = R otherwise.
  const derivative = new Float64Array(order + 1);
  let factorial = 1;
  for (let m = 1; m <= order; m++) {
    factorial *= m;
    derivative[m] = (sign > 0 ? -scaled[m] : scaled[m]) * factorial;
  }
  flops += 2 * order + 2 + 1 + (order >= 1 ? 3 : 0); // factorials, the value, out[0], out[1]
  const value = sign > 0 ? 1 / (1 + e) : e / (1 + e);
  out[0] = x * value;
  if (order >= 1) out[1] = value + x * e * derivative[1];
  for (let n = 2; n <= order; n++) {
    const combined = x * derivative[n] + n * derivative[n - 1];
    // e·combined, formed in log space: e alone may be subnormal where the product is not.
    out[n] = combined === 0 ? 0 : Math.sign(combined) * Math.exp(logE + Math.log(Math.abs(combined)));
    flops += 3 + (combined === 0 ? 0 : 2 * SPECIAL_FLOPS + 2);
  }
  return flops;
}

// ---- what value and slope cost -------------------------------------------------------

/** gelu_tanh's sigmoid argument 2c(x + a x³), computed as in `value` (6 FLOPs). */
const tanhArgument = (x: number): number => 2 * TANH_C * (x + TANH_A * x * x * x);

/** FLOPs of each activation's `value` and `slope`, operation by operation as written below. */
const valueFlops: Readonly<Record<ActivationName, (x: number) => number>> = {
  silu: (x) => sigmoidFlops(x) + 1, // x·σ(x)
  gelu: () => NORMAL_CDF_FLOPS + 1, // x·Φ(x)
  gelu_tanh: (x) => 6 + sigmoidFlops(tanhArgument(x)) + 1, // x·σ(arg)
  sigmoid: sigmoidFlops,
};
const slopeFlops: Readonly<Record<ActivationName, (x: number) => number>> = {
  silu: (x) => sigmoidFlops(x) + 4, // s + x·s·(1 − s)
  gelu: () => NORMAL_CDF_FLOPS + 5 + SPECIAL_FLOPS, // Φ + x·exp(−½·x·x − log√2π)
  gelu_tanh: (x) => 6 + sigmoidFlops(tanhArgument(x)) + 11, // s + x·s·(1 − s)·2·c·(1 + 3·a·x·x)
  sigmoid: (x) => sigmoidFlops(x) + 2, // s·(1 − s)
};

// ---- the registry ----------------------------------------------------------------------

const make = (
  name: ActivationName,
  value: (x: number) => number,
  slope: (x: number) => number,
  derivativesInto: (x: number, order: number, out: Float64Array) => number,
): Activation => ({
  name,
  value,
  slope,
  valueFlops: valueFlops[name],
  slopeFlops: slopeFlops[name],
  derivatives: (x, order, out) => {
    checkOrder(order);
    const filled = out ?? new Float64Array(order + 1);
    derivativesInto(x, order, filled);
    return filled;
  },
  derivativesCounted: (x, order, out) => {
    checkOrder(order);
    return derivativesInto(x, order, out);
  },
});

export const activations: Readonly<Record<ActivationName, Activation>> = {
  silu: make('silu', (x) => x * sigmoid(x), (x) => {
    const s = sigmoid(x);
    return s + x * s * (1 - s);
  }, siluDerivativesInto),
  gelu: make('gelu', (x) => x * normalCdf(x), (x) => normalCdf(x) + x * Math.exp(-0.5 * x * x - LOG_SQRT_2PI), geluDerivativesInto),
  gelu_tanh: make('gelu_tanh', (x) => x * sigmoid(tanhArgument(x)), (x) => {
    const s = sigmoid(tanhArgument(x));
    return s + x * s * (1 - s) * 2 * TANH_C * (1 + 3 * TANH_A * x * x);
  }, geluTanhDerivativesInto),
  sigmoid: make('sigmoid', sigmoid, (x) => {
    const s = sigmoid(x);
    return s * (1 - s);
  }, sigmoidDerivativesInto),
};

/** Hugging Face `hidden_act` / `activation_function` names → our activations. */
const HF_NAMES: Readonly<Record<string, ActivationName>> = {
  silu: 'silu',
  swish: 'silu',
  gelu: 'gelu',
  gelu_new: 'gelu_tanh',
  gelu_pytorch_tanh: 'gelu_tanh',
  gelu_fast: 'gelu_tanh',
  gelu_tanh: 'gelu_tanh',
  sigmoid: 'sigmoid',
};

/** The activation for a config name; a clear error for anything not smooth or not known. */
export function activationByName(name: string): Activation {
  const ours = HF_NAMES[name.toLowerCase()];
  if (ours === undefined) throw new ActivationError(`unsupported activation "${name}" (supported: ${Object.keys(HF_NAMES).join(', ')}); TaylorMLP needs a smooth activation`);
  return activations[ours];
}
