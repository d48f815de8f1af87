/** Values that cannot be encoded throw SchemaError whose path names the attribute. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeAttr, encodeAttrs, encodeList, encodeStruct, toJSONValue, validate } from '../../../src/nl/codec.js';
import { SchemaError } from '../../../src/nl/errors.js';
import type { AttrValues } from '../../../src/nl/schema.js';
import { allSet, endpoint, innerSet } from './schemas.js';

const cases: { name: string; values: unknown; path: string }[] = [
  { name: 'unknown attribute name', values: { nope: 1 }, path: 'nope' },
  { name: 'not an object', values: [1], path: '' },
  { name: 'string for a u32', values: { u32: 'abc' }, path: 'u32' },
  { name: 'boolean for a u32', values: { u32: true }, path: 'u32' },
  { name: 'fraction', values: { u32: 1.5 }, path: 'u32' },
  { name: 'NaN', values: { u16: NaN }, path: 'u16' },
  { name: 'u8 too big', values: { u8: 256 }, path: 'u8' },
  { name: 'u32 negative', values: { u32: -1 }, path: 'u32' },
  { name: 's8 too small', values: { s8: -129 }, path: 's8' },
  { name: 'u64 too big', values: { u64: 1n << 64n }, path: 'u64' },
  { name: 's64 too big', values: { s64: 1n << 63n }, path: 's64' },
  { name: 'be16 too big', values: { be16: 0x10000 }, path: 'be16' },
  { name: 'enum name not in the enum', values: { kind: 'gre' }, path: 'kind' },
  { name: 'enum name from Object.prototype', values: { kind: 'toString' }, path: 'kind' },
  { name: 'bad IPv4 text', values: { ipv4: '10.1.1' }, path: 'ipv4' },
  { name: 'IPv4 with a leading zero', values: { ipv4: '10.01.1.1' }, path: 'ipv4' },
  { name: 'bad IPv6 text', values: { ipv6: 'fe80:::1' }, path: 'ipv6' },
  { name: 'IPv6 of the wrong length', values: { ipv6: Buffer.alloc(4) }, path: 'ipv6' },
  { name: 'bad MAC text', values: { mac: '00:11:22:33:44' }, path: 'mac' },
  { name: 'number for a string', values: { str: 5 }, path: 'str' },
  { name: 'string with a NUL', values: { str: 'a\0b' }, path: 'str' },
  { name: 'string over maxLen (NUL counted)', values: { name: 'eth0' }, path: 'name' },
  { name: 'odd hex text', values: { bin: 'abc' }, path: 'bin' },
  { name: 'number for binary', values: { bin: 7 }, path: 'bin' },
  { name: 'binary of the wrong len', values: { bin4: Buffer.alloc(3) }, path: 'bin4' },
  { name: 'binary over maxLen', values: { bin3max: 'aabbccdd' }, path: 'bin3max' },
  { name: 'flag that is not a boolean', values: { flag: 1 }, path: 'flag' },
  { name: 'struct that is not an object', values: { endpoint: 'x' }, path: 'endpoint' },
  { name: 'struct field it does not have', values: { endpoint: { vlan: 1 } }, path: 'endpoint' },
  { name: 'struct field out of range', values: { endpoint: { port: 70000 } }, path: 'endpoint.port' },
  { name: 'struct bytes field of the wrong length', values: { endpoint: { mac: 'aabb' } }, path: 'endpoint.mac' },
  { name: 'struct enum field', values: { endpoint: { proto: 'sctp' } }, path: 'endpoint.proto' },
  { name: 'array that is not an array', values: { u32s: 5 }, path: 'u32s' },
  { name: 'array element', values: { u32s: [1, 2, -3] }, path: 'u32s[2]' },
  { name: 'array struct element', values: { pairs: [{ a: 1 }, { c: 2 }] }, path: 'pairs[1]' },
  { name: 'nested that is not an object', values: { inner: 7 }, path: 'inner' },
  { name: 'nested attribute', values: { inner: { a: 'x' } }, path: 'inner.a' },
  { name: 'nested two levels', values: { inner: { leaf: { x: -1 } } }, path: 'inner.leaf.x' },
  { name: 'nested unknown name', values: { inner: { leaf: { y: 1 } } }, path: 'inner.leaf.y' },
  { name: 'list that is not an array', values: { list: { a: 1 } }, path: 'list' },
  { name: 'list entry with two keys', values: { list: [{ a: 1 }, { a: 1, b: 'x' }] }, path: 'list[1]' },
  { name: 'list entry value', values: { list: [{ a: 1 }, { a: 2 }, { leaf: { x: 'y' } }] }, path: 'list[2].leaf.x' },
  { name: 'indexed entry value', values: { groups: [{ id: 1 }, { id: 2 }, { name: 3 }] }, path: 'groups[2].name' },
  { name: 'indexed entry that is not an object', values: { groups: [null] }, path: 'groups[0]' },
  { name: 'masked that is not an object', values: { masked: null }, path: 'masked' },
  { name: 'masked without a mask', values: { masked: { src: { value: '1.2.3.4' } } }, path: 'masked.src' },
  { name: 'masked bad value', values: { masked: { src: { value: '1.2.3', mask: '1.2.3.4' } } }, path: 'masked.src.value' },
  { name: 'masked bad mask', values: { masked: { port: { value: 1, mask: -1 } } }, path: 'masked.port.mask' },
  { name: 'unknown with a bad raw', values: { '#100': { type: 100, raw: 'aa' } }, path: '#100' },
  { name: 'unknown whose type differs from its key', values: { '#100': { type: 101, raw: Buffer.alloc(0) } }, path: '#100' },
  { name: 'unknown key that is not a number', values: { '#x': { type: 0, raw: Buffer.alloc(0) } }, path: '#x' },
  { name: 'unknown key "#"', values: { '#': { type: 0, raw: Buffer.alloc(0) } }, path: '#' },
  { name: 'unknown type beyond 14 bits', values: { '#16384': { type: 16384, raw: Buffer.alloc(0) } }, path: '#16384' },
  { name: 'unknown too long', values: { '#100': { type: 100, raw: Buffer.alloc(65532) } }, path: '#100' },
  { name: 'attribute over 65535 bytes', values: { bin: Buffer.alloc(65532) }, path: 'bin' },
  { name: 'nest over 65535 bytes', values: { inner: { b: 'x'.repeat(40000), leaf: { tag: 'y'.repeat(40000) } } }, path: 'inner' },
  { name: 'indexed entry over 65535 bytes', values: { groups: [{ name: 'x'.repeat(65530) }] }, path: 'groups[0]' },
];

for (const c of cases) {
  const isPath = (e: unknown) => e instanceof SchemaError && e.path === c.path;
  test(`encode error: ${c.name}`, () => {
    assert.throws(() => encodeAttrs(allSet, c.values as AttrValues), isPath);
    assert.throws(() => encodeAttrs(allSet, c.values as AttrValues, Buffer.alloc(1 << 17), 0), isPath);
    assert.deepEqual(validate(allSet, c.values as AttrValues).map((e) => e.path), [c.path]);
  });
}

test('the message names the path and the problem', () => {
  assert.throws(() => encodeAttrs(allSet, { inner: { leaf: { x: 70000 } } }), { message: 'inner.leaf.x: 70000 does not fit in u16' });
  assert.throws(() => encodeAttrs(allSet, { kind: 'gre' }), { message: 'kind: "gre" is not a valid u32 (one of internal, netdev, vxlan)' });
});

test('encoding into a buffer too small throws SchemaError and writes nothing', () => {
  const buf = Buffer.alloc(10, 0xff);
  assert.throws(() => encodeAttrs(allSet, { u32: 1, u16: 2 }, buf, 4), SchemaError);
  assert.throws(() => encodeAttrs(allSet, { u32: 1 }, buf, -1), SchemaError);
  assert.throws(() => encodeAttr(allSet, 'u32', 1, buf, 4), SchemaError);
  assert.ok(buf.every((x) => x === 0xff));
});

test('encodeAttr names the attribute', () => {
  assert.throws(() => encodeAttr(allSet, 'inner', { a: -1 }, Buffer.alloc(64), 0), { path: 'inner.a' });
});

test('encodeList names the entry', () => {
  assert.throws(() => encodeList(innerSet, [{ a: 1 }, { b: 1 }]), { path: '[1].b' });
});

test('encodeStruct names the field', () => {
  assert.throws(() => encodeStruct(endpoint, { ip: 'x' }), { path: 'endpoint.ip' });
});

test('toJSONValue: a cycle is a TypeError naming the way in (not a stack overflow); shared objects are fine', () => {
  const loop: Record<string, unknown> = { a: { n: 1n } };
  (loop['a'] as Record<string, unknown>)['back'] = loop;
  assert.throws(() => toJSONValue(loop), (e: unknown) => e instanceof TypeError
    && e.message === 'toJSONValue: nested more than 256 deep (an object that contains itself?) at (value).a.back.a.back.a.back.a.back.a.back.a.back...');
  const shared = { x: Buffer.from([1, 2]) };
  assert.deepEqual(toJSONValue([shared, shared, { big: 1n << 60n }]), [{ x: '0102' }, { x: '0102' }, { big: '1152921504606846976' }]);
});
