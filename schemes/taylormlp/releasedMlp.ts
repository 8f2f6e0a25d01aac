import { loadReleasedModel, runReleasedBlock, ReleasedFileError } from './';
import { tensor } from '../../src/numerics/tensor/tensor';
import type { MlpRunner } from '../../src/numerics/models/llama';

/** What a model's MLP block looks like from outside: its dimensions. */
export interface MlpShape {
  readonly inputDim: number;
  readonly hiddenDim: number;
  readonly outputDim: number;
}

/**
 * Run′ for a whole model: each MLP block computed by its TaylorMLP release (the released
 * polynomial, eq. 15) instead of the original weights. Blocks are matched by layer number; given
 * the model's blocks (`expected`, by layer), the release must hold one of the same dimensions for
 * every layer — a release of another model, or with a layer missing, is refused before decoding.
 */
export function releasedMlpRunner(releasedFile: string, expected?: readonly MlpShape[]): MlpRunner {
  const model = loadReleasedModel(releasedFile);
  const byLayer = new Map(model.blocks.map((b) => [b.meta.layer, b.block]));
  expected?.forEach((shape, layer) => {
    const block = byLayer.get(layer);
    if (block === undefined) throw new ReleasedFileError(`${releasedFile} has no released MLP for layer ${layer} (it has layers ${[...byLayer.keys()].join(', ')})`);
    if (block.inputDim !== shape.inputDim || block.hiddenDim !== shape.hiddenDim || block.outputDim !== shape.outputDim) {
      throw new ReleasedFileError(`${releasedFile}: the MLP of layer ${layer} is ${block.inputDim} → ${block.hiddenDim} → ${block.outputDim}, the model's is ${shape.inputDim} → ${shape.hiddenDim} → ${shape.outputDim}: a release of another model`);
    }
  });
  if (expected !== undefined && byLayer.size !== expected.length) throw new ReleasedFileError(`${releasedFile} releases ${byLayer.size} MLP blocks, the model has ${expected.length}`);
  return (layer, inputs) => {
    const block = byLayer.get(layer);
    if (block === undefined) throw new ReleasedFileError(`${releasedFile} has no released MLP for layer ${layer}`);
    return runReleasedBlock(block, model.activation, tensor([1, inputs.length], inputs)).data as Float64Array;
  };
}
