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
    assert.deepEqual(decodeGenlMessage(ctrlFamily, ctrl), { cmd: 'getfamily', cmdId: 3, version: 2, header: {}, attrs: { family_id: 0x1234, version: 3 } });
    assert.deepEqual(decodeGenlMessage(wide, wideMsg(5)), { cmd: 'first', cmdId: 5, version: 1, header: { a: 7, b: 9 }, attrs: { n: 42 } });
    assert.deepEqual(decodeGenlMessage(wide, wideMsg(3)).cmd, 'cmd3');
    assert.equal(commandName(ctrlFamily, 6), 'cmd6');
    assert.equal(commandName(wide, 6), 'other');
  }
});

test('decodeGenlMessage: a message too short for its family\'s header, after one of a family without', () => {
  decodeGenlMessage(ctrlFamily, message([3, 2, 0, 0]));
  assert.throws(() => decodeGenlMessage(wide, message([5, 1, 0, 0, 7, 0, 0, 0])), (e: unknown) =>
    e instanceof SchemaError && e.message === 'wide: message of 8 bytes has no room for its 8-byte header');
});
