import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { withMeter } from '../src/kernel/cost/meter';
import { activations, ActivationName, Activation } from '../src/numerics/activations';
import { derivativeGrid, scaledDerivatives } from '../src/numerics/tensor/derivativeKernels';
import { columnEstimate, consensusProfile, expansionBias, orderZeroDistance, orderZeroResiduals, outputBiasFromShares, refineExpansionPoint, roundingNoise, runnerUpPlausible, scaleStable, withinTolerance } from '../src/numerics/tensor/consensusKernels';
import { clippedBracket, fitsAlike, goldenSection, orderZeroShare, signAmbiguity, tailProfile, tailValley, writeTailRepresentative } from '../src/numerics/tensor/tailKernels';
import { Ops, refMisfit } from './helpers/countingOps';

/**
 * The attack kernels of consensus.ts and tails.ts against an independent count, as in
 * test/kernel-costs.test.ts: each reference below is the attack's original loop written through a
 * counter (`Ops`) that knows only the cost model (src/numerics/tensor/flopModel.ts); it must give the
 * kernel's results bit for bit and its charge count for count. Derivatives count what the
 * activation's own recurrence tallies (`derivativesCounted`), Act(x) what `valueFlops` says — both
 * checked against the formulas in test/kernel-costs.test.ts.
 */

const charged = <A>(thunk: () => A): [A, number] => {
  const [value, cost] = withMeter(thunk);
  return [value, cost.flops];
};
const bits = (x: ArrayLike<number>): number[] => Array.from(x);
const runs = { numRuns: 25 };
const names = Object.keys(activations) as ActivationName[];

/** The one arbitrary of this file: a small fitting problem — an activation, N, a profile g ≈ λ·sⁿp_n(u) perturbed, weights. */
const problem = fc.record({
  name: fc.constantFrom(...names),
  N: fc.integer({ min: 2, max: 6 }),
  u: fc.double({ min: -6, max: 6, noNaN: true }),
  lambda: fc.double({ min: 0.2, max: 3, noNaN: true }),
  s: fc.constantFrom(1, -1),
  noise: fc.double({ min: 0, max: 0.05, noNaN: true }),
  seed: fc.integer({ min: 0, max: 1000 }),
});

const jitter = (q: number, seed: number): number => Math.sin(q * 12.9898 + seed * 78.233);

function makeProfile({ name, N, u, lambda, s, noise, seed }: { name: ActivationName; N: number; u: number; lambda: number; s: number; noise: number; seed: number }): { act: Activation; g: Float64Array; w: Float64Array } {
  const act = activations[name];
  const p = act.derivatives(u, N);
  let f = 1;
  const g = new Float64Array(N + 1);
  const w = new Float64Array(N + 1);
  for (let n = 0; n <= N; n++) {
    if (n > 0) f *= n;
    g[n] = lambda * (s < 0 && n % 2 === 1 ? -1 : 1) * (p[n] / f) * (1 + noise * jitter(n, seed));
    w[n] = n % 5 === 4 ? 0 : 1 / (1e-6 + (0.01 * g[n]) ** 2);
  }
  return { act, g, w };
}

// ---- references ---------------------------------------------------------------------------------

function refScaled(o: Ops, act: Activation, x: number, order: number, out: Float64Array = new Float64Array(order + 1)): Float64Array {
  o.n += act.derivativesCounted(x, order, out);
  let f = 1;
  for (let n = 0; n <= order; n++) {
    if (n > 0) f = o.mul(f, n);
    out[n] = o.div(out[n], f);
  }
  return out;
}


/** consensus.ts's original refine(), through the counter. */
function refRefine(o: Ops, act: Activation, u0: number, s: number, g: Float64Array, w: Float64Array, N: number): { u: number; r: number; lambda: number } {
  const at = (x: number): Float64Array => refScaled(o, act, x, N + 2);
  let u = u0;
  let p = at(u);
  let [current, lambda] = refMisfit(o, g, w, p, 0, 1, N, s < 0);
  for (let iteration = 0; iteration < 40; iteration++) {
    // The derivatives and λ at u are those of the accepted trial point (or of u0): not recomputed.
    let pq = 0;
    let pp = 0;
    for (let n = 1; n <= N; n++) {
      pq = o.add(pq, o.mul(o.mul(o.mul(w[n], p[n]), n + 1), p[n + 1]));
      pp = o.add(pp, o.mul(o.mul(w[n], p[n]), p[n]));
    }
    const along = pp > 0 ? o.div(pq, pp) : 0;
    let jr = 0;
    let jj = 0;
    for (let n = 1; n <= N; n++) {
      const sign = s < 0 && n % 2 === 1 ? -1 : 1;
      const r = o.sub(g[n], o.mul(o.mul(lambda, sign), p[n]));
      const jn = o.mul(o.mul(lambda, sign), o.sub(o.mul(n + 1, p[n + 1]), o.mul(along, p[n])));
      jr = o.add(jr, o.mul(o.mul(w[n], jn), r));
      jj = o.add(jj, o.mul(o.mul(w[n], jn), jn));
    }
    // R″ = λ²b″ − 2λa″ − 2b·λ′², λ′ = (a′ − λb′)/b (a′ = Σ ω g sⁿp′, a″ = Σ ω g sⁿp″, b′ = 2·pq, b″ = 2·Σ ω (p′² + p·p″)).
    let ga1 = 0;
    let ga2 = 0;
    let bb2 = 0;
    for (let n = 1; n <= N; n++) {
      const gs = s < 0 && n % 2 === 1 ? -g[n] : g[n];
      const q1 = o.mul(n + 1, p[n + 1]);
      const q2 = o.mul(o.mul(n + 1, n + 2), p[n + 2]);
      ga1 = o.add(ga1, o.mul(o.mul(w[n], gs), q1));
      ga2 = o.add(ga2, o.mul(o.mul(w[n], gs), q2));
      bb2 = o.add(bb2, o.mul(w[n], o.add(o.mul(q1, q1), o.mul(p[n], q2))));
    }
    const lambdaSlope = o.div(o.sub(ga1, o.mul(o.mul(2, lambda), pq)), pp);
    const curvature = o.sub(o.sub(o.mul(o.mul(o.mul(lambda, lambda), 2), bb2), o.mul(o.mul(2, lambda), ga2)), o.mul(o.mul(o.mul(2, pp), lambdaSlope), lambdaSlope));
    const newton = curvature > 0 && curvature < Infinity;
    if (!newton && !(jj > 0)) break;
    let step = newton ? o.div(o.mul(2, jr), curvature) : o.div(jr, jj);
    if (Math.abs(step) < o.mul(1e-12, Math.max(1, Math.abs(u)))) break;
    if (!(o.mul(jr, step) > o.mul(1e-13, current))) break;
    if (Math.abs(step) > 0.5) step = o.mul(0.5, Math.sign(step));
    let accepted = false;
    for (let halving = 0; halving < 20; halving++) {
      const trial = at(o.add(u, step));
      const [candidate, candidateLambda] = refMisfit(o, g, w, trial, 0, 1, N, s < 0);
      if (candidate < current) {
        u = o.add(u, step);
        current = candidate;
        lambda = candidateLambda;
        p = trial;
        accepted = true;
        break;
      }
      step = o.div(step, 2);
    }
    if (!accepted || Math.abs(step) < o.mul(1e-14, Math.max(1, Math.abs(u)))) break;
  }
  return { u, r: current, lambda };
}

// ---- derivativeKernels ---------------------------------------------------------------------------

describe('derivativeKernels: scaledDerivatives and derivativeGrid', () => {
  it('scaledDerivatives matches the reference', () => {
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.double({ min: -40, max: 40, noNaN: true }), fc.integer({ min: 0, max: 13 }), (name, x, order) => {
        const o = new Ops();
        const ref = refScaled(o, activations[name], x, order);
        const [out, cost] = charged(() => scaledDerivatives(activations[name], x, order, new Float64Array(order + 1)));
        expect(bits(out)).toEqual(bits(ref));
        expect(cost).toBe(o.n);
      }),
      { numRuns: 100 },
    );
  });

  it('derivativeGrid matches the reference, and a reuse charges the same count', () => {
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.integer({ min: 1, max: 8 }), fc.constantFrom(0.5, 0.25, 1.5), fc.integer({ min: 0, max: 6 }), (name, bound, step, order) => {
        const act = activations[name];
        const o = new Ops();
        const count = Math.round(o.div(o.mul(2, bound), step)) + 1;
        const u = new Float64Array(count);
        const p = new Float64Array(count * (order + 1));
        for (let q = 0; q < count; q++) {
          u[q] = o.add(-bound, o.mul(q, step));
          p.set(refScaled(o, act, u[q], order), q * (order + 1));
        }
        const [first, cost] = charged(() => derivativeGrid(act, bound, step, order));
        const [again, costAgain] = charged(() => derivativeGrid(act, bound, step, order));
        expect(again).toBe(first);
        expect(bits(first.u)).toEqual(bits(u));
        expect(bits(first.p)).toEqual(bits(p));
        expect(costAgain).toBe(cost);
        // The first call built it or reused an earlier build: either way the reference's count.
        expect(cost).toBe(o.n);
      }),
      runs,
    );
  });
});

// ---- consensusKernels ----------------------------------------------------------------------------

describe('consensusKernels (the consensus attack)', () => {
  it('roundingNoise, expansionBias, runnerUpPlausible, withinTolerance', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: -50, max: 50, noNaN: true }), fc.constantFrom(1, -1), fc.double({ min: -50, max: 50, noNaN: true }), fc.integer({ min: 1, max: 12 }), (e, u, s, z, N) => {
        let o = new Ops();
        const noise = o.div(Math.max(e, 2 ** -52), o.sqrt(3));
        expect(charged(() => roundingNoise(e))).toEqual([noise, o.n]);
        o = new Ops();
        expect(charged(() => expansionBias(u, s, z))).toEqual([o.sub(u, o.mul(s, z)), o.n]);
        o = new Ops();
        expect(charged(() => runnerUpPlausible(Math.abs(u), Math.abs(z), N))).toEqual([Math.abs(z) < Math.max(o.mul(Math.abs(u), 100), N * 100), o.n]);
        o = new Ops();
        expect(charged(() => withinTolerance(Math.abs(u) / 1000, e))).toEqual([Math.abs(u) / 1000 <= o.mul(0.75, e), o.n]);
      }),
      { numRuns: 100 },
    );
  });

  // Θ of N+1 orders, o rows, K units; entries in [−4, 4] with zeros, some columns tiny (underflow).
  const shape = fc.record({ N: fc.integer({ min: 1, max: 5 }), o: fc.integer({ min: 1, max: 4 }), K: fc.integer({ min: 1, max: 4 }), seed: fc.integer({ min: 0, max: 1000 }) });
  const fill = (n: number, seed: number): Float64Array => Float64Array.from({ length: n }, (_, q) => ((q * 7 + seed) % 5 === 0 ? 0 : jitter(q, seed) * 4 * ((q + seed) % 11 === 3 ? 1e-40 : 1)));

  it('consensusProfile: g, ω and the usable count match the reference (exact zeros, underflow, fourth = 0)', () => {
    fc.assert(
      fc.property(shape, fc.constantFrom(2 ** -126, 2 ** -14), ({ N, o: rows, K, seed }, normalMin) => {
        const norms = fill((N + 1) * K, seed).map((v) => (v === 0 ? 0 : v * v));
        const dots = fill((N + 1) * K, seed + 3);
        const fourth = fill(K, seed + 5).map((v) => Math.abs(v));
        const eps = 2 ** -24 / Math.sqrt(3);
        for (let k = 0; k < K; k++) {
          const m = 1 + ((k + seed) % N);
          if (!(norms[m * K + k] > 0)) continue;
          const o = new Ops();
          const best = norms[m * K + k];
          const g = new Float64Array(N + 1);
          const w = new Float64Array(N + 1);
          for (let n = 1; n <= N; n++) g[n] = o.div(dots[n * K + k], best);
          let gmax = 0;
          for (let n = 1; n <= N; n++) gmax = Math.max(gmax, Math.abs(g[n]));
          const noise = o.div(eps, o.sqrt(fourth[k] > 0 ? o.div(o.mul(best, best), fourth[k]) : 1));
          const floor = o.mul(o.mul(gmax, noise), 4);
          let usable = 0;
          const largest = o.sqrt(o.div(best, rows));
          for (let n = 1; n <= N; n++) {
            const rms = o.sqrt(o.div(norms[n * K + k], rows));
            const exactZero = rms === 0 && largest > o.mul(normalMin, 2 ** 20);
            if (!exactZero && rms < o.mul(normalMin, 4)) continue;
            w[n] = o.div(1, o.add(o.sq(o.mul(g[n], noise)), o.mul(floor, floor)));
            usable++;
          }
          const gk = new Float64Array(N + 1);
          const wk = new Float64Array(N + 1);
          const [count, cost] = charged(() => consensusProfile(dots, norms, fourth, m, k, N, rows, K, eps, normalMin, gk, wk));
          expect(count).toBe(usable);
          expect(bits(gk)).toEqual(bits(g));
          expect(bits(wk)).toEqual(bits(w));
          expect(cost).toBe(o.n);
        }
      }),
      runs,
    );
  });

  it('refineExpansionPoint: the damped Newton (Gauss–Newton where R″ ≤ 0) path and its charge (data-dependent steps and halvings)', () => {
    fc.assert(
      fc.property(problem, fc.double({ min: -2, max: 2, noNaN: true }), (pr, start) => {
        const { act, g, w } = makeProfile(pr);
        const o = new Ops();
        const ref = refRefine(o, act, pr.u + start, pr.s, g, w, pr.N);
        const [fit, cost] = charged(() => refineExpansionPoint(act, pr.u + start, pr.s, g, w, pr.N, new Float64Array(pr.N + 3)));
        expect([fit.u, fit.r, fit.lambda]).toEqual([ref.u, ref.r, ref.lambda]);
        expect(cost).toBe(o.n);
      }),
      runs,
    );
  });

  it('refineExpansionPoint takes Newton steps: six real runner-up refinements (large misfits) that took Gauss–Newton 42–113 derivative evaluations end at the same minimum in at most 6', () => {
    // test/fixtures/runner-up-profiles.json says where they come from. A wrong curvature (e.g. a″'s sign,
    // or p″ without its (n + 2)) costs 6–81 evaluations on them: Newton's speed is what checks R″ here.
    const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'runner-up-profiles.json'), 'utf8')) as {
      activation: ActivationName;
      cases: Array<{ u0: number; s: number; N: number; g: number[]; w: number[]; u: number; r: number; gaussNewtonEvaluations: number }>;
    };
    const base = activations[fixture.activation];
    let evaluations = 0;
    const act: Activation = { ...base, derivativesCounted: (x, order, out) => (evaluations++, base.derivativesCounted(x, order, out)) };
    for (const c of fixture.cases) {
      evaluations = 0;
      const fit = refineExpansionPoint(act, c.u0, c.s, Float64Array.from(c.g), Float64Array.from(c.w), c.N, new Float64Array(c.N + 3));
      expect(c.gaussNewtonEvaluations).toBeGreaterThanOrEqual(42);
      expect(evaluations).toBeLessThanOrEqual(6);
      expect(Math.abs(fit.u - c.u)).toBeLessThan(1e-6);
      expect(fit.r).toBeLessThanOrEqual(c.r * (1 + 1e-9));
    }
  });

  it('columnEstimate: coefficients, Act(u), predicted error and charge', () => {
    fc.assert(
      fc.property(problem, (pr) => {
        const { act, g, w } = makeProfile(pr);
        const { N, s, u } = pr;
        const o = new Ops();
        const p = refScaled(o, act, u, N + 1);
        const [, lambda] = refMisfit(o, g, w, p, 0, 1, N, s < 0);
        let pp = 0;
        let pq = 0;
        let qq = 0;
        let plainPP = 0;
        for (let n = 1; n <= N; n++) {
          const qn = o.mul(n + 1, p[n + 1]);
          pp = o.add(pp, o.mul(o.mul(w[n], p[n]), p[n]));
          pq = o.add(pq, o.mul(o.mul(w[n], p[n]), qn));
          qq = o.add(qq, o.mul(o.mul(w[n], qn), qn));
          if (w[n] > 0) plainPP = o.add(plainPP, o.mul(p[n], p[n]));
        }
        const curvature = o.mul(o.mul(lambda, lambda), o.sub(qq, o.div(o.mul(pq, pq), pp)));
        const sigmaU = curvature > 0 ? o.div(1, o.sqrt(curvature)) : Infinity;
        const predicted = o.mul(Math.abs(o.div(pq, pp)), sigmaU);
        const coefficient = new Float64Array(N + 1);
        for (let n = 1; n <= N; n++) coefficient[n] = w[n] > 0 ? o.div(o.mul(s < 0 && n % 2 === 1 ? -1 : 1, p[n]), plainPP) : 0;
        const [e, cost] = charged(() => columnEstimate(act, g, w, N, s, u, new Float64Array(N + 2)));
        expect(bits(e.coefficient)).toEqual(bits(coefficient));
        expect(e.act0).toBe(p[0]);
        expect(e.predicted).toBe(Number.isNaN(predicted) ? Infinity : predicted);
        expect(cost).toBe(o.n);
      }),
      runs,
    );
  });

  it('orderZeroResiduals, orderZeroDistance and outputBiasFromShares match the reference', () => {
    fc.assert(
      fc.property(shape, ({ N, o: rows, K, seed }) => {
        const theta = fill((N + 1) * rows * K, seed);
        const at = (n: number, i: number, k: number): number => theta[(n * rows + i) * K + k];
        const coefficient = fill(N + 1, seed + 1);
        const offsets = fill(rows, seed + 2);
        const act0 = 0.3 + (seed % 7) / 10;
        for (let k = 0; k < K; k++) {
          const o = new Ops();
          const ref = new Float64Array(rows);
          for (let i = 0; i < rows; i++) {
            let acc = 0;
            for (let n = 1; n <= N; n++) acc = o.add(acc, o.mul(at(n, i, k), coefficient[n]));
            ref[i] = o.sub(at(0, i, k), o.mul(acc, act0));
          }
          const [out, cost] = charged(() => orderZeroResiduals(theta, k, coefficient, act0, N, rows, K, new Float64Array(rows)));
          expect(bits(out)).toEqual(bits(ref));
          expect(cost).toBe(o.n);
          const d = new Ops();
          let distance = 0;
          for (let i = 0; i < rows; i++) {
            let acc = 0;
            for (let n = 1; n <= N; n++) acc = d.add(acc, d.mul(at(n, i, k), coefficient[n]));
            distance = d.add(distance, d.sq(d.sub(d.sub(at(0, i, k), d.mul(acc, act0)), offsets[i])));
          }
          expect(charged(() => orderZeroDistance(theta, k, coefficient, act0, offsets, N, rows, K))).toEqual([distance, d.n]);
        }
        // Two layouts: units scattered over h > K columns with some unused, and every unit used in place (h = K, its own path).
        for (const inPlace of [false, true]) {
          const h = inPlace ? K : K + 2;
          const expanded = Int32Array.from({ length: K }, (_, k) => (inPlace ? k : k + 1));
          const used = Uint8Array.from({ length: K }, (_, k) => (inPlace || (k + seed) % 3 !== 0 ? 1 : 0));
          const second = fill(rows * h, seed + 4);
          const a0 = fill(K, seed + 6);
          const o = new Ops();
          let count = 0;
          for (let k = 0; k < K; k++) if (used[k]) count++;
          const ref = new Float64Array(rows);
          for (let i = 0; i < rows; i++) {
            let acc = 0;
            for (let k = 0; k < K; k++) if (used[k]) acc = o.add(acc, o.sub(at(0, i, k), o.mul(second[i * h + expanded[k]], a0[k])));
            ref[i] = count === 0 ? 0 : o.div(o.mul(acc, K), count);
          }
          const out = new Float64Array(rows);
          const [, cost] = charged(() => outputBiasFromShares(theta, second, a0, used, expanded, rows, h, K, out));
          expect(bits(out)).toEqual(bits(ref));
          expect(cost).toBe(o.n);
        }
      }),
      runs,
    );
  });

  it('scaleStable: the valley scan over the grid misfits, its early exits and its charge', () => {
    fc.assert(
      fc.property(problem, fc.double({ min: 0.001, max: 0.2, noNaN: true }), (pr, tol) => {
        const { act, g, w } = makeProfile(pr);
        const { N, s, u } = pr;
        const bound = 8;
        const step = 0.5;
        const grid = derivativeGrid(act, bound, step, N + 1);
        // The inputs, as the fit has them: the grid's misfits and scales, and those at u*.
        const uncounted = new Ops();
        const residuals = new Float64Array(grid.u.length);
        const lambdas = new Float64Array(grid.u.length);
        for (let q = 0; q < grid.u.length; q++) [residuals[q], lambdas[q]] = refMisfit(uncounted, g, w, grid.p, q * grid.width, 1, N, s < 0);
        const [rStar, lambdaStar] = refMisfit(uncounted, g, w, refScaled(uncounted, act, u, N + 1), 0, 1, N, s < 0);
        let usable = 0;
        for (let n = 1; n <= N; n++) if (w[n] > 0) usable++;
        const o = new Ops();
        const ref = ((): boolean => {
          if (!(Math.abs(u) < o.sub(grid.u[grid.u.length - 1], step))) return false;
          const allowance = o.mul(9, Math.max(1, o.div(rStar, Math.max(1, usable - 2))));
          let lo = u;
          let hi = u;
          for (let q = 0; q < grid.u.length; q++) {
            if (!(residuals[q] <= o.add(rStar, allowance))) continue;
            if (!(Math.abs(o.sub(o.div(lambdas[q], lambdaStar), 1)) <= o.mul(0.75, tol))) return false;
            lo = Math.min(lo, grid.u[q]);
            hi = Math.max(hi, grid.u[q]);
          }
          return o.sub(hi, lo) <= 1;
        })();
        const [stable, cost] = charged(() => scaleStable(residuals, lambdas, grid.u, step, usable, u, rStar, lambdaStar, tol));
        expect(stable).toBe(ref);
        expect(cost).toBe(o.n);
      }),
      runs,
    );
  });
});

// ---- tailKernels -----------------------------------------------------------------------------------

describe('tailKernels (the identifiability classes step)', () => {
  const shape = fc.record({ N: fc.integer({ min: 1, max: 5 }), o: fc.integer({ min: 1, max: 4 }), K: fc.integer({ min: 1, max: 4 }), seed: fc.integer({ min: 0, max: 1000 }), known: fc.boolean() });
  const fill = (n: number, seed: number): Float64Array => Float64Array.from({ length: n }, (_, q) => ((q * 7 + seed) % 5 === 0 ? 0 : jitter(q, seed) * 4 * ((q + seed) % 11 === 3 ? 1e-40 : 1)));
  const eps = 2 ** -24 / Math.sqrt(3);

  it('orderZeroShare and tailProfile: ĉ, its noise, the profile, its weights and charges match the reference', () => {
    fc.assert(
      fc.property(shape, fc.constantFrom(...names), ({ N, o: rows, K, seed, known }, name) => {
        const act = activations[name];
        const theta = fill((N + 1) * rows * K, seed);
        const at = (n: number, i: number, k: number): number => theta[(n * rows + i) * K + k];
        const h = K + 1;
        const expanded = Int32Array.from({ length: K }, (_, k) => k);
        const second = fill(rows * h, seed + 1);
        const exact = Uint8Array.from({ length: K }, (_, k) => ((k + seed) % 3 === 1 ? 1 : 0));
        const u = fill(K, seed + 2);
        // orderZeroShare
        const o = new Ops();
        const share = new Float64Array(rows);
        const squares = new Float64Array(rows);
        let count = 0;
        for (let k = 0; k < K; k++) {
          if (!exact[k]) continue;
          count++;
          const a0 = o.value(act, u[k]);
          for (let i = 0; i < rows; i++) {
            const v = o.sub(at(0, i, k), o.mul(second[i * h + expanded[k]], a0));
            share[i] = o.add(share[i], v);
            squares[i] = o.add(squares[i], o.mul(v, v));
          }
        }
        let variance = 0;
        const rowVariance = new Float64Array(rows);
        if (count > 0) {
          for (let i = 0; i < rows; i++) {
            share[i] = o.div(share[i], count);
            const spread = count > 1 ? o.mul(Math.max(0, o.sub(o.div(squares[i], count), o.sq(share[i]))), o.div(count, count - 1)) : o.sq(share[i]);
            rowVariance[i] = o.add(o.div(spread, count), o.sq(o.mul(eps, share[i])));
            variance = o.add(variance, rowVariance[i]);
          }
        }
        const [stats, cost] = charged(() => orderZeroShare(act, theta, second, exact, u, expanded, rows, h, K, eps));
        expect([bits(stats.share), bits(stats.rowVariance), stats.variance, stats.exactCount]).toEqual([bits(share), bits(rowVariance), variance, count]);
        expect(cost).toBe(o.n);
        // tailProfile, every column
        const cKnown = known || count > 0;
        const normalMin = 2 ** -126;
        for (let k = 0; k < K; k++) {
          const r = new Ops();
          let raw0 = 0;
          const column = new Float64Array((N + 1) * rows);
          for (let n = 0; n <= N; n++) {
            for (let i = 0; i < rows; i++) {
              const v = at(n, i, k);
              if (n === 0) raw0 = r.add(raw0, r.mul(v, v));
              column[n * rows + i] = n === 0 ? r.sub(v, cKnown ? share[i] : 0) : v;
            }
          }
          let m = 0;
          let best = -1;
          const norms = new Float64Array(N + 1);
          for (let n = 0; n <= N; n++) {
            let acc = 0;
            for (let i = 0; i < rows; i++) acc = r.add(acc, r.sq(column[n * rows + i]));
            norms[n] = acc;
            if (n > 0 && acc > best) [best, m] = [acc, n];
          }
          const noise0 = cKnown ? r.sqrt(r.add(r.mul(r.mul(eps, eps), raw0), variance)) : Infinity;
          const orderAbove = (n: number): boolean => r.sqrt(r.div(norms[n], rows)) >= r.mul(normalMin, 4);
          if (cKnown && !orderAbove(m) && r.sqrt(norms[0]) > r.mul(6, noise0)) [best, m] = [norms[0], 0];
          let s2 = 0;
          let s4 = 0;
          for (let i = 0; i < rows; i++) {
            const t = column[m * rows + i];
            s2 = r.add(s2, r.mul(t, t));
            s4 = r.add(s4, r.mul(r.mul(r.mul(t, t), t), t));
          }
          const rowsEffective = s4 > 0 ? r.div(r.mul(s2, s2), s4) : 1;
          const rho = r.add(r.div(eps, r.sqrt(rowsEffective)), 1e-15);
          const tNorm = r.sqrt(best);
          const above0 = cKnown && r.sqrt(norms[0]) > r.mul(6, noise0);
          let aboveAny = above0;
          for (let n = 1; n <= N; n++) if (orderAbove(n)) aboveAny = true;
          const g = new Float64Array(N + 1);
          const w = new Float64Array(N + 1);
          let usable = 0;
          const alive = best > 0 && aboveAny;
          if (alive) {
            const floor = r.div(r.mul(normalMin, r.sqrt(rows)), tNorm);
            for (let n = 0; n <= N; n++) {
              let dot = 0;
              for (let i = 0; i < rows; i++) dot = r.add(dot, r.mul(column[n * rows + i], column[m * rows + i]));
              g[n] = r.div(dot, best);
              const sigma = n === 0 ? (cKnown ? r.div(noise0, tNorm) : Infinity) : r.hypot(r.mul(rho, g[n]), floor);
              w[n] = Number.isFinite(sigma) && sigma > 0 ? r.div(1, r.mul(sigma, sigma)) : 0;
              if (w[n] > 0) usable++;
            }
          }
          const kColumn = new Float64Array((N + 1) * rows);
          const kRaw = new Float64Array(rows);
          const kg = new Float64Array(N + 1);
          const kw = new Float64Array(N + 1);
          const [profile, pCost] = charged(() => tailProfile(theta, k, stats, cKnown, eps, normalMin, N, rows, K, kColumn, kRaw, kg, kw));
          expect(profile).toEqual({ m, best, aboveAny: alive, usable });
          expect(bits(kColumn)).toEqual(bits(column));
          if (alive) expect([bits(kg), bits(kw)]).toEqual([bits(g), bits(w)]);
          expect(pCost).toBe(r.n);
        }
      }),
      runs,
    );
  });

  it('goldenSection, fitsAlike and clippedBracket match the reference', () => {
    fc.assert(
      fc.property(problem, fc.double({ min: 0.01, max: 3, noNaN: true }), (pr, width) => {
        const { act, g, w } = makeProfile(pr);
        const { N, s } = pr;
        const o = new Ops();
        const f = (u: number): number => refMisfit(o, g, w, refScaled(o, act, u, N), 0, 0, N, s < 0)[0];
        let lo = pr.u - width;
        let hi = pr.u + width / 2;
        const golden = o.div(o.sub(o.sqrt(5), 1), 2);
        let x1 = o.sub(hi, o.mul(golden, o.sub(hi, lo)));
        let x2 = o.add(lo, o.mul(golden, o.sub(hi, lo)));
        let f1 = f(x1);
        let f2 = f(x2);
        for (let it = 0; it < 100 && o.sub(hi, lo) > o.mul(1e-13, Math.max(1, Math.abs(lo))); it++) {
          if (f1 < f2) {
            hi = x2;
            x2 = x1;
            f2 = f1;
            x1 = o.sub(hi, o.mul(golden, o.sub(hi, lo)));
            f1 = f(x1);
          } else {
            lo = x1;
            x1 = x2;
            f1 = f2;
            x2 = o.add(lo, o.mul(golden, o.sub(hi, lo)));
            f2 = f(x2);
          }
        }
        const ref = f1 < f2 ? { u: x1, r: f1 } : { u: x2, r: f2 };
        expect(charged(() => goldenSection(act, g, w, N, s, pr.u - width, pr.u + width / 2, new Float64Array(N + 1)))).toEqual([ref, o.n]);
        const a = new Ops();
        const alike = Math.abs(a.sub(ref.r, width)) <= a.mul(9, Math.max(1, a.div(Math.min(ref.r, width), Math.max(1, N - 2))));
        expect(charged(() => fitsAlike(ref.r, width, N))).toEqual([alike, a.n]);
        const b = new Ops();
        expect(charged(() => clippedBracket(pr.u, width, 5))).toEqual([[Math.max(-5, b.sub(pr.u, width)), Math.min(5, b.add(pr.u, width))], b.n]);
      }),
      runs,
    );
  });

  it('tailValley, signAmbiguity and writeTailRepresentative match the reference (both orders m, with and without a rival sign)', () => {
    fc.assert(
      fc.property(problem, fc.double({ min: 0.001, max: 0.2, noNaN: true }), fc.boolean(), fc.boolean(), (pr, tol, rival, zeroOrder) => {
        const { act, g, w } = makeProfile(pr);
        const { N, s, u: uStar } = pr;
        const bound = 8;
        const gridStep = 0.5;
        const rows = 3;
        const grid = derivativeGrid(act, bound, gridStep, N);
        const residuals = new Float64Array(grid.u.length);
        for (let q = 0; q < grid.u.length; q++) residuals[q] = refMisfit(new Ops(), g, w, grid.p, q * grid.width, 0, N, s < 0)[0];
        const rStar = refMisfit(new Ops(), g, w, refScaled(new Ops(), act, uStar, N), 0, 0, N, s < 0)[0];
        const usable = w.filter((x) => x > 0).length;
        const otherR = rival ? rStar * 2 + 1 : null;
        const m = zeroOrder ? 0 : 1;
        const column = Float64Array.from({ length: (N + 1) * rows }, (_, q) => (q % 4 === 3 ? 0 : jitter(q, pr.seed)));
        const rawRow0 = Float64Array.from({ length: rows }, (_, i) => jitter(i + 50, pr.seed));
        const rowVariance = Float64Array.from({ length: rows }, (_, i) => Math.abs(jitter(i + 90, pr.seed)) * 1e-6);
        const o = new Ops();
        const f = (x: number): number => refMisfit(o, g, w, refScaled(o, act, x, N), 0, 0, N, s < 0)[0];
        const allowance = o.mul(9, Math.max(1, o.div(rStar, Math.max(1, usable - 2))));
        const signAmbiguous = otherR !== null && otherR <= o.add(rStar, allowance);
        const lambdaStar = refMisfit(o, g, w, refScaled(o, act, uStar, N), 0, 0, N, s < 0)[1];
        let uLo = uStar;
        let uHi = uStar;
        let wSpread = 0;
        for (let q = 0; q < grid.u.length; q++) {
          if (!(residuals[q] <= o.add(rStar, allowance))) continue;
          uLo = Math.min(uLo, grid.u[q]);
          uHi = Math.max(uHi, grid.u[q]);
          const lambda = refMisfit(o, g, w, grid.p, q * grid.width, 0, N, s < 0)[1];
          wSpread = Math.max(wSpread, Math.abs(o.sub(o.div(lambda, lambdaStar), 1)));
        }
        const step = o.mul(1e-4, Math.max(1, Math.abs(uStar)));
        const curvature = o.div(o.add(o.sub(f(o.add(uStar, step)), o.mul(2, f(uStar))), f(o.sub(uStar, step))), o.mul(step, step));
        const sigmaU = curvature > 0 ? o.sqrt(o.div(2, curvature)) : Infinity;
        if (o.mul(3, sigmaU) <= gridStep) {
          for (const side of [-1, 1]) {
            const x = Math.min(bound, Math.max(-bound, o.add(uStar, o.mul(o.mul(side, 3), sigmaU))));
            wSpread = Math.max(wSpread, Math.abs(o.sub(o.div(refMisfit(o, g, w, refScaled(o, act, x, N), 0, 0, N, s < 0)[1], lambdaStar), 1)));
          }
        }
        let entryNoise = 0;
        for (let i = 0; i < rows; i++) {
          const t = column[m * rows + i];
          const noise = m === 0 ? o.sqrt(o.add(o.sq(o.mul(eps, rawRow0[i])), rowVariance[i])) : o.mul(eps, Math.abs(t));
          entryNoise = Math.max(entryNoise, t === 0 ? (noise === 0 ? 0 : Infinity) : o.div(noise, Math.abs(t)));
        }
        const wDetermined = Number.isFinite(lambdaStar) && lambdaStar !== 0 && o.add(wSpread, o.mul(3, entryNoise)) <= o.mul(0.75, tol);
        const span = o.sub(uHi, uLo);
        const bDetermined = o.mul(3, sigmaU) <= o.mul(0.01, Math.max(1, Math.abs(uStar))) && span <= 1;
        const [valley, cost] = charged(() => tailValley(act, g, w, grid, gridStep, bound, N, s, uStar, rStar, usable, otherR, residuals, column, m, rawRow0, rowVariance, eps, tol, rows, new Float64Array(N + 1)));
        expect(valley).toEqual({ allowance, signAmbiguous, lambdaStar, uLo, uHi, span, wSpread, sigmaU, wDetermined, bDetermined });
        expect(cost).toBe(o.n);
        // signAmbiguity
        const a = new Ops();
        const lambdaOther = refMisfit(a, g, w, refScaled(a, act, -uStar, N), 0, 0, N, -s < 0)[1];
        const sameW = Math.abs(a.sub(a.div(lambdaOther, lambdaStar), 1)) <= a.mul(0.75, tol);
        const saturated = a.value(act, a.sub(uLo, 8)) === a.value(act, a.add(uLo, 8));
        expect(charged(() => signAmbiguity(act, g, w, N, -s, -uStar, lambdaStar, uLo, 8, tol, new Float64Array(N + 1)))).toEqual([{ sameW, saturated }, a.n]);
        // writeTailRepresentative
        const b = new Ops();
        const p = refScaled(b, act, uLo, N);
        const lambda = refMisfit(b, g, w, p, 0, 0, N, s < 0)[1];
        const h = 4;
        const second = new Float64Array(rows * h);
        for (let i = 0; i < rows; i++) second[i * h + 2] = b.mul(lambda, column[m * rows + i]);
        const written = new Float64Array(rows * h);
        expect(charged(() => writeTailRepresentative(act, g, w, N, s, uLo, column, m, rows, h, 2, written, new Float64Array(N + 1)))).toEqual([p[0], b.n]);
        expect(bits(written)).toEqual(bits(second));
      }),
      runs,
    );
  });
});
