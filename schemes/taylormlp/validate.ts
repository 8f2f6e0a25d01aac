import { DTYPE_SIZES, SafetensorsFile, StoredTensor, firstNonFinite, toFloat64 } from '../../src/numerics/io/safetensors';
import { ReleasedFileError, ReleasedModelInfo, releasedBlockShapes } from './artifact';

/**
 * The structure of a release, checked before an attack (or Run′) reads it: from the header and
 * the small index tensors only, so before any work.
 *   - at least one block; no two blocks with the same prefix, layer, or replaced tensor name;
 *   - every tensor a block names is present, with the dtype and shape its metadata implies
 *     (K from P.taylor.expanded_units);
 *   - P.taylor.expanded_units and P.taylor.plain_units: every index in [0, h), none twice, and
 *     together every hidden unit exactly once;
 *   - every `*.taylor.*` tensor belongs to a listed block (a block left out of the metadata would
 *     otherwise be copied as if it were a clear tensor, and its weights silently dropped).
 */
export function validateRelease(file: SafetensorsFile, info: ReleasedModelInfo): void {
  if (info.blocks.length === 0) throw new ReleasedFileError('the release lists no MLP block in its metadata');
  const seen = new Map<string, string>();
  const once = (key: string, what: string): void => {
    const previous = seen.get(key);
    if (previous !== undefined) throw new ReleasedFileError(`release metadata: ${what} appears more than once (${previous})`);
    seen.set(key, what);
  };
  const entries = new Map(file.header.entries.map((e) => [e.name, e]));
  for (const meta of info.blocks) {
    once(`prefix:${meta.prefix}`, `block ${meta.prefix}`);
    once(`layer:${meta.layer}`, `layer ${meta.layer} (block ${meta.prefix})`);
    for (const name of [meta.first, meta.up, meta.second, meta.firstBias, meta.secondBias]) if (name !== null) once(`tensor:${name}`, `tensor ${name}`);
    for (const d of [meta.inputDim, meta.hiddenDim, meta.outputDim]) {
      if (!(Number.isSafeInteger(d) && d > 0)) throw new ReleasedFileError(`release metadata: block ${meta.prefix} has dimensions ${meta.inputDim} → ${meta.hiddenDim} → ${meta.outputDim}`);
    }
    const P = `${meta.prefix}.taylor`;
    const expandedEntry = entries.get(`${P}.expanded_units`);
    if (expandedEntry === undefined) throw new ReleasedFileError(`block ${meta.prefix}: tensor ${P}.expanded_units is missing`);
    const K = expandedEntry.shape.length === 1 ? expandedEntry.shape[0] : -1;
    if (!(K >= 0 && K <= meta.hiddenDim)) throw new ReleasedFileError(`${P}.expanded_units: shape [${expandedEntry.shape.join(', ')}], expected [K] with K ≤ ${meta.hiddenDim}`);
    for (const [name, expected] of releasedBlockShapes(meta, K, info.order, info.dtype)) {
      const entry = entries.get(name);
      if (entry === undefined) throw new ReleasedFileError(`block ${meta.prefix}: tensor ${name} is missing`);
      if (entry.dtype !== expected.dtype || entry.shape.length !== expected.shape.length || entry.shape.some((s, i) => s !== expected.shape[i])) {
        throw new ReleasedFileError(`${name}: ${entry.dtype} [${entry.shape.join(', ')}], expected ${expected.dtype} [${expected.shape.join(', ')}]`);
      }
    }
    checkUnits(meta.prefix, meta.hiddenDim, file.tensor(`${P}.expanded_units`), file.tensor(`${P}.plain_units`));
  }
  const prefixes = new Set(info.blocks.map((b) => `${b.prefix}.taylor.`));
  for (const name of file.names) {
    const at = name.indexOf('.taylor.');
    if (at >= 0 && !prefixes.has(name.slice(0, at + '.taylor.'.length))) throw new ReleasedFileError(`${name}: released tensors of a block that is in no block of the metadata`);
  }
}

/** Expanded and plain unit indices: each in [0, h), none twice, all h units covered. */
function checkUnits(prefix: string, h: number, expanded: StoredTensor, plain: StoredTensor): void {
  const owner = new Int8Array(h); // 0: not seen, 1: expanded, 2: plain
  for (const [stored, mark] of [[expanded, 1], [plain, 2]] as const) {
    const values = toFloat64(stored);
    for (let q = 0; q < values.length; q++) {
      const j = values[q];
      if (!(Number.isInteger(j) && j >= 0 && j < h)) throw new ReleasedFileError(`${stored.name}[${q}] = ${j}: unit index out of range [0, ${h})`);
      if (owner[j] !== 0) throw new ReleasedFileError(`${stored.name}[${q}] = ${j}: unit ${j} appears more than once in ${prefix}'s expanded and plain units`);
      owner[j] = mark;
    }
  }
  const missing = owner.indexOf(0);
  if (missing >= 0) throw new ReleasedFileError(`${prefix}: hidden unit ${missing} is neither expanded nor plain`);
}

/** A tensor released in the clear, copied as is: refused if it holds NaN or ±∞ (the attack never writes either). */
export function finiteClearTensor(stored: StoredTensor): Uint8Array {
  const at = firstNonFinite(stored);
  if (at >= 0) {
    const size = DTYPE_SIZES[stored.dtype];
    const value = toFloat64({ ...stored, shape: [1], bytes: stored.bytes.subarray(at * size, (at + 1) * size) })[0];
    throw new ReleasedFileError(`tensor ${stored.name} (released in the clear) holds ${value} at index ${at}: the attack does not copy NaN or ±∞ into its output`);
  }
  return stored.bytes;
}
