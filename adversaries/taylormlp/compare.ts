import { SafetensorsFile, toFloat64 } from '../../src/io/safetensors';
import { findMlpBlocks, loadMlpBlock } from '../../src/models/layouts';
import { runMlp } from '../../src/models/mlp';
import { activationByName } from '../../src/numerics/activations';
import { tensor } from '../../src/tensor/tensor';
import * as P from '../../src/prob/prob';
import { trialContext } from '../../src/prob/challenger';

/** A recovered checkpoint whose tensor is missing or of another shape than the original's (never scored). */
export class ShapeMismatchError extends Error {
  override readonly name = 'ShapeMismatchError';
}

/** Table 1's columns for one layer, plus error statistics. */
export interface LayerComparison {
  readonly layer: string;
  /** W (the second layer: fc2 / c_proj / down_proj) — what TaylorMLP processes. */
  readonly parameters: number;
  readonly recovered: number;
  readonly ratio: number;
  readonly medianRelativeError: number;
  readonly maxRelativeError: number;
  /** max |b − b*| over the layer's hidden units (null: no first-layer bias). */
  readonly biasMaxAbsError: number | null;
  /** max |c − c*| (null: no output bias). */
  readonly outputBiasMaxAbsError: number | null;
  /** Entries of the first layer (V) within tol — published, but possibly sign-flipped. */
  readonly firstLayerRatio: number;
  /** ‖y − y*‖/‖y*‖ of the block outputs on seeded inputs x ~ N(0, 1) (null: activation unknown). */
  readonly outputRelativeError: number | null;
}

export interface Comparison {
  readonly tol: number;
  /** How the functional agreement was measured. */
  readonly functionalInputs: string;
  readonly layers: readonly LayerComparison[];
  readonly total: { parameters: number; recovered: number; ratio: number; medianRelativeError: number; maxRelativeError: number; biasMaxAbsError: number | null; outputRelativeError: number | null };
}

const relErr = (a: number, b: number): number => (a === b ? 0 : b === 0 ? Infinity : Math.abs(a - b) / Math.abs(b));

/** Per-entry log10 relative errors of W per layer (for Figure 2's heat map). */
export type ErrorMap = Array<{ layer: string; rows: number; cols: number; log10: Float32Array }>;

/**
 * `weightgames compare`: the original against a recovered checkpoint, layer by layer: entries of
 * W with relative error < tol (the paper's "recovered"), the ratio, median and max relative error,
 * and the bias errors.
 */
export function compareCheckpoints(originalPath: string, recoveredPath: string, tol = 0.01, errorMap?: ErrorMap, options: { activation?: string; seed?: string; rows?: number } = {}): Comparison {
  const original = SafetensorsFile.open(originalPath);
  const recovered = SafetensorsFile.open(recoveredPath);
  try {
    const layers: LayerComparison[] = [];
    const allErrors: number[] = [];
    const activationName = options.activation ?? recovered.metadata.activation;
    const act = activationName === undefined ? null : activationByName(activationName);
    const seed = options.seed ?? 'compare';
    const rows = options.rows ?? 64;
    const locations = findMlpBlocks(original.names);
    // Every tensor of an MLP block must exist in the recovered file with the original's shape.
    for (const location of locations) {
      for (const name of [location.first, location.second, location.up, location.firstBias, location.secondBias]) {
        if (name === null) continue;
        if (!recovered.has(name)) throw new ShapeMismatchError(`recovered checkpoint has no tensor "${name}"`);
        const a = original.tensor(name).shape;
        const b = recovered.tensor(name).shape;
        if (a.length !== b.length || a.some((x, q) => x !== b[q])) throw new ShapeMismatchError(`tensor "${name}": recovered shape [${b.join(', ')}] differs from the original's [${a.join(', ')}]`);
      }
    }
    for (const location of locations) {
      const w = toFloat64(original.tensor(location.second));
      const wr = toFloat64(recovered.tensor(location.second));
      const errors = new Float64Array(w.length);
      let ok = 0;
      for (let q = 0; q < w.length; q++) {
        errors[q] = relErr(wr[q], w[q]);
        if (errors[q] < tol) ok++;
      }
      const sorted = Array.from(errors).sort((a, b) => a - b);
      for (let q = 0; q < errors.length; q += Math.max(1, Math.floor(errors.length / 20000))) allErrors.push(errors[q]);
      if (errorMap !== undefined) {
        const shape = original.tensor(location.second).shape;
        errorMap.push({ layer: location.prefix, rows: shape[0], cols: shape[1], log10: Float32Array.from(errors, (e) => Math.log10(Math.max(e, 1e-12))) });
      }
      const maxAbs = (name: string | null): number | null => {
        if (name === null || !recovered.has(name)) return null;
        const a = toFloat64(original.tensor(name));
        const b = toFloat64(recovered.tensor(name));
        let m = 0;
        for (let q = 0; q < a.length; q++) m = Math.max(m, Math.abs(a[q] - b[q]));
        return m;
      };
      const v = toFloat64(original.tensor(location.first));
      const vr = toFloat64(recovered.tensor(location.first));
      let vOk = 0;
      for (let q = 0; q < v.length; q++) if (relErr(vr[q], v[q]) < tol) vOk++;
      let outputRelativeError: number | null = null;
      if (act !== null) {
        const block = loadMlpBlock((n) => original.tensor(n), location);
        const recoveredBlock = loadMlpBlock((n) => recovered.tensor(n), location);
        const x = tensor([rows, block.inputDim], P.normalArray(rows * block.inputDim)(trialContext(`${seed}:${location.prefix}`, 0)));
        const y = runMlp(block, act, x).data;
        const yr = runMlp(recoveredBlock, act, x).data;
        let num = 0;
        let den = 0;
        for (let q = 0; q < y.length; q++) {
          num += (y[q] - yr[q]) ** 2;
          den += y[q] ** 2;
        }
        outputRelativeError = Math.sqrt(num / den);
      }
      layers.push({
        outputRelativeError,
        layer: location.prefix,
        parameters: w.length,
        recovered: ok,
        ratio: ok / w.length,
        medianRelativeError: sorted[Math.floor(sorted.length / 2)],
        maxRelativeError: sorted[sorted.length - 1],
        biasMaxAbsError: maxAbs(location.firstBias),
        outputBiasMaxAbsError: maxAbs(location.secondBias),
        firstLayerRatio: vOk / v.length,
      });
    }
    const parameters = layers.reduce((a, l) => a + l.parameters, 0);
    const recoveredCount = layers.reduce((a, l) => a + l.recovered, 0);
    allErrors.sort((a, b) => a - b);
    const biasErrors = layers.map((l) => l.biasMaxAbsError).filter((x): x is number => x !== null);
    return {
      tol,
      functionalInputs: act === null ? 'none (activation unknown)' : `${rows} seeded rows x ~ N(0, I) per block (seed "${seed}")`,
      layers,
      total: {
        parameters,
        recovered: recoveredCount,
        ratio: recoveredCount / parameters,
        medianRelativeError: allErrors[Math.floor(allErrors.length / 2)],
        maxRelativeError: Math.max(...layers.map((l) => l.maxRelativeError)),
        biasMaxAbsError: biasErrors.length === 0 ? null : Math.max(...biasErrors),
        outputRelativeError: layers.some((l) => l.outputRelativeError === null) ? null : Math.max(...layers.map((l) => l.outputRelativeError!)),
      },
    };
  } finally {
    original.close();
    recovered.close();
  }
}
