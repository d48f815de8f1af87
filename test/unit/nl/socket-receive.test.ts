/**
 * GenlSocket's receive side for dumps read as bytes (dumpReplyBytes): a datagram of replies
 * only is handed over whole (bytesHandedOver); one that mixes replies with DONE, ERROR or
 * another request's message goes message by message (onDatagram's loop). The datagrams are
 * given to the socket as its netlink socket would (its private onDatagram), to a pending
 * dump registered as send() would; the host's own generic netlink socket is opened, nothing
 * is sent on it. Then a batch's answers (sendMessages, batchMessages): its sendmsg is
 * kept, not sent, and answered the same way; and a batch to the host kernel's nlctrl.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { endianness } from 'node:os';
import { GenlSocket, type IndexedResult, type RequestResult, refusalsBudget, refusalsRoom } from '../../../src/nl/socket.js';
import { MessageBuilder } from '../../../src/nl/codec.js';
import { ctrlFamily, decodeGenlMessage, genlRequest } from '../../../src/nl/family.js';
import {
  GENL_ID_CTRL, NLMSG_DONE, NLMSG_ERROR, NLMSG_OVERRUN, NLM_F_ACK, NLM_F_DUMP_INTR, NLM_F_MULTI, NLM_F_REQUEST, appendGenlRequest, parseMessages,
} from '../../../src/nl/message.js';

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
      firstSeq: SEQ, lastSeq: SEQ, results: [], ops: [],
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

/**
 * A socket whose sendmsg is kept: `count` requests sent through `send` (sendMessages or
 * batchMessages), then answered by `answer` (each request's seq and index to its
 * messages), each message a datagram of its own as the kernel sends them (`shift` bytes
 * off 4-byte alignment in memory), or all in one datagram (`together`).
 */
async function answerBatch<R>(
  count: number, send: (sock: GenlSocket, messages: Buffer) => Promise<R>,
  answer: (seq: number, index: number) => Message[], { shift = 0, together = false } = {},
): Promise<{ result: R; sent: Buffer }> {
  const sock = new GenlSocket();
  const inner = sock as unknown as { raw: { send(buf: Buffer, options: object, cb: (err?: Error) => void): void }; onDatagram(buf: Buffer): void };
  let sent: Buffer | undefined;
  inner.raw.send = (buf) => { sent = buf; };
  try {
    const messages = datagram(Array.from({ length: count }, () => ({ type: FAMILY, flags: NLM_F_REQUEST, seq: 0, payload: [1, 1, 0, 0] })));
    const promise = send(sock, messages);
    const seqs = parseMessages(sent!).map((m) => m.seq);
    const answers = seqs.flatMap((seq, index) => answer(seq, index).map((m) => ({ seq, ...m })));
    if (together) inner.onDatagram(datagram(answers, shift));
    else for (const m of answers) inner.onDatagram(datagram([m], shift));
    return { result: await promise, sent: sent! };
  } finally {
    sock.close();
  }
}

const ack = (n: number): Message => ({ type: NLMSG_ERROR, flags: 0, payload: [...errno(n), ...Buffer.alloc(16)] });

test('a batch: numbered one after another, the last asks for the ACK; results only for the requests answered with replies or an error', async () => {
  const answer = (_: number, index: number): Message[] => [
    ...(index === 1 ? [{ type: FAMILY, flags: 0, payload: [9] }, { type: FAMILY, flags: 0, payload: [8] }] : []),
    ...(index === 2 || index === 3 ? [ack(index === 2 ? 17 : 22)] : []),
    // An ACK of an earlier request (as with NLM_F_ACK on it) does not end the batch.
    ...(index === 0 || index === 4 ? [ack(0)] : []),
  ];
  for (const how of [{}, { shift: 2 }, { together: true }, { together: true, shift: 2 }]) {
    const { result, sent } = await answerBatch(5, (sock, m) => sock.sendMessages(m, 5, []), answer, how);
    const msgs = parseMessages(sent);
    assert.deepEqual(msgs.map((m) => m.seq - msgs[0]!.seq), [0, 1, 2, 3, 4]);
    assert.deepEqual(msgs.map((m) => m.flags & NLM_F_ACK), [0, 0, 0, 0, NLM_F_ACK]);
    assert.deepEqual(result.map((r: IndexedResult) => [r.index, r.replies.map((m) => m.payload[0]), r.error?.errno]), [[1, [9, 8], undefined], [2, [], 17], [3, [], 22]], JSON.stringify(how));
  }
  // Nothing to say: no result at all.
  assert.deepEqual((await answerBatch(3, (sock, m) => sock.sendMessages(m, 3, []), (_, index) => (index === 2 ? [ack(0)] : []))).result, []);
});

test('batchMessages: one result per request, in order, from the same answers', async () => {
  const { result } = await answerBatch(4, (sock, m) => sock.batchMessages(m, 4), (_, index) => [
    ...(index === 0 ? [{ type: FAMILY, flags: 0, payload: [7] }] : []),
    ...(index === 2 ? [ack(17)] : []),
    ...(index === 3 ? [ack(0)] : []),
  ]);
  assert.deepEqual(result.map((r: RequestResult) => [r.replies.length, r.error?.errno]), [[1, undefined], [0, undefined], [0, 17], [0, undefined]]);
});

test("the host kernel's answers to a batch, read at the binding's fixed size or each at its own (peekSizes)", async () => {
  const get = (name: string) => genlRequest(ctrlFamily, GENL_ID_CTRL, 'getfamily', { attrs: { family_name: name } });
  for (const peekSizes of [false, true]) {
    const sock = new GenlSocket({ peekSizes });
    try {
      const out = new MessageBuilder();
      for (const req of [get('nlctrl'), get('no such family'), get('nlctrl')]) appendGenlRequest(out, req, 0, NLM_F_REQUEST);
      const answers = await sock.sendMessages(Buffer.from(out.bytes()), 3, []);
      assert.deepEqual(answers.map((a) => [a.index, a.replies.length, a.error?.errno]), [[0, 1, undefined], [1, 0, 2], [2, 1, undefined]], `peekSizes ${peekSizes}`);
      assert.equal(decodeGenlMessage(ctrlFamily, answers[2]!.replies[0]!).attrs['family_name'], 'nlctrl');
    } finally {
      sock.close();
    }
  }
});

test('a batch numbered as laid out (sendNumbered): sent as numbered, the ACK asked for at lastAt; numbered again when numbered otherwise or across the wrap', async () => {
  const offsets = (m: Buffer): number[] => {
    const at: number[] = [];
    for (let off = 0; off < m.length; off += (m.readUInt32LE(off) + 3) & ~3) at.push(off);
    return at;
  };
  /** Numbers m's messages from `first` (u32, host order as the header is) and sends them numbered. */
  const sendFrom = (first: (sock: GenlSocket) => number, seqBefore?: number) => (sock: GenlSocket, m: Buffer) => {
    if (seqBefore !== undefined) (sock as unknown as { seq: number }).seq = seqBefore;
    const at = offsets(m);
    const seq = first(sock);
    at.forEach((off, i) => (le ? m.writeUInt32LE((seq + i) >>> 0, off + 8) : m.writeUInt32BE((seq + i) >>> 0, off + 8)));
    return sock.sendNumbered(m, at.length, at.at(-1)!, []);
  };
  const answer = (_: number, index: number): Message[] => (index === 2 ? [ack(17)] : index === 3 ? [ack(0)] : []);
  for (const [name, send, expect] of [
    ['as laid out', sendFrom((s) => s.nextSequence), (seqs: number[], first: number) => assert.deepEqual(seqs, [0, 1, 2, 3].map((i) => first + i))],
    ['numbered otherwise', sendFrom(() => 7), (seqs: number[], first: number) => assert.deepEqual(seqs, [0, 1, 2, 3].map((i) => first + i))],
    // Not 0xfffffffe, 0xffffffff, 1, 2 (0 answers no request): from 1, so that request i is the first + i.
    ['across the wrap', sendFrom((s) => s.nextSequence, 0xfffffffd), (seqs: number[]) => assert.deepEqual(seqs, [1, 2, 3, 4])],
  ] as const) {
    let first = 0;
    const { result, sent } = await answerBatch(4, (sock, m) => {
      first = sock.nextSequence;
      return send(sock, m);
    }, answer);
    const msgs = parseMessages(sent);
    expect(msgs.map((m) => m.seq), first);
    assert.deepEqual(msgs.map((m) => m.flags & NLM_F_ACK), [0, 0, 0, NLM_F_ACK], name);
    assert.deepEqual(result.map((r: IndexedResult) => [r.index, r.error?.errno]), [[2, 17]], name);
  }
});

test('maxDatagramSize must be at least 1: the binding would read 4 KiB at 0 and cut what is larger (peekSizes sizes each read)', () => {
  for (const size of [0, -1, Number.NaN]) assert.throws(() => new GenlSocket({ maxDatagramSize: size }), RangeError);
  const peeking = new GenlSocket({ peekSizes: true });
  peeking.close();
});

/** A socket with a small receive buffer (8 KB asked) that counts the messages of each sendmsg its binding makes. */
function partsCountingSocket(): { sock: GenlSocket; parts: number[] } {
  const sock = new GenlSocket({ recvBufferSize: 8192 });
  const inner = sock as unknown as { raw: { send(buf: Buffer, options: object, cb: (err?: Error) => void): void } };
  const send = inner.raw.send.bind(inner.raw);
  const parts: number[] = [];
  inner.raw.send = (buf, options, cb) => {
    parts.push(parseMessages(buf).length);
    send(buf, options, cb);
  };
  return { sock, parts };
}

test("a batch whose refusals could overflow the receive buffer goes in parts: the host kernel's 300 refusals, all there, none lost", async () => {
  // 8 KB asked, 16 KB as the kernel counts it: 300 errors echoing their request (~1 KB each
  // as the kernel charges it) would overflow it, and the binding would abort the process.
  const { sock, parts } = partsCountingSocket();
  try {
    const out = new MessageBuilder();
    const count = 300;
    for (let i = 0; i < count; i++) appendGenlRequest(out, genlRequest(ctrlFamily, GENL_ID_CTRL, 'getfamily', { attrs: { family_name: `nofamily${i}` } }), 0, NLM_F_REQUEST);
    const messages = Buffer.from(out.bytes());
    const answers = await sock.sendMessages(messages, count, []);
    assert.deepEqual(answers.map((a) => [a.index, a.error?.errno]), Array.from({ length: count }, (_, i) => [i, 2]));
    assert.ok(parts.length > 1, `${parts.length} part(s)`);
    assert.equal(parts.reduce((a, b) => a + b, 0), count);
    // Each part's refusals fit: what refusalsRoom counts for it stays under the budget, but for its last request.
    const perRequest = messages.length / count;
    for (const n of parts) assert.ok(refusalsRoom(perRequest * (n - 1), n - 1) < refusalsBudget(sock.recvBufferSize), `a part of ${n}`);
    // One request alone is sent whole, however large its refusal.
    assert.deepEqual((await sock.sendMessages(messages.subarray(0, (messages.readUInt32LE(0) + 3) & ~3), 1, [])).map((a) => a.error?.errno), [2]);
  } finally {
    sock.close();
  }
});

test('sendNumbered: a batch numbered at layout whose refusals could overflow the receive buffer goes in parts too', async () => {
  const { sock, parts } = partsCountingSocket();
  try {
    const out = new MessageBuilder();
    const count = 300;
    let lastAt = 0;
    for (let i = 0; i < count; i++) {
      lastAt = out.length;
      appendGenlRequest(out, genlRequest(ctrlFamily, GENL_ID_CTRL, 'getfamily', { attrs: { family_name: `nofamily${i}` } }), (sock.nextSequence + i) >>> 0, NLM_F_REQUEST);
    }
    const answers = await sock.sendNumbered(Buffer.from(out.bytes()), count, lastAt, []);
    assert.deepEqual(answers.map((a) => [a.index, a.error?.errno]), Array.from({ length: count }, (_, i) => [i, 2]));
    assert.ok(parts.length > 1, `${parts.length} part(s)`);
  } finally {
    sock.close();
  }
});

test('a closed socket: a request, a batch and a dump each fail with ESHUTDOWN, not the binding\'s Error', async () => {
  const sock = new GenlSocket();
  sock.close();
  const req = genlRequest(ctrlFamily, GENL_ID_CTRL, 'getfamily', { attrs: { family_name: 'nlctrl' } });
  const closed = { code: 'ESHUTDOWN', message: 'the netlink socket is closed' };
  await assert.rejects(sock.request(req), closed);
  await assert.rejects(sock.batch([req]), closed);
  await assert.rejects((async () => { for await (const m of sock.dump(genlRequest(ctrlFamily, GENL_ID_CTRL, 'getfamily', {}))) void m; })(), closed);
});
