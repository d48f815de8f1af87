/**
 * GenlSocket's receive side for dumps read as bytes (dumpReplyBytes): a datagram of replies
 * only is handed over whole (bytesHandedOver); one that mixes replies with DONE, ERROR or
 * another request's message goes message by message (onDatagram's loop). The datagrams are
 * given to the socket as its netlink socket would (its private onDatagram), to a pending
 * dump registered as send() would; the host's own generic netlink socket is opened, nothing
 * is sent on it.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { endianness } from 'node:os';
import { GenlSocket, type RequestResult } from '../../../src/nl/socket.js';
import { NLMSG_DONE, NLMSG_ERROR, NLMSG_OVERRUN, NLM_F_DUMP_INTR, NLM_F_MULTI } from '../../../src/nl/message.js';

const le = endianness() === 'LE';
const SEQ = 0x1234;
const FAMILY = 36;

interface Message { type: number; flags?: number; seq?: number; payload: readonly number[] }

/** Whole netlink messages back to back, each at a 4-byte boundary, `shift` bytes into their ArrayBuffer. */
function datagram(msgs: readonly Message[], shift = 0): Buffer {
  const size = msgs.reduce((n, m) => n + ((16 + m.payload.length + 3) & ~3), 0);
  const b = Buffer.alloc(shift + size).subarray(shift);
  let off = 0;
  for (const m of msgs) {
    const len = 16 + m.payload.length;
    if (le) {
      b.writeUInt32LE(len, off); b.writeUInt16LE(m.type, off + 4); b.writeUInt16LE(m.flags ?? NLM_F_MULTI, off + 6); b.writeUInt32LE(m.seq ?? SEQ, off + 8);
    } else {
      b.writeUInt32BE(len, off); b.writeUInt16BE(m.type, off + 4); b.writeUInt16BE(m.flags ?? NLM_F_MULTI, off + 6); b.writeUInt32BE(m.seq ?? SEQ, off + 8);
    }
    Buffer.from(m.payload).copy(b, off + 16);
    off += (len + 3) & ~3;
  }
  return b;
}

const errno = (n: number): number[] => {
  const b = Buffer.alloc(4);
  if (le) b.writeInt32LE(-n); else b.writeInt32BE(-n);
  return [...b];
};

interface Received { bytes: Buffer[]; flags: number[]; finished: RequestResult[] | undefined; failed: Error | undefined }

/** A socket with a dump read as bytes pending under SEQ; the datagrams given to it as received. */
function receive(...datagrams: Buffer[]): Received {
  const sock = new GenlSocket();
  const r: Received = { bytes: [], flags: [], finished: undefined, failed: undefined };
  const inner = sock as unknown as { pending: Map<number, unknown>; onDatagram(buf: Buffer): void };
  try {
    inner.pending.set(SEQ, {
      firstSeq: SEQ, lastSeq: SEQ, results: [{ replies: [] }], ops: [],
      onReplyBytes: (bytes: Buffer, flags: number) => { r.bytes.push(Buffer.from(bytes)); r.flags.push(flags); },
      resolve: (results: RequestResult[]) => { r.finished = results; },
      reject: (err: Error) => { r.failed = err; },
    });
    for (const d of datagrams) inner.onDatagram(d);
  } finally {
    sock.close();
  }
  return r;
}

const replies: Message[] = [
  { type: FAMILY, payload: [1, 2, 3, 4, 5] },
  { type: FAMILY, flags: NLM_F_MULTI | NLM_F_DUMP_INTR, payload: [6, 7, 8, 9] },
  { type: FAMILY, payload: [10] },
];

test('a datagram of replies only is handed over whole, its flags ORed', () => {
  const d = datagram(replies);
  const r = receive(d);
  assert.deepEqual(r.bytes, [d]);
  assert.deepEqual(r.flags, [NLM_F_MULTI | NLM_F_DUMP_INTR]);
  assert.equal(r.finished, undefined);
  assert.deepEqual(receive(datagram([replies[0]!, replies[2]!])).flags, [NLM_F_MULTI]);
});

test('replies before a DONE, ERROR or OVERRUN in their datagram are handed over one by one, and the dump ends', () => {
  // One message each, without the padding after it.
  const each = replies.map((m) => datagram([m]).subarray(0, 16 + m.payload.length));
  for (const [end, check] of [
    [{ type: NLMSG_DONE, payload: errno(0) }, (r: Received) => assert.equal(r.finished?.[0]?.error, undefined)],
    [{ type: NLMSG_DONE, payload: errno(2) }, (r: Received) => assert.equal(r.finished?.[0]?.error?.errno, 2)],
    [{ type: NLMSG_ERROR, payload: [...errno(22), ...Buffer.alloc(16)] }, (r: Received) => assert.equal(r.finished?.[0]?.error?.errno, 22)],
    [{ type: NLMSG_OVERRUN, payload: [] }, (r: Received) => assert.ok(r.failed)],
  ] as const) {
    for (const at of [0, 1, 3]) {
      const msgs = [...replies];
      msgs.splice(at, 0, end);
      const r = receive(datagram(msgs));
      // Those after the end answer no pending request: not the dump's.
      assert.deepEqual(r.bytes, each.slice(0, at), `end type ${end.type} at ${at}`);
      assert.deepEqual(r.flags, replies.slice(0, at).map((m) => m.flags ?? NLM_F_MULTI));
      check(r);
    }
  }
});

test("a datagram with another request's message, or not 4-byte aligned in memory, goes message by message", () => {
  // One message each, without the padding after it.
  const each = replies.map((m) => datagram([m]).subarray(0, 16 + m.payload.length));
  const other = receive(datagram([...replies.slice(0, 2), { type: FAMILY, seq: SEQ + 1, payload: [1] }, replies[2]!]));
  assert.deepEqual(other.bytes, each);
  const unaligned = receive(datagram(replies, 2));
  assert.deepEqual(unaligned.bytes, each);
  assert.equal(unaligned.finished, undefined);
});
