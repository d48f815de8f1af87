/** The 'ip' repr: a binary attribute holding an IPv4 (4 bytes) or IPv6 (16 bytes) address. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeAttrs, encodeAttrs } from '../../../src/nl/codec.js';
import { SchemaError } from '../../../src/nl/errors.js';
import { defineSet } from '../../../src/nl/schema.js';

const addrSet = defineSet('addr', [{ id: 1, name: 'addr', type: 'binary', repr: 'ip' }]);

test("repr 'ip': dotted text <-> 4 bytes, IPv6 text <-> 16 bytes", () => {
  const v4 = encodeAttrs(addrSet, { addr: '10.1.1.240' });
  assert.deepEqual(v4, Buffer.from('080001000a0101f0', 'hex'));
  assert.deepEqual(decodeAttrs(addrSet, v4), { addr: '10.1.1.240' });

  const v6 = encodeAttrs(addrSet, { addr: 'fd00::1' });
  assert.deepEqual(v6, Buffer.from('14000100fd000000000000000000000000000001', 'hex'));
  assert.deepEqual(decodeAttrs(addrSet, v6), { addr: 'fd00::1' });
});

test("repr 'ip': Buffers pass through, other lengths decode as bytes, bad text is refused", () => {
  assert.deepEqual(encodeAttrs(addrSet, { addr: Buffer.from([10, 0, 0, 1]) }), Buffer.from('080001000a000001', 'hex'));
  assert.deepEqual(decodeAttrs(addrSet, Buffer.from('0600010001020000', 'hex')), { addr: Buffer.from([1, 2]) });
  assert.throws(() => encodeAttrs(addrSet, { addr: '10.0.0.256' }), SchemaError);
  assert.throws(() => encodeAttrs(addrSet, { addr: 'host' }), /not an IPv4 or IPv6 address/);
});
