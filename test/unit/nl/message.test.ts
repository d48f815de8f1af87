/** Netlink message framing and generic netlink requests, byte for byte. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SchemaError, MessageError } from '../../../src/nl/errors.js';
import {
  type GenlRequest, NLM_F_ACK, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR,
  encodeGenlRequest, errorCode, genlRequestLength, parseGenlHeader, parseMessages, writeGenlRequest,
} from '../../../src/nl/message.js';
import { hex, innerSet } from './schemas.js';

//                len      type flags seq      pid
const data = hex('14000000 1a00 0200 01000000 64000000  01020304');
const done = hex('11000000 0300 0200 01000000 64000000  aa000000'); // length 17: one payload byte, padded

test('parseMessages splits concatenated messages, padding skipped', () => {
  const msgs = parseMessages(Buffer.concat([data, done, data]));
  assert.deepEqual(msgs.map((m) => [m.type, m.flags, m.seq, m.pid, m.payload.toString('hex')]), [
    [0x1a, 2, 1, 100, '01020304'],
    [NLMSG_DONE, 2, 1, 100, 'aa'],
    [0x1a, 2, 1, 100, '01020304'],
  ]);
});

test('parseMessages: the last message needs no padding', () => {
  const msgs = parseMessages(Buffer.concat([data, done.subarray(0, 17)]));
  assert.equal(msgs.length, 2);
  assert.equal(msgs[1]!.payload.toString('hex'), 'aa');
});

test('parseMessages: an empty datagram has no messages', () => {
  assert.deepEqual(parseMessages(Buffer.alloc(0)), []);
});

test('parseMessages: 32-bit fields are unsigned', () => {
  const [msg] = parseMessages(hex('10000000 0200 0000 ffffffff feffffff'));
  assert.equal(msg!.seq, 0xffffffff);
  assert.equal(msg!.pid, 0xfffffffe);
});

const malformed: [string, string][] = [
  ['length 0', '00000000 0300 0200 01000000 64000000'],
  ['length below the header', '0f000000 0300 0200 01000000 64000000'],
  ['length past the datagram', '15000000 0300 0200 01000000 64000000 0000'],
  ['huge length', 'ffffffff 0300 0200 01000000 64000000'],
  ['bad second message', '14000000 1a00 0200 01000000 64000000 01020304  08000000 0300 0200 01000000 64000000'],
];

for (const [name, bytes] of malformed) {
  test(`parseMessages malformed: ${name}`, () => {
    assert.throws(() => parseMessages(hex(bytes)), MessageError);
  });
}

test('parseMessages on random bytes returns messages inside the buffer or throws MessageError', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
    const buf = Buffer.from(bytes);
    try {
      for (const m of parseMessages(buf)) {
        assert.equal(m.payload.buffer, buf.buffer);
        assert.ok(m.payload.byteOffset - buf.byteOffset + m.payload.length <= buf.length);
      }
    } catch (e) {
      if (!(e instanceof MessageError)) throw e;
    }
  }), { seed: 0x6e6c, numRuns: 300 });
});

// ---------------------------------------------------------------- requests

const request: GenlRequest = {
  family: 0x1a,
  cmd: 3,
  version: 2,
  flags: NLM_F_REQUEST | NLM_F_ACK,
  fixedHeader: hex('05000000'),
  set: innerSet,
  attrs: { a: 1, b: 'br0' },
};
const requestBytes = hex(`
  28000000 1a00 0500 07000000 00000000
  03 02 0000
  05000000
  08000100 01000000
  08000200 62723000`);

test('encodeGenlRequest: header, genl header, fixed header, attributes', () => {
  assert.equal(genlRequestLength(request), requestBytes.length);
  assert.equal(encodeGenlRequest(request, 7).toString('hex'), requestBytes.toString('hex'));
});

test('writeGenlRequest into a dirty buffer at an offset', () => {
  const buf = Buffer.alloc(requestBytes.length + 8, 0xff);
  assert.equal(writeGenlRequest(buf, 4, request, 7), 4 + requestBytes.length);
  assert.equal(buf.subarray(4, 4 + requestBytes.length).toString('hex'), requestBytes.toString('hex'));
  assert.equal(buf.subarray(4 + requestBytes.length).toString('hex'), 'ffffffff');
});

test('encodeGenlRequest without fixed header or attributes', () => {
  const bytes = encodeGenlRequest({ family: 0x10, cmd: 3, version: 1, flags: NLM_F_REQUEST }, 0xffffffff);
  assert.equal(bytes.toString('hex'), hex('14000000 1000 0100 ffffffff 00000000 03010000').toString('hex'));
});

test('encodeGenlRequest: type and flags are 16 bits, cmd and version 8, each cut to its width', () => {
  // The header is written a word at a time: a wider value must not spill into its neighbour.
  const bytes = encodeGenlRequest({ family: 0x12345, cmd: 0x1ff, version: 0x102, flags: 0x1c405 | NLM_F_REQUEST }, 0x80000001);
  assert.equal(bytes.toString('hex'), hex('14000000 4523 05c4 01000080 00000000 ff020000').toString('hex'));
});

test('encodeGenlRequest round trips through parseMessages and parseGenlHeader', () => {
  const [msg] = parseMessages(encodeGenlRequest(request, 9));
  assert.equal(msg!.type, 0x1a);
  assert.equal(msg!.seq, 9);
  assert.deepEqual(parseGenlHeader(msg!.payload), { cmd: 3, version: 2 });
});

test('encodeGenlRequest with attributes it cannot encode throws SchemaError', () => {
  assert.throws(() => encodeGenlRequest({ ...request, attrs: { a: -1 } }, 1), { name: 'SchemaError', path: 'a' });
  assert.throws(() => encodeGenlRequest({ ...request, attrs: { a: -1 } }, 1), SchemaError);
});

test('parseGenlHeader needs 4 bytes', () => {
  assert.throws(() => parseGenlHeader(hex('0302')), MessageError);
});

// ---------------------------------------------------------------- NLMSG_ERROR

const errorMessage = (code: string) => parseMessages(Buffer.concat([
  hex(`24000000 0200 0001 07000000 00000000 ${code}`),
  requestBytes.subarray(0, 16), // the request's header, echoed (NLM_F_CAPPED)
]))[0]!;

test('errorCode of an NLMSG_ERROR is the positive errno', () => {
  const msg = errorMessage('feffffff');
  assert.equal(msg.type, NLMSG_ERROR);
  assert.equal(errorCode(msg), 2);
  assert.equal(errorCode(errorMessage('ecffffff')), 20);
});

test('errorCode of an ACK is 0', () => {
  assert.equal(errorCode(errorMessage('00000000')), 0);
});

test('errorCode of a truncated NLMSG_ERROR throws MessageError', () => {
  const [msg] = parseMessages(hex('12000000 0200 0000 07000000 00000000 feff'));
  assert.throws(() => errorCode(msg!), MessageError);
});
