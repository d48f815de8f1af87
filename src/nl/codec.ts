/**
 * The one generic attribute codec. Every family's bytes go through here, driven by the
 * sets in schema.ts: encodeAttrs() writes values as attributes, decodeAttrs() reads them
 * back, bounds-checked, naming the attribute path of anything malformed.
 *
 * Speed comes from compiling, not from special cases: the first time a set (or struct)
 * is used, each of its attributes is turned into a writer and a reader closure chosen by
 * its type, byte order, representation and nesting; once the set has been used a few
 * dozen times, it is also turned into generated JavaScript (codegen.ts): one switch over
 * the value's keys to encode, one over the type ids to decode, with the common kinds
 * (integers, addresses, structs, nests, flags) inline and everything else handed to the
 * closures. Encoding is one pass into a reused
 * scratch buffer: a nest's header is written first and its length filled in at its end,
 * so no value (address text above all) is looked at twice, and nothing is allocated per
 * attribute. The result is then copied where the caller wants it, so a value that
 * cannot be encoded leaves the caller's buffer untouched. Error paths
 * ("actions[2].ct.nat.ip_min") are built only when something fails, on the way out of
 * the nesting.
 */
// Imported rather than the global: Node's global Buffer is a getter, paid on every use.
import { Buffer } from 'node:buffer';
import {
  type AttrPlan, type FieldPlan, type IPv4Memo, type MacMemo, type Runtime, type SetFunction, type SetPlan, type StructPlan, type WriterLike,
  BE16, BE32, BIG_ATTR, FLAG_ATTR, IPV4, IP_ATTR, LE16, LE32, LIST_ATTR, MAC, NESTED_ATTR, OTHER, PAD_ATTR,
  S8, SBE16, SBE32, SCALAR_ATTR, SLE16, SLE32, STRUCT_ATTR, U8, VIA_CLOSURES, compileSet, compileStruct, littleEndianHost,
} from './codegen.js';
import { SchemaError } from './errors.js';
import { formatIPv4, formatIPv6, formatMac, parseIPv4, parseIPv6, parseMacInto } from './repr.js';
import {
  type AttrSet, type AttrSpec, type AttrValues, type IntType, type Repr, type StructSpec,
  type UnknownAttr, UNKNOWN_PREFIX, fieldSize, intSize, isAttrValues, resolveSet, unknownKey,
} from './schema.js';

export const NLA_HDRLEN = 4;
export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
export const NLA_TYPE_MASK = 0x3fff;
/** An attribute's length field is 16 bits. */
const NLA_MAX_LEN = 0xffff;

export { littleEndianHost };

export function align4(n: number): number {
  return (n + 3) & ~3;
}

// ---------------------------------------------------------------- error paths

/** `rel` (a path below `name`, "" for the attribute itself) as a path from the parent. */
function joinPath(name: string, rel: string): string {
  if (rel === '') return name;
  if (name === '') return rel;
  return rel.charCodeAt(0) === 0x5b /* [ */ ? name + rel : `${name}.${rel}`;
}

/** A SchemaError thrown below `name`, re-rooted one level up; other errors pass unchanged. */
function under(name: string, err: unknown): unknown {
  return err instanceof SchemaError ? new SchemaError(joinPath(name, err.path), err.detail) : err;
}

function fail(detail: string): never {
  throw new SchemaError('', detail);
}

// ---------------------------------------------------------------- the writer

/**
 * A growable byte buffer written front to back. `room(n)` makes sure n more bytes fit;
 * it may replace `buf`, so writers read `w.buf` after calling it.
 */
class Writer {
  buf: Buffer;
  /** A view of `buf`, for the generated code's 16- and 32-bit stores. */
  view: DataView;
  off = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
    this.view = viewOf(this.buf);
  }

  room(n: number): void {
    if (this.off + n > this.buf.length) this.grow(this.off + n);
  }

  private grow(need: number): void {
    const next = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
    this.view = viewOf(next);
  }
}

function viewOf(buf: Buffer): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** The scratch every encode writes into first (a second one only if an encode re-enters). */
const scratch = new Writer(1 << 16);
let scratchBusy = false;

/** Larger than this, the scratch buffer is given back after use rather than kept. */
const SCRATCH_KEEP = 1 << 20;

function takeWriter(): Writer {
  if (scratchBusy) return new Writer(1 << 12);
  scratchBusy = true;
  scratch.off = 0;
  return scratch;
}

function releaseWriter(w: WriterLike): void {
  if (w !== scratch) return;
  scratchBusy = false;
  if (w.buf.length > SCRATCH_KEEP) {
    w.buf = Buffer.allocUnsafe(1 << 16);
    w.view = viewOf(w.buf);
  }
}

/** Writes `payload` as an attribute of type `type`: header, payload, zero padding. */
function writeAttribute<V>(w: WriterLike, type: number, payload: (w: WriterLike, value: V) => void, value: V): void {
  w.room(NLA_HDRLEN);
  const start = w.off;
  w.off += NLA_HDRLEN;
  payload(w, value);
  closeAttribute(w, start, type);
}

/** Fills in the header of the attribute that starts at `start` and pads it to 4 bytes. */
function closeAttribute(w: WriterLike, start: number, type: number): void {
  const len = w.off - start;
  if (len > NLA_MAX_LEN) fail(`attribute of ${len} bytes exceeds netlink's 65535`);
  putU16(w.buf, start, len);
  putU16(w.buf, start + 2, type);
  const padded = start + align4(len);
  if (padded !== w.off) {
    w.room(padded - w.off);
    w.buf.fill(0, w.off, padded);
    w.off = padded;
  }
}

function putU16(buf: Buffer, off: number, v: number): void {
  if (littleEndianHost) {
    buf[off] = v;
    buf[off + 1] = v >>> 8;
  } else {
    buf[off] = v >>> 8;
    buf[off + 1] = v;
  }
}

function getU16(buf: Buffer, off: number): number {
  return littleEndianHost ? buf[off]! | (buf[off + 1]! << 8) : (buf[off]! << 8) | buf[off + 1]!;
}

/** The length field of the attribute header at `off` (host order; header included). */
export function attrLength(buf: Buffer, off: number): number {
  return getU16(buf, off);
}

/** The type field of the attribute header at `off`, flags included (host order). */
export function attrTypeField(buf: Buffer, off: number): number {
  return getU16(buf, off + 2);
}

/**
 * Writes an attribute header (host order) at `off`, for callers laying out attributes
 * whose payloads are encoded already; returns the offset after it. Byte by byte: Buffer's
 * write methods check their arguments in JavaScript on every call.
 */
export function putAttrHeader(buf: Buffer, off: number, len: number, type: number): number {
  putU16(buf, off, len);
  putU16(buf, off + 2, type);
  return off + NLA_HDRLEN;
}

// ---------------------------------------------------------------- integers

interface IntCodec {
  size: number;
  /** Whether a number is a wire value of this type as it is (an in-range integer). */
  fits(v: number): boolean;
  put(buf: Buffer, off: number, v: number): void;
  get(buf: Buffer, off: number): number;
}

interface BigIntCodec {
  lo: bigint;
  hi: bigint;
  put(buf: Buffer, off: number, v: bigint): void;
  get(buf: Buffer, off: number): bigint;
}

/** Stores the low `size` bytes of v at off, most significant first when `big`. */
function putBytes(size: number, big: boolean): (buf: Buffer, off: number, v: number) => void {
  if (size === 1) return (buf, off, v) => { buf[off] = v; };
  if (size === 2) {
    return big
      ? (buf, off, v) => { buf[off] = v >>> 8; buf[off + 1] = v; }
      : (buf, off, v) => { buf[off] = v; buf[off + 1] = v >>> 8; };
  }
  return big
    ? (buf, off, v) => { buf[off] = v >>> 24; buf[off + 1] = v >>> 16; buf[off + 2] = v >>> 8; buf[off + 3] = v; }
    : (buf, off, v) => { buf[off] = v; buf[off + 1] = v >>> 8; buf[off + 2] = v >>> 16; buf[off + 3] = v >>> 24; };
}

/** Reads `size` bytes at off as an unsigned number, most significant first when `big`. */
function getBytes(size: number, big: boolean): (buf: Buffer, off: number) => number {
  if (size === 1) return (buf, off) => buf[off]!;
  if (size === 2) {
    return big ? (buf, off) => (buf[off]! << 8) | buf[off + 1]! : (buf, off) => buf[off]! | (buf[off + 1]! << 8);
  }
  return big
    ? (buf, off) => ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0
    : (buf, off) => (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24)) >>> 0;
}

function narrowCodec(size: 1 | 2 | 4, signed: boolean, big: boolean): IntCodec {
  const shift = 32 - 8 * size;
  const getUnsigned = getBytes(size, big);
  return {
    size,
    // Bit operations truncate to 32 bits: a value that survives the round trip is an
    // integer in range (NaN, fractions and out-of-range values do not).
    fits: signed
      ? (size === 4 ? (v) => (v | 0) === v : (v) => ((v << shift) >> shift) === v)
      : (size === 4 ? (v) => v >>> 0 === v : (v) => (v & ((1 << (8 * size)) - 1)) === v),
    put: putBytes(size, big),
    get: signed ? (buf, off) => (getUnsigned(buf, off) << shift) >> shift : getUnsigned,
  };
}

const hostBig = !littleEndianHost;
const narrowCodecs: Partial<Record<IntType, IntCodec>> = {
  u8: narrowCodec(1, false, false), s8: narrowCodec(1, true, false),
  u16: narrowCodec(2, false, hostBig), s16: narrowCodec(2, true, hostBig),
  u32: narrowCodec(4, false, hostBig), s32: narrowCodec(4, true, hostBig),
  be16: narrowCodec(2, false, true), be32: narrowCodec(4, false, true),
};

const bigCodecs: Partial<Record<IntType, BigIntCodec>> = {
  u64: littleEndianHost
    ? { lo: 0n, hi: 0xffffffffffffffffn, put: (b, o, v) => { b.writeBigUInt64LE(v, o); }, get: (b, o) => b.readBigUInt64LE(o) }
    : { lo: 0n, hi: 0xffffffffffffffffn, put: (b, o, v) => { b.writeBigUInt64BE(v, o); }, get: (b, o) => b.readBigUInt64BE(o) },
  s64: littleEndianHost
    ? { lo: -0x8000000000000000n, hi: 0x7fffffffffffffffn, put: (b, o, v) => { b.writeBigInt64LE(v, o); }, get: (b, o) => b.readBigInt64LE(o) }
    : { lo: -0x8000000000000000n, hi: 0x7fffffffffffffffn, put: (b, o, v) => { b.writeBigInt64BE(v, o); }, get: (b, o) => b.readBigInt64BE(o) },
  be64: { lo: 0n, hi: 0xffffffffffffffffn, put: (b, o, v) => { b.writeBigUInt64BE(v, o); }, get: (b, o) => b.readBigUInt64BE(o) },
};

/** The range of a narrow type, for error messages and the slow path. */
function narrowRange(type: IntType): [number, number] {
  const bits = 8 * intSize(type);
  return type.startsWith('s') ? [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1] : [0, 2 ** bits - 1];
}

interface IntLike {
  type: IntType;
  repr?: Repr | undefined;
  enum?: Readonly<Record<string, number>> | undefined;
}

/**
 * A user value (number, bigint, enum name, dotted IPv4, numeric text) as the wire number,
 * or a SchemaError saying why it is none. The compiled writers call this only for what
 * their fast check did not take.
 */
function intFromValue(spec: IntLike, value: unknown): number | bigint {
  let v: unknown = value;
  if (typeof v === 'string') {
    if (spec.enum && Object.hasOwn(spec.enum, v)) v = spec.enum[v];
    else if (spec.repr === 'ipv4') {
      const n = parseIPv4(v);
      if (n === undefined) fail(`"${v}" is not an IPv4 address`);
      v = n;
    } else if (/^(0x[0-9a-fA-F]+|\d+)$/.test(v)) v = BigInt(v);
    else {
      const names = spec.enum ? ` (one of ${Object.keys(spec.enum).join(', ')})` : '';
      fail(`"${v}" is not a valid ${spec.type}${names}`);
    }
  }
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) fail(`${v} is not an integer`);
    if (intSize(spec.type) < 8) {
      const [lo, hi] = narrowRange(spec.type);
      if (v < lo || v > hi) fail(`${v} does not fit in ${spec.type}`);
      return v;
    }
  } else if (typeof v !== 'bigint') {
    fail(`expected a number for ${spec.type}, got ${describe(value)}`);
  }
  // A number is shown as given, not as the bigint it becomes.
  const big = BigInt(v as number | bigint);
  const narrow = narrowCodecs[spec.type];
  if (narrow) {
    const [lo, hi] = narrowRange(spec.type);
    if (big < BigInt(lo) || big > BigInt(hi)) fail(`${v} does not fit in ${spec.type}`);
    return Number(big);
  }
  const { lo, hi } = bigCodecs[spec.type]!;
  if (big < lo || big > hi) fail(`${v} does not fit in ${spec.type}`);
  return big;
}

/** Writes an integer of `spec` at a known place (room already made). */
type IntPut = (buf: Buffer, off: number, value: unknown) => void;

function compileIntPut(spec: IntLike): IntPut {
  const narrow = narrowCodecs[spec.type];
  if (narrow) {
    const { fits, put } = narrow;
    if (spec.repr === 'ipv4') {
      return (buf, off, value) => {
        if (typeof value === 'string') {
          const n = parseIPv4(value);
          if (n !== undefined && fits(n)) {
            put(buf, off, n);
            return;
          }
        } else if (typeof value === 'number' && fits(value)) {
          put(buf, off, value);
          return;
        }
        put(buf, off, intFromValue(spec, value) as number);
      };
    }
    return (buf, off, value) => put(buf, off, typeof value === 'number' && fits(value) ? value : intFromValue(spec, value) as number);
  }
  const { lo, hi, put } = bigCodecs[spec.type]!;
  return (buf, off, value) => put(buf, off, typeof value === 'bigint' && value >= lo && value <= hi ? value : intFromValue(spec, value) as bigint);
}

/** Reads an integer of `spec` as the library shows it: enum name, dotted IPv4, or the number. */
function compileIntGet(spec: IntLike): (buf: Buffer, off: number) => unknown {
  const narrow = narrowCodecs[spec.type];
  const raw: (buf: Buffer, off: number) => number | bigint = narrow ? narrow.get : bigCodecs[spec.type]!.get;
  if (spec.enum) {
    // The first name of a value wins, as the names are listed.
    const names = new Map<number | bigint, string>();
    for (const [name, v] of Object.entries(spec.enum)) {
      const key = narrow ? v : BigInt(v);
      if (!names.has(key)) names.set(key, name);
    }
    const ipv4 = spec.repr === 'ipv4';
    return (buf, off) => {
      const n = raw(buf, off);
      return names.get(n) ?? (ipv4 ? formatIPv4(n as number) : n);
    };
  }
  if (spec.repr === 'ipv4') return (buf, off) => formatIPv4(raw(buf, off) as number);
  return raw;
}

// ---------------------------------------------------------------- byte strings

const HEX_TEXT = /^([0-9a-fA-F]{2})*$/;

/** Room a byte-string value needs at most, before it is parsed. */
function bytesRoom(value: unknown): number {
  if (typeof value === 'string') return Math.max(16, value.length >> 1);
  return value instanceof Uint8Array ? value.length : 0;
}

/**
 * Writes a byte-string value (bytes, or text in `repr`) at off, where bytesRoom(value)
 * bytes fit; returns how many bytes it took.
 */
function putBytesValue(buf: Buffer, off: number, value: unknown, repr: Repr | undefined): number {
  if (value instanceof Uint8Array) {
    buf.set(value, off);
    return value.length;
  }
  if (typeof value !== 'string') fail(`expected bytes, got ${describe(value)}`);
  switch (repr) {
    case 'mac':
      if (!parseMacInto(value, buf, off)) fail(`"${value}" is not a MAC address`);
      return 6;
    case 'ipv6': {
      const b = parseIPv6(value);
      if (!b) fail(`"${value}" is not an IPv6 address`);
      buf.set(b, off);
      return 16;
    }
    case 'ip': {
      const v4 = parseIPv4(value);
      if (v4 !== undefined) {
        buf.writeUInt32BE(v4, off);
        return 4;
      }
      const b = parseIPv6(value);
      if (!b) fail(`"${value}" is not an IPv4 or IPv6 address`);
      buf.set(b, off);
      return 16;
    }
    default:
      if (!HEX_TEXT.test(value)) fail(`"${value}" is not a hex byte string`);
      return buf.write(value, off, 'hex');
  }
}

/**
 * A copy of buf[start, start + len): decoded values never share memory with the message.
 * Small ones (labels, UFIDs) are copied byte by byte into a zeroed buffer, which makes one
 * object where Buffer.from(subarray) makes two (V8 keeps a typed array of up to 64 bytes
 * inside its object); only non-zero bytes are stored, as most labels are all zero.
 */
function copyBytes(buf: Buffer, start: number, len: number): Buffer {
  if (len > 64) return Buffer.from(buf.subarray(start, start + len));
  const out = Buffer.alloc(len);
  for (let i = 0; i < len; i++) {
    const b = buf[start + i]!;
    if (b !== 0) out[i] = b;
  }
  return out;
}

/** Bytes as the library shows them: address text where the representation says so. */
function compileBytesGet(repr: Repr | undefined): (buf: Buffer, start: number, len: number) => unknown {
  const copy = copyBytes;
  switch (repr) {
    case 'mac': return (buf, start, len) => (len === 6 ? formatMac(buf, start) : copy(buf, start, len));
    case 'ipv6': return (buf, start, len) => (len === 16 ? formatIPv6(buf, start) : copy(buf, start, len));
    case 'ip': return (buf, start, len) => (len === 16 ? formatIPv6(buf, start) : len === 4 ? formatIPv4(buf.readUInt32BE(start)) : copy(buf, start, len));
    default: return copy;
  }
}

// ---------------------------------------------------------------- scalars

/*
 * Scalar kinds (constants in codegen.ts): the fixed-size values that make up most of a
 * flow. The generated code reads and writes them inline; getScalar reads them for the
 * generic struct reader (short payloads, fixed headers).
 */
function intKind(spec: IntLike): number {
  if (spec.enum) return OTHER;
  if (spec.repr === 'ipv4') return spec.type === 'be32' ? IPV4 : OTHER;
  switch (spec.type) {
    case 'u8': return U8;
    case 's8': return S8;
    case 'u16': return littleEndianHost ? LE16 : BE16;
    case 's16': return littleEndianHost ? SLE16 : SBE16;
    case 'u32': return littleEndianHost ? LE32 : BE32;
    case 's32': return littleEndianHost ? SLE32 : SBE32;
    case 'be16': return BE16;
    case 'be32': return BE32;
    default: return OTHER;
  }
}

/** 64-bit integers read inline as bigints (enums and reprs go through the closures). */
function bigIntType(spec: IntLike): 'u64' | 's64' | 'be64' | undefined {
  if (spec.enum || spec.repr) return undefined;
  return spec.type === 'u64' || spec.type === 's64' || spec.type === 'be64' ? spec.type : undefined;
}

function bytesKind(len: number | undefined, repr: Repr | undefined): number {
  return len === 6 && repr === 'mac' ? MAC : OTHER;
}

/*
 * Address text, remembered: a dump repeats the same few addresses (masks, a server, a
 * gateway, the MACs of a few hosts) in flow after flow, and making the text is most of
 * what decoding an address costs (each piece of a concatenation is a string of its own).
 * The flow-string parser takes its address texts from here too, so that an address
 * repeated from line to line is the very same string: the encoder's memos of the texts
 * it wrote last (codegen.ts) then compare a pointer, where a slice of each line compares
 * character by character in V8's runtime. Direct-mapped: one slot per hash, the newest
 * text wins.
 */
const TEXT_SLOTS = 1024;
const ipv4Keys = new Int32Array(TEXT_SLOTS);
const ipv4Texts: (string | undefined)[] = new Array<string | undefined>(TEXT_SLOTS).fill(undefined);

/** The dotted text of a be32 address. */
export function ipv4Text(n: number): string {
  const h = (n ^ (n >>> 10) ^ (n >>> 20)) & (TEXT_SLOTS - 1);
  const known = ipv4Texts[h];
  if (known !== undefined && ipv4Keys[h] === (n | 0)) return known;
  const text = formatIPv4(n);
  ipv4Keys[h] = n;
  ipv4Texts[h] = text;
  return text;
}

const macKeysHigh = new Int32Array(TEXT_SLOTS);
const macKeysLow = new Int32Array(TEXT_SLOTS);
const macTexts: (string | undefined)[] = new Array<string | undefined>(TEXT_SLOTS).fill(undefined);
/** Where macWordsText lays out an address it has no text of, for formatMac. */
const macScratch = Buffer.alloc(6);

/** The text of the MAC address at buf[at, at + 6). */
function macText(buf: Buffer, at: number): string {
  return macWordsText((buf[at]! << 8) | buf[at + 1]!, (buf[at + 2]! << 24) | (buf[at + 3]! << 16) | (buf[at + 4]! << 8) | buf[at + 5]!);
}

/** The text of the MAC address whose first two bytes are `high` and last four `low` (big-endian). */
export function macWordsText(high: number, low: number): string {
  const h = (low ^ (low >>> 10) ^ (low >>> 20) ^ high) & (TEXT_SLOTS - 1);
  const known = macTexts[h];
  if (known !== undefined && macKeysLow[h] === (low | 0) && macKeysHigh[h] === high) return known;
  const b = macScratch;
  b[0] = high >>> 8;
  b[1] = high;
  b[2] = low >>> 24;
  b[3] = low >>> 16;
  b[4] = low >>> 8;
  b[5] = low;
  const text = formatMac(b, 0);
  macKeysHigh[h] = high;
  macKeysLow[h] = low;
  macTexts[h] = text;
  return text;
}

function u64(hi: number, lo: number): bigint {
  return hi === 0 ? BigInt(lo) : (BigInt(hi) << 32n) | BigInt(lo);
}

/** MAC text or 6 bytes written at off; false for anything else (the caller's closure says why). */
function putMac(v: unknown, buf: Buffer, off: number): boolean {
  if (typeof v === 'string') return parseMacInto(v, buf, off);
  if (v instanceof Uint8Array && v.length === 6) {
    buf.set(v, off);
    return true;
  }
  return false;
}

/** Reads a scalar of `kind` (not OTHER) as the library shows it. */
function getScalar(kind: number, buf: Buffer, off: number): unknown {
  switch (kind) {
    case U8: return buf[off];
    case S8: return (buf[off]! << 24) >> 24;
    case LE16: return buf[off]! | (buf[off + 1]! << 8);
    case SLE16: return ((buf[off]! | (buf[off + 1]! << 8)) << 16) >> 16;
    case LE32: return (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24)) >>> 0;
    case SLE32: return buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24);
    case BE16: return (buf[off]! << 8) | buf[off + 1]!;
    case SBE16: return (((buf[off]! << 8) | buf[off + 1]!) << 16) >> 16;
    case BE32: return ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
    case SBE32: return (buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!;
    case IPV4: return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
    default: return formatMac(buf, off);
  }
}

// ---------------------------------------------------------------- structs

/**
 * Plans by schema object, each made on first use. The key asked for last is kept with its
 * plan, ahead of the WeakMap: a run of requests or replies asks for the same one again and
 * again. `make` is a function of its own, not a branch of get(): a function whose locals
 * closures capture gets a context that V8 allocates on every call (when setPlan made plans
 * itself, that was 40 bytes a lookup, on every request encoded and reply decoded).
 */
class PlanCache<K extends object, V> {
  private last: K | undefined;
  private lastPlan: V | undefined;
  private readonly plans = new WeakMap<K, V>();

  /** `make` registers the plan it makes (add) before the plans that plan refers to. */
  constructor(private readonly make: (key: K) => V) {}

  get(key: K): V {
    if (key === this.last) return this.lastPlan!;
    const plan = this.plans.get(key) ?? this.make(key);
    this.last = key;
    this.lastPlan = plan;
    return plan;
  }

  add(key: K, plan: V): void {
    this.plans.set(key, plan);
  }
}

const structPlans = new PlanCache(makeStructPlan);

function structPlan(s: StructSpec): StructPlan {
  return structPlans.get(s);
}

function makeStructPlan(s: StructSpec): StructPlan {
  let offset = 0;
  const fields = s.fields.map((f, index): FieldPlan => {
    const at = { name: f.name, offset, index };
    offset += fieldSize(f);
    if (f.type === 'pad') {
      return { ...at, size: f.len, kind: OTHER, bigType: undefined, put: undefined, get: undefined };
    }
    if (f.type === 'bytes') {
      const { len, repr } = f;
      const get = compileBytesGet(repr);
      return {
        ...at, size: len, kind: bytesKind(len, repr), bigType: undefined,
        put: (buf, off, value) => {
          const n = bytesLength(value, repr);
          if (n !== len) fail(`needs ${len} bytes, got ${n}`);
          putBytesValue(buf, off, value, repr);
        },
        get: (buf, off) => get(buf, off, len),
      };
    }
    return { ...at, size: intSize(f.type), kind: intKind(f), bigType: bigIntType(f), put: compileIntPut(f), get: compileIntGet(f) };
  });
  const byName = new Map(fields.filter((f) => f.put).map((f) => [f.name, f]));
  // Generic until used often enough to be worth compiling (see COMPILE_AFTER).
  let calls = 0;
  const counted = (): void => {
    if (++calls === COMPILE_AFTER) Object.assign(compiled, compileStruct(compiled, runtime));
  };
  const compiled: StructPlan = {
    spec: s, size: offset, fields, byName,
    write: (value, buf, _d, at) => {
      counted();
      writeStructFields(compiled, value, buf, at);
    },
    read: (buf, at) => {
      counted();
      return readStruct(compiled, buf, at, compiled.size);
    },
  };
  structPlans.add(s, compiled);
  return compiled;
}

/**
 * The length a byte-string value will have, without parsing address text (a struct
 * field's length is checked before anything is written).
 */
function bytesLength(value: unknown, repr: Repr | undefined): number {
  if (value instanceof Uint8Array) return value.length;
  if (typeof value !== 'string') fail(`expected bytes, got ${describe(value)}`);
  switch (repr) {
    case 'mac': return 6;
    case 'ipv6': return 16;
    case 'ip': return parseIPv4(value) === undefined ? 16 : 4;
    default:
      if (!HEX_TEXT.test(value)) fail(`"${value}" is not a hex byte string`);
      return value.length >> 1;
  }
}

/** The first name in `obj` that is not a field of the struct, if any. */
function strayField(plan: StructPlan, obj: Record<string, unknown>): string | undefined {
  for (const key of Object.keys(obj)) if (!plan.byName.has(key)) return key;
  return undefined;
}

/**
 * Writes a struct value at `at` (fields the value leaves out are zero), field by field
 * through the fields' closures: the generic way, before the struct is compiled.
 */
function writeStructFields(plan: StructPlan, value: unknown, buf: Buffer, at: number): void {
  if (!isAttrValues(value)) fail(`expected an object for struct ${plan.spec.name}, got ${describe(value)}`);
  buf.fill(0, at, at + plan.size);
  let field = '';
  try {
    for (const key in value) {
      field = '';
      const f = plan.byName.get(key);
      if (f === undefined) fail(`struct ${plan.spec.name} has no field "${key}"`);
      field = key;
      const v = value[key];
      if (v !== undefined) f.put!(buf, at + f.offset, v);
    }
  } catch (err) {
    throw structFailure(plan, value, field, err);
  }
}

/** Writes a struct value at w.off (fields the value leaves out are zero). */
function writeStruct(plan: StructPlan, value: unknown, w: WriterLike): void {
  w.room(plan.size);
  plan.write(value, w.buf, w.view, w.off);
  w.off += plan.size;
}

/** A struct value's failure as thrown: a name the struct does not have is the first thing wrong with it. */
function structFailure(plan: StructPlan, value: Record<string, unknown>, field: string, err: unknown): unknown {
  const stray = strayField(plan, value);
  if (stray !== undefined) return new SchemaError('', `struct ${plan.spec.name} has no field "${stray}"`);
  return field === '' ? err : under(field, err);
}

/** Reads a struct field by field: fields past a short payload (older kernels send shorter structs) are left out. */
function readStruct(plan: StructPlan, buf: Buffer, off: number, len: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const fields = plan.fields;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    if (f.offset + f.size > len) break;
    if (f.kind !== OTHER) out[f.name] = getScalar(f.kind, buf, off + f.offset);
    else if (f.get !== undefined) out[f.name] = f.get(buf, off + f.offset);
  }
  return out;
}

/** A C struct on its own (e.g. a family's fixed header). */
export function encodeStruct(s: StructSpec, value: Record<string, unknown>, path = s.name): Buffer {
  const plan = structPlan(s);
  const w = takeWriter();
  try {
    writeStruct(plan, value, w);
  } catch (err) {
    releaseWriter(w);
    throw under(path, err);
  }
  return takeBytes(w);
}

export function decodeStruct(s: StructSpec, buf: Buffer, off = 0): Record<string, unknown> {
  const plan = structPlan(s);
  if (off + plan.size > buf.length) throw new SchemaError(s.name, `needs ${plan.size} bytes at offset ${off}, buffer has ${buf.length}`);
  return plan.read(buf, off);
}

// ---------------------------------------------------------------- attribute plans

const setPlans = new PlanCache(makeSetPlan);

function setPlan(set: AttrSet): SetPlan {
  return setPlans.get(set);
}

function makeSetPlan(set: AttrSet): SetPlan {
  // Each function is generic until used often enough to be worth compiling (a set's plan
  // exists as soon as a parent set refers to it; most of a program's sets are never used).
  const tiered = <K extends SetFunction>(name: K, generic: SetPlan[K]) => {
    let calls = 0;
    return ((...args: unknown[]) => {
      if (++calls === COMPILE_AFTER) created[name] = compileSet(created, runtime, name);
      return (generic as (...a: unknown[]) => unknown)(...args);
    }) as SetPlan[K];
  };
  const created: SetPlan = {
    set, byName: new Map(), byId: [],
    write: tiered('write', (values, w) => writeSetGeneric(created, values, w)),
    writeList: tiered('writeList', (list, w) => writeListGeneric(created, list, w)),
    writeEntry: tiered('writeEntry', (key, value, w) => writeEntry(created, key, value, w)),
    read: tiered('read', (buf, start, end) => readSetGeneric(created, buf, start, end)),
    readList: tiered('readList', (buf, start, end) => readListGeneric(created, buf, start, end)),
  };
  // Registered before the attributes are compiled: nested sets that lead back here find it.
  setPlans.add(set, created);
  for (const spec of set.attrs) {
    const a = compileAttr(spec, set);
    created.byName.set(spec.name, a);
    created.byId[spec.id] = a;
  }
  return created;
}

/** A nested attribute's set plan, resolved on first use (sets may refer to themselves). */
function lazySetPlan(spec: AttrSpec & { type: 'nested' }): () => SetPlan {
  let plan: SetPlan | undefined;
  return () => (plan ??= setPlan(resolveSet(spec.set)));
}

/**
 * Recursive sets (OVS actions nest actions) could otherwise take a crafted message
 * deeper than the stack goes; the kernel itself nests far less than this.
 */
const MAX_NEST_DEPTH = 64;
/** The depth of the decode under way; put back by the outermost decode when one fails. */
const nestDepth = { n: 0 };

/** The type field an attribute's header carries: its id, with NLA_F_NESTED where the schema asks for it. */
function headerTypeOf(spec: AttrSpec, parent: AttrSet): number {
  return spec.type === 'nested' && (spec.nestedFlag ?? parent.nestedFlag) ? spec.id | NLA_F_NESTED : spec.id;
}

/**
 * The header type field of a set's attribute by name, as the codec writes it, for callers
 * that lay out its payload themselves (putAttrHeader); compiles nothing.
 */
export function attrHeaderType(set: AttrSet, name: string): number {
  const spec = set.byNameOf(name);
  if (!spec) throw new Error(`${set.name} has no attribute ${name}`);
  return headerTypeOf(spec, set);
}

function compileAttr(spec: AttrSpec, parent: AttrSet): AttrPlan {
  const { id, name } = spec;
  const headerType = headerTypeOf(spec, parent);
  const base = {
    id, name, spec, headerType, kind: VIA_CLOSURES, scalar: OTHER, size: 0, struct: undefined, child: undefined,
  };
  const withPayload = (payload: (w: WriterLike, value: unknown) => void, read: AttrPlan['read'], write?: AttrPlan['write'], inline?: Partial<AttrPlan>): AttrPlan => ({
    ...base, payload, read,
    write: write ?? ((w, value) => writeAttribute(w, headerType, payload, value)),
    ...inline,
  });

  switch (spec.type) {
    case 'flag':
    case 'pad':
      return withPayload(() => undefined, () => true, (w, value) => {
        if (spec.type === 'flag') {
          if (value === false) return;
          if (value !== true) fail(`a flag is true or false, got ${describe(value)}`);
        }
        w.room(NLA_HDRLEN);
        putU16(w.buf, w.off, NLA_HDRLEN);
        putU16(w.buf, w.off + 2, headerType);
        w.off += NLA_HDRLEN;
      }, { kind: spec.type === 'flag' ? FLAG_ATTR : PAD_ATTR });
    case 'string': {
      const { maxLen } = spec;
      const nul = spec.raw ? 0 : 1;
      return withPayload((w, value) => {
        if (typeof value !== 'string') fail(`expected a string, got ${describe(value)}`);
        if (value.includes('\0')) fail('a string cannot contain a NUL character');
        w.room(3 * value.length + nul);
        const n = w.buf.write(value, w.off) + nul;
        if (maxLen !== undefined && n > maxLen) fail(`longer than ${maxLen} bytes`);
        if (nul) w.buf[w.off + n - 1] = 0;
        w.off += n;
      }, (buf, start, len) => {
        let end = start;
        while (end < start + len && buf[end] !== 0) end++;
        return buf.toString('utf8', start, end);
      });
    }
    case 'binary': {
      const { len, maxLen, repr } = spec;
      const get = compileBytesGet(repr);
      const scalar = maxLen === undefined || maxLen >= 6 ? bytesKind(len, repr) : OTHER;
      // 'ip' byte strings of either length: IPv4 (4 bytes) goes inline, IPv6 through here.
      const ipInline = repr === 'ip' && (len === undefined || len === 4) && (maxLen === undefined || maxLen >= 4);
      return withPayload((w, value) => {
        w.room(bytesRoom(value));
        const n = putBytesValue(w.buf, w.off, value, repr);
        if (len !== undefined && n !== len) fail(`needs ${len} bytes, got ${n}`);
        if (maxLen !== undefined && n > maxLen) fail(`longer than ${maxLen} bytes`);
        w.off += n;
      }, (buf, start, n) => {
        if (len !== undefined && n !== len) fail(`expected ${len} bytes, got ${n}`);
        return get(buf, start, n);
      }, undefined, scalar !== OTHER ? { kind: SCALAR_ATTR, scalar, size: 6 } : ipInline ? { kind: IP_ATTR } : {});
    }
    case 'struct': {
      const plan = structPlan(spec.struct);
      const minLen = spec.minLen ?? plan.size;
      return withPayload((w, value) => writeStruct(plan, value, w), (buf, start, n) => {
        if (n < minLen) fail(`struct ${plan.spec.name} needs ${minLen} bytes, got ${n}`);
        return n >= plan.size ? plan.read(buf, start) : readStruct(plan, buf, start, n);
      }, undefined, { kind: STRUCT_ATTR, struct: plan });
    }
    case 'array': {
      const of = spec.of;
      if (typeof of === 'string') {
        const size = intSize(of);
        const put = compileIntPut({ type: of });
        const get = (narrowCodecs[of]?.get ?? bigCodecs[of]!.get) as (buf: Buffer, off: number) => unknown;
        return withPayload((w, value) => {
          if (!Array.isArray(value)) fail(`expected an array, got ${describe(value)}`);
          w.room(value.length * size);
          for (let i = 0; i < value.length; i++) {
            try {
              put(w.buf, w.off, value[i]);
            } catch (err) {
              throw under(`[${i}]`, err);
            }
            w.off += size;
          }
        }, (buf, start, n) => readArray(buf, start, n, size, (b, off) => get(b, off)));
      }
      const plan = structPlan(of);
      return withPayload((w, value) => {
        if (!Array.isArray(value)) fail(`expected an array, got ${describe(value)}`);
        for (let i = 0; i < value.length; i++) {
          try {
            writeStruct(plan, value[i], w);
          } catch (err) {
            throw under(`[${i}]`, err);
          }
        }
      }, (buf, start, n) => readArray(buf, start, n, plan.size, (b, off) => plan.read(b, off)));
    }
    case 'nested': {
      const child = lazySetPlan(spec);
      const nested = (read: (plan: SetPlan, buf: Buffer, start: number, end: number) => unknown) => (buf: Buffer, start: number, n: number): unknown => {
        if (nestDepth.n >= MAX_NEST_DEPTH) fail(`nested more than ${MAX_NEST_DEPTH} levels deep`);
        nestDepth.n++;
        try {
          return read(child(), buf, start, start + n);
        } finally {
          nestDepth.n--;
        }
      };
      if (spec.masked) return withPayload((w, value) => writeMasked(child(), value, w), nested(readMasked));
      if (spec.indexed) {
        const entryFlag = spec.nestedFlag ?? parent.nestedFlag ? NLA_F_NESTED : 0;
        return withPayload((w, value) => writeIndexed(child(), value, w, entryFlag), nested(readIndexed));
      }
      if (spec.list) {
        return withPayload((w, value) => child().writeList(value, w), nested((p, buf, s, e) => p.readList(buf, s, e)), undefined, { kind: LIST_ATTR, child });
      }
      return withPayload((w, value) => child().write(value, w), nested((p, buf, s, e) => p.read(buf, s, e)), undefined, { kind: NESTED_ATTR, child });
    }
    default: {
      const size = intSize(spec.type);
      const put = compileIntPut(spec);
      const get = compileIntGet(spec);
      const type = spec.type;
      const scalar = intKind(spec);
      return withPayload((w, value) => {
        w.room(size);
        put(w.buf, w.off, value);
        w.off += size;
      }, (buf, start, n) => {
        if (n !== size) fail(`expected ${size} bytes for ${type}, got ${n}`);
        return get(buf, start);
      }, (w, value) => {
        // Fixed size: the header is known up front, and only 1- and 2-byte values need padding.
        const total = align4(NLA_HDRLEN + size);
        w.room(total);
        const buf = w.buf;
        const off = w.off;
        put(buf, off + NLA_HDRLEN, value);
        putU16(buf, off, NLA_HDRLEN + size);
        putU16(buf, off + 2, headerType);
        for (let i = NLA_HDRLEN + size; i < total; i++) buf[off + i] = 0;
        w.off = off + total;
      }, scalar !== OTHER ? { kind: SCALAR_ATTR, scalar, size } : bigIntType(spec) ? { kind: BIG_ATTR } : {});
    }
  }
}

function readArray(buf: Buffer, start: number, n: number, size: number, get: (buf: Buffer, off: number) => unknown): unknown[] {
  if (n % size !== 0) fail(`${n} bytes is not a whole number of ${size}-byte elements`);
  const out: unknown[] = [];
  for (let off = start; off < start + n; off += size) out.push(get(buf, off));
  return out;
}

// ---------------------------------------------------------------- runs of attributes

function unknownFromValue(key: string, value: unknown): UnknownAttr {
  const type = Number(key.slice(UNKNOWN_PREFIX.length));
  const u = value as UnknownAttr;
  if (unknownKey(type) !== key || type > NLA_TYPE_MASK || !isAttrValues(u) || u.type !== type || !Buffer.isBuffer(u.raw)) {
    fail(`unknown attribute "${key}" must be {type: ${key.slice(UNKNOWN_PREFIX.length)}, raw: Buffer}`);
  }
  return u;
}

function writeUnknown(w: WriterLike, key: string, value: unknown): void {
  const u = unknownFromValue(key, value);
  w.room(NLA_HDRLEN + u.raw.length);
  const start = w.off;
  w.buf.set(u.raw, start + NLA_HDRLEN);
  w.off = start + NLA_HDRLEN + u.raw.length;
  closeAttribute(w, start, u.type | (u.nested ? NLA_F_NESTED : 0));
}

/** One `key: value` of a run: a known attribute, an unknown one kept as bytes, or an error. */
function writeEntry(plan: SetPlan, key: string, value: unknown, w: WriterLike): void {
  if (value === undefined) return;
  const a = plan.byName.get(key);
  try {
    if (a !== undefined) a.write(w, value);
    else if (key.startsWith(UNKNOWN_PREFIX)) writeUnknown(w, key, value);
    else fail(`${plan.set.name} has no attribute "${key}"`);
  } catch (err) {
    throw under(key, err);
  }
}

/*
 * The generic way through a set: each attribute through its closures. A set (or struct)
 * goes this way until it has been used COMPILE_AFTER times; then its generated code is
 * made. Compiling costs about as much as a few dozen generic calls (in the VM, several
 * milliseconds a set), which a command that touches one flow would only lose; a bulk
 * load or a dump wins it back many times over.
 */
const COMPILE_AFTER = 32;

function writeSetGeneric(plan: SetPlan, values: unknown, w: WriterLike): void {
  if (!isAttrValues(values)) fail(`expected an object of ${plan.set.name} attributes, got ${describe(values)}`);
  for (const key in values) writeEntry(plan, key, values[key], w);
}

function writeListGeneric(plan: SetPlan, list: unknown, w: WriterLike): void {
  if (!Array.isArray(list)) fail(`expected a list of ${plan.set.name} entries, got ${describe(list)}`);
  for (let i = 0; i < list.length; i++) {
    try {
      const key = singleKey(plan, list[i]);
      writeEntry(plan, key, (list[i] as AttrValues)[key], w);
    } catch (err) {
      throw under(`[${i}]`, err);
    }
  }
}

function readSetGeneric(plan: SetPlan, buf: Buffer, start: number, end: number): AttrValues {
  const out: AttrValues = {};
  forEachAttr(buf, start, end, (type, nested, at, len) => {
    const a = plan.byId[type];
    if (a === undefined) out[unknownKey(type)] = unknownAttr(buf, type, nested, at, len);
    else if (a.kind !== PAD_ATTR) out[a.name] = readAttr(a, buf, at, len);
  });
  return out;
}

function readListGeneric(plan: SetPlan, buf: Buffer, start: number, end: number): AttrValues[] {
  const out: AttrValues[] = [];
  forEachAttr(buf, start, end, (type, nested, at, len) => {
    const a = plan.byId[type];
    try {
      out.push(a === undefined ? { [unknownKey(type)]: unknownAttr(buf, type, nested, at, len) } : { [a.name]: readAttr(a, buf, at, len) });
    } catch (err) {
      throw under(`[${out.length}]`, err);
    }
  });
  return out;
}

function readAttr(a: AttrPlan, buf: Buffer, at: number, len: number): unknown {
  try {
    return a.read(buf, at, len);
  } catch (err) {
    throw under(a.name, err);
  }
}

/** The one key of a list entry. */
function singleKey(plan: SetPlan, item: unknown): string {
  if (!isAttrValues(item)) fail(`expected {name: value} for ${plan.set.name}, got ${describe(item)}`);
  let only: string | undefined;
  let count = 0;
  for (const key in item) {
    if (!Object.hasOwn(item, key)) continue;
    only = key;
    count++;
  }
  if (count !== 1) fail(`each ${plan.set.name} entry needs exactly one key, got ${count}`);
  return only!;
}

function writeIndexed(plan: SetPlan, list: unknown, w: WriterLike, entryFlag: number): void {
  if (!Array.isArray(list)) fail(`expected an array of ${plan.set.name}, got ${describe(list)}`);
  for (let i = 0; i < list.length; i++) {
    try {
      writeAttribute(w, (i + 1) | entryFlag, (ww: WriterLike, v: unknown) => plan.write(v, ww), list[i]);
    } catch (err) {
      throw under(`[${i}]`, err);
    }
  }
}

function writeMasked(plan: SetPlan, values: unknown, w: WriterLike): void {
  if (!isAttrValues(values)) fail(`expected an object of masked ${plan.set.name} attributes, got ${describe(values)}`);
  for (const key in values) {
    const v = values[key];
    const a = plan.byName.get(key);
    if (v === undefined || a === undefined || key.startsWith(UNKNOWN_PREFIX)) {
      writeEntry(plan, key, v, w);
      continue;
    }
    try {
      if (!isAttrValues(v) || v['value'] === undefined || v['mask'] === undefined) fail('a masked attribute needs {value, mask}');
      w.room(NLA_HDRLEN);
      const start = w.off;
      w.off += NLA_HDRLEN;
      try {
        a.payload(w, v['value']);
      } catch (err) {
        throw under('value', err);
      }
      const half = w.off - start - NLA_HDRLEN;
      try {
        a.payload(w, v['mask']);
      } catch (err) {
        throw under('mask', err);
      }
      if (w.off - start - NLA_HDRLEN !== 2 * half) fail('value and mask differ in length');
      closeAttribute(w, start, a.headerType);
    } catch (err) {
      throw under(key, err);
    }
  }
}

/** What encodeToScratch writes. */
const RUN_SET = 0;
const RUN_LIST = 1;
const RUN_ENTRY = 2;

/**
 * Encodes into the scratch writer and returns it: its bytes are w.buf[0, w.off), and the
 * caller releases it once they are used. `path` roots the error paths.
 */
function encodeToScratch(plan: SetPlan, values: unknown, run: number, name: string, path: string): Writer {
  const w = takeWriter();
  try {
    if (run === RUN_SET) plan.write(values, w);
    else if (run === RUN_LIST) plan.writeList(values, w);
    else plan.writeEntry(name, values, w);
    return w;
  } catch (err) {
    releaseWriter(w);
    throw under(path, err);
  }
}

/**
 * Copies n bytes. A loop for the few bytes of a fixed header; beyond 16 bytes a loop costs
 * more than TypedArray set (host: 47 against 12 ns for 64 bytes, 181 against 13 for 256),
 * which copies all of its source; Buffer's copy makes a view for a part of one first.
 */
function copyRun(from: Buffer, start: number, to: Buffer, at: number, n: number): void {
  if (n <= 16) for (let i = 0; i < n; i++) to[at + i] = from[start + i]!;
  else if (start === 0 && n === from.length) to.set(from, at);
  else from.copy(to, at, start, start + n);
}

/** The scratch writer's bytes as a buffer of their own; releases the writer. */
function takeBytes(w: WriterLike): Buffer {
  const out = Buffer.allocUnsafe(w.off);
  copyRun(w.buf, 0, out, 0, w.off);
  releaseWriter(w);
  return out;
}

/** Copies the scratch writer's bytes into `buf` at `offset`; releases the writer; returns the end. */
function copyBytesInto(w: WriterLike, buf: Buffer, offset: number, what: string): number {
  try {
    if (!Number.isInteger(offset) || offset < 0 || offset + w.off > buf.length) {
      throw new SchemaError('', `${w.off} bytes of ${what} do not fit at offset ${offset} of a ${buf.length}-byte buffer`);
    }
    copyRun(w.buf, 0, buf, offset, w.off);
    return offset + w.off;
  } finally {
    releaseWriter(w);
  }
}

/** Bytes that `values` take as a run of attributes of `set`, padding included. */
export function encodedLength(set: AttrSet, values: AttrValues, path = ''): number {
  const w = encodeToScratch(setPlan(set), values, RUN_SET, '', path);
  const n = w.off;
  releaseWriter(w);
  return n;
}

/** Encodes `values` as attributes of `set` into a new buffer, or into `buf` at `offset`. */
export function encodeAttrs(set: AttrSet, values: AttrValues): Buffer;
export function encodeAttrs(set: AttrSet, values: AttrValues, buf: Buffer, offset: number): number;
export function encodeAttrs(set: AttrSet, values: AttrValues, buf?: Buffer, offset = 0): Buffer | number {
  const w = encodeToScratch(setPlan(set), values, RUN_SET, '', '');
  return buf ? copyBytesInto(w, buf, offset, set.name) : takeBytes(w);
}

/** Encodes a list of single-key objects (e.g. actions) as a run of attributes. */
export function encodeList(set: AttrSet, list: AttrValues[]): Buffer {
  return takeBytes(encodeToScratch(setPlan(set), list, RUN_LIST, '', ''));
}

/** Writes one attribute; returns the offset after it. */
export function encodeAttr(parent: AttrSet, name: string, value: unknown, buf: Buffer, offset: number): number {
  return copyBytesInto(encodeToScratch(setPlan(parent), value, RUN_ENTRY, name, ''), buf, offset, name);
}

/**
 * A message being built: bytes written front to back into a growable buffer, attributes
 * through the compiled sets. message.ts builds netlink messages with it, so a request's
 * attributes are encoded once, straight into the batch that carries them.
 */
export class MessageBuilder {
  private readonly w: WriterLike;

  constructor(size = 1 << 12) {
    this.w = new Writer(size);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.w.off;
  }

  /** The underlying buffer: valid until the next write (a write may replace it). */
  get buffer(): Buffer {
    return this.w.buf;
  }

  /** A DataView of `buffer`, valid as long as it is. */
  get view(): DataView {
    return this.w.view;
  }

  /** The bytes written so far (a view, valid until the next write or truncate). */
  bytes(): Buffer {
    return this.w.buf.subarray(0, this.w.off);
  }

  /** Drops what was written after the first `length` bytes. */
  truncate(length = 0): void {
    this.w.off = Math.min(this.w.off, length);
  }

  /** Adds `n` bytes to fill in later (through `buffer`); returns their offset. */
  reserve(n: number): number {
    this.w.room(n);
    const off = this.w.off;
    this.w.off += n;
    return off;
  }

  /** Adds zero bytes up to a multiple of 4 (netlink's alignment). */
  align(): void {
    // At most 3 bytes: a loop, where Buffer's fill checks its arguments in JavaScript first.
    const n = align4(this.w.off) - this.w.off;
    if (n === 0) return;
    const at = this.reserve(n);
    for (let i = 0; i < n; i++) this.w.buf[at + i] = 0;
  }

  append(bytes: Buffer): void {
    this.w.room(bytes.length);
    copyRun(bytes, 0, this.w.buf, this.w.off, bytes.length);
    this.w.off += bytes.length;
  }

  /**
   * Appends `values` as attributes of `set`. A value that cannot be encoded throws
   * SchemaError and leaves the builder as it was before the call.
   */
  attrs(set: AttrSet, values: AttrValues): void {
    const start = this.w.off;
    try {
      setPlan(set).write(values, this.w);
    } catch (err) {
      this.w.off = start;
      throw err;
    }
  }
}

// ---------------------------------------------------------------- decoding

/**
 * The length (header included) of the attribute at buf[off], checked to be a whole
 * attribute within buf[off, end); throws SchemaError otherwise. The check of every walk
 * over attributes: forEachAttr's, and those of callers that take attributes apart
 * themselves (an upcall's key and packet, kept as views of the message).
 */
export function checkedAttrLength(buf: Buffer, off: number, end: number): number {
  if (end - off < NLA_HDRLEN) fail(`${end - off} stray bytes at offset ${off}, too short for an attribute header`);
  const len = getU16(buf, off);
  if (len < NLA_HDRLEN) fail(`attribute type ${getU16(buf, off + 2) & NLA_TYPE_MASK} at offset ${off} has length ${len} (< 4)`);
  if (off + len > end) fail(`attribute type ${getU16(buf, off + 2) & NLA_TYPE_MASK} at offset ${off} runs ${off + len - end} bytes past its container`);
  return len;
}

/**
 * Walks the attribute headers in buf[start, end), checking every length, and calls
 * `each(type, nested, payloadStart, payloadLen)` for each.
 */
function forEachAttr(buf: Buffer, start: number, end: number, each: (type: number, nested: boolean, at: number, len: number) => void): void {
  let off = start;
  while (off < end) {
    const len = checkedAttrLength(buf, off, end);
    const rawType = getU16(buf, off + 2);
    each(rawType & NLA_TYPE_MASK, (rawType & NLA_F_NESTED) !== 0, off + NLA_HDRLEN, len - NLA_HDRLEN);
    off += align4(len);
  }
}

/**
 * How many unknown attributes decoding has kept so far, at any depth: a count unchanged
 * over a message's decode tells its reader there are none to look for (decodeGenlMessage).
 */
export let unknownAttrsKept = 0;

function unknownAttr(buf: Buffer, type: number, nested: boolean, at: number, len: number): UnknownAttr {
  unknownAttrsKept++;
  const u: UnknownAttr = { type, raw: copyBytes(buf, at, len) };
  if (nested) u.nested = true;
  return u;
}

function readIndexed(plan: SetPlan, buf: Buffer, start: number, end: number): AttrValues[] {
  const out: AttrValues[] = [];
  forEachAttr(buf, start, end, (_type, _nested, at, len) => {
    try {
      out.push(plan.read(buf, at, at + len));
    } catch (err) {
      throw under(`[${out.length}]`, err);
    }
  });
  return out;
}

function readMasked(plan: SetPlan, buf: Buffer, start: number, end: number): AttrValues {
  const out: AttrValues = {};
  forEachAttr(buf, start, end, (type, nested, at, len) => {
    const a = plan.byId[type];
    if (a === undefined) {
      out[unknownKey(type)] = unknownAttr(buf, type, nested, at, len);
      return;
    }
    try {
      if (len % 2 !== 0) fail(`masked attribute of odd length ${len}`);
      const half = len / 2;
      let value: unknown;
      try {
        value = a.read(buf, at, half);
      } catch (err) {
        throw under('value', err);
      }
      try {
        out[a.name] = { value, mask: a.read(buf, at + half, half) };
      } catch (err) {
        throw under('mask', err);
      }
    } catch (err) {
      throw under(a.name, err);
    }
  });
  return out;
}

function checkRange(buf: Buffer, start: number, end: number, path: string): void {
  if (start < 0 || end > buf.length || start > end) throw new SchemaError(path, `range ${start}..${end} is outside the ${buf.length}-byte buffer`);
}

/**
 * Decodes buf[start, end) at `path` as a set or, with `asList`, a list: the range checked
 * first; on failure the nesting depth restored and the error put under the path.
 * (No callback: a closure made per decoded message is an allocation per message.)
 */
function decodeRun(set: AttrSet, buf: Buffer, start: number, end: number, path: string, asList: boolean): AttrValues | AttrValues[] {
  checkRange(buf, start, end, path);
  const depth = nestDepth.n;
  try {
    const plan = setPlan(set);
    return asList ? plan.readList(buf, start, end) : plan.read(buf, start, end);
  } catch (err) {
    nestDepth.n = depth;
    throw under(path, err);
  }
}

/** Decodes buf[start, end) as attributes of `set`. Throws SchemaError naming the path. */
export function decodeAttrs(set: AttrSet, buf: Buffer, start = 0, end = buf.length, path = ''): AttrValues {
  return decodeRun(set, buf, start, end, path, false) as AttrValues;
}

/** Decodes a run of attributes as a list of single-key objects (order and repeats kept). */
export function decodeList(set: AttrSet, buf: Buffer, start = 0, end = buf.length, path = ''): AttrValues[] {
  return decodeRun(set, buf, start, end, path, true) as AttrValues[];
}

// ---------------------------------------------------------------- validation, JSON

/** Checks that `values` can be encoded with `set`; returns the problems found (empty when fine). */
export function validate(set: AttrSet, values: AttrValues): SchemaError[] {
  try {
    encodedLength(set, values);
    return [];
  } catch (e) {
    if (e instanceof SchemaError) return [e];
    throw e;
  }
}

/**
 * A JSON-safe copy: bigint as number where exact (else decimal string), bytes as hex.
 * Nesting deeper than any message has (a cycle: an object that contains itself) is a
 * TypeError naming the way in, where it would overflow the stack. The depth is counted,
 * not the objects seen: that costs nothing per value.
 */
export function toJSONValue(value: unknown): unknown {
  try {
    return jsonValue(value, 0);
  } catch (err) {
    if (!(err instanceof TooDeep)) throw err;
    const path = err.keys.slice(0, 12).map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`)).join('');
    throw new TypeError(`toJSONValue: nested more than ${JSON_MAX_DEPTH} deep (an object that contains itself?) at (value)${path}...`);
  }
}

const JSON_MAX_DEPTH = 256;

/** Thrown where the depth runs out; each level on the way out adds its key. */
class TooDeep extends Error {
  readonly keys: (string | number)[] = [];
}

function jsonValue(value: unknown, depth: number): unknown {
  if (typeof value === 'bigint') return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (value === null || typeof value !== 'object') return value;
  if (depth === JSON_MAX_DEPTH) throw new TooDeep();
  let key: string | number = 0;
  try {
    if (Array.isArray(value)) {
      const out: unknown[] = new Array(value.length);
      for (let i = 0; i < value.length; i++) {
        key = i;
        out[i] = jsonValue(value[i], depth + 1);
      }
      return out;
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      key = k;
      out[k] = jsonValue(v, depth + 1);
    }
    return out;
  } catch (err) {
    if (err instanceof TooDeep) err.keys.unshift(key);
    throw err;
  }
}

/**
 * The generated code's check, on its hot paths (isAttrValues less its typed-array test): a
 * Buffer given for a set or a struct passes it, and the slow path it then takes refuses
 * it by isAttrValues, so that a flow put pays nothing for the test.
 */
function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A value's kind for messages: "null", "an array", "a Buffer" ("a Uint8Array", ...), a string quoted, else its typeof. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (Buffer.isBuffer(v)) return 'a Buffer';
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  return typeof v === 'string' ? `"${v}"` : typeof v;
}

/** A miss of an IPv4 memo: the text's value, replacing the entry used less recently; undefined if it is no IPv4 text. */
function ipv4Miss(m: IPv4Memo, v: string): number | undefined {
  const x = parseIPv4(v);
  if (x === undefined) return undefined;
  if (m.newerA === 1) { m.textB = v; m.valueB = x; m.newerA = 0; }
  else { m.textA = v; m.valueA = x; m.newerA = 1; }
  return x;
}

/** A miss of a MAC memo: putMac, and text remembered, replacing the entry used less recently. */
function macMiss(m: MacMemo, v: unknown, buf: Buffer, d: DataView, at: number): boolean {
  if (!putMac(v, buf, at)) return false;
  if (typeof v === 'string') {
    if (m.newerA === 1) { m.textB = v; m.highB = d.getUint16(at); m.lowB = d.getUint32(at + 2); m.newerA = 0; }
    else { m.textA = v; m.highA = d.getUint16(at); m.lowA = d.getUint32(at + 2); m.newerA = 1; }
  }
  return true;
}

/** What the generated code calls (codegen.ts). */
const runtime: Runtime = {
  fail, under, describe, isRecord, ipv4Text, macText, u64, ipv4Miss, macMiss, writeEntry, singleKey,
  closeAttribute, unknownAttr, unknownKey, structFailure, depth: nestDepth, maxDepth: MAX_NEST_DEPTH,
};
