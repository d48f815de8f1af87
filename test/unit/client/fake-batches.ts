/**
 * For fake connections in the flow tests: the requests of a batch that FlowTable laid out
 * as whole netlink messages (OvsConnection.sendNumbered), taken apart into the requests
 * the fakes answer and record, and the fakes' answers as the socket gives them.
 */
import assert from 'node:assert/strict';
import type { OvsConnection } from '../../../src/client/connection.js';
import type { NetlinkError } from '../../../src/nl/errors.js';
import { type GenlRequest, GENL_HDRLEN, NLM_F_REQUEST, parseMessages } from '../../../src/nl/message.js';
import type { IndexedResult } from '../../../src/nl/socket.js';

export function requestsOfMessages(messages: Buffer): GenlRequest[] {
  return parseMessages(messages).map((m) => ({
    family: m.type,
    cmd: m.payload[0]!,
    version: m.payload[1]!,
    flags: m.flags & ~NLM_F_REQUEST,
    fixedHeader: Buffer.from(m.payload.subarray(GENL_HDRLEN)),
  }));
}

/** What sendNumbered resolves with for requests that got `errors` (undefined: it just succeeded). */
export function answersOf(errors: readonly (NetlinkError | undefined)[]): IndexedResult[] {
  const answers: IndexedResult[] = [];
  errors.forEach((error, index) => {
    if (error) answers.push({ index, replies: [], error });
  });
  return answers;
}

/**
 * A connection for the flow table's bulk runs, with no kernel: the flow family, sequence
 * numbers that go on from batch to batch (from near the u32 wrap), and each batch checked to
 * carry its numbers, one after another, the last request starting at `lastAt`, before
 * `answer` gets its messages (what sendNumbered resolves with). `more`: other members.
 */
export function bulkConnection(answer: (messages: Buffer) => IndexedResult[] | Promise<IndexedResult[]>, more: object = {}): OvsConnection {
  let next = 0xffffffff - 100;
  const sendNumbered = async (messages: Buffer, count: number, lastAt: number): Promise<IndexedResult[]> => {
    const seqs: number[] = [];
    let last = -1;
    for (let off = 0; off < messages.length; off += (messages.readUInt32LE(off) + 3) & ~3) {
      last = off;
      seqs.push(messages.readUInt32LE(off + 8));
    }
    assert.deepEqual(seqs, Array.from({ length: count }, (_, i) => (next + i) >>> 0), 'numbered in turn');
    assert.equal(lastAt, last, 'where the last request starts');
    next = (next + count) >>> 0;
    return answer(messages);
  };
  return {
    family: async () => ({ id: 0x20, name: 'ovs_flow', version: 1, hdrsize: 4, maxattr: 11, groups: [] }),
    bulkSequence: () => next,
    bulkRefusalsBudget: () => 6 << 20,
    sendNumbered,
    ...more,
  } as unknown as OvsConnection;
}
