/** Netlink and generic-netlink message headers: building requests, splitting replies. */
import { MessageError } from './errors.js';
import { MessageBuilder, align4, encodedLength, littleEndianHost } from './codec.js';
import type { AttrSet, AttrValues } from './schema.js';

export const NLMSG_HDRLEN = 16;
export const GENL_HDRLEN = 4;

export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_ECHO = 0x8;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
/** In an NLMSG_ERROR: the original request is not echoed back. */
export const NLM_F_CAPPED = 0x100;
/** In an NLMSG_ERROR: extended-ack attributes follow. */
export const NLM_F_ACK_TLVS = 0x200;

export const NETLINK_GENERIC = 16;
export const GENL_ID_CTRL = 0x10;

const le = littleEndianHost;

export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** The bytes after the 16-byte header (a view into the received buffer). */
  payload: Buffer;
}

/**
 * Writes a netlink message header at `off`, through a DataView: a request's headers are
 * written once per request of a bulk load, and Buffer's write methods check their
 * arguments each time.
 */
export function writeNlmsghdr(d: DataView, off: number, len: number, type: number, flags: number, seq: number, pid = 0): void {
  d.setUint32(off, len, le);
  // type and flags, two u16 in host order, as one 32-bit store.
  d.setUint32(off + 4, le ? ((type & 0xffff) | (flags << 16)) >>> 0 : ((type << 16) | (flags & 0xffff)) >>> 0, le);
  d.setUint32(off + 8, seq >>> 0, le);
  d.setUint32(off + 12, pid >>> 0, le);
}

/**
 * Splits one received datagram into its netlink messages, checking every length. The
 * headers are read through one DataView (a big dump has a hundred or more messages a
 * datagram, and Buffer's read methods check their arguments each time).
 */
export function parseMessages(buf: Buffer): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  const d = new DataView(buf.buffer, buf.byteOffset, buf.length);
  const end = buf.length;
  let off = 0;
  while (off + NLMSG_HDRLEN <= end) {
    const len = d.getUint32(off, le);
    if (len < NLMSG_HDRLEN || off + len > end) {
      throw new MessageError(`malformed netlink message at offset ${off}: length ${len}, ${end - off} bytes left`);
    }
    out.push({
      type: d.getUint16(off + 4, le),
      flags: d.getUint16(off + 6, le),
      seq: d.getUint32(off + 8, le),
      pid: d.getUint32(off + 12, le),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** The errno (positive; 0 for an ACK) an NLMSG_ERROR carries. */
export function errorCode(msg: NetlinkMessage): number {
  if (msg.payload.length < 4) throw new MessageError('NLMSG_ERROR shorter than its error code');
  const v = le ? msg.payload.readInt32LE(0) : msg.payload.readInt32BE(0);
  return 0 - v; // not -v, which makes an ACK -0
}

export interface GenlHeader {
  cmd: number;
  version: number;
}

export function parseGenlHeader(payload: Buffer): GenlHeader {
  if (payload.length < GENL_HDRLEN) throw new MessageError(`generic netlink payload of ${payload.length} bytes has no header`);
  return { cmd: payload[0]!, version: payload[1]! };
}

/** A generic netlink request, before it gets a sequence number. */
export interface GenlRequest {
  family: number;
  cmd: number;
  version: number;
  flags: number;
  /** Family-specific fixed header after the genl header (e.g. struct ovs_header). */
  fixedHeader?: Buffer;
  set?: AttrSet;
  attrs?: AttrValues;
}

export function genlRequestLength(req: GenlRequest): number {
  return NLMSG_HDRLEN + GENL_HDRLEN + (req.fixedHeader?.length ?? 0) + (req.set && req.attrs ? encodedLength(req.set, req.attrs) : 0);
}

/**
 * Appends a request to `b` (its flags ORed with `extraFlags`), then zero bytes up to the
 * next 4-byte boundary where the next message of a batch starts. The attributes are
 * encoded once, in place. A value that cannot be encoded throws SchemaError and leaves
 * `b` as it was.
 */
export function appendGenlRequest(b: MessageBuilder, req: GenlRequest, seq: number, extraFlags = 0): void {
  const start = b.reserve(NLMSG_HDRLEN + GENL_HDRLEN);
  try {
    // A fixed header is a few bytes: append copies those by a loop (TypedArray set and
    // Buffer's copy are native calls, once per request of a bulk load).
    if (req.fixedHeader) b.append(req.fixedHeader);
    if (req.set && req.attrs) b.attrs(req.set, req.attrs);
  } catch (err) {
    b.truncate(start);
    throw err;
  }
  closeGenlRequest(b, start, req.family, req.cmd, req.version, req.flags | extraFlags, seq);
}

/**
 * Ends a request whose body (fixed header, attributes) a caller appended to `b` after the
 * NLMSG_HDRLEN + GENL_HDRLEN bytes it reserved at `start`: writes those headers (the
 * length is up to `b`'s end) and pads to the next 4-byte boundary, as appendGenlRequest
 * leaves a request. For bodies of bytes encoded already (the controller's puts and
 * executes carry an upcall's key as the kernel sent it), with no GenlRequest made.
 */
export function closeGenlRequest(b: MessageBuilder, start: number, family: number, cmd: number, version: number, flags: number, seq: number): void {
  const d = b.view;
  writeNlmsghdr(d, start, b.length - start, family, flags, seq);
  // cmd, version and a reserved zero u16: bytes in that order, one big-endian store.
  d.setUint32(start + NLMSG_HDRLEN, (((cmd & 0xff) << 24) | ((version & 0xff) << 16)) >>> 0);
  b.align();
}

/** Where single requests are built before they are copied out. */
const single = new MessageBuilder();

/** Writes a request at `off` in `buf`; returns the end. */
export function writeGenlRequest(buf: Buffer, off: number, req: GenlRequest, seq: number): number {
  single.truncate();
  appendGenlRequest(single, req, seq);
  const len = messageLength(single);
  if (off < 0 || off + len > buf.length) throw new RangeError(`a ${len}-byte request does not fit at offset ${off} of a ${buf.length}-byte buffer`);
  single.buffer.copy(buf, off, 0, len);
  return off + len;
}

export function encodeGenlRequest(req: GenlRequest, seq: number): Buffer {
  single.truncate();
  appendGenlRequest(single, req, seq);
  const len = messageLength(single);
  // A copy of the bytes (a small one comes from Node's pool), not a copy of a view of them.
  const out = Buffer.allocUnsafe(len);
  single.buffer.copy(out, 0, 0, len);
  return out;
}

/** The nlmsg_len of the one message in `b` (without the alignment after it). */
function messageLength(b: MessageBuilder): number {
  return b.view.getUint32(0, le);
}
