import fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  DTYPE_SIZES,
  SafeDType,
  SafetensorsError,
  SafetensorsFile,
  TensorToWrite,
  encodeFloats,
  parseSafetensors,
  readSafetensors,
  toFloat32,
  toFloat64,
  writeSafetensors,
  writeAt,
  writeSafetensorsPositional,
  writeSafetensorsStreaming,
  LazyTensor,
} from '../src/numerics/io/safetensors';
import { bf16BitsToFloat32, f16BitsToFloat32, float32ToBf16Bits, float32ToF16Bits, widenBf16Into } from '../src/numerics/io/halfPrecision';
import { OutputPathError } from '../src/numerics/io/atomicWrite';
import { STORIES, itWithStories } from './helpers/shared';
import { temporaryDirectory } from './helpers/temporaryDirectories';

const tmp = () => temporaryDirectory('wg-st-');
const dtypes = Object.keys(DTYPE_SIZES) as SafeDType[];

const nameArb = fc.string({ minLength: 1, maxLength: 12, unit: 'binary' }).filter((s) => !s.includes('\u0000') && s !== '__metadata__' && !/[\uD800-\uDFFF]/.test(s));
const tensorArb: fc.Arbitrary<TensorToWrite> = fc
  .record({ dtype: fc.constantFrom(...dtypes), shape: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 4 }) })
  .chain(({ dtype, shape }) => {
    const bytes = shape.reduce((a, b) => a * b, 1) * DTYPE_SIZES[dtype];
    return fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((data) => ({ dtype, shape, bytes: data }));
  });

/** A file from a raw header string and data bytes. */
function rawFile(header: string, data: Uint8Array = new Uint8Array(0), lengthOverride?: bigint): Uint8Array {
  const h = Buffer.from(header, 'utf8');
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

const problemOf = (bytes: Uint8Array): string => {
  try {
    parseSafetensors(bytes);
    return 'ok';
  } catch (error) {
    if (!(error instanceof SafetensorsError)) throw error;
    return error.problem;
  }
};

describe('safetensors round trip', () => {
  it('anything the writer writes reads back bit-identical (names, shapes incl. rank 0 and empty, all dtypes, metadata)', () => {
    const dir = tmp();
    fc.assert(
      fc.property(fc.dictionary(nameArb, tensorArb, { maxKeys: 6 }), fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 16 }), { maxKeys: 3 }), (tensors, metadata) => {
        const file = path.join(dir, 'x.safetensors');
        writeSafetensors(file, tensors, metadata);
        const back = readSafetensors(file);
        expect(back.metadata).toEqual(metadata);
        expect([...back.tensors.keys()].sort()).toEqual(Object.keys(tensors).sort());
        for (const [name, t] of Object.entries(tensors)) {
          const r = back.tensors.get(name)!;
          expect(r.dtype).toBe(t.dtype);
          expect(r.shape).toEqual(t.shape);
          expect(Buffer.from(r.bytes).equals(Buffer.from(t.bytes))).toBe(true);
        }
        // The lazy reader agrees with the in-memory one.
        const lazy = SafetensorsFile.open(file);
        for (const name of lazy.names) expect(Buffer.from(lazy.tensor(name).bytes).equals(Buffer.from(back.tensors.get(name)!.bytes))).toBe(true);
        lazy.close();
      }),
      { numRuns: 300 },
    );
  });

  it('a tensor or metadata key named "__proto__" is a key like any other (found by the property above)', () => {
    const file = path.join(tmp(), 'p.safetensors');
    const tensors = new Map([['__proto__', { dtype: 'U8' as const, shape: [1], bytes: new Uint8Array([7]) }]]);
    const metadata = JSON.parse('{"__proto__": "x"}') as Record<string, string>;
    writeSafetensors(file, tensors, metadata);
    const back = readSafetensors(file);
    expect([...back.tensors.keys()]).toEqual(['__proto__']);
    expect(Object.keys(back.metadata)).toEqual(['__proto__']);
  });

  it('the writer sorts tensors by name and pads the header with spaces to a multiple of 8', () => {
    const file = path.join(tmp(), 'w.safetensors');
    writeSafetensors(file, { b: { dtype: 'F32', shape: [1], bytes: encodeFloats([2], 'F32') }, a: { dtype: 'F64', shape: [], bytes: encodeFloats([1], 'F64') } });
    const bytes = fs.readFileSync(file);
    const n = Number(bytes.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const header = bytes.subarray(8, 8 + n).toString('utf8');
    expect(header.trimEnd().length).toBeLessThanOrEqual(n);
    expect(/ *$/.exec(header)![0].length).toBe(n - header.trimEnd().length);
    const parsed = JSON.parse(header);
    expect(parsed.a.data_offsets).toEqual([0, 8]);
    expect(parsed.b.data_offsets).toEqual([8, 12]);
  });

  it('writes atomically: no temporary file left, and an input is never overwritten', () => {
    const dir = tmp();
    const file = path.join(dir, 'in.safetensors');
    writeSafetensors(file, { a: { dtype: 'U8', shape: [2], bytes: new Uint8Array([1, 2]) } });
    expect(() => writeSafetensors(file, {}, {}, { inputs: [file] })).toThrow(OutputPathError);
    expect(() => writeSafetensors(path.join(dir, 'bad.safetensors'), { a: { dtype: 'F32', shape: [3], bytes: new Uint8Array(4) } })).toThrow(SafetensorsError);
    expect(fs.readdirSync(dir)).toEqual(['in.safetensors']);
  });

  it('deferred metadata: reserved in the header, filled after the last tensor, and a wrong length leaves no file', () => {
    const dir = tmp();
    const file = path.join(dir, 'deferred.safetensors');
    let produced = '';
    const tensors = new Map([
      ['b', { dtype: 'U8' as const, shape: [1], bytes: () => ((produced += 'b'), new Uint8Array([2])) }],
      ['a', { dtype: 'U8' as const, shape: [1], bytes: () => ((produced += 'a'), new Uint8Array([1])) }],
    ]);
    writeSafetensorsStreaming(file, tensors, { note: 'x "quoted": "late":"????"' }, { deferred: { late: { length: 4, value: () => `${produced}01` } } });
    const read = SafetensorsFile.open(file);
    expect(read.metadata).toEqual({ note: 'x "quoted": "late":"????"', late: 'ab01' });
    expect([...read.tensor('a').bytes, ...read.tensor('b').bytes]).toEqual([1, 2]);
    read.close();
    const bad = path.join(dir, 'bad.safetensors');
    expect(() => writeSafetensorsStreaming(bad, tensors, {}, { deferred: { late: { length: 4, value: () => 'abc' } } })).toThrow(SafetensorsError);
    expect(() => writeSafetensorsStreaming(bad, tensors, {}, { deferred: { late: { length: 2, value: () => 'a"' } } })).toThrow(SafetensorsError);
    expect(fs.readdirSync(dir)).toEqual(['deferred.safetensors']);
  });

  it('a tensor produced in pieces (one buffer refilled) is written as its bytes at once; too few or too many bytes leave no file', () => {
    const dir = tmp();
    const values = Uint8Array.from({ length: 40 }, (_, q) => (q * 37) % 251);
    // Pieces of 7 bytes from one reused buffer: each must be written before the buffer is refilled.
    const pieces = (count: number) => ({
      pieces: function* (): Generator<Uint8Array> {
        const buffer = new Uint8Array(7);
        for (let at = 0; at < count; at += 7) {
          const piece = buffer.subarray(0, Math.min(7, count - at));
          for (let q = 0; q < piece.length; q++) piece[q] = values[(at + q) % values.length];
          yield piece;
        }
      },
    });
    const at = (name: string, bytes: LazyTensor['bytes']) => new Map<string, LazyTensor>([[name, { dtype: 'U8', shape: [40], bytes }], ['z', { dtype: 'U8', shape: [1], bytes: () => new Uint8Array([9]) }]]);
    writeSafetensorsStreaming(path.join(dir, 'whole.safetensors'), at('a', () => values));
    writeSafetensorsStreaming(path.join(dir, 'pieces.safetensors'), at('a', pieces(40)));
    expect(fs.readFileSync(path.join(dir, 'pieces.safetensors')).equals(fs.readFileSync(path.join(dir, 'whole.safetensors')))).toBe(true);
    expect(() => writeSafetensorsStreaming(path.join(dir, 'short.safetensors'), at('a', pieces(39)))).toThrow(/producer gave 39 bytes, header says 40/);
    expect(() => writeSafetensorsStreaming(path.join(dir, 'long.safetensors'), at('a', pieces(41)))).toThrow(/producer gave at least 41 bytes, header says 40/);
    expect(fs.readdirSync(dir).sort()).toEqual(['pieces.safetensors', 'whole.safetensors']);
  });

  it('deferred metadata in the positional writer: filled after `fill` wrote the tensors at their offsets; a wrong value leaves no file', () => {
    const dir = tmp();
    const file = path.join(dir, 'positional.safetensors');
    const shapes = new Map([
      ['b', { dtype: 'U8' as const, shape: [2] }],
      ['a', { dtype: 'U8' as const, shape: [1] }],
    ]);
    let filled = '';
    const fill = (fd: number, offsets: ReadonlyMap<string, { position: number; byteLength: number }>): Set<string> => {
      writeAt(fd, new Uint8Array([7, 8]), offsets.get('b')!.position); // out of name order: positions, not a cursor
      writeAt(fd, new Uint8Array([5]), offsets.get('a')!.position);
      filled = 'ba';
      return new Set(['a', 'b']);
    };
    writeSafetensorsPositional(file, shapes, { note: '"late":"???"' }, fill, { deferred: { late: { length: 3, value: () => `${filled}!` } } });
    const read = SafetensorsFile.open(file);
    expect(read.metadata).toEqual({ note: '"late":"???"', late: 'ba!' });
    expect([...read.tensor('a').bytes, ...read.tensor('b').bytes]).toEqual([5, 7, 8]);
    read.close();
    expect(() => writeSafetensorsPositional(path.join(dir, 'bad.safetensors'), shapes, {}, fill, { deferred: { late: { length: 3, value: () => 'ab' } } })).toThrow(SafetensorsError);
    expect(fs.readdirSync(dir)).toEqual(['positional.safetensors']);
  });
});

describe('safetensors validation (each violation a typed error naming the problem)', () => {
  const ok = (data: number[]) => new Uint8Array(data);
  it.each([
    ['too-small', new Uint8Array(5)],
    ['header-too-large', rawFile('{}', undefined, 200_000_000n)],
    ['header-too-large', rawFile('{}', undefined, 2n ** 64n - 1n)],
    ['header-out-of-file', rawFile('{}', undefined, 1000n)],
    ['header-not-json', rawFile('{"a": ')],
    ['header-not-object', rawFile('[1, 2]')],
    ['header-not-utf8', (() => { const f = rawFile('{"a":1}'); f[10] = 0xff; return f; })()],
    ['duplicate-key', rawFile('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', ok([1]))],
    ['bad-metadata', rawFile('{"__metadata__":{"k":1}}')],
    ['bad-name', rawFile('{"a\\u0000b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', ok([1]))],
    ['bad-dtype', rawFile('{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}', ok([1]))],
    ['bad-entry', rawFile('{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}', ok([1]))],
    ['size-mismatch', rawFile('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', ok([1, 2, 3, 4]))],
    ['overflow', rawFile('{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}}', ok([0, 0, 0, 0, 0, 0, 0, 0]))],
    ['offsets', rawFile('{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', ok([1, 2]))],
    ['offsets', rawFile('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}', ok([1, 2, 3]))],
    ['offsets', rawFile('{"a":{"dtype":"U8","shape":[0],"data_offsets":[2,1]}}', ok([]))],
    ['buffer-size', rawFile('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', ok([1, 2]))],
    ['buffer-size', rawFile('{"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}}', ok([1, 2]))],
  ])('%s', (problem, bytes) => {
    expect(problemOf(bytes)).toBe(problem);
  });

  it('a multi-megabyte header parses, or fails with a typed error (a hang would hit the test timeout)', () => {
    const big = JSON.stringify({ __metadata__: { blob: 'x'.repeat(3_000_000) }, a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] } });
    expect(problemOf(rawFile(big, new Uint8Array([1, 2])))).toBe('ok');
    expect(problemOf(rawFile(big.replace('"U8"', '"Q9"'), new Uint8Array([1, 2])))).toBe('bad-dtype');
  });

  it('names the tensor in the message', () => {
    expect(() => parseSafetensors(rawFile('{"layer.7":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', ok([1, 2, 3, 4])))).toThrow(/tensor "layer\.7": shape \[2\] of F32 needs 8 bytes/);
  });
});

describe('half precision', () => {
  it('bf16 and f16 narrowing round to the nearest representable value, ties to even', () => {
    const f32 = new Float32Array(1);
    fc.assert(
      fc.property(fc.float({ noNaN: true, noDefaultInfinity: true, min: -60000, max: 60000 }), (v) => {
        f32[0] = v;
        const x = f32[0];
        for (const [narrow, widen, step] of [
          [float32ToBf16Bits, bf16BitsToFloat32, 1],
          [float32ToF16Bits, f16BitsToFloat32, 1],
        ] as const) {
          const bits = narrow(x);
          const here = widen(bits);
          // Neighbours in the narrow format (same sign direction).
          const up = widen((bits + step) & 0xffff);
          const down = widen((bits - step) & 0xffff);
          const err = Math.abs(here - x);
          if (Number.isFinite(up)) expect(err).toBeLessThanOrEqual(Math.abs(up - x));
          if (Number.isFinite(down)) expect(err).toBeLessThanOrEqual(Math.abs(down - x));
          if (Number.isFinite(up) && Math.abs(up - x) === err && up !== here) expect(bits & 1).toBe(0);
          if (Number.isFinite(down) && Math.abs(down - x) === err && down !== here) expect(bits & 1).toBe(0);
        }
      }),
      { numRuns: 20000 },
    );
  });

  it('widenBf16Into: every bf16 bit pattern widened exactly, at either alignment and any length, and its answer says whether one is NaN or ±∞', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 }), fc.constantFrom(0, 2), (patterns, offset) => {
        const bytes = new Uint8Array(patterns.length * 2 + 4).subarray(offset, offset + patterns.length * 2);
        new Uint16Array(bytes.buffer, bytes.byteOffset, patterns.length).set(patterns);
        const out = new Float32Array(patterns.length);
        const special = widenBf16Into(bytes, out);
        expect(Array.from(new Uint32Array(out.buffer))).toEqual(patterns.map((x) => (x << 16) >>> 0)); // bit for bit (NaN payloads too)
        patterns.forEach((x, q) => expect(Object.is(out[q], bf16BitsToFloat32(x)) || Number.isNaN(out[q])).toBe(true));
        expect(special).toBe(patterns.some((x) => (x & 0x7f80) === 0x7f80));
      }),
      { numRuns: 2000, seed: 5 },
    );
  });

  it('widening is exact and F16 handles subnormals, infinities and NaN', () => {
    expect(f16BitsToFloat32(0x0001)).toBe(2 ** -24);
    expect(f16BitsToFloat32(0x7c00)).toBe(Infinity);
    expect(Number.isNaN(f16BitsToFloat32(0x7e00))).toBe(true);
    expect(float32ToF16Bits(70000)).toBe(0x7c00);
    expect(float32ToF16Bits(2 ** -26)).toBe(0);
    expect(Number.isNaN(bf16BitsToFloat32(float32ToBf16Bits(NaN)))).toBe(true);
    const values = [1, -2.5, 0.1, 3.14159];
    expect(Array.from(toFloat32({ name: 'h', dtype: 'BF16', shape: [4], bytes: encodeFloats(values, 'BF16') }))).toEqual(values.map((v) => bf16BitsToFloat32(float32ToBf16Bits(v))));
  });
});

describe('stories260K', () => {
  itWithStories('reading model.safetensors reproduces every per-tensor sum in SOURCE.md to 1e-6 relative', () => {
    const source = fs.readFileSync(path.join(STORIES, 'SOURCE.md'), 'utf8');
    const rows = [...source.matchAll(/^\| `([^`]+)` \| \[([\d, ]+)\] \| (\S+) \| (\S+) \|$/gm)];
    expect(rows.length).toBeGreaterThan(40);
    const file = SafetensorsFile.open(path.join(STORIES, 'model.safetensors'));
    expect(file.names.length).toBe(rows.length);
    for (const [, name, shape, sum, maxAbs] of rows) {
      const stored = file.tensor(name);
      expect(stored.shape).toEqual(shape.split(',').map((s) => Number(s.trim())));
      const values = toFloat64(stored);
      let total = 0;
      let max = 0;
      for (const v of values) {
        total += v;
        max = Math.max(max, Math.abs(v));
      }
      expect(Math.abs(total - Number(sum)) / Math.abs(Number(sum))).toBeLessThanOrEqual(1e-6);
      expect(Math.abs(max - Number(maxAbs)) / Number(maxAbs)).toBeLessThanOrEqual(1e-6);
      expect(toFloat32(stored).buffer).toBe(stored.bytes.buffer); // F32 is viewed, not copied
    }
    file.close();
  });
});
