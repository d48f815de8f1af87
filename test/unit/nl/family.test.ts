/**
 * decodeGenlMessage across families: it remembers the family decoded last (its command
 * names and header size), which must never leak into a message of another family.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SchemaError } from '../../../src/nl/errors.js';
import { type GenlFamilySpec, commandName, ctrlFamily, decodeGenlMessage } from '../../../src/nl/family.js';
import type { NetlinkMessage } from '../../../src/nl/message.js';
import { defineSet, defineStruct } from '../../../src/nl/schema.js';

/** A family with an 8-byte fixed header and two names for one command number. */
const wide: GenlFamilySpec = {
  name: 'wide',
  version: 1,
  fixedHeader: defineStruct('wide_header', [{ name: 'a', type: 'u32' }, { name: 'b', type: 'u32' }]),
  attrs: defineSet('wide', [{ id: 1, name: 'n', type: 'u32' }]),
  commands: { first: 5, alias: 5, other: 6 },
};

const message = (payload: number[]): NetlinkMessage => ({ type: 0x20, flags: 0, seq: 0, pid: 0, payload: Buffer.from(payload) });

test('decodeGenlMessage: families one after the other each get their own names and header', () => {
  // ctrl: no fixed header; family_id 0x1234 (u16), then version 3 (u32).
  const ctrl = message([3, 2, 0, 0, 6, 0, 1, 0, 0x34, 0x12, 0, 0, 8, 0, 3, 0, 3, 0, 0, 0]);
  // wide: header a=7, b=9, then n=42.
  const wideMsg = (cmd: number) => message([cmd, 1, 0, 0, 7, 0, 0, 0, 9, 0, 0, 0, 8, 0, 1, 0, 42, 0, 0, 0]);
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(decodeGenlMessage(ctrlFamily, ctrl), { cmd: 'getfamily', cmdId: 3, version: 2, header: {}, attrs: { family_id: 0x1234, version: 3 }, unknownKept: false });
    assert.deepEqual(decodeGenlMessage(wide, wideMsg(5)), { cmd: 'first', cmdId: 5, version: 1, header: { a: 7, b: 9 }, attrs: { n: 42 }, unknownKept: false });
    assert.deepEqual(decodeGenlMessage(wide, wideMsg(3)).cmd, 'cmd3');
    assert.equal(commandName(ctrlFamily, 6), 'cmd6');
    assert.equal(commandName(wide, 6), 'other');
  }
});

test('decodeGenlMessage: unknownKept says whether any unknown attribute was kept, at any depth, in this message only', () => {
  const inner = defineSet('inner', [{ id: 1, name: 'x', type: 'u8' }]);
  const outer: GenlFamilySpec = { name: 'outer', version: 1, attrs: defineSet('outer', [{ id: 1, name: 'n', type: 'u32' }, { id: 2, name: 'in', type: 'nested', set: inner }]), commands: { get: 1 } };
  const known = message([1, 1, 0, 0, 8, 0, 1, 0, 42, 0, 0, 0, 12, 0, 2, 0x80, 5, 0, 1, 0, 7, 0, 0, 0]);
  const topUnknown = message([1, 1, 0, 0, 8, 0, 9, 0, 1, 2, 3, 4]);
  const deepUnknown = message([1, 1, 0, 0, 12, 0, 2, 0x80, 5, 0, 9, 0, 7, 0, 0, 0]);
  // Enough rounds for the sets' generated readers to take over from the generic ones.
  for (let i = 0; i < 40; i++) {
    assert.deepEqual(decodeGenlMessage(outer, known), { cmd: 'get', cmdId: 1, version: 1, header: {}, attrs: { n: 42, in: { x: 7 } }, unknownKept: false });
    const top = decodeGenlMessage(outer, topUnknown);
    assert.deepEqual(top.attrs, { '#9': { type: 9, raw: Buffer.from([1, 2, 3, 4]) } });
    assert.equal(top.unknownKept, true);
    const deep = decodeGenlMessage(outer, deepUnknown);
    assert.deepEqual(deep.attrs, { in: { '#9': { type: 9, raw: Buffer.from([7]) } } });
    assert.equal(deep.unknownKept, true);
    assert.equal(decodeGenlMessage(outer, known).unknownKept, false);
  }
});

test('decodeGenlMessage: a message too short for its family\'s header, after one of a family without', () => {
  decodeGenlMessage(ctrlFamily, message([3, 2, 0, 0]));
  assert.throws(() => decodeGenlMessage(wide, message([5, 1, 0, 0, 7, 0, 0, 0])), (e: unknown) =>
    e instanceof SchemaError && e.message === 'wide: message of 8 bytes has no room for its 8-byte header');
});
