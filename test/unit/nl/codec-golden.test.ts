/**
 * Golden bytes for every attribute kind. Each row: encode(input ?? value) gives `bytes`
 * (also when written into a dirty buffer at an odd offset), and decode(bytes) gives `value`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attrHeaderType, attrTypeField, decodeAttrs, decodeList, decodeStruct, encodeAttrs, encodeList, encodeStruct, encodedLength } from '../../../src/nl/codec.js';
import type { AttrSet, AttrValues } from '../../../src/nl/schema.js';
import { allSet, endpoint, flaggedSet, hex, innerSet } from './schemas.js';

interface Row {
  name: string;
  bytes: string;
  /** What decode gives, and (unless `input` is set) what is encoded. */
  value: AttrValues;
  /** Another accepted input form that encodes to the same bytes. */
  input?: AttrValues;
  /** Bytes the encoder never writes but the decoder must accept. */
  decodeOnly?: boolean;
  set?: AttrSet;
}

const b = (...bytes: number[]) => Buffer.from(bytes);

const rows: Row[] = [
  // integers, host order unless be
  { name: 'u8', value: { u8: 0x2a }, bytes: '05000100 2a000000' },
  { name: 'u16', value: { u16: 0x1234 }, bytes: '06000200 34120000' },
  { name: 'u32', value: { u32: 0xdeadbeef }, bytes: '08000300 efbeadde' },
  { name: 'u64', value: { u64: 0x0102030405060708n }, bytes: '0c000400 08070605 04030201' },
  { name: 'u64 max', value: { u64: 0xffffffffffffffffn }, bytes: '0c000400 ffffffff ffffffff' },
  { name: 'u64 from number', input: { u64: 5 }, value: { u64: 5n }, bytes: '0c000400 05000000 00000000' },
  { name: 'u32 from decimal text', input: { u32: '258' }, value: { u32: 258 }, bytes: '08000300 02010000' },
  { name: 'u32 from hex text', input: { u32: '0x102' }, value: { u32: 258 }, bytes: '08000300 02010000' },
  { name: 's8', value: { s8: -2 }, bytes: '05000500 fe000000' },
  { name: 's16', value: { s16: -2 }, bytes: '06000600 feff0000' },
  { name: 's32', value: { s32: -0x80000000 }, bytes: '08000700 00000080' },
  { name: 's64', value: { s64: -2n }, bytes: '0c000800 feffffff ffffffff' },
  { name: 'be16', value: { be16: 0x1234 }, bytes: '06000900 12340000' },
  { name: 'be32', value: { be32: 0x0a0101f0 }, bytes: '08000a00 0a0101f0' },
  { name: 'be64', value: { be64: 0x0102030405060708n }, bytes: '0c000b00 01020304 05060708' },
  { name: 'NLA_F_NET_BYTEORDER tolerated', value: { be16: 0x1234 }, bytes: '06000940 12340000', decodeOnly: true },

  // enums: names where known, numbers otherwise
  { name: 'enum name', value: { kind: 'vxlan' }, bytes: '08001d00 04000000' },
  { name: 'enum number with a name', input: { kind: 4 }, value: { kind: 'vxlan' }, bytes: '08001d00 04000000' },
  { name: 'enum value without a name', value: { kind: 7 }, bytes: '08001d00 07000000' },
  { name: 'enum zero', value: { kind: 'internal' }, bytes: '08001d00 00000000' },
  { name: 'enum on u64', value: { big_kind: 'large' }, bytes: '0c002100 00000100 00000000' },

  // flag
  { name: 'flag', value: { flag: true }, bytes: '04000c00' },
  { name: 'flag false is left out', input: { flag: false }, value: {}, bytes: '' },
  { name: 'flag with a payload', value: { flag: true }, bytes: '08000c00 01000000', decodeOnly: true },

  // strings
  { name: 'string gets a NUL', value: { str: 'br0' }, bytes: '08000d00 62723000' },
  { name: 'empty string', value: { str: '' }, bytes: '05000d00 00000000' },
  { name: 'string padded', value: { str: 'hello' }, bytes: '0a000d00 68656c6c 6f000000' },
  { name: 'utf-8 string', value: { str: 'é' }, bytes: '07000d00 c3a90000' },
  { name: 'string at maxLen (NUL counted)', value: { name: 'eth' }, bytes: '08000e00 65746800' },
  { name: 'string without NUL on the wire', value: { str: 'ab' }, bytes: '06000d00 61620000', decodeOnly: true },
  { name: 'string stops at the first NUL', value: { str: 'ab' }, bytes: '08000d00 61620063', decodeOnly: true },
  { name: 'raw string', value: { raw_str: 'ab' }, bytes: '06001f00 61620000' },

  // binary
  { name: 'binary', value: { bin: b(1, 2, 3) }, bytes: '07000f00 01020300' },
  { name: 'empty binary', value: { bin: b() }, bytes: '04000f00' },
  { name: 'binary from hex text', input: { bin: 'A1b2' }, value: { bin: b(0xa1, 0xb2) }, bytes: '06000f00 a1b20000' },
  { name: 'binary from Uint8Array', input: { bin: new Uint8Array([9]) }, value: { bin: b(9) }, bytes: '05000f00 09000000' },
  { name: 'binary of fixed len', value: { bin4: b(1, 2, 3, 4) }, bytes: '08001000 01020304' },
  { name: 'binary at maxLen', value: { bin3max: b(0xaa, 0xbb, 0xcc) }, bytes: '07001100 aabbcc00' },

  // addresses
  { name: 'ipv4', value: { ipv4: '10.1.1.240' }, bytes: '08001200 0a0101f0' },
  { name: 'ipv4 from number', input: { ipv4: 0x0a0101f0 }, value: { ipv4: '10.1.1.240' }, bytes: '08001200 0a0101f0' },
  { name: 'ipv6', value: { ipv6: 'fe80::1' }, bytes: '14001300 fe800000 00000000 00000000 00000001' },
  { name: 'ipv6 from bytes', input: { ipv6: hex('20010db8000000000000000000000001') }, value: { ipv6: '2001:db8::1' }, bytes: '14001300 20010db8 00000000 00000000 00000001' },
  { name: 'mac', value: { mac: '00:11:22:aa:bb:cc' }, bytes: '0a001400 001122aa bbcc0000' },
  { name: 'mac from upper case', input: { mac: '0:11:22:AA:BB:CC' }, value: { mac: '00:11:22:aa:bb:cc' }, bytes: '0a001400 001122aa bbcc0000' },

  // structs
  {
    name: 'struct with pad and bytes fields',
    value: { endpoint: { proto: 'tcp', port: 80, ip: '10.0.0.1', mac: '00:11:22:33:44:55' } },
    bytes: '14001500 06000050 0a000001 00112233 44550000',
  },
  {
    name: 'struct fields left out are zero',
    input: { endpoint: { port: 80 } },
    value: { endpoint: { proto: 0, port: 80, ip: '0.0.0.0', mac: '00:00:00:00:00:00' } },
    bytes: '14001500 00000050 00000000 00000000 00000000',
  },
  {
    name: 'struct shorter than its spec, down to minLen',
    value: { endpoint_old: { proto: 'udp', port: 53, ip: '10.0.0.1' } },
    bytes: '0c001600 11000035 0a000001',
    decodeOnly: true,
  },
  {
    name: 'struct longer than its spec (newer kernel)',
    value: { endpoint: { proto: 'udp', port: 53, ip: '10.0.0.1', mac: '00:11:22:33:44:55' } },
    bytes: '18001500 11000035 0a000001 00112233 44550000 ffffffff',
    decodeOnly: true,
  },

  // arrays
  { name: 'array of u32', value: { u32s: [1, 2, 0xffffffff] }, bytes: '10001700 01000000 02000000 ffffffff' },
  { name: 'empty array', value: { u32s: [] }, bytes: '04001700' },
  { name: 'array of structs', value: { pairs: [{ a: 1, b: 2 }, { a: 3, b: 4 }] }, bytes: '14001800 01000000 02000000 03000000 04000000' },

  // nesting
  { name: 'nested', value: { inner: { a: 7, b: 'x' } }, bytes: '14001900 08000100 07000000 06000200 78000000' },
  { name: 'empty nested', value: { inner: {} }, bytes: '04001900' },
  {
    name: 'nested two levels',
    value: { inner: { leaf: { x: 5, on: true } } },
    bytes: '14001900 10000300 06000100 05000000 04000200',
  },
  {
    name: 'nested list keeps order and repeats',
    value: { list: [{ a: 1 }, { b: 'x' }, { a: 2 }] },
    bytes: '1c001a00 08000100 01000000 06000200 78000000 08000100 02000000',
  },
  {
    name: 'nested indexed (ctrl groups)',
    value: { groups: [{ name: 'g', id: 3 }, { id: 4 }] },
    bytes: '24001b00 14000100 06000100 67000000 08000200 03000000 0c000200 08000200 04000000',
  },
  {
    name: 'masked: value then mask',
    value: { masked: { src: { value: '10.0.0.1', mask: '255.255.255.0' } } },
    bytes: '10001c00 0c000100 0a000001 ffffff00',
  },
  {
    name: 'masked, odd length padded',
    value: { masked: { proto: { value: 6, mask: 0xff } } },
    bytes: '0c001c00 06000400 06ff0000',
  },
  {
    name: 'masked mac',
    value: { masked: { eth: { value: '00:11:22:33:44:55', mask: 'ff:ff:ff:00:00:00' } } },
    bytes: '14001c00 10000300 00112233 4455ffff ff000000',
  },
  { name: 'NLA_F_NESTED on input is ignored', value: { inner: { a: 7 } }, bytes: '0c001980 08000100 07000000', decodeOnly: true },
  { name: 'NLA_F_NESTED per attribute override', value: { inner_flagged: { a: 1 } }, bytes: '0c001e80 08000100 01000000' },
  { name: 'NLA_F_NESTED by set default', set: flaggedSet, value: { inner: { a: 1 } }, bytes: '0c000180 08000100 01000000' },
  { name: 'NLA_F_NESTED set default overridden', set: flaggedSet, value: { inner_plain: { a: 1 } }, bytes: '0c000200 08000100 01000000' },
  { name: 'NLA_F_NESTED on a list', set: flaggedSet, value: { list: [] }, bytes: '04000380' },

  // unknown attributes are kept
  { name: 'unknown', value: { '#100': { type: 100, raw: b(1, 2, 3) } }, bytes: '07006400 01020300' },
  {
    name: 'unknown with NLA_F_NESTED',
    value: { '#101': { type: 101, nested: true, raw: hex('08000100 01000000') } },
    bytes: '0c006580 08000100 01000000',
  },
  { name: 'unknown inside a nest', value: { inner: { '#9': { type: 9, raw: b() } } }, bytes: '08001900 04000900' },
  { name: 'unknown inside a list', value: { list: [{ '#9': { type: 9, raw: b(7) } }] }, bytes: '0c001a00 05000900 07000000' },
  { name: 'unknown inside a masked nest', value: { masked: { '#9': { type: 9, raw: b(1, 2) } } }, bytes: '0c001c00 06000900 01020000' },
  { name: 'pad attribute is dropped', value: {}, bytes: '08002000 00000000', decodeOnly: true },

  // several attributes, in order
  { name: 'attributes in key order', value: { u8: 1, str: 'a', u16: 2 }, bytes: '05000100 01000000 06000d00 61000000 06000200 02000000' },
];

for (const row of rows) {
  const set = row.set ?? allSet;
  const bytes = hex(row.bytes);
  test(`decode: ${row.name}`, () => {
    assert.deepEqual(decodeAttrs(set, bytes), row.value);
  });
  if (row.decodeOnly) continue;
  const input = row.input ?? row.value;
  test(`encode: ${row.name}`, () => {
    assert.equal(encodedLength(set, input), bytes.length);
    assert.equal(encodeAttrs(set, input).toString('hex'), bytes.toString('hex'));
  });
  test(`encode into a dirty buffer: ${row.name}`, () => {
    const buf = Buffer.alloc(bytes.length + 8, 0xff);
    assert.equal(encodeAttrs(set, input, buf, 3), 3 + bytes.length);
    assert.equal(buf.subarray(3, 3 + bytes.length).toString('hex'), bytes.toString('hex'));
    assert.equal(buf.subarray(0, 3).toString('hex'), 'ffffff');
    assert.equal(buf.subarray(3 + bytes.length).toString('hex'), 'ff'.repeat(5));
  });
}

test('decodeAttrs reads only the given range', () => {
  const buf = hex('ffffffff 08000300 01000000 ffffffff');
  assert.deepEqual(decodeAttrs(allSet, buf, 4, 12), { u32: 1 });
});

test('a later repeat of an attribute wins in a map', () => {
  assert.deepEqual(decodeAttrs(innerSet, hex('08000100 01000000 08000100 02000000')), { a: 2 });
});

test('encodeList and decodeList: a run of single-key objects', () => {
  const list = [{ a: 1 }, { a: 1 }, { b: 'x' }];
  const bytes = '08000100 01000000 08000100 01000000 06000200 78000000';
  assert.equal(encodeList(innerSet, list).toString('hex'), hex(bytes).toString('hex'));
  assert.deepEqual(decodeList(innerSet, hex(bytes)), list);
});

test('encodeStruct and decodeStruct: a fixed header on its own', () => {
  const value = { proto: 'udp', port: 4789, ip: '192.168.0.1', mac: 'aa:bb:cc:dd:ee:ff' };
  const bytes = hex('11 00 12b5 c0a80001 aabbccddeeff 0000');
  const encoded = encodeStruct(endpoint, value);
  assert.equal(encoded.toString('hex'), bytes.toString('hex'));
  assert.deepEqual(decodeStruct(endpoint, Buffer.concat([hex('ff'), encoded]), 1), value);
});

test('attrHeaderType: the type field encodeAttrs writes in a header, for payloads laid out by hand', () => {
  for (const [set, name] of [[allSet, 'inner_flagged'], [allSet, 'u8'], [flaggedSet, 'inner_plain'], [flaggedSet, 'inner']] as const) {
    const spec = set.byNameOf(name);
    assert.ok(spec, name);
    const value = spec.type === 'nested' ? {} : 1;
    assert.equal(attrHeaderType(set, name), attrTypeField(encodeAttrs(set, { [name]: value }), 0), `${set.name}.${name}`);
  }
  assert.throws(() => attrHeaderType(allSet, 'no such'), /has no attribute no such/);
});
