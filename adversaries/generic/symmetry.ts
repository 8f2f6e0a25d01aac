import { Same, sameWithin } from '../../src/kernel/same';
import type { MlpBlock } from '../../src/numerics/models/mlp';
import type { OneHiddenLayerFormat } from './format';

/**
 * Same on weights up to the symmetries of a one-hidden-layer MLP: which functions of W are
 * invisible through Run. Always: a permutation of the hidden units. ReLU (`positive-scale`): unit j
 * may also be scaled by a > 0 (w_j, b_j → a·w_j, a·b_j and W₂[:, j] → W₂[:, j]/a). Odd activations
 * such as tanh (`sign`): unit j may be negated (w_j, b_j, W₂[:, j] → −·), at its scale. The sigmoid
 * (`sign-complement`): σ(−z) = 1 − σ(z), so unit j may be negated with b₂ compensating
 * (w_j, b_j, W₂[:, j] → −·, b₂ → b₂ + W₂[:, j]). GELU, its tanh form and SiLU have only the
 * permutation (act(z) − act(−z) = z: a negated unit adds a linear term no other unit cancels, for
 * generic weights). An extraction through Run′ queries can at best recover W up to these, so this
 * is the Same that judges it.
 *
 * Dist: bring both networks to a canonical form — for `positive-scale` each unit scaled to
 * ‖(w_j, b_j)‖ = 1; for `sign` and `sign-complement` each unit oriented so that the entry of
 * (w_j, b_j) largest in magnitude is positive — match each original unit to the nearest unmatched
 * recovered unit (greedy on distance), and take the relative L2 distance of all parameters
 * (W₁, b₁, W₂, b₂) after matching, relative to the original's.
 */
export type HiddenSymmetry = 'positive-scale' | 'sign' | 'sign-complement' | 'permutation';

/** The symmetry group of a hidden activation. */
export const symmetryOf = (activation: string): HiddenSymmetry =>
  activation === 'relu' ? 'positive-scale' : activation === 'tanh' ? 'sign' : activation === 'sigmoid' ? 'sign-complement' : 'permutation';

interface Canonical {
  /** Per unit: (w_j, b_j) in canonical form (scaled or oriented as the symmetry allows), length in + 1. */
  readonly units: Float64Array[];
  /** Per unit: W₂[:, j] compensated, length out. */
  readonly columns: Float64Array[];
  readonly bias: Float64Array;
}

function canonical(block: MlpBlock, symmetry: HiddenSymmetry): Canonical {
  const { inputDim: n, hiddenDim: h, outputDim: o } = block;
  const units: Float64Array[] = [];
  const columns: Float64Array[] = [];
  const bias = Float64Array.from(block.secondBias ?? new Float64Array(o));
  for (let j = 0; j < h; j++) {
    const u = new Float64Array(n + 1);
    u.set(block.first.subarray(j * n, (j + 1) * n));
    u[n] = block.firstBias?.[j] ?? 0;
    const col = Float64Array.from({ length: o }, (_, i) => block.second[i * h + j]);
    let factor = 1;
    if (symmetry === 'positive-scale') {
      const norm = Math.hypot(...u);
      factor = norm === 0 ? 1 : 1 / norm;
    } else if (symmetry === 'sign' || symmetry === 'sign-complement') {
      let big = 0;
      for (const v of u) if (Math.abs(v) > Math.abs(big)) big = v;
      if (big < 0) {
        factor = -1;
        // σ(z) = 1 − σ(−z): the negated unit's column is −W₂[:, j] and b₂ gains W₂[:, j].
        if (symmetry === 'sign-complement') for (let i = 0; i < o; i++) bias[i] += col[i];
      }
    }
    units.push(u.map((v) => v * factor));
    columns.push(col.map((v) => v / factor));
  }
  return { units, columns, bias };
}

const distance2 = (a: Float64Array, b: Float64Array): number => {
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc += (a[i] - b[i]) ** 2;
  return acc;
};
const norm2 = (a: Float64Array): number => distance2(a, new Float64Array(a.length));

/** The matching of an original's units to a recovered network's: `match[i]` is the recovered unit for original unit i. */
export interface UnitAlignment {
  readonly match: Int32Array;
  /** Per original unit: ‖ŵ_rec − ŵ_orig‖/‖ŵ_orig‖ of its first-layer row (without bias), after the symmetry. */
  readonly rowErrors: Float64Array;
  readonly maxRowError: number;
  /** Relative L2 distance of all parameters after matching. */
  readonly distance: number;
}

/** Align `recovered` to `original` up to the symmetry; null when the shapes differ. */
export function alignHiddenUnits(recovered: MlpBlock, original: MlpBlock, symmetry: HiddenSymmetry): UnitAlignment | null {
  if (recovered.inputDim !== original.inputDim || recovered.hiddenDim !== original.hiddenDim || recovered.outputDim !== original.outputDim) return null;
  const a = canonical(recovered, symmetry);
  const b = canonical(original, symmetry);
  const h = original.hiddenDim;
  const n = original.inputDim;
  const pairs: [number, number, number][] = [];
  for (let i = 0; i < h; i++) for (let j = 0; j < h; j++) pairs.push([distance2(a.units[j], b.units[i]), i, j]);
  pairs.sort((p, q) => p[0] - q[0]);
  const match = new Int32Array(h).fill(-1);
  const taken = new Uint8Array(h);
  for (const [, i, j] of pairs) {
    if (match[i] !== -1 || taken[j] === 1) continue;
    match[i] = j;
    taken[j] = 1;
  }
  let diff = distance2(a.bias, b.bias);
  let ref = norm2(b.bias);
  const rowErrors = new Float64Array(h);
  for (let i = 0; i < h; i++) {
    const j = match[i];
    diff += distance2(a.units[j], b.units[i]) + distance2(a.columns[j], b.columns[i]);
    ref += norm2(b.units[i]) + norm2(b.columns[i]);
    const wa = a.units[j].subarray(0, n);
    const wb = b.units[i].subarray(0, n);
    // Rows compared at the original's scale: the recovered row rescaled to the original's norm.
    const scaleA = symmetry === 'positive-scale' ? Math.sqrt(norm2(wb)) / Math.sqrt(norm2(wa)) : 1;
    rowErrors[i] = Math.sqrt(distance2(wa.map((v) => v * scaleA), wb)) / Math.sqrt(norm2(wb));
  }
  return { match, rowErrors, maxRowError: Math.max(...rowErrors), distance: ref === 0 ? (diff === 0 ? 0 : Infinity) : Math.sqrt(diff / ref) };
}

/** Same(W*, W) ⇔ the relative L2 distance up to the hidden-unit symmetries is ≤ δ (default 1e-6). */
export function sameUpToHiddenSymmetry<W, X, Y>(format: OneHiddenLayerFormat<W, X, Y>, threshold = 1e-6, symmetry: HiddenSymmetry = symmetryOf(format.activation)): Same<W> {
  return sameWithin(
    {
      name: `relative L2 distance up to hidden-unit ${symmetry === 'positive-scale' ? 'permutation and positive scaling' : symmetry === 'sign' ? 'permutation and sign' : symmetry === 'sign-complement' ? 'permutation and sign (b₂ compensating)' : 'permutation'}`,
      measure: (a, b) => alignHiddenUnits(format.block(a), format.block(b), symmetry)?.distance ?? Infinity,
    },
    threshold,
  );
}
