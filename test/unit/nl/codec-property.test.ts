/** Round trips over generated values of a set with every attribute kind, nested two levels. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeAttrs, decodeList, encodeAttrs, encodeList, encodedLength } from '../../../src/nl/codec.js';
import type { AttrValues } from '../../../src/nl/schema.js';
import { attrValue, attrValues } from './arbitraries.js';
import { allSet, flaggedSet, innerSet } from './schemas.js';

const runs = { seed: 0x6e6c, numRuns: 400 };

test('decode(encode(v)) is v, and encodedLength(v) is the encoded size', () => {
  fc.assert(fc.property(attrValues(allSet), (v) => {
    const bytes = encodeAttrs(allSet, v);
    assert.equal(encodedLength(allSet, v), bytes.length);
    assert.equal(bytes.length % 4, 0);
    assert.deepEqual(decodeAttrs(allSet, bytes), v);
  }), runs);
});

test('round trip with NLA_F_NESTED on by default', () => {
  fc.assert(fc.property(attrValues(flaggedSet), (v) => {
    assert.deepEqual(decodeAttrs(flaggedSet, encodeAttrs(flaggedSet, v)), v);
  }), runs);
});

test('encoding into a dirty buffer at any offset writes the same bytes and nothing else', () => {
  fc.assert(fc.property(attrValues(allSet), fc.integer({ min: 0, max: 7 }), (v, offset) => {
    const expected = encodeAttrs(allSet, v);
    const buf = Buffer.alloc(offset + expected.length + 4, 0xff);
    assert.equal(encodeAttrs(allSet, v, buf, offset), offset + expected.length);
    assert.deepEqual(buf.subarray(offset, offset + expected.length), expected);
    assert.ok(buf.subarray(0, offset).every((x) => x === 0xff));
    assert.ok(buf.subarray(offset + expected.length).every((x) => x === 0xff));
  }), { ...runs, numRuns: 200 });
});

test('a list of attributes round trips in order', () => {
  // allSet's "list" attribute is a list of innerSet entries
  fc.assert(fc.property(attrValue(allSet.byNameOf('list')!)!, (list) => {
    const entries = list as AttrValues[];
    assert.deepEqual(decodeList(innerSet, encodeList(innerSet, entries)), entries);
  }), runs);
});
