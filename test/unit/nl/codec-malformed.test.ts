/**
 * Malformed bytes decode or throw SchemaError naming the attribute: never another error,
 * never a hang, never a read outside the given range.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeAttrs, encodeAttrs } from '../../../src/nl/codec.js';
import { SchemaError } from '../../../src/nl/errors.js';
import type { AttrSet } from '../../../src/nl/schema.js';
import { attrValues } from './arbitraries.js';
import { allSet, hex, recursiveSet } from './schemas.js';

const runs = { seed: 0x6e6c, numRuns: 300 };

const cases: { name: string; bytes: string; path: string; set?: AttrSet }[] = [
  { name: 'length < 4', bytes: '03000100 00000000', path: '' },
  { name: 'length 0', bytes: '00000100', path: '' },
  { name: 'stray bytes after the last attribute', bytes: '05000100 2a000000 0000', path: '' },
  { name: 'length past the end', bytes: '09000300 01000000', path: '' },
  { name: 'u32 of 3 bytes', bytes: '07000300 010203', path: 'u32' },
  { name: 'u64 of 4 bytes', bytes: '08000400 01020304', path: 'u64' },
  { name: 'binary of the wrong fixed length', bytes: '07001000 010203', path: 'bin4' },
  { name: 'struct shorter than the struct', bytes: '0c001500 06000050 0a000001', path: 'endpoint' },
  { name: 'struct shorter than minLen', bytes: '08001600 06000050', path: 'endpoint_old' },
  { name: 'array not a whole number of elements', bytes: '0a001700 01000000 0200', path: 'u32s' },
  { name: 'odd-length masked attribute', bytes: '0c001c00 07000400 06ff0000', path: 'masked.proto' },
  { name: 'masked value of the wrong size', bytes: '10001c00 0a000200 00500000 ffff0000', path: 'masked.port.value' },
  { name: 'inner attribute past its nest', bytes: '0c001900 0c000100 07000000', path: 'inner' },
  { name: 'bad attribute two levels down', bytes: '10001900 0c000300 05000100 07000000', path: 'inner.leaf.x' },
  { name: 'bad attribute in a list', bytes: '14001a00 08000100 07000000 05000100 07000000', path: 'list[1].a' },
  { name: 'bad attribute in an indexed nest', bytes: '1c001b00 0c000100 08000200 04000000 0c000200 05000200 07000000', path: 'groups[1].id' },
];

for (const c of cases) {
  test(`malformed: ${c.name}`, () => {
    assert.throws(() => decodeAttrs(c.set ?? allSet, hex(c.bytes)), (e) => e instanceof SchemaError && e.path === c.path);
  });
}

/** n levels of {self: {self: ...}}, built by hand so no encoder limit gets in the way. */
function nestedSelf(levels: number): Buffer {
  let inner = Buffer.alloc(0);
  for (let i = 0; i < levels; i++) {
    const hdr = Buffer.alloc(4);
    hdr.writeUInt16LE(4 + inner.length, 0);
    hdr.writeUInt16LE(2, 2);
    inner = Buffer.concat([hdr, inner]);
  }
  return inner;
}

test('deep nesting of a recursive set decodes up to a limit, then throws SchemaError', () => {
  let v: unknown = decodeAttrs(recursiveSet, nestedSelf(60));
  for (let i = 0; i < 60; i++) v = (v as { self: unknown }).self;
  assert.deepEqual(v, {});
  assert.throws(() => decodeAttrs(recursiveSet, nestedSelf(10000)), SchemaError);
  // the depth count is not left behind by an error
  assert.ok(decodeAttrs(recursiveSet, nestedSelf(60)));
});

test('decodeAttrs refuses a range outside the buffer', () => {
  assert.throws(() => decodeAttrs(allSet, Buffer.alloc(8), 4, 12), SchemaError);
  assert.throws(() => decodeAttrs(allSet, Buffer.alloc(8), 6, 4), SchemaError);
});

// ---------------------------------------------------------------- fuzzing

/**
 * Decodes `bytes` alone and again embedded in junk: both must agree (so nothing outside
 * the range was read), and any error must be a SchemaError.
 */
function checkDecode(set: AttrSet, bytes: Uint8Array, junk: number): void {
  const exact = Buffer.from(bytes);
  const embedded = Buffer.alloc(bytes.length + 16, junk);
  exact.copy(embedded, 8);
  const run = (buf: Buffer, start: number): unknown => {
    try {
      return decodeAttrs(set, buf, start, start + exact.length);
    } catch (e) {
      if (!(e instanceof SchemaError)) throw e;
      return { error: e.path };
    }
  };
  assert.deepEqual(run(embedded, 8), run(exact, 0));
}

test('random bytes decode or throw SchemaError', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 96 }), fc.integer({ min: 0, max: 255 }), (bytes, junk) => {
    checkDecode(allSet, bytes, junk);
  }), runs);
});

/** Attribute-shaped random bytes: plausible lengths and known types, so decoding gets deep. */
const attrLike = fc.array(
  fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 34 }), fc.boolean(), fc.uint8Array({ maxLength: 40 })),
  { maxLength: 6 },
).map((attrs) => Buffer.concat(attrs.map(([len, type, nested, payload]) => {
  const buf = Buffer.alloc(4 + payload.length);
  buf.writeUInt16LE(len, 0);
  buf.writeUInt16LE(type | (nested ? 0x8000 : 0), 2);
  Buffer.from(payload).copy(buf, 4);
  return buf;
})));

test('attribute-shaped random bytes decode or throw SchemaError', () => {
  fc.assert(fc.property(attrLike, (bytes) => checkDecode(allSet, bytes, 0x55)), runs);
  fc.assert(fc.property(attrLike, (bytes) => checkDecode(recursiveSet, bytes, 0x55)), runs);
});

type Mutation = (b: Buffer) => Buffer;
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.nat().map((n): Mutation => (b) => b.subarray(0, b.length ? n % b.length : 0)), // truncate
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 0xffff })).map(([at, v]): Mutation => (b) => {
    const c = Buffer.from(b); // overwrite an aligned 16-bit field: lengths, types
    if (c.length >= 2) c.writeUInt16LE(v, (at % (c.length >> 1)) * 2);
    return c;
  }),
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 3 })).map(([at, v]): Mutation => (b) => {
    const c = Buffer.from(b); // a length below the header size
    if (c.length >= 4) c.writeUInt16LE(v, (at % (c.length >> 2)) * 4);
    return c;
  }),
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })).map(([at, bit]): Mutation => (b) => {
    const c = Buffer.from(b); // flip a bit
    if (c.length) c[at % c.length]! ^= 1 << bit;
    return c;
  }),
  fc.uint8Array({ minLength: 1, maxLength: 9 }).map((extra): Mutation => (b) => Buffer.concat([b, extra])), // extend
);

test('mutated valid encodings decode or throw SchemaError', () => {
  fc.assert(fc.property(attrValues(allSet), fc.array(mutation, { minLength: 1, maxLength: 3 }), (v, mutations) => {
    const bytes = mutations.reduce((b, m) => m(b), encodeAttrs(allSet, v));
    checkDecode(allSet, bytes, 0xaa);
  }), runs);
});
