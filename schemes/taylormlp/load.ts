import { SafetensorsFile } from '../../src/numerics/io/safetensors';
import { activationByName, Activation } from '../../src/numerics/activations';
import { BlockMeta, ReleasedModelInfo, readReleasedBlock, releasedInfo } from './artifact';
import type { ReleasedBlock } from './release';
import { validateRelease } from './validate';

/** A released checkpoint's MLP blocks, read back from its file. */
export interface ReleasedModel {
  readonly info: ReleasedModelInfo;
  readonly activation: Activation;
  readonly blocks: ReadonlyArray<{ readonly meta: BlockMeta; readonly block: ReleasedBlock }>;
}

export function loadReleasedModel(file: string): ReleasedModel {
  const source = SafetensorsFile.open(file);
  try {
    const info = releasedInfo(source.metadata);
    validateRelease(source, info);
    return {
      info,
      activation: activationByName(info.activation),
      blocks: info.blocks.map((meta) => ({ meta, block: readReleasedBlock((n) => source.tensor(n), meta, info) })),
    };
  } finally {
    source.close();
  }
}
