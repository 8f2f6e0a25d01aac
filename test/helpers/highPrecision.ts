import Decimal from 'decimal.js';

/**
 * An independent, arbitrary-precision reference for activation derivatives: truncated power
 * series arithmetic in decimal.js. f(x + h) = Σ c_n hⁿ gives f⁽ⁿ⁾(x) = n!·c_n. The methods
 * differ from the library's on purpose (series division and exp of series here; Stirling
 * polynomials, Hermite recurrences and a composition with σ there).
 */
export const D = Decimal.clone({ precision: 90, toExpNeg: -9e15, toExpPos: 9e15, minE: -9e15, maxE: 9e15 });
export type Dec = InstanceType<typeof D>;
type Series = Dec[];

const zero = () => new D(0);

export function mul(a: Series, b: Series, n: number): Series {
  const out = Array.from({ length: n }, zero);
  for (let i = 0; i < n; i++) for (let j = 0; i + j < n; j++) out[i + j] = out[i + j].plus(a[i].times(b[j]));
  return out;
}

export function div(a: Series, b: Series, n: number): Series {
  const out: Series = [];
  for (let k = 0; k < n; k++) {
    let acc = a[k];
    for (let j = 1; j <= k; j++) acc = acc.minus(b[j].times(out[k - j]));
    out.push(acc.div(b[0]));
  }
  return out;
}

/** exp of a series: F = exp(G) ⇒ m·F_m = Σ_{k=1}^{m} k·G_k·F_{m−k}. */
export function expSeries(g: Series, n: number): Series {
  const out: Series = [D.exp(g[0])];
  for (let m = 1; m < n; m++) {
    let acc = zero();
    for (let k = 1; k <= m; k++) acc = acc.plus(g[k].times(k).times(out[m - k]));
    out.push(acc.div(m));
  }
  return out;
}

const pad = (xs: Dec[], n: number): Series => Array.from({ length: n }, (_, i) => xs[i] ?? zero());

const derivativesFromSeries = (s: Series): Dec[] => {
  let fact = new D(1);
  return s.map((c, i) => {
    if (i > 0) fact = fact.times(i);
    return c.times(fact);
  });
};

/** σ(x + h) = 1/(1 + exp(−x − h)). */
function sigmoidSeries(x: Dec, n: number): Series {
  const e = expSeries(pad([x.neg(), new D(-1)], n), n);
  const denom = e.map((c, i) => (i === 0 ? c.plus(1) : c));
  return div(pad([new D(1)], n), denom, n);
}

/** Mills ratio Φ(−t)/φ(t) by Laplace's continued fraction, t ≥ 5. */
function millsRatio(t: Dec): Dec {
  let acc = t;
  for (let k = 600; k >= 1; k--) acc = t.plus(new D(k).div(acc));
  return new D(1).div(acc);
}

const SQRT_2PI = () => D.sqrt(new D(2).times(D.acos(-1)));

export function normalPdf(x: Dec): Dec {
  return D.exp(x.times(x).div(-2)).div(SQRT_2PI());
}

/** Φ(x): Taylor series Φ = ½ + φ(x)·Σ x^{2k+1}/(2k+1)!! for |x| < 5, Mills ratio beyond. */
export function normalCdf(x: Dec): Dec {
  if (x.abs().lt(5)) {
    let term = x;
    let sum = x;
    const x2 = x.times(x);
    for (let k = 1; k < 400; k++) {
      term = term.times(x2).div(2 * k + 1);
      sum = sum.plus(term);
      if (term.abs().lt(new D(10).pow(-90))) break;
    }
    return new D(0.5).plus(normalPdf(x).times(sum));
  }
  const tail = normalPdf(x).times(millsRatio(x.abs()));
  return x.isNeg() ? tail : new D(1).minus(tail);
}

/** gelu(x + h) = (x + h)·Φ(x + h), Φ(x + h) = Φ(x) + φ(x)∫₀ʰ exp(−xt − t²/2) dt. */
function geluSeries(x: Dec, n: number): Series {
  const phiSeries = expSeries(pad([zero(), x.neg(), new D(-0.5)], n), n).map((c) => c.times(normalPdf(x)));
  const cdfSeries: Series = [normalCdf(x), ...phiSeries.slice(0, n - 1).map((c, i) => c.div(i + 1))];
  return mul(pad([x, new D(1)], n), cdfSeries, n);
}

/** gelu_tanh(x + h) = (x + h)·E/(1 + E), E = exp(2u(x + h)), u = √(2/π)(x + 0.044715x³). */
function geluTanhSeries(x: Dec, n: number): Series {
  const c = D.sqrt(new D(2).div(D.acos(-1)));
  const a = new D('0.044715');
  const u = [c.times(x.plus(a.times(x.pow(3)))), c.times(new D(1).plus(a.times(3).times(x.pow(2)))), c.times(a).times(3).times(x), c.times(a)];
  // E/(1 + E) with E = exp(±2u): for u > 0 use 1 − E′/(1 + E′), E′ = exp(−2u), so the series
  // division never subtracts numbers of size e^{2u} to leave ones of size e^{−2u}.
  const flip = u[0].isPos();
  const e = expSeries(pad(u.map((v) => v.times(flip ? -2 : 2)), n), n);
  const r = div(e, e.map((v, i) => (i === 0 ? v.plus(1) : v)), n);
  const ratio = flip ? r.map((v, i) => (i === 0 ? new D(1).minus(v) : v.neg())) : r;
  return mul(pad([x, new D(1)], n), ratio, n);
}

export type RefName = 'silu' | 'gelu' | 'gelu_tanh' | 'sigmoid';

/** f⁽ⁿ⁾(x) for n = 0..order, to about 60 significant digits. */
export function referenceDerivatives(name: RefName, x: number | string, order: number): Dec[] {
  const xd = new D(x);
  const n = order + 1;
  switch (name) {
    case 'sigmoid':
      return derivativesFromSeries(sigmoidSeries(xd, n));
    case 'silu':
      return derivativesFromSeries(mul(pad([xd, new D(1)], n), sigmoidSeries(xd, n), n));
    case 'gelu':
      return derivativesFromSeries(geluSeries(xd, n));
    case 'gelu_tanh':
      return derivativesFromSeries(geluTanhSeries(xd, n));
  }
}
