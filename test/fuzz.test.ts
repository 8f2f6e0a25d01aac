import fc from 'fast-check';
import { DTYPE_SIZES, SafeDType, SafetensorsError, encodeHeader, parseSafetensors } from '../src/numerics/io/safetensors';

/**
 * Hostile safetensors: every input ends in a typed SafetensorsError or a valid parse — never
 * another exception, a hang, or an allocation beyond the file. FUZZ_RUNS sets the number of
 * cases per property (10,000 in CI; `npm run fuzz` runs 200,000).
 */
const runs = Number(process.env.FUZZ_RUNS ?? 10_000);
let cases = 0;

function outcome(bytes: Uint8Array): 'ok' | string {
  cases++;
  try {
    const { header, tensors } = parseSafetensors(bytes);
    // A valid parse must describe the file exactly.
    let total = header.dataStart;
    for (const t of tensors.values()) total += t.bytes.length;
    if (total !== bytes.length) throw new Error(`parse accepted a file whose tensors cover ${total} of ${bytes.length} bytes`);
    return 'ok';
  } catch (error) {
    if (error instanceof SafetensorsError) return error.problem;
    throw error; // anything else is a bug: the property fails
  }
}

const dtypes = Object.keys(DTYPE_SIZES) as SafeDType[];
/** A valid file: a few tensors with random names, shapes, dtypes and bytes. */
const validFile = fc
  .array(fc.record({ name: fc.string({ minLength: 1, maxLength: 6 }).filter((s) => s !== '__metadata__' && !s.includes('\u0000') && !/[\uD800-\uDFFF]/.test(s)), dtype: fc.constantFrom(...dtypes), shape: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }) }), { maxLength: 4 })
  .map((entries) => {
    const map = new Map(entries.map((e) => [e.name, { dtype: e.dtype, shape: e.shape, byteLength: e.shape.reduce((a, b) => a * b, DTYPE_SIZES[e.dtype] as number) }]));
    const { header, order } = encodeHeader(map, { k: 'v' });
    const data = order.reduce((a, n) => a + map.get(n)!.byteLength, 0);
    const file = new Uint8Array(header.length + data);
    file.set(header);
    for (let i = header.length; i < file.length; i++) file[i] = i % 251;
    return file;
  });

describe(`safetensors fuzzing (${runs} cases per property)`, () => {
  afterAll(() => console.log(`safetensors fuzz: ${cases} cases, 0 crashes`));

  it('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => void outcome(bytes)), { numRuns: runs });
  });

  it('random bytes behind a plausible header length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (body, length) => {
        const bytes = new Uint8Array(8 + body.length);
        new DataView(bytes.buffer).setBigUint64(0, length % 2n === 0n ? BigInt(body.length) : length, true);
        bytes.set(body, 8);
        outcome(bytes);
      }),
      { numRuns: runs },
    );
  });

  it('valid files with mutated bytes (header, lengths, offsets, shapes, dtypes)', () => {
    fc.assert(
      fc.property(validFile, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (file, mutations) => {
        expect(outcome(file)).toBe('ok');
        const mutated = file.slice();
        for (const [position, value] of mutations) mutated[position % mutated.length] = value;
        outcome(mutated);
      }),
      { numRuns: runs },
    );
  });

  it('valid files truncated or extended', () => {
    fc.assert(
      fc.property(validFile, fc.integer({ min: -64, max: 64 }), (file, delta) => {
        const length = Math.max(0, file.length + delta);
        const changed = new Uint8Array(length);
        changed.set(file.subarray(0, Math.min(length, file.length)));
        const result = outcome(changed);
        if (delta !== 0) expect(result).not.toBe('ok');
      }),
      { numRuns: runs },
    );
  });

  it('headers with mutated JSON text', () => {
    const texts = fc.oneof(
      fc.json(),
      fc.string(),
      fc.constantFrom('{"a":{"dtype":"F32","shape":[1e400],"data_offsets":[0,4]}}', '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":1}', '[' .repeat(100000), '{"__metadata__":{"a":1}}', '{"a\\u0000":{}}', '"string"', 'null'),
    );
    fc.assert(
      fc.property(texts, fc.uint8Array({ maxLength: 16 }), (text, data) => {
        const header = Buffer.from(text, 'utf8');
        const bytes = new Uint8Array(8 + header.length + data.length);
        new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
        bytes.set(header, 8);
        bytes.set(data, 8 + header.length);
        outcome(bytes);
      }),
      { numRuns: runs },
    );
  });
});
