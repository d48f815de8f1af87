/**
 * For fake connections in the flow tests: the requests of a batch that FlowTable laid out
 * as whole netlink messages (OvsConnection.batchMessages), taken apart into the requests
 * the fakes answer and record.
 */
import { type GenlRequest, GENL_HDRLEN, NLM_F_REQUEST, parseMessages } from '../../../src/nl/message.js';

export function requestsOfMessages(messages: Buffer): GenlRequest[] {
  return parseMessages(messages).map((m) => ({
    family: m.type,
    cmd: m.payload[0]!,
    version: m.payload[1]!,
    flags: m.flags & ~NLM_F_REQUEST,
    fixedHeader: Buffer.from(m.payload.subarray(GENL_HDRLEN)),
  }));
}
