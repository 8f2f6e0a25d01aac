import { loadReleasedModel, runReleasedBlock } from '../../schemes/taylormlp';
import { tensor } from '../tensor/tensor';
import type { MlpRunner } from './llama';

/**
 * Run′ for a whole model: each MLP block computed by its TaylorMLP release (the released
 * polynomial, eq. 15) instead of the original weights. Blocks are matched by layer number.
 */
export function releasedMlpRunner(releasedFile: string): MlpRunner {
  const model = loadReleasedModel(releasedFile);
  const byLayer = new Map(model.blocks.map((b) => [b.meta.layer, b.block]));
  return (layer, inputs) => {
    const block = byLayer.get(layer);
    if (block === undefined) throw new Error(`${releasedFile} has no released MLP for layer ${layer}`);
    return runReleasedBlock(block, model.activation, tensor([1, inputs.length], inputs)).data as Float64Array;
  };
}
