/**
 * For fake connections in the flow tests: the requests of a batch that FlowTable laid out
 * as whole netlink messages (OvsConnection.sendMessages), taken apart into the requests
 * the fakes answer and record, and the fakes' answers as the socket gives them.
 */
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

/** What sendMessages resolves with for requests that got `errors` (undefined: it just succeeded). */
export function answersOf(errors: readonly (NetlinkError | undefined)[]): IndexedResult[] {
  const answers: IndexedResult[] = [];
  errors.forEach((error, index) => {
    if (error) answers.push({ index, replies: [], error });
  });
  return answers;
}
