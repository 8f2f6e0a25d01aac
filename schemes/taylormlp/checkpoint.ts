import * as fs from 'node:fs';
import { LazyTensor, SafetensorsFile, StoredTensor, toFloat64, writeSafetensorsStreaming } from '../../src/io/safetensors';
import { LayoutError, MlpBlockLocation, checkpointActivation, findMlpBlocks, loadMlpBlock } from '../../src/models/layouts';
import type { MlpBlock } from '../../src/models/mlp';
import { Tensor, tensor } from '../../src/tensor/tensor';
import * as P from '../../src/prob/prob';
import { CalibrationRange, TaylorOptions, calibrationRange, checkTaylorOptions, releaseBlock, unitsToExpand } from './release';
import { BlockMeta, blockMeta, releasedBlockShapes, releasedBlockTensors } from './artifact';
import { seededStream } from '../../src/prob/challenger';

/** Where z0 comes from: recorded MLP inputs per layer (a safetensors file), or seeded synthetic inputs. */
export type CalibrationSource = { readonly file: string } | { readonly synthetic: { readonly rows: number; readonly scale: number } };

export class CalibrationError extends Error {
  override readonly name = 'CalibrationError';
}

/** A weight that is NaN or ±∞: TaylorMLP would publish garbage coefficients, so release refuses it. */
export class NonFiniteWeightError extends Error {
  override readonly name = 'NonFiniteWeightError';
}

/** Refuse a block holding a non-finite weight, naming the tensor and the (flat, stored-order) index. */
function checkFinite(block: MlpBlock, location: MlpBlockLocation): void {
  const parts: Array<[string | null, Float64Array | null]> = [
    [location.first, block.first],
    [location.firstBias, block.firstBias],
    [location.up, block.up],
    [location.second, block.second],
    [location.secondBias, block.secondBias],
  ];
  for (const [name, values] of parts) {
    if (name === null || values === null) continue;
    for (let q = 0; q < values.length; q++) {
      if (!Number.isFinite(values[q])) throw new NonFiniteWeightError(`tensor "${name}" holds ${values[q]} at (canonical [out, in]) index ${q}: release refuses non-finite weights`);
    }
  }
}

/** The calibration inputs [T, input] of one block from a file in stories260K's activations.safetensors format. */
export function calibrationInputs(file: SafetensorsFile, location: MlpBlockLocation, inputDim: number): Tensor {
  const candidates = [`calibration.layers.${location.layer}.mlp_input`, `layers.${location.layer}.mlp_input`, `${location.prefix}.mlp_input`];
  const name = candidates.find((n) => file.has(n));
  if (name === undefined) throw new CalibrationError(`calibration file ${file.path} has none of ${candidates.join(', ')} for block ${location.prefix}`);
  const stored: StoredTensor = file.tensor(name);
  if (stored.shape.length !== 2 || stored.shape[1] !== inputDim) throw new CalibrationError(`${name}: shape [${stored.shape.join(', ')}], expected [T, ${inputDim}]`);
  return tensor(stored.shape, toFloat64(stored));
}

/** Seeded synthetic calibration inputs x ~ N(0, scale²·I), on the caller's sub-stream `calibration/<prefix>`. */
export const syntheticCalibration = (rows: number, inputDim: number, scale: number, prefix: string): P.Prob<Tensor> =>
  P.stream(`calibration/${prefix}`, (ctx) => tensor([rows, inputDim], P.normalArray(rows * inputDim, scale)(ctx)));

/** KGen for TaylorMLP: a ±1 sign per hidden unit of each block, on KGen's sub-stream `<prefix>` (so `kgen/<prefix>` in a game). */
export const drawSigns = (hidden: number, prefix: string): P.Prob<Int8Array> =>
  P.stream(prefix, (ctx) => Int8Array.from({ length: hidden }, () => (ctx.rng.uniform() < 0.5 ? -1 : 1)));

export interface ReleaseCheckpointOptions {
  readonly input: string;
  readonly output: string;
  readonly taylor: TaylorOptions;
  /** An activation name (flag); otherwise config.json beside the input. */
  readonly activation?: string;
  readonly calibration: CalibrationSource;
  readonly seed: string;
  readonly version: string;
  readonly onBlock?: (index: number, total: number, prefix: string) => void;
}

export interface ReleaseSummary {
  readonly input: string;
  readonly output: string;
  readonly seed: string;
  readonly activation: string;
  readonly activationSource: string;
  readonly calibration: string;
  readonly options: TaylorOptions;
  readonly blocks: ReadonlyArray<{ prefix: string; layout: string; hidden: number; expanded: number; thetaEntries: number }>;
  readonly taylorParameters: number;
  readonly seconds: number;
}

/**
 * Release a whole checkpoint: every MLP block becomes its TaylorMLP form, every other tensor is
 * copied. Layer by layer: the header is written from shapes alone (one calibration pass gives
 * each block's K), then each block is released when the writer reaches its first tensor and
 * dropped after its last, so memory holds one block's released tensors at a time.
 */
export function releaseCheckpoint(o: ReleaseCheckpointOptions): ReleaseSummary {
  checkTaylorOptions(o.taylor);
  const start = performance.now();
  if (!fs.existsSync(o.input)) throw new LayoutError(`input ${o.input} does not exist`);
  const source = SafetensorsFile.open(o.input);
  const calibrationFile = 'file' in o.calibration ? SafetensorsFile.open(o.calibration.file) : null;
  try {
    const { activation, source: activationSource } = checkpointActivation(o.input, o.activation);
    const locations = findMlpBlocks(source.names);
    const dtype = o.taylor.dtype ?? 'f32';
    // Pass 1: calibration ranges (small) and so each block's K and shapes.
    const plans = locations.map((location) => {
      const block = loadMlpBlock((n) => source.tensor(n), location);
      checkFinite(block, location);
      const inputs =
        calibrationFile !== null
          ? calibrationInputs(calibrationFile, location, block.inputDim)
          : seededStream(o.seed, '', syntheticCalibration((o.calibration as { synthetic: { rows: number; scale: number } }).synthetic.rows, block.inputDim, (o.calibration as { synthetic: { rows: number; scale: number } }).synthetic.scale, location.prefix));
      const range = calibrationRange(block, inputs, o.taylor.rangeIncludesZero ?? false);
      const signs = o.taylor.signs === true ? seededStream(o.seed, 'kgen', drawSigns(block.hiddenDim, location.prefix)) : null;
      const K = unitsToExpand(range, o.taylor.expand ?? { all: true }).length;
      return { location, range, signs, K, hidden: block.hiddenDim, input: block.inputDim, output: block.outputDim };
    });
    const metaOf = (plan: (typeof plans)[number]): BlockMeta => ({
      prefix: plan.location.prefix,
      layout: plan.location.layout,
      layer: plan.location.layer,
      kind: plan.location.layout === 'llama' ? 'swiglu' : 'plain',
      first: plan.location.first,
      up: plan.location.up,
      second: plan.location.second,
      firstBias: plan.location.firstBias,
      secondBias: plan.location.secondBias,
      inputDim: plan.input,
      hiddenDim: plan.hidden,
      outputDim: plan.output,
    });
    const replaced = new Set(locations.flatMap((l) => [l.first, l.up, l.second, l.firstBias, l.secondBias].filter((n): n is string => n !== null)));
    const lazy = new Map<string, LazyTensor>();
    for (const name of source.names) {
      if (replaced.has(name)) continue;
      const entry = source.header.entries.find((e) => e.name === name)!;
      lazy.set(name, { dtype: entry.dtype, shape: entry.shape, bytes: () => source.tensor(name).bytes });
    }
    // Pass 2 (lazy): release a block when its first tensor is written; keep it until its last.
    let cache: { prefix: string; tensors: Map<string, { bytes: Uint8Array }> ; remaining: number } | null = null;
    plans.forEach((plan, index) => {
      const produce = (): Map<string, { bytes: Uint8Array }> => {
        if (cache !== null && cache.prefix === plan.location.prefix) return cache.tensors;
        o.onBlock?.(index, plans.length, plan.location.prefix);
        const block: MlpBlock = loadMlpBlock((n) => source.tensor(n), plan.location);
        const released = releaseBlock(block, activation, plan.range as CalibrationRange, o.taylor, plan.signs);
        const tensors = releasedBlockTensors(blockMeta(plan.location, released), released, dtype);
        cache = { prefix: plan.location.prefix, tensors, remaining: tensors.size };
        return tensors;
      };
      const shapes = releasedBlockShapes(metaOf(plan), plan.K, o.taylor.order, dtype);
      for (const [name, shape] of shapes) {
        lazy.set(name, {
          dtype: shape.dtype,
          shape: shape.shape,
          bytes: () => {
            const tensors = produce();
            const bytes = tensors.get(name)!.bytes;
            if (cache !== null && --cache.remaining === 0) cache = null;
            return bytes;
          },
        });
      }
    });
    const metas = plans.map(metaOf);
    const calibration = 'file' in o.calibration ? `file:${o.calibration.file}` : `synthetic:N(0,${o.calibration.synthetic.scale}²)×${o.calibration.synthetic.rows}`;
    const metadata: Record<string, string> = {
      scheme: 'taylormlp',
      order: String(o.taylor.order),
      activation: activation.name,
      dtype,
      mask: JSON.stringify(o.taylor.mask ?? null),
      blocks: JSON.stringify(metas),
      options: JSON.stringify(o.taylor),
      seed: o.seed,
      calibration,
      weightgames_version: o.version,
      source_file: o.input.split(/[\\/]/).pop() ?? o.input,
    };
    writeSafetensorsStreaming(o.output, lazy, metadata, { inputs: [o.input, ...('file' in o.calibration ? [o.calibration.file] : [])] });
    return {
      input: o.input,
      output: o.output,
      seed: o.seed,
      activation: activation.name,
      activationSource,
      calibration,
      options: o.taylor,
      blocks: plans.map((p) => ({ prefix: p.location.prefix, layout: p.location.layout, hidden: p.hidden, expanded: p.K, thetaEntries: (o.taylor.order + 1) * p.output * p.K })),
      taylorParameters: plans.reduce((a, p) => a + p.output * p.K, 0),
      seconds: (performance.now() - start) / 1000,
    };
  } finally {
    source.close();
    calibrationFile?.close();
  }
}

