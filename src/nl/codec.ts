/**
 * The one generic attribute codec. Every family's bytes go through here, driven by the
 * sets in schema.ts: encodedLength() sizes a message exactly, encodeAttrs() writes it
 * into one buffer, decodeAttrs() reads it back, bounds-checked, naming the attribute path
 * of anything malformed.
 */
import { endianness } from 'node:os';
import { SchemaError } from './errors.js';
import { formatIPv4, formatIPv6, formatMac, parseIPv4, parseIPv6, parseMac } from './repr.js';
import {
  type AttrSet, type AttrSpec, type AttrValues, type IntType, type Repr, type StructSpec,
  type StructField, type UnknownAttr, UNKNOWN_PREFIX, intSize, resolveSet, structSize, unknownKey,
} from './schema.js';

export const NLA_HDRLEN = 4;
export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
export const NLA_TYPE_MASK = 0x3fff;

const littleEndianHost = endianness() === 'LE';

export function align4(n: number): number {
  return (n + 3) & ~3;
}

// ---------------------------------------------------------------- integers

const intRange: Record<IntType, [bigint, bigint]> = {
  u8: [0n, 0xffn], u16: [0n, 0xffffn], u32: [0n, 0xffffffffn], u64: [0n, 0xffffffffffffffffn],
  s8: [-0x80n, 0x7fn], s16: [-0x8000n, 0x7fffn], s32: [-0x80000000n, 0x7fffffffn],
  s64: [-0x8000000000000000n, 0x7fffffffffffffffn],
  be16: [0n, 0xffffn], be32: [0n, 0xffffffffn], be64: [0n, 0xffffffffffffffffn],
};

interface IntLike {
  type: IntType;
  repr?: Repr;
  enum?: Readonly<Record<string, number>>;
}

/** The ranges of the types narrower than 64 bits, as plain numbers. */
const numberRange: Partial<Record<IntType, [number, number]>> = Object.fromEntries(
  Object.entries(intRange).filter(([t]) => intSize(t as IntType) < 8).map(([t, [lo, hi]]) => [t, [Number(lo), Number(hi)]]),
);

/** Turns a user value (number, bigint, enum name, dotted IPv4) into the wire number. */
function intFromValue(spec: IntLike, value: unknown, path: string): number | bigint {
  // The common case, a plain number for a narrow type, without a BigInt round trip.
  const range = typeof value === 'number' ? numberRange[spec.type] : undefined;
  if (range && Number.isInteger(value)) {
    if ((value as number) < range[0] || (value as number) > range[1]) throw new SchemaError(path, `${value} does not fit in ${spec.type}`);
    return value as number;
  }
  let v: unknown = value;
  if (typeof v === 'string') {
    if (spec.enum && Object.hasOwn(spec.enum, v)) v = spec.enum[v];
    else if (spec.repr === 'ipv4') {
      const n = parseIPv4(v);
      if (n === undefined) throw new SchemaError(path, `"${v}" is not an IPv4 address`);
      v = n;
    } else if (/^(0x[0-9a-fA-F]+|\d+)$/.test(v)) v = BigInt(v);
    else {
      const names = spec.enum ? ` (one of ${Object.keys(spec.enum).join(', ')})` : '';
      throw new SchemaError(path, `"${v}" is not a valid ${spec.type}${names}`);
    }
  }
  if (typeof v !== 'number' && typeof v !== 'bigint') {
    throw new SchemaError(path, `expected a number for ${spec.type}, got ${describe(value)}`);
  }
  if (typeof v === 'number' && !Number.isInteger(v)) throw new SchemaError(path, `${v} is not an integer`);
  const big = BigInt(v);
  const [lo, hi] = intRange[spec.type];
  if (big < lo || big > hi) throw new SchemaError(path, `${v} does not fit in ${spec.type}`);
  return intSize(spec.type) === 8 ? big : Number(big);
}

function writeInt(buf: Buffer, off: number, type: IntType, v: number | bigint): void {
  const le = littleEndianHost;
  switch (type) {
    case 'u8': buf[off] = v as number; return;
    case 's8': buf.writeInt8(v as number, off); return;
    case 'u16': le ? buf.writeUInt16LE(v as number, off) : buf.writeUInt16BE(v as number, off); return;
    case 's16': le ? buf.writeInt16LE(v as number, off) : buf.writeInt16BE(v as number, off); return;
    case 'u32': le ? buf.writeUInt32LE(v as number, off) : buf.writeUInt32BE(v as number, off); return;
    case 's32': le ? buf.writeInt32LE(v as number, off) : buf.writeInt32BE(v as number, off); return;
    case 'u64': le ? buf.writeBigUInt64LE(v as bigint, off) : buf.writeBigUInt64BE(v as bigint, off); return;
    case 's64': le ? buf.writeBigInt64LE(v as bigint, off) : buf.writeBigInt64BE(v as bigint, off); return;
    case 'be16': buf.writeUInt16BE(v as number, off); return;
    case 'be32': buf.writeUInt32BE(v as number, off); return;
    case 'be64': buf.writeBigUInt64BE(v as bigint, off); return;
  }
}

function readInt(buf: Buffer, off: number, type: IntType): number | bigint {
  const le = littleEndianHost;
  switch (type) {
    case 'u8': return buf[off]!;
    case 's8': return buf.readInt8(off);
    case 'u16': return le ? buf.readUInt16LE(off) : buf.readUInt16BE(off);
    case 's16': return le ? buf.readInt16LE(off) : buf.readInt16BE(off);
    case 'u32': return le ? buf.readUInt32LE(off) : buf.readUInt32BE(off);
    case 's32': return le ? buf.readInt32LE(off) : buf.readInt32BE(off);
    case 'u64': return le ? buf.readBigUInt64LE(off) : buf.readBigUInt64BE(off);
    case 's64': return le ? buf.readBigInt64LE(off) : buf.readBigInt64BE(off);
    case 'be16': return buf.readUInt16BE(off);
    case 'be32': return buf.readUInt32BE(off);
    case 'be64': return buf.readBigUInt64BE(off);
  }
}

/** The library's view of a wire number: enum name, dotted IPv4, or the number. */
function intToValue(spec: IntLike, n: number | bigint): unknown {
  if (spec.enum) {
    for (const name in spec.enum) {
      const v = spec.enum[name]!;
      if (v === n || (typeof n === 'bigint' && BigInt(v) === n)) return name;
    }
  }
  if (spec.repr === 'ipv4') return formatIPv4(n as number);
  return n;
}

// ---------------------------------------------------------------- byte strings

function ipv4Bytes(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n);
  return b;
}

function bytesFromValue(value: unknown, repr: Repr | undefined, path: string): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string') {
    if (repr === 'mac') {
      const b = parseMac(value);
      if (!b) throw new SchemaError(path, `"${value}" is not a MAC address`);
      return b;
    }
    if (repr === 'ipv6') {
      const b = parseIPv6(value);
      if (!b) throw new SchemaError(path, `"${value}" is not an IPv6 address`);
      return b;
    }
    if (repr === 'ip') {
      const v4 = parseIPv4(value);
      const b = v4 === undefined ? parseIPv6(value) : ipv4Bytes(v4);
      if (!b) throw new SchemaError(path, `"${value}" is not an IPv4 or IPv6 address`);
      return b;
    }
    if (/^([0-9a-fA-F]{2})*$/.test(value)) return Buffer.from(value, 'hex');
    throw new SchemaError(path, `"${value}" is not a hex byte string`);
  }
  throw new SchemaError(path, `expected bytes, got ${describe(value)}`);
}

function bytesToValue(buf: Buffer, start: number, len: number, repr: Repr | undefined): unknown {
  if (repr === 'mac' && len === 6) return formatMac(buf, start);
  if ((repr === 'ipv6' || repr === 'ip') && len === 16) return formatIPv6(buf, start);
  if (repr === 'ip' && len === 4) return formatIPv4(buf.readUInt32BE(start));
  return Buffer.from(buf.subarray(start, start + len));
}

// ---------------------------------------------------------------- structs

function structFieldValue(f: StructField, obj: Record<string, unknown>): unknown {
  return obj[f.name];
}

function writeStruct(s: StructSpec, value: unknown, buf: Buffer, off: number, path: string): number {
  if (!isRecord(value)) {
    throw new SchemaError(path, `expected an object for struct ${s.name}, got ${describe(value)}`);
  }
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!s.fields.some((f) => f.name === key && f.type !== 'pad')) {
      throw new SchemaError(path, `struct ${s.name} has no field "${key}"`);
    }
  }
  for (const f of s.fields) {
    if (f.type === 'pad') {
      buf.fill(0, off, off + f.len);
      off += f.len;
    } else if (f.type === 'bytes') {
      const v = structFieldValue(f, obj);
      if (v === undefined) buf.fill(0, off, off + f.len);
      else {
        const b = bytesFromValue(v, f.repr, `${path}.${f.name}`);
        if (b.length !== f.len) throw new SchemaError(`${path}.${f.name}`, `needs ${f.len} bytes, got ${b.length}`);
        b.copy(buf, off);
      }
      off += f.len;
    } else {
      const v = structFieldValue(f, obj);
      writeInt(buf, off, f.type, v === undefined ? (intSize(f.type) === 8 ? 0n : 0) : intFromValue(f, v, `${path}.${f.name}`));
      off += intSize(f.type);
    }
  }
  return off;
}

function readStruct(s: StructSpec, buf: Buffer, off: number, len: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const end = off + len;
  for (const f of s.fields) {
    const size = f.type === 'bytes' || f.type === 'pad' ? f.len : intSize(f.type);
    // Fields past a short payload (older kernels send shorter structs) are left out.
    if (off + size > end) break;
    if (f.type === 'bytes') out[f.name] = bytesToValue(buf, off, f.len, f.repr);
    else if (f.type !== 'pad') out[f.name] = intToValue(f, readInt(buf, off, f.type));
    off += size;
  }
  return out;
}

/** A C struct on its own (e.g. a family's fixed header). */
export function encodeStruct(s: StructSpec, value: Record<string, unknown>, path = s.name): Buffer {
  const buf = Buffer.allocUnsafe(structSize(s));
  writeStruct(s, value, buf, 0, path);
  return buf;
}

export function decodeStruct(s: StructSpec, buf: Buffer, off = 0): Record<string, unknown> {
  if (off + structSize(s) > buf.length) throw new SchemaError(s.name, `needs ${structSize(s)} bytes at offset ${off}, buffer has ${buf.length}`);
  return readStruct(s, buf, off, structSize(s));
}

// ---------------------------------------------------------------- attributes

function isNestedFlag(spec: AttrSpec & { type: 'nested' }, parent: AttrSet): boolean {
  return spec.nestedFlag ?? parent.nestedFlag;
}

/** Length of one attribute's payload (without header and padding). */
function payloadLength(spec: AttrSpec, value: unknown, path: string): number {
  switch (spec.type) {
    case 'flag': case 'pad': return 0;
    case 'string': {
      if (typeof value !== 'string') throw new SchemaError(path, `expected a string, got ${describe(value)}`);
      if (value.includes('\0')) throw new SchemaError(path, 'a string cannot contain a NUL character');
      const n = Buffer.byteLength(value) + (spec.raw ? 0 : 1);
      if (spec.maxLen !== undefined && n > spec.maxLen) throw new SchemaError(path, `longer than ${spec.maxLen} bytes`);
      return n;
    }
    case 'binary': {
      const n = bytesFromValue(value, spec.repr, path).length;
      if (spec.len !== undefined && n !== spec.len) throw new SchemaError(path, `needs ${spec.len} bytes, got ${n}`);
      if (spec.maxLen !== undefined && n > spec.maxLen) throw new SchemaError(path, `longer than ${spec.maxLen} bytes`);
      return n;
    }
    case 'struct': return structSize(spec.struct);
    case 'array': {
      if (!Array.isArray(value)) throw new SchemaError(path, `expected an array, got ${describe(value)}`);
      return value.length * (typeof spec.of === 'string' ? intSize(spec.of) : structSize(spec.of));
    }
    case 'nested': {
      const set = resolveSet(spec.set);
      if (spec.masked) return maskedLength(set, value, path);
      if (spec.indexed) return indexedLength(set, value, path);
      return spec.list ? listLength(set, value, path) : encodedLength(set, value as AttrValues, path);
    }
    default: return intSize(spec.type);
  }
}

function writePayload(spec: AttrSpec, value: unknown, buf: Buffer, off: number, path: string): number {
  switch (spec.type) {
    case 'flag': case 'pad': return off;
    case 'string': {
      off += buf.write(value as string, off);
      if (!spec.raw) buf[off++] = 0;
      return off;
    }
    case 'binary': {
      const b = bytesFromValue(value, spec.repr, path);
      return off + b.copy(buf, off);
    }
    case 'struct': return writeStruct(spec.struct, value, buf, off, path);
    case 'array': {
      (value as unknown[]).forEach((el, i) => {
        if (typeof spec.of === 'string') {
          writeInt(buf, off, spec.of, intFromValue({ type: spec.of }, el, `${path}[${i}]`));
          off += intSize(spec.of);
        } else off = writeStruct(spec.of, el, buf, off, `${path}[${i}]`);
      });
      return off;
    }
    case 'nested': {
      const set = resolveSet(spec.set);
      if (spec.masked) return writeMasked(set, value as AttrValues, buf, off, path);
      if (spec.indexed) return writeIndexed(set, value as AttrValues[], buf, off, path, isNestedFlag(spec, set));
      return spec.list ? writeList(set, value as AttrValues[], buf, off, path) : writeAttrs(set, value as AttrValues, buf, off, path);
    }
    default:
      writeInt(buf, off, spec.type, intFromValue(spec, value, path));
      return off + intSize(spec.type);
  }
}

function attrHeaderType(spec: AttrSpec, parent: AttrSet): number {
  return spec.type === 'nested' && isNestedFlag(spec, parent) ? spec.id | NLA_F_NESTED : spec.id;
}

function writeHeader(buf: Buffer, off: number, len: number, type: number): void {
  if (littleEndianHost) {
    buf.writeUInt16LE(len, off);
    buf.writeUInt16LE(type, off + 2);
  } else {
    buf.writeUInt16BE(len, off);
    buf.writeUInt16BE(type, off + 2);
  }
}

function checkAttrLength(n: number, path: string): void {
  if (n > 0xffff) throw new SchemaError(path, `attribute of ${n} bytes exceeds netlink's 65535`);
}

function unknownFromValue(key: string, value: unknown, path: string): UnknownAttr {
  const type = Number(key.slice(UNKNOWN_PREFIX.length));
  const u = value as UnknownAttr;
  if (unknownKey(type) !== key || type > NLA_TYPE_MASK || !isRecord(u) || u.type !== type || !Buffer.isBuffer(u.raw)) {
    throw new SchemaError(path, `unknown attribute "${key}" must be {type: ${key.slice(UNKNOWN_PREFIX.length)}, raw: Buffer}`);
  }
  return u;
}

function entryLength(set: AttrSet, key: string, value: unknown, path: string): number {
  if (value === undefined) return 0;
  if (key.startsWith(UNKNOWN_PREFIX)) {
    const n = NLA_HDRLEN + unknownFromValue(key, value, path).raw.length;
    checkAttrLength(n, path);
    return align4(n);
  }
  const spec = set.byNameOf(key);
  if (!spec) throw new SchemaError(path, `${set.name} has no attribute "${key}"`);
  if (spec.type === 'flag') {
    if (value === false) return 0;
    if (value !== true) throw new SchemaError(path, `a flag is true or false, got ${describe(value)}`);
  }
  const n = NLA_HDRLEN + payloadLength(spec, value, path);
  checkAttrLength(n, path);
  return align4(n);
}

function writeEntry(set: AttrSet, key: string, value: unknown, buf: Buffer, off: number, path: string): number {
  if (value === undefined) return off;
  if (key.startsWith(UNKNOWN_PREFIX)) {
    const u = value as UnknownAttr;
    writeHeader(buf, off, NLA_HDRLEN + u.raw.length, u.type | (u.nested ? NLA_F_NESTED : 0));
    const end = off + NLA_HDRLEN + u.raw.copy(buf, off + NLA_HDRLEN);
    return padTo4(buf, off, end);
  }
  const spec = set.byNameOf(key)!;
  if (spec.type === 'flag' && value !== true) return off;
  const end = writePayload(spec, value, buf, off + NLA_HDRLEN, path);
  writeHeader(buf, off, end - off, attrHeaderType(spec, set));
  return padTo4(buf, off, end);
}

/** Zero-pads the attribute that starts at `start` to a multiple of 4 bytes; returns its end. */
function padTo4(buf: Buffer, start: number, end: number): number {
  const aligned = start + align4(end - start);
  if (aligned !== end) buf.fill(0, end, aligned);
  return aligned;
}

function childPath(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

/** Bytes that `values` take as a run of attributes of `set`, padding included. */
export function encodedLength(set: AttrSet, values: AttrValues, path = ''): number {
  if (!isRecord(values)) {
    throw new SchemaError(path, `expected an object of ${set.name} attributes, got ${describe(values)}`);
  }
  let n = 0;
  for (const key in values) n += entryLength(set, key, values[key], childPath(path, key));
  return n;
}

function writeAttrs(set: AttrSet, values: AttrValues, buf: Buffer, off: number, path: string): number {
  for (const key in values) off = writeEntry(set, key, values[key], buf, off, childPath(path, key));
  return off;
}

function singleEntry(item: unknown, set: AttrSet, path: string): [string, unknown] {
  if (!isRecord(item)) {
    throw new SchemaError(path, `expected {name: value} for ${set.name}, got ${describe(item)}`);
  }
  const keys = Object.keys(item);
  if (keys.length !== 1) throw new SchemaError(path, `each ${set.name} entry needs exactly one key, got ${keys.length}`);
  return [keys[0]!, (item as AttrValues)[keys[0]!]];
}

function listLength(set: AttrSet, list: unknown, path: string): number {
  if (!Array.isArray(list)) throw new SchemaError(path, `expected a list of ${set.name} entries, got ${describe(list)}`);
  let n = 0;
  list.forEach((item, i) => {
    const p = `${path}[${i}]`;
    const [key, value] = singleEntry(item, set, p);
    n += entryLength(set, key, value, childPath(p, key));
  });
  return n;
}

function writeList(set: AttrSet, list: AttrValues[], buf: Buffer, off: number, path: string): number {
  list.forEach((item, i) => {
    const key = Object.keys(item)[0]!;
    off = writeEntry(set, key, item[key], buf, off, childPath(`${path}[${i}]`, key));
  });
  return off;
}

function maskedPair(value: unknown, path: string): { value: unknown; mask: unknown } {
  if (!isRecord(value) || value['value'] === undefined || value['mask'] === undefined) {
    throw new SchemaError(path, 'a masked attribute needs {value, mask}');
  }
  return { value: value['value'], mask: value['mask'] };
}

function maskedLength(set: AttrSet, values: unknown, path: string): number {
  if (!isRecord(values)) throw new SchemaError(path, `expected an object of masked ${set.name} attributes, got ${describe(values)}`);
  let n = 0;
  for (const key in values) {
    const v = values[key];
    const p = childPath(path, key);
    if (v === undefined || key.startsWith(UNKNOWN_PREFIX)) {
      n += entryLength(set, key, v, p);
      continue;
    }
    const spec = set.byNameOf(key);
    if (!spec) throw new SchemaError(p, `${set.name} has no attribute "${key}"`);
    const pair = maskedPair(v, p);
    const len = payloadLength(spec, pair.value, `${p}.value`);
    if (payloadLength(spec, pair.mask, `${p}.mask`) !== len) throw new SchemaError(p, 'value and mask differ in length');
    checkAttrLength(NLA_HDRLEN + 2 * len, p);
    n += align4(NLA_HDRLEN + 2 * len);
  }
  return n;
}

function writeMasked(set: AttrSet, values: AttrValues, buf: Buffer, off: number, path: string): number {
  for (const key in values) {
    const v = values[key];
    const p = childPath(path, key);
    if (v === undefined || key.startsWith(UNKNOWN_PREFIX)) {
      off = writeEntry(set, key, v, buf, off, p);
      continue;
    }
    const spec = set.byNameOf(key)!;
    const pair = maskedPair(v, p);
    let end = writePayload(spec, pair.value, buf, off + NLA_HDRLEN, `${p}.value`);
    end = writePayload(spec, pair.mask, buf, end, `${p}.mask`);
    writeHeader(buf, off, end - off, attrHeaderType(spec, set));
    off = padTo4(buf, off, end);
  }
  return off;
}

function indexedLength(set: AttrSet, list: unknown, path: string): number {
  if (!Array.isArray(list)) throw new SchemaError(path, `expected an array of ${set.name}, got ${describe(list)}`);
  let n = 0;
  list.forEach((item, i) => {
    const p = `${path}[${i}]`;
    const len = NLA_HDRLEN + encodedLength(set, item as AttrValues, p);
    checkAttrLength(len, p);
    n += len;
  });
  return n;
}

function writeIndexed(set: AttrSet, list: AttrValues[], buf: Buffer, off: number, path: string, nestedFlag: boolean): number {
  list.forEach((item, i) => {
    const end = writeAttrs(set, item, buf, off + NLA_HDRLEN, `${path}[${i}]`);
    writeHeader(buf, off, end - off, (i + 1) | (nestedFlag ? NLA_F_NESTED : 0));
    off = end;
  });
  return off;
}

/** Encodes `values` as attributes of `set` into a new buffer, or into `buf` at `offset`. */
export function encodeAttrs(set: AttrSet, values: AttrValues): Buffer;
export function encodeAttrs(set: AttrSet, values: AttrValues, buf: Buffer, offset: number): number;
export function encodeAttrs(set: AttrSet, values: AttrValues, buf?: Buffer, offset = 0): Buffer | number {
  const n = encodedLength(set, values);
  if (!buf) {
    const out = Buffer.allocUnsafe(n);
    writeAttrs(set, values, out, 0, '');
    return out;
  }
  checkRoom(buf, offset, n, set.name);
  return writeAttrs(set, values, buf, offset, '');
}

function checkRoom(buf: Buffer, offset: number, n: number, what: string): void {
  if (!Number.isInteger(offset) || offset < 0 || offset + n > buf.length) {
    throw new SchemaError('', `${n} bytes of ${what} do not fit at offset ${offset} of a ${buf.length}-byte buffer`);
  }
}

/** Encodes a list of single-key objects (e.g. actions) as a run of attributes. */
export function encodeList(set: AttrSet, list: AttrValues[]): Buffer {
  const out = Buffer.allocUnsafe(listLength(set, list, ''));
  writeList(set, list, out, 0, '');
  return out;
}

/** Length of one attribute of `spec` (header and padding included), as a member of `parent`. */
export function encodedAttrLength(parent: AttrSet, name: string, value: unknown): number {
  return entryLength(parent, name, value, name);
}

/** Writes one attribute; returns the offset after it. */
export function encodeAttr(parent: AttrSet, name: string, value: unknown, buf: Buffer, offset: number): number {
  checkRoom(buf, offset, entryLength(parent, name, value, name), name);
  return writeEntry(parent, name, value, buf, offset, name);
}

// ---------------------------------------------------------------- decoding

interface RawAttr {
  type: number;
  nested: boolean;
  start: number;
  len: number;
}

/** Walks the attribute headers in buf[start, end), checking every length. */
function* rawAttrs(buf: Buffer, start: number, end: number, path: string): Generator<RawAttr> {
  let off = start;
  while (off < end) {
    if (end - off < NLA_HDRLEN) throw new SchemaError(path, `${end - off} stray bytes at offset ${off}, too short for an attribute header`);
    const len = littleEndianHost ? buf.readUInt16LE(off) : buf.readUInt16BE(off);
    const rawType = littleEndianHost ? buf.readUInt16LE(off + 2) : buf.readUInt16BE(off + 2);
    if (len < NLA_HDRLEN) throw new SchemaError(path, `attribute type ${rawType & NLA_TYPE_MASK} at offset ${off} has length ${len} (< 4)`);
    if (off + len > end) throw new SchemaError(path, `attribute type ${rawType & NLA_TYPE_MASK} at offset ${off} runs ${off + len - end} bytes past its container`);
    yield { type: rawType & NLA_TYPE_MASK, nested: (rawType & NLA_F_NESTED) !== 0, start: off + NLA_HDRLEN, len: len - NLA_HDRLEN };
    off += align4(len);
  }
}

/**
 * Recursive sets (OVS actions nest actions) could otherwise take a crafted message
 * deeper than the stack goes; the kernel itself nests far less than this.
 */
const MAX_NEST_DEPTH = 64;
let nestDepth = 0;

function decodePayload(spec: AttrSpec, buf: Buffer, start: number, len: number, path: string): unknown {
  switch (spec.type) {
    case 'flag': case 'pad': return true;
    case 'string': {
      const nul = buf.subarray(start, start + len).indexOf(0);
      return buf.toString('utf8', start, nul === -1 ? start + len : start + nul);
    }
    case 'binary':
      if (spec.len !== undefined && len !== spec.len) throw new SchemaError(path, `expected ${spec.len} bytes, got ${len}`);
      return bytesToValue(buf, start, len, spec.repr);
    case 'struct': {
      const size = structSize(spec.struct);
      if (len < (spec.minLen ?? size)) throw new SchemaError(path, `struct ${spec.struct.name} needs ${spec.minLen ?? size} bytes, got ${len}`);
      return readStruct(spec.struct, buf, start, Math.min(len, size));
    }
    case 'array': {
      const size = typeof spec.of === 'string' ? intSize(spec.of) : structSize(spec.of);
      if (len % size !== 0) throw new SchemaError(path, `${len} bytes is not a whole number of ${size}-byte elements`);
      const out: unknown[] = [];
      for (let off = start; off < start + len; off += size) {
        out.push(typeof spec.of === 'string' ? readInt(buf, off, spec.of) : readStruct(spec.of, buf, off, size));
      }
      return out;
    }
    case 'nested': {
      const set = resolveSet(spec.set);
      if (nestDepth >= MAX_NEST_DEPTH) throw new SchemaError(path, `nested more than ${MAX_NEST_DEPTH} levels deep`);
      nestDepth++;
      try {
        if (spec.masked) return decodeMasked(set, buf, start, start + len, path);
        if (spec.indexed) return decodeIndexed(set, buf, start, start + len, path);
        return spec.list ? decodeListAt(set, buf, start, start + len, path) : decodeAttrsAt(set, buf, start, start + len, path);
      } finally {
        nestDepth--;
      }
    }
    default: {
      const size = intSize(spec.type);
      if (len !== size) throw new SchemaError(path, `expected ${size} bytes for ${spec.type}, got ${len}`);
      return intToValue(spec, readInt(buf, start, spec.type));
    }
  }
}

function unknownAttr(buf: Buffer, a: RawAttr): UnknownAttr {
  const u: UnknownAttr = { type: a.type, raw: Buffer.from(buf.subarray(a.start, a.start + a.len)) };
  if (a.nested) u.nested = true;
  return u;
}

function decodeAttrsAt(set: AttrSet, buf: Buffer, start: number, end: number, path: string): AttrValues {
  const out: AttrValues = {};
  for (const a of rawAttrs(buf, start, end, path)) {
    const spec = set.get(a.type);
    if (!spec) out[unknownKey(a.type)] = unknownAttr(buf, a);
    else if (spec.type !== 'pad') out[spec.name] = decodePayload(spec, buf, a.start, a.len, childPath(path, spec.name));
  }
  return out;
}

function decodeListAt(set: AttrSet, buf: Buffer, start: number, end: number, path: string): AttrValues[] {
  const out: AttrValues[] = [];
  for (const a of rawAttrs(buf, start, end, path)) {
    const spec = set.get(a.type);
    const p = `${path}[${out.length}]`;
    if (!spec) out.push({ [unknownKey(a.type)]: unknownAttr(buf, a) });
    else out.push({ [spec.name]: decodePayload(spec, buf, a.start, a.len, childPath(p, spec.name)) });
  }
  return out;
}

function decodeIndexed(set: AttrSet, buf: Buffer, start: number, end: number, path: string): AttrValues[] {
  const out: AttrValues[] = [];
  for (const a of rawAttrs(buf, start, end, path)) out.push(decodeAttrsAt(set, buf, a.start, a.start + a.len, `${path}[${out.length}]`));
  return out;
}

function decodeMasked(set: AttrSet, buf: Buffer, start: number, end: number, path: string): AttrValues {
  const out: AttrValues = {};
  for (const a of rawAttrs(buf, start, end, path)) {
    const spec = set.get(a.type);
    if (!spec) {
      out[unknownKey(a.type)] = unknownAttr(buf, a);
      continue;
    }
    const p = childPath(path, spec.name);
    if (a.len % 2 !== 0) throw new SchemaError(p, `masked attribute of odd length ${a.len}`);
    const half = a.len / 2;
    out[spec.name] = {
      value: decodePayload(spec, buf, a.start, half, `${p}.value`),
      mask: decodePayload(spec, buf, a.start + half, half, `${p}.mask`),
    };
  }
  return out;
}

/** Decodes buf[start, end) as attributes of `set`. Throws SchemaError naming the path. */
export function decodeAttrs(set: AttrSet, buf: Buffer, start = 0, end = buf.length, path = ''): AttrValues {
  if (start < 0 || end > buf.length || start > end) throw new SchemaError(path, `range ${start}..${end} is outside the ${buf.length}-byte buffer`);
  return decodeAttrsAt(set, buf, start, end, path);
}

/** Decodes a run of attributes as a list of single-key objects (order and repeats kept). */
export function decodeList(set: AttrSet, buf: Buffer, start = 0, end = buf.length, path = ''): AttrValues[] {
  if (start < 0 || end > buf.length || start > end) throw new SchemaError(path, `range ${start}..${end} is outside the ${buf.length}-byte buffer`);
  return decodeListAt(set, buf, start, end, path);
}

// ---------------------------------------------------------------- validation, JSON

/** Checks that `values` can be encoded with `set`; returns the problems found (empty when fine). */
export function validate(set: AttrSet, values: AttrValues): SchemaError[] {
  try {
    encodeAttrs(set, values);
    return [];
  } catch (e) {
    if (e instanceof SchemaError) return [e];
    throw e;
  }
}

/** A JSON-safe copy: bigint as number where exact (else decimal string), bytes as hex. */
export function toJSONValue(value: unknown): unknown {
  if (typeof value === 'bigint') return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (Array.isArray(value)) return value.map(toJSONValue);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toJSONValue(v);
    return out;
  }
  return value;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (Buffer.isBuffer(v)) return 'a Buffer';
  return typeof v === 'string' ? `"${v}"` : typeof v;
}
