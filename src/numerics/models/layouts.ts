import { WeightgamesError } from '../../kernel/errors';
import { transposeMatrix } from '../tensor/tensor';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as t from 'io-ts';
import { isLeft } from 'fp-ts/Either';
import { StoredTensor, toFloat64 } from '../io/safetensors';
import { Activation, activationByName } from '../activations';
import type { MlpBlock } from './mlp';

/**
 * Checkpoint layouts: where a Hugging Face checkpoint keeps its MLP blocks.
 * - `fc`:    P.fc1.weight [h, d] (+ P.fc1.bias), P.fc2.weight [o, h] (+ P.fc2.bias)   — OPT, Phi, plain MLPs
 * - `gpt2`:  P.mlp.c_fc.weight [d, h] + bias, P.mlp.c_proj.weight [h, o] + bias        — Conv1D: [in, out]
 * - `llama`: P.mlp.gate_proj.weight [h, d], P.mlp.up_proj.weight [h, d], P.mlp.down_proj.weight [o, h]
 */
export type LayoutName = 'fc' | 'gpt2' | 'llama';

export interface MlpBlockLocation {
  readonly layout: LayoutName;
  /** The common prefix, e.g. `model.decoder.layers.3`, `transformer.h.3.mlp`, `model.layers.3.mlp`. */
  readonly prefix: string;
  /** The layer number found in the prefix (for matching calibration data), or the block's position. */
  readonly layer: number;
  readonly first: string;
  readonly firstBias: string | null;
  readonly up: string | null;
  readonly second: string;
  readonly secondBias: string | null;
}

export class LayoutError extends WeightgamesError {
  override readonly name = 'LayoutError';
  readonly kind = 'input';
}

const PATTERNS: ReadonlyArray<{ layout: LayoutName; first: RegExp; names: (p: string) => { first: string; firstBias: string; up: string | null; second: string; secondBias: string } }> = [
  {
    layout: 'fc',
    first: /^(.*)\.fc1\.weight$/,
    names: (p) => ({ first: `${p}.fc1.weight`, firstBias: `${p}.fc1.bias`, up: null, second: `${p}.fc2.weight`, secondBias: `${p}.fc2.bias` }),
  },
  {
    layout: 'gpt2',
    first: /^(.*)\.c_fc\.weight$/,
    names: (p) => ({ first: `${p}.c_fc.weight`, firstBias: `${p}.c_fc.bias`, up: null, second: `${p}.c_proj.weight`, secondBias: `${p}.c_proj.bias` }),
  },
  {
    layout: 'llama',
    first: /^(.*)\.gate_proj\.weight$/,
    names: (p) => ({ first: `${p}.gate_proj.weight`, firstBias: `${p}.gate_proj.bias`, up: `${p}.up_proj.weight`, second: `${p}.down_proj.weight`, secondBias: `${p}.down_proj.bias` }),
  },
];

const layerNumber = (prefix: string): number | null => {
  const numbers = prefix.match(/\d+/g);
  return numbers === null ? null : Number(numbers[numbers.length - 1]);
};

/** A split of a recorded-activations file (stories260K's activations.safetensors: calibration, evaluation). */
export type RecordedSplit = 'calibration' | 'evaluation';

/** The tensor holding one layer's recorded MLP inputs [T, d] in a split. */
export const recordedMlpInputName = (split: RecordedSplit, layer: number): string => `${split}.layers.${layer}.mlp_input`;

/** Names a block's recorded MLP inputs may have, preferred first: the given splits, then unsplit by layer index, then by block prefix. */
export const recordedMlpInputCandidates = (location: MlpBlockLocation, splits: readonly RecordedSplit[]): string[] => [
  ...splits.map((split) => recordedMlpInputName(split, location.layer)),
  `layers.${location.layer}.mlp_input`,
  `${location.prefix}.mlp_input`,
];

/** The MLP blocks among `names`, sorted by layer number. Throws LayoutError listing what it found if there are none. */
export function findMlpBlocks(names: readonly string[]): MlpBlockLocation[] {
  const set = new Set(names);
  const blocks: MlpBlockLocation[] = [];
  for (const name of names) {
    for (const pattern of PATTERNS) {
      const match = pattern.first.exec(name);
      if (match === null) continue;
      const prefix = match[1];
      const n = pattern.names(prefix);
      if (!set.has(n.second) || (n.up !== null && !set.has(n.up))) continue;
      blocks.push({
        layout: pattern.layout,
        prefix,
        layer: layerNumber(prefix) ?? blocks.length,
        first: n.first,
        firstBias: set.has(n.firstBias) ? n.firstBias : null,
        up: n.up,
        second: n.second,
        secondBias: set.has(n.secondBias) ? n.secondBias : null,
      });
    }
  }
  if (blocks.length === 0) {
    const sample = names.slice(0, 12).join(', ') + (names.length > 12 ? `, … (${names.length} tensors)` : '');
    throw new LayoutError(
      `no MLP block found: expected *.fc1/fc2, *.mlp.c_fc/c_proj (GPT-2) or *.mlp.gate_proj/up_proj/down_proj (Llama) weights; found ${sample || 'no tensors'}`,
    );
  }
  return blocks.sort((a, b) => a.layer - b.layer || (a.prefix < b.prefix ? -1 : 1));
}


function matrixOf(stored: StoredTensor, what: string): [Float64Array, number, number] {
  if (stored.shape.length !== 2) throw new LayoutError(`${stored.name}: ${what} must be a matrix, has shape [${stored.shape.join(', ')}]`);
  return [toFloat64(stored), stored.shape[0], stored.shape[1]];
}

/** Load one block into canonical orientation ([out, in]; GPT-2's Conv1D [in, out] transposed). */
export function loadMlpBlock(get: (name: string) => StoredTensor, location: MlpBlockLocation): MlpBlock {
  const conv1d = location.layout === 'gpt2';
  const [firstRaw, r1, c1] = matrixOf(get(location.first), 'first layer');
  const [secondRaw, r2, c2] = matrixOf(get(location.second), 'second layer');
  const first = conv1d ? transposeMatrix(firstRaw, r1, c1) : firstRaw;
  const [hidden, input] = conv1d ? [c1, r1] : [r1, c1];
  const second = conv1d ? transposeMatrix(secondRaw, r2, c2) : secondRaw;
  const [output, hidden2] = conv1d ? [c2, r2] : [r2, c2];
  if (hidden2 !== hidden) throw new LayoutError(`${location.prefix}: first layer has ${hidden} hidden units, second layer expects ${hidden2}`);
  const vector = (name: string | null, length: number): Float64Array | null => {
    if (name === null) return null;
    const v = toFloat64(get(name));
    if (v.length !== length) throw new LayoutError(`${name}: expected ${length} entries, found ${v.length}`);
    return v;
  };
  let up: Float64Array | null = null;
  if (location.up !== null) {
    const [u, ru, cu] = matrixOf(get(location.up), 'up projection');
    if (ru !== hidden || cu !== input) throw new LayoutError(`${location.up}: shape [${ru}, ${cu}], expected [${hidden}, ${input}]`);
    up = u;
  }
  return {
    kind: location.layout === 'llama' ? 'swiglu' : 'plain',
    inputDim: input,
    hiddenDim: hidden,
    outputDim: output,
    first,
    firstBias: vector(location.firstBias, hidden),
    up,
    second,
    secondBias: vector(location.secondBias, output),
  };
}

const ConfigCodec = t.partial({ hidden_act: t.string, activation_function: t.string, model_type: t.string });

/**
 * The activation of a checkpoint: an explicit name wins; otherwise `hidden_act` or
 * `activation_function` from config.json next to it; otherwise the layout's convention is not
 * guessed — a clear error asks for --act.
 */
export function checkpointActivation(checkpoint: string, explicit?: string): { activation: Activation; source: string } {
  if (explicit !== undefined) return { activation: activationByName(explicit), source: 'flag' };
  const configPath = path.join(path.dirname(checkpoint), 'config.json');
  if (!fs.existsSync(configPath)) throw new LayoutError(`no activation given and no config.json beside ${checkpoint}: pass --act`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(configPath, 'utf8'));
  } catch {
    throw new LayoutError(`${configPath} is not valid JSON`);
  }
  const decoded = ConfigCodec.decode(parsed);
  if (isLeft(decoded)) throw new LayoutError(`${configPath}: hidden_act / activation_function must be strings`);
  const name = decoded.right.hidden_act ?? decoded.right.activation_function;
  if (name === undefined) throw new LayoutError(`${configPath} names no activation (hidden_act / activation_function): pass --act`);
  return { activation: activationByName(name), source: `config.json (${name})` };
}
