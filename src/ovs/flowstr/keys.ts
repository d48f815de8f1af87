/**
 * Flow keys and masks in ovs-dpctl 3.1's datapath flow syntax: `in_port(1),eth(...),
 * eth_type(0x0800),ipv4(src=10.0.0.1/255.255.255.0,proto=6,frag=no),tcp(dst=80)`.
 *
 * Parsing builds the decoded-value objects of src/ovs/keys.ts (the codec's shapes), in
 * string order, with the mask ovs-dpctl derives from the text: a field given without
 * `/mask` is exact, a field left out of `name(...)` is wildcarded (zero), a whole
 * attribute left out is absent from both key and mask. Printing is ovs-dpctl's
 * odp_flow_format(): `/mask` only where the mask is not exact, fully wildcarded fields
 * left out unless verbose (`-m`).
 *
 * The syntax's names differ from the schema's in places (skb_priority = priority,
 * eth = ethernet, eth_type = ethertype, ct_label = ct_labels, ct_tuple4 =
 * ct_orig_tuple_ipv4, nd_ext = nd_extensions); the table below maps them.
 * docs/flow-syntax.md records where ovs-dpctl's behaviour is surprising.
 */
import { encodeAttrs, decodeAttrs, ipv4Text, macWordsText } from '../../nl/codec.js';
import { formatIPv6, parseIPv6 } from '../../nl/repr.js';
import { type AttrSet, type AttrValues, type UnknownAttr, UNKNOWN_PREFIX, unknownKey } from '../../nl/schema.js';
import { CT_STATE_FLAGS, flowKeyAttrs, tunnelKeyAttrs } from '../keys.js';
import { Scanner, closeMatches, isNameStart, isWordCode } from './scanner.js';

export interface KeyAttr {
  /** The schema attribute name (src/ovs/keys.ts): 'ipv4', 'priority', 'ethernet', ... */
  name: string;
  value: unknown;
  mask?: unknown;
}

export interface KeyParseOptions {
  /** Parse `/mask` parts and build the mask (flow keys, set()); false rejects them. */
  masked: boolean;
  /** Port names accepted in in_port(NAME), as ovs-dpctl takes them from the datapath. */
  portNumbers?: ReadonlyMap<string, number>;
  /** Reuse attributes parsed before (see KeyAttrMemo): for many keys parsed with the same options. */
  memo?: KeyAttrMemo;
}

/**
 * The text each key attribute had when last parsed, and what it gave. The lines of a flow
 * file mostly repeat attributes word for word (the same in_port, eth, eth_type): an
 * attribute whose text is the one before is taken from here instead of being parsed
 * again. An attribute's parse reads its own text and nothing after it, so the same text
 * gives the same result. The keys that come out share those values: they are read-only.
 * One memo serves one set of parse options.
 */
export class KeyAttrMemo {
  readonly last = new Map<object, MemoAttr>();
  /**
   * The attributes of the last whole key list parsed with this memo (not those inside
   * encap()), in text order, the first `listLength` of them: a sender that encodes each
   * attribute once (MemoAttr.encoded) builds the key and mask from these.
   */
  readonly list: MemoAttr[] = [];
  listLength = 0;
  /** parseKeyEntries' parse options, made once per set of ports. */
  entryOptions: KeyParseOptions | undefined;
}

/** A key attribute as KeyAttrMemo keeps it. */
export interface MemoAttr {
  /** Its text, name to ')'. */
  text: string;
  attr: KeyAttr;
  /**
   * For a sender (src/client/flows.ts): the attribute as OVS_FLOW_ATTR_KEY and _MASK
   * carry it (header, payload, padding), kept once it is sent a second time (the value
   * and mask never change, so neither do these bytes), and how often it was sent.
   */
  encoded: { key: Buffer; mask: Buffer } | undefined;
  sends: number;
}

export interface KeyFormatOptions {
  /** ovs-dpctl -m: print wildcarded fields too. */
  verbose?: boolean;
  /** Port names printed in an exact in_port(...) (ovs-dpctl does with -m or --names). */
  portNames?: ReadonlyMap<number, string>;
}

// ---------------------------------------------------------------- numbers and text

const U32_MAX = 0xffffffff;

/** C's printf("%#x"): no prefix for zero. */
export function hexAlt(n: number | bigint): string {
  return n === 0 || n === 0n ? '0' : `0x${n.toString(16)}`;
}

function hex(n: number | bigint): string {
  return `0x${n.toString(16)}`;
}

/** '; did you mean "x"?' for a mistyped name, or nothing. */
function didYouMean(word: string, candidates: Iterable<string>, suffix = '('): string {
  const m = closeMatches(word, candidates, 1);
  return m.length ? `; did you mean "${m[0]}${suffix}"?` : '';
}

/** Matches `re` (sticky) at the scanner's position without skipping space; advances past it. */
export function take(sc: Scanner, re: RegExp): RegExpExecArray | null {
  re.lastIndex = sc.pos;
  const m = re.exec(sc.input);
  if (m) sc.pos += m[0].length;
  return m;
}

// Hot paths scan with character codes: a flow file of many thousand lines goes through
// these for every field.

function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isHexCode(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

function isLetterCode(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}

function isLowerHexCode(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102);
}

/** The value of the decimal digits s[start, end) (at most 15 of them). */
function decimalValue(s: string, start: number, end: number): number {
  let v = 0;
  for (let i = start; i < end; i++) v = v * 10 + s.charCodeAt(i) - 48;
  return v;
}

/** A hex digit's value (the code must be one). */
function hexValue(c: number): number {
  return c <= 57 ? c - 48 : (c | 0x20) - 87;
}

/**
 * Where the C integer that starts at `pos` ends (scanf's %i: optional sign, then 0x hex,
 * leading-0 octal or decimal; "0x" without a hex digit is the 0 alone), or -1 when none
 * starts there.
 */
function cIntEnd(s: string, pos: number): number {
  let i = pos;
  let c = s.charCodeAt(i);
  if (c === 43 /* + */ || c === 45 /* - */) c = s.charCodeAt(++i);
  if (c === 48 /* 0 */) {
    const x = s.charCodeAt(i + 1);
    if ((x === 120 || x === 88) && isHexCode(s.charCodeAt(i + 2))) {
      i += 3;
      while (isHexCode(s.charCodeAt(i))) i++;
      return i;
    }
    i++;
    for (c = s.charCodeAt(i); c >= 48 && c <= 55; c = s.charCodeAt(++i));
    return i;
  }
  if (!isDigitCode(c)) return -1;
  for (c = s.charCodeAt(++i); isDigitCode(c); c = s.charCodeAt(++i));
  return i;
}

/** The C integer text s[start, end) (as cIntEnd found it) as a BigInt, sign applied. */
function cIntBig(s: string, start: number, end: number): bigint {
  let text = s.slice(start, end);
  let negative = false;
  if (text[0] === '+' || text[0] === '-') {
    negative = text[0] === '-';
    text = text.slice(1);
  }
  const v = /^0[xX]/.test(text) ? BigInt(text) : text.length > 1 && text[0] === '0' ? BigInt(`0o${text.slice(1)}`) : BigInt(text);
  return negative ? -v : v;
}

/**
 * The C integer text s[start, end) stored into a field of `bits` <= 32, wrapped as C
 * stores it. Numbers short enough to be exact as doubles skip BigInt.
 */
function cIntField(s: string, start: number, end: number, bits: number): number {
  let i = start;
  let c = s.charCodeAt(i);
  const negative = c === 45;
  if (c === 43 || c === 45) c = s.charCodeAt(++i);
  let v = 0;
  if (c === 48 && i + 1 < end && (s.charCodeAt(i + 1) | 0x20) === 120) {
    // Up to 13 hex digits (52 bits) are exact.
    if (end - i - 2 > 13) return Number(BigInt.asUintN(bits, cIntBig(s, start, end)));
    for (i += 2; i < end; i++) v = v * 16 + hexValue(s.charCodeAt(i));
  } else {
    // Up to 15 digits, decimal or octal, are exact.
    const base = c === 48 ? 8 : 10;
    if (end - i > 15) return Number(BigInt.asUintN(bits, cIntBig(s, start, end)));
    for (; i < end; i++) v = v * base + s.charCodeAt(i) - 48;
  }
  if (negative) v = -v;
  // ToUint32 and ToInt32 wrap modulo 2^32 exactly for these integers.
  return bits === 32 ? v >>> 0 : v & ((1 << bits) - 1);
}

/**
 * An integer as scanf's %i reads it (decimal, 0x hex, leading-0 octal, optional sign),
 * stored into a `bits`-wide field the way C stores it: wrapped, so "-1" is all ones and
 * 256 in a u8 is 0. ovs-dpctl reads every number this way; we send what it sends.
 */
export function scanInt(sc: Scanner, bits: number, what: string): bigint {
  const at = sc.pos;
  const end = cIntEnd(sc.input, at);
  if (end < 0) throw sc.error(`expected ${what}${sc.found()}`, at);
  sc.pos = end;
  return BigInt.asUintN(bits, cIntBig(sc.input, at, end));
}

/** Whether a C integer starts at the scanner. */
function looksNumeric(sc: Scanner): boolean {
  return cIntEnd(sc.input, sc.pos) >= 0;
}

/** scanInt for a field of up to 32 bits, as a number; undefined (not moved) when no integer is there. */
function readNum(sc: Scanner, bits: number): number | undefined {
  const at = sc.pos;
  const end = cIntEnd(sc.input, at);
  if (end < 0) return undefined;
  sc.pos = end;
  return cIntField(sc.input, at, end, bits);
}

/** scanInt for a field of up to 32 bits, as a number. */
export function scanNum(sc: Scanner, bits: number, what: string): number {
  const v = readNum(sc, bits);
  if (v === undefined) throw sc.error(`expected ${what}${sc.found()}`);
  return v;
}

/**
 * Dotted IPv4 as ovs-dpctl scans it (%hhu four times: each part wraps to a byte), in the
 * codec's text form. Text already in that form gives the codec's remembered text of the
 * address (ipv4Text): the same string each time an address is repeated, which the
 * encoder compares as a pointer.
 */
export function scanIPv4(sc: Scanner, what: string): string {
  const s = sc.input;
  const at = sc.pos;
  let i = at;
  let canonical = true;
  let value = 0;
  for (let part = 0; part < 4; part++) {
    if (part > 0 && s.charCodeAt(i++) !== 46 /* . */) throw sc.error(`expected ${what} (an IPv4 address)${sc.found()}`, at);
    const start = i;
    while (isDigitCode(s.charCodeAt(i))) i++;
    if (i === start) throw sc.error(`expected ${what} (an IPv4 address)${sc.found()}`, at);
    // As printed: 0-255 without leading zeros.
    const len = i - start;
    const n = len > 3 ? 256 : decimalValue(s, start, i);
    if (n > 255 || (len > 1 && s.charCodeAt(start) === 48)) canonical = false;
    value = value * 256 + n;
  }
  sc.pos = i;
  if (canonical) return ipv4Text(value);
  return s.slice(at, i).split('.').map((p) => Number(BigInt(p) & 255n)).join('.');
}

const IPV6_TEXT = /[0-9a-fA-F:.]{1,46}/y;

export function scanIPv6(sc: Scanner, what: string): string {
  const at = sc.pos;
  const m = take(sc, IPV6_TEXT);
  const b = m ? parseIPv6(m[0]) : undefined;
  if (!b) {
    sc.pos = at;
    throw sc.error(`expected ${what} (an IPv6 address)${sc.found()}`, at);
  }
  return formatIPv6(b);
}

/**
 * A MAC address, six groups of one or two hex digits, in the codec's text form (two
 * lower-case digits each). Text already in that form gives the codec's remembered text of
 * the address (macWordsText), as scanIPv4 does.
 */
export function scanMac(sc: Scanner, what: string): string {
  const s = sc.input;
  const at = sc.pos;
  let i = at;
  let canonical = true;
  // The address as two big-endian words: bytes 0-1, bytes 2-5.
  let high = 0;
  let low = 0;
  for (let group = 0; group < 6; group++) {
    if (group > 0 && s.charCodeAt(i++) !== 58 /* : */) throw sc.error(`expected ${what} (a MAC address)${sc.found()}`, at);
    const start = i;
    if (isHexCode(s.charCodeAt(i))) i++;
    if (isHexCode(s.charCodeAt(i))) i++;
    if (i === start) throw sc.error(`expected ${what} (a MAC address)${sc.found()}`, at);
    if (i - start === 1 || !isLowerHexCode(s.charCodeAt(start)) || !isLowerHexCode(s.charCodeAt(start + 1))) canonical = false;
    else if (group < 2) high = (high << 8) | (hexValue(s.charCodeAt(start)) << 4) | hexValue(s.charCodeAt(start + 1));
    else low = (low << 8) | (hexValue(s.charCodeAt(start)) << 4) | hexValue(s.charCodeAt(start + 1));
  }
  sc.pos = i;
  if (canonical) return macWordsText(high, low);
  return s.slice(at, i).split(':').map((x) => x.toLowerCase().padStart(2, '0')).join(':');
}

/**
 * A number of up to `width` bytes as ovs-dpctl's parse_int_string() reads it: "0x" and
 * hex digits of any length that fits, or a decimal up to 64 bits; right-aligned,
 * big-endian.
 */
export function scanWideInt(sc: Scanner, width: number, what: string): Buffer {
  const at = sc.pos;
  const out = Buffer.alloc(width);
  const hexm = take(sc, /0[xX]([0-9a-fA-F]*)/y);
  if (hexm) {
    const digits = hexm[1]!.replace(/^0+/, '');
    if (Math.ceil(digits.length / 2) > width) throw sc.error(`${what} does not fit in ${width} bytes`, at);
    const padded = digits.length % 2 ? `0${digits}` : digits;
    Buffer.from(padded, 'hex').copy(out, width - padded.length / 2);
    return out;
  }
  const dec = take(sc, /[0-9]+/y);
  if (!dec) throw sc.error(`expected ${what}${sc.found()}`, at);
  let v = BigInt(dec[0]);
  if (v > 0xffffffffffffffffn) throw sc.error(`${what} does not fit in 64 bits`, at);
  for (let i = width - 1; i >= 0; i--) {
    out[i] = Number(v & 255n);
    v >>= 8n;
  }
  if (v) throw sc.error(`${what} does not fit in ${width} bytes`, at);
  return out;
}

/** ds_put_hex(): "0x" and the bytes from the first non-zero one, or "0". */
export function hexBytes(b: Uint8Array): string {
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  if (i === b.length) return '0';
  return `0x${b[i]!.toString(16)}${Buffer.from(b.subarray(i + 1)).toString('hex')}`;
}

// ---------------------------------------------------------------- field kinds

/** How one field reads and prints: the scan_X / format_X pairs of odp-util.c. */
interface Kind {
  scan(sc: Scanner, what: string): unknown;
  zero: unknown;
  /** The mask a field gets when the text gives no `/mask`. */
  exact: unknown;
  isZero(v: unknown): boolean;
  isExact(v: unknown): boolean;
  show(v: unknown): string;
  showMask(v: unknown): string;
}

function intKind(bits: 8 | 16 | 32, show: (n: number) => string, showMask: (n: number) => string = hexAlt): Kind {
  const all = bits === 32 ? U32_MAX : (1 << bits) - 1;
  return {
    scan: (sc, what) => scanNum(sc, bits, what),
    zero: 0,
    exact: all,
    isZero: (v) => v === 0,
    isExact: (v) => v === all,
    show: (v) => show(v as number),
    showMask: (v) => showMask(v as number),
  };
}

const dec = (n: number): string => String(n);

const KINDS = {
  ipv4: {
    scan: scanIPv4,
    zero: '0.0.0.0',
    exact: '255.255.255.255',
    isZero: (v) => v === '0.0.0.0',
    isExact: (v) => v === '255.255.255.255',
    show: String,
    showMask: String,
  } satisfies Kind,
  ipv6: {
    scan: scanIPv6,
    zero: '::',
    exact: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    isZero: (v) => v === '::',
    isExact: (v) => v === 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    show: String,
    showMask: String,
  } satisfies Kind,
  mac: {
    scan: scanMac,
    zero: '00:00:00:00:00:00',
    exact: 'ff:ff:ff:ff:ff:ff',
    isZero: (v) => v === '00:00:00:00:00:00',
    isExact: (v) => v === 'ff:ff:ff:ff:ff:ff',
    show: String,
    showMask: String,
  } satisfies Kind,
  /** format_u8u: decimal value, hex mask. */
  u8: intKind(8, dec),
  /** format_u8x. */
  u8x: intKind(8, hexAlt),
  /** format_be16. */
  be16: intKind(16, dec),
  /** format_be16x. */
  be16x: intKind(16, hexAlt),
  /** The 20-bit IPv6 flow label: larger values are refused, an omitted mask is 0xfffff. */
  label: {
    scan(sc, what) {
      const at = sc.pos;
      const n = scanNum(sc, 32, what);
      if (n & ~0xfffff) throw sc.error(`${what} ${hexAlt(n)} does not fit in the 20-bit flow label`, at);
      return n;
    },
    zero: 0,
    exact: 0xfffff,
    isZero: (v) => v === 0,
    isExact: (v) => ((v as number) & 0xfffff) === 0xfffff,
    show: (v) => hexAlt(v as number),
    showMask: (v) => hexAlt(v as number),
  } satisfies Kind,
} as const;

type KindName = keyof typeof KINDS | 'frag' | 'be32x' | 'be64';

const FRAG_NAMES = ['no', 'first', 'later'] as const;

/** One field of a struct attribute: its label in the text and its schema field. */
interface FieldDef {
  label: string;
  field: string;
  kind: KindName;
  /** Labels the parser also accepts (ovs-dpctl reads ct_tuple6's ports as tp_src/tp_dst). */
  alias?: string;
  /** Reads a value (or a mask) of the field's kind. */
  scan: (sc: Scanner, what: string) => unknown;
  /** The field's wildcard and exact-match values (zeroOf, exactOf). */
  zero: unknown;
  exact: unknown;
  /** How errors name its value and its mask: "a value for src", "a mask for src". */
  what: string;
  maskWhat: string;
}

/** A mask value for "exact match" of a field kind. */
function exactOf(kind: KindName): unknown {
  if (kind === 'frag') return 0xff;
  if (kind === 'be32x') return U32_MAX;
  if (kind === 'be64') return 0xffffffffffffffffn;
  return KINDS[kind].exact;
}

function zeroOf(kind: KindName): unknown {
  if (kind === 'be64') return 0n;
  if (kind === 'frag' || kind === 'be32x') return 0;
  return KINDS[kind].zero;
}

/** A frag type: no, first or later, in any case. */
function scanFrag(sc: Scanner): number {
  const s = sc.input;
  const at = sc.pos;
  let end = at;
  while (end - at < 7 && isLetterCode(s.charCodeAt(end))) end++;
  // The names, in any case (compared by character: no text made per key).
  for (let i = 0; i < FRAG_NAMES.length; i++) {
    const name = FRAG_NAMES[i]!;
    if (name.length !== end - at) continue;
    let j = 0;
    while (j < name.length && (s.charCodeAt(at + j) | 0x20) === name.charCodeAt(j)) j++;
    if (j === name.length) {
      sc.pos = end;
      return i;
    }
  }
  throw sc.error(`expected ${FRAG_NAMES.join(', ')} for frag${sc.found()}`, at);
}

const scanBe32 = (sc: Scanner, what: string): number => scanNum(sc, 32, what);
const scanBe64 = (sc: Scanner, what: string): bigint => scanInt(sc, 64, what);

/** How a field kind's values are read. */
function scannerOf(kind: KindName): (sc: Scanner, what: string) => unknown {
  if (kind === 'frag') return scanFrag;
  if (kind === 'be32x') return scanBe32;
  if (kind === 'be64') return scanBe64;
  return KINDS[kind].scan;
}

/**
 * Reads one field's value and, when masked, its mask (explicit or the field's exact mask)
 * into value[f.field] and mask[f.field].
 */
function scanField(sc: Scanner, f: FieldDef, masked: boolean, value: Record<string, unknown>, mask: Record<string, unknown>): void {
  value[f.field] = f.scan(sc, f.what);
  // A frag type is an enumeration: ovs-dpctl takes no mask for it.
  if (masked && f.kind !== 'frag' && sc.input.charCodeAt(sc.pos) === 47 /* / */) {
    sc.pos++;
    mask[f.field] = f.scan(sc, f.maskWhat);
  } else mask[f.field] = f.exact;
}

/**
 * One `label=value[/mask],` as odp-util.c's format_X helpers print it: nothing when the
 * mask is all zeros (unless verbose), `/mask` when it is neither zeros nor ones. An
 * undefined mask means exact (a key without mask, a set() action).
 */
function formatField(f: FieldDef, label: string, v: unknown, m: unknown, verbose: boolean): string {
  const piece = fieldPiece(f, label, m, verbose);
  return piece.show ? piece.text + piece.show(v) + piece.tail : piece.text;
}

/** What formatField() prints for a mask, before the value: `text`, or text + show(value) + tail. */
interface FieldPiece {
  text: string;
  show?: (v: unknown) => string;
  tail: string;
}

const showFrag = (v: unknown): string => FRAG_NAMES[v as number] ?? '<error>';
const showHex = (v: unknown): string => hex(v as number | bigint);

function fieldPiece(f: FieldDef, label: string, m: unknown, verbose: boolean): FieldPiece {
  switch (f.kind) {
    case 'frag': {
      // Verbose or not, a wildcarded frag is left out; a partial mask is an error text.
      if (m !== undefined && m === 0) return { text: '', tail: '' };
      if (m !== undefined && m !== 0xff) return { text: `error: partial mask not supported for frag (${hexAlt(m as number)}),`, tail: '' };
      return { text: `${label}=`, show: showFrag, tail: ',' };
    }
    case 'be32x':
      return { text: `${label}=`, show: showHex, tail: ',' };
    case 'be64': {
      // format_be64 treats a missing mask as empty: tun_id shows only with -m then.
      const mask = m === undefined ? 0n : (m as bigint);
      if (!verbose && mask === 0n) return { text: '', tail: '' };
      const full = m === undefined || mask === 0xffffffffffffffffn;
      return { text: `${label}=`, show: showHex, tail: full ? ',' : `/${hexAlt(mask)},` };
    }
    default: {
      const k: Kind = KINDS[f.kind];
      if (!verbose && m !== undefined && k.isZero(m)) return { text: '', tail: '' };
      const full = m === undefined || k.isExact(m);
      return { text: `${label}=`, show: k.show, tail: full ? ',' : `/${k.showMask(m)},` };
    }
  }
}

// ---------------------------------------------------------------- attribute table

interface StructAttr {
  /** The flow-string name. */
  text: string;
  attr: string;
  kind: 'struct';
  fields: readonly FieldDef[];
  /** Every field wildcarded: what a key's and a mask's value start from. */
  zeros: Readonly<Record<string, unknown>>;
}

interface OtherAttr {
  text: string;
  attr: string;
  kind:
    | 'u32' | 'recirc_id' | 'ct_state' | 'ct_zone' | 'ct_mark' | 'ct_label' | 'in_port' | 'eth_type'
    | 'vlan' | 'mpls' | 'tcp_flags' | 'packet_type' | 'tunnel' | 'nsh' | 'encap' | 'nd_ext';
}

type AttrDef = StructAttr | OtherAttr;

const ip4 = (label: string, field: string): FieldDef => fld(label, field, 'ipv4');
const ip6 = (label: string, field: string): FieldDef => fld(label, field, 'ipv6');
const mac = (label: string, field: string): FieldDef => fld(label, field, 'mac');
function fld(label: string, field: string, kind: KindName, alias?: string): FieldDef {
  return {
    label, field, kind, alias, scan: scannerOf(kind), zero: zeroOf(kind), exact: exactOf(kind),
    what: `a value for ${label}`, maskWhat: `a mask for ${label}`,
  };
}

function struct(text: string, attr: string, fields: readonly FieldDef[]): StructAttr {
  const zeros: Record<string, unknown> = {};
  for (const f of fields) zeros[f.field] = f.zero;
  return { text, attr, kind: 'struct', fields, zeros };
}

const ports = (p: string): FieldDef[] => [fld('src', `${p}_src`, 'be16'), fld('dst', `${p}_dst`, 'be16')];

/** In the order odp-util.c's parser tries them (it matters only for prefixes: none clash). */
const ATTRS: readonly AttrDef[] = [
  { text: 'skb_priority', attr: 'priority', kind: 'u32' },
  { text: 'skb_mark', attr: 'skb_mark', kind: 'u32' },
  { text: 'recirc_id', attr: 'recirc_id', kind: 'recirc_id' },
  { text: 'dp_hash', attr: 'dp_hash', kind: 'u32' },
  { text: 'ct_state', attr: 'ct_state', kind: 'ct_state' },
  { text: 'ct_zone', attr: 'ct_zone', kind: 'ct_zone' },
  { text: 'ct_mark', attr: 'ct_mark', kind: 'ct_mark' },
  { text: 'ct_label', attr: 'ct_labels', kind: 'ct_label' },
  struct('ct_tuple4', 'ct_orig_tuple_ipv4', [ip4('src', 'ipv4_src'), ip4('dst', 'ipv4_dst'), fld('proto', 'ipv4_proto', 'u8'),
    fld('tp_src', 'src_port', 'be16'), fld('tp_dst', 'dst_port', 'be16')]),
  // Printed with src_port/dst_port, read by ovs-dpctl only as tp_src/tp_dst: we take both.
  struct('ct_tuple6', 'ct_orig_tuple_ipv6', [ip6('src', 'ipv6_src'), ip6('dst', 'ipv6_dst'), fld('proto', 'ipv6_proto', 'u8'),
    fld('src_port', 'src_port', 'be16', 'tp_src'), fld('dst_port', 'dst_port', 'be16', 'tp_dst')]),
  { text: 'tunnel', attr: 'tunnel', kind: 'tunnel' },
  { text: 'in_port', attr: 'in_port', kind: 'in_port' },
  struct('eth', 'ethernet', [mac('src', 'eth_src'), mac('dst', 'eth_dst')]),
  { text: 'vlan', attr: 'vlan', kind: 'vlan' },
  { text: 'eth_type', attr: 'ethertype', kind: 'eth_type' },
  { text: 'mpls', attr: 'mpls', kind: 'mpls' },
  struct('ipv4', 'ipv4', [ip4('src', 'ipv4_src'), ip4('dst', 'ipv4_dst'), fld('proto', 'ipv4_proto', 'u8'),
    fld('tos', 'ipv4_tos', 'u8x'), fld('ttl', 'ipv4_ttl', 'u8'), fld('frag', 'ipv4_frag', 'frag')]),
  struct('ipv6', 'ipv6', [ip6('src', 'ipv6_src'), ip6('dst', 'ipv6_dst'), fld('label', 'ipv6_label', 'label'),
    fld('proto', 'ipv6_proto', 'u8'), fld('tclass', 'ipv6_tclass', 'u8x'), fld('hlimit', 'ipv6_hlimit', 'u8'),
    fld('frag', 'ipv6_frag', 'frag')]),
  struct('tcp', 'tcp', ports('tcp')),
  { text: 'tcp_flags', attr: 'tcp_flags', kind: 'tcp_flags' },
  struct('udp', 'udp', ports('udp')),
  struct('sctp', 'sctp', ports('sctp')),
  struct('icmp', 'icmp', [fld('type', 'icmp_type', 'u8'), fld('code', 'icmp_code', 'u8')]),
  struct('icmpv6', 'icmpv6', [fld('type', 'icmpv6_type', 'u8'), fld('code', 'icmpv6_code', 'u8')]),
  struct('arp', 'arp', [ip4('sip', 'arp_sip'), ip4('tip', 'arp_tip'), fld('op', 'arp_op', 'be16'), mac('sha', 'arp_sha'),
    mac('tha', 'arp_tha')]),
  struct('nd', 'nd', [ip6('target', 'nd_target'), mac('sll', 'nd_sll'), mac('tll', 'nd_tll')]),
  { text: 'nd_ext', attr: 'nd_extensions', kind: 'nd_ext' },
  { text: 'packet_type', attr: 'packet_type', kind: 'packet_type' },
  { text: 'nsh', attr: 'nsh', kind: 'nsh' },
  { text: 'encap', attr: 'encap', kind: 'encap' },
];

/**
 * ATTRS by length and first character of their text (length * 128 + code), so that a
 * name in the input is looked up without cutting it out. Dense (a sparse array would be
 * a hash table); a longer name's index is past the end and finds nothing.
 */
const BY_SIZE_AND_LEAD: (AttrDef[] | undefined)[] = Array.from({ length: (Math.max(...ATTRS.map((a) => a.text.length)) + 1) * 128 }, () => undefined);
for (const a of ATTRS) (BY_SIZE_AND_LEAD[a.text.length * 128 + a.text.charCodeAt(0)] ??= []).push(a);

/**
 * The attribute whose text is s[start, end) (a name: its first character is ASCII), if any.
 * (A slice compared with === is several times faster than startsWith at a position.)
 */
function attrNamed(s: string, start: number, end: number): AttrDef | undefined {
  const candidates = BY_SIZE_AND_LEAD[(end - start) * 128 + s.charCodeAt(start)];
  if (!candidates) return undefined;
  const name = s.slice(start, end);
  for (const a of candidates) if (a.text === name) return a;
  return undefined;
}
const BY_ATTR = new Map(ATTRS.map((a) => [a.attr, a]));

const ND_EXT_FIELDS: readonly FieldDef[] = [fld('nd_reserved', 'nd_reserved', 'be32x'), fld('nd_options_type', 'nd_options_type', 'u8')];

/**
 * A field of a struct key attribute as the flow syntax reads it: its label (`src`), the
 * schema's struct member (`ipv4_src`), how its value is written (ipv4, be16, u8, ...),
 * and whether a value written without `/mask` is matched exactly with a mask that is the
 * same whatever the value (true for all but frag, which takes no mask).
 */
export interface KeyStructField {
  label: string;
  field: string;
  kind: string;
  exactMaskFixed: boolean;
}

/**
 * The schema name and fields of the struct key attribute whose flow-string name is
 * `text` (`ipv4` -> ipv4 with src, dst, proto, ...); undefined for any other attribute.
 */
export function keyStructFields(text: string): { attr: string; fields: readonly KeyStructField[] } | undefined {
  const def = attrNamed(text, 0, text.length);
  if (def?.kind !== 'struct') return undefined;
  // scanField: a value without a mask gets the field's one exact mask (f.exact).
  return { attr: def.attr, fields: def.fields.map((f) => ({ label: f.label, field: f.field, kind: f.kind, exactMaskFixed: f.kind !== 'frag' })) };
}

/** The flow-string name of a schema key attribute ('priority' -> 'skb_priority'). */
export function keyAttrText(name: string): string {
  return BY_ATTR.get(name)?.text ?? name;
}

// ---------------------------------------------------------------- flags

/** TCP flag names by bit (packets.c packet_tcp_flag_to_string). */
const TCP_FLAG_NAMES: Readonly<Record<number, string>> = {
  0x001: 'fin', 0x002: 'syn', 0x004: 'rst', 0x008: 'psh', 0x010: 'ack', 0x020: 'urg', 0x040: 'ece',
  0x080: 'cwr', 0x100: 'ns', 0x200: '[200]', 0x400: '[400]', 0x800: '[800]',
};

const CT_STATE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(CT_STATE_FLAGS).map(([name, bit]) => [bit, name]),
);

/** Tunnel flags (flow.c flow_tun_flag_to_string); 'key' stands for "tun_id is present". */
const TUN_FLAG_NAMES: Readonly<Record<number, string>> = { 0x1: 'oam', 0x2: 'df', 0x4: 'csum', 0x8: 'key' };
const TUN_FLAG_ATTRS: ReadonlyArray<[number, string]> = [[0x2, 'dont_fragment'], [0x4, 'csum'], [0x1, 'oam']];

/** format_flags(): names joined by '|', lowest bit first, unnamed bits as one hex number; 0 is "0". */
function formatFlags(names: Readonly<Record<number, string>>, flags: number): string {
  if (!flags) return '0';
  const out: string[] = [];
  let bad = 0;
  for (let bit = 1; bit && bit <= flags; bit = (bit << 1) >>> 0) {
    if (!(flags & bit)) continue;
    if (names[bit]) out.push(names[bit]!);
    else bad = (bad | bit) >>> 0;
  }
  if (bad) out.push(hex(bad));
  return out.join('|');
}

/** format_flags_masked(): all-ones mask as plain flags, zero as "0/0", else +name/-name per mask bit. */
function formatFlagsMasked(names: Readonly<Record<number, string>>, flags: number, mask: number, maxMask: number): string {
  if (mask === maxMask) return formatFlags(names, flags);
  if (!mask) return '0/0';
  let out = '';
  for (let i = 0; i < 32; i++) {
    const bit = 2 ** i;
    if (Math.floor(mask / bit) % 2 === 0) continue;
    out += `${Math.floor(flags / bit) % 2 ? '+' : '-'}${names[bit] ?? '[Unknown]'}`;
  }
  return out;
}

const flagBitsCache = new WeakMap<Readonly<Record<number, string>>, Map<string, number>>();

/** Name -> bit for a flag name table. */
function flagBits(names: Readonly<Record<number, string>>): Map<string, number> {
  let m = flagBitsCache.get(names);
  if (!m) {
    m = new Map(Object.entries(names).map(([bit, name]) => [name, Number(bit)]));
    flagBitsCache.set(names, m);
  }
  return m;
}

/**
 * parse_flags(): `N/M` numbers, `+a-b` masked names, or `a|b|N` (mask all ones), up to
 * the closing ')'. Bits outside `allowed` are refused.
 */
function scanFlags(
  sc: Scanner, names: Readonly<Record<number, string>>, allowed: number, masked: boolean, what: string,
): { value: number; mask: number } {
  const start = sc.pos;
  const byName = flagBits(names);
  const check = (v: number, at: number): number => {
    if ((v & ~allowed) >>> 0) throw sc.error(`${what}: ${hexAlt(v)} has bits outside ${hexAlt(allowed)}`, at);
    return v >>> 0;
  };
  if (masked) {
    // NUMBER/NUMBER, or else one of the forms below from the start.
    const value = readNum(sc, 32);
    if (value !== undefined && sc.input.charCodeAt(sc.pos) === 47 /* / */) {
      sc.pos++;
      const mask = readNum(sc, 32);
      if (mask !== undefined) return { value: check(value, start), mask: check(mask, start) };
    }
    sc.pos = start;
  }
  if (masked && (sc.input[sc.pos] === '+' || sc.input[sc.pos] === '-')) {
    let value = 0;
    let mask = 0;
    while (sc.input[sc.pos] === '+' || sc.input[sc.pos] === '-') {
      const set = sc.input[sc.pos] === '+';
      sc.pos++;
      const at = sc.pos;
      const m = take(sc, /[a-z0-9_[\]]+/y);
      const bit = m ? byName.get(m[0]) : undefined;
      if (bit === undefined) {
        sc.pos = at;
        throw sc.error(`expected a ${what} name (${[...byName.keys()].join(', ')})${sc.found()}`, at);
      }
      if (mask & bit) throw sc.error(`${what} "${m![0]}" given twice`, at);
      check(bit, at);
      if (set) value |= bit;
      mask |= bit;
    }
    return { value: value >>> 0, mask: mask >>> 0 };
  }
  let value = 0;
  while (sc.pos < sc.input.length && sc.input[sc.pos] !== ')') {
    const at = sc.pos;
    if (looksNumeric(sc)) {
      value |= check(scanNum(sc, 32, what), at);
    } else {
      const m = take(sc, /[a-z0-9_[\]]+/y);
      const bit = m ? byName.get(m[0]) : undefined;
      if (bit === undefined) {
        sc.pos = at;
        throw sc.error(`expected a ${what} name (${[...byName.keys()].join(', ')}) or a number${sc.found()}`, at);
      }
      value |= check(bit, at);
    }
    if (sc.input[sc.pos] === '|') sc.pos++;
    else break;
  }
  return { value: value >>> 0, mask: U32_MAX };
}

// ---------------------------------------------------------------- parsing

/** Both halves of a masked attribute, built side by side. */
interface Pair {
  value: unknown;
  mask: unknown;
}

function expectOpen(sc: Scanner, text: string): void {
  if (sc.input[sc.pos] !== '(') throw sc.error(`expected "(" after "${text}"${sc.found()}`);
  sc.pos++;
}

function expectClose(sc: Scanner, text: string): void {
  if (sc.input[sc.pos] !== ')') throw sc.error(`expected ")" to close ${text}(${sc.found()}`);
  sc.pos++;
}

/** The field whose label (or alias) is s[start, end), if any. */
function fieldNamed(fields: readonly FieldDef[], s: string, start: number, end: number): FieldDef | undefined {
  const label = s.slice(start, end);
  for (const f of fields) if (f.label === label || f.alias === label) return f;
  return undefined;
}

/**
 * `label=value[/mask],...)` for a list of fields: any order, any subset, a trailing comma
 * allowed (as ovs-dpctl's SCAN_BEGIN/SCAN_FIELD/SCAN_FINISH loop). Consumes the ')'.
 * Every field read goes into value[f.field] and mask[f.field].
 */
function scanFieldList(
  sc: Scanner, owner: string, fields: readonly FieldDef[], masked: boolean,
  value: Record<string, unknown>, mask: Record<string, unknown>,
): void {
  const s = sc.input;
  for (;;) {
    if (s.charCodeAt(sc.pos) === 41 /* ) */) {
      sc.pos++;
      return;
    }
    const at = sc.pos;
    let end = at;
    while (isWordCode(s.charCodeAt(end))) end++;
    const f = end > at && s.charCodeAt(end) === 61 /* = */ ? fieldNamed(fields, s, at, end) : undefined;
    if (!f) {
      const labels = fields.map((x) => `${x.label}=`).join(', ');
      const word = /^\w+/.exec(s.slice(at))?.[0];
      const hint = word ? didYouMean(word, fields.map((x) => x.label), '=') : '';
      throw sc.error(`expected one of ${labels} or ")" in ${owner}(${sc.found()}${hint}`, at);
    }
    sc.pos = end + 1;
    scanField(sc, f, masked, value, mask);
    const c = s.charCodeAt(sc.pos);
    if (c === 44 /* , */) sc.pos++;
    else if (c !== 41 /* ) */) throw sc.error(`expected "," or ")" after ${f.label}= in ${owner}(${sc.found()}`);
  }
}

function scanStruct(sc: Scanner, def: StructAttr, masked: boolean): Pair {
  const value: Record<string, unknown> = { ...def.zeros };
  const mask: Record<string, unknown> = { ...def.zeros };
  scanFieldList(sc, def.text, def.fields, masked, value, mask);
  return { value, mask };
}

/** A single value with an optional `/mask`: skb_priority(5), ct_zone(0x1/0xff). */
function scanSingle(sc: Scanner, text: string, bits: 16 | 32, masked: boolean): Pair {
  const value = readNum(sc, bits);
  if (value === undefined) throw sc.error(`expected a value for ${text}${sc.found()}`);
  let mask = bits === 32 ? U32_MAX : 0xffff;
  if (masked && sc.input.charCodeAt(sc.pos) === 47 /* / */) {
    sc.pos++;
    const m = readNum(sc, bits);
    if (m === undefined) throw sc.error(`expected a mask for ${text}${sc.found()}`);
    mask = m;
  }
  return { value, mask };
}

/** The 16 ct_label bytes as the kernel holds them: OVS's host-order u128 (little-endian here). */
export function u128Bytes(be: Buffer): Buffer {
  return Buffer.from(be).reverse();
}

function scanVlan(sc: Scanner, masked: boolean): Pair {
  // The CFI bit (a tag is present) starts set in both key and mask.
  let tci = 0x1000;
  let mask = 0x1000;
  const parts: Record<string, [number, number]> = { vid: [12, 0], pcp: [3, 13], cfi: [1, 12] };
  for (;;) {
    if (sc.input[sc.pos] === ')') {
      sc.pos++;
      return { value: tci, mask };
    }
    const at = sc.pos;
    const m = take(sc, /(vid|pcp|cfi)=/y);
    if (!m) throw sc.error(`expected vid=, pcp=, cfi= or ")" in vlan(${sc.found()}`, at);
    const [bits, shift] = parts[m[1]!]!;
    const field = ((1 << bits) - 1) << shift;
    const vAt = sc.pos;
    const v = scanNum(sc, 16, `a value for ${m[1]}`);
    if (v >> bits) throw sc.error(`${m[1]}=${v} does not fit in ${bits} bits`, vAt);
    tci = (tci & ~field) | (v << shift);
    if (masked && sc.input[sc.pos] === '/') {
      sc.pos++;
      const mAt = sc.pos;
      const mv = scanNum(sc, 16, `a mask for ${m[1]}`);
      if (mv >> bits) throw sc.error(`${m[1]} mask ${hexAlt(mv)} does not fit in ${bits} bits`, mAt);
      mask = (mask & ~field) | (mv << shift);
    } else mask |= field;
    if (sc.input[sc.pos] === ',') sc.pos++;
    else if (sc.input[sc.pos] !== ')') throw sc.error(`expected "," or ")" in vlan(${sc.found()}`);
  }
}

/** MPLS label stack entries: a field seen again starts the next entry (at most 3). */
function scanMpls(sc: Scanner, masked: boolean): Pair {
  const parts: Record<string, [number, number, number]> = {
    label: [20, 12, 0], tc: [3, 9, 1], ttl: [8, 0, 2], bos: [1, 8, 3],
  };
  const lse = [0];
  const lseMask = [0];
  let seen = 0;
  for (;;) {
    if (sc.input[sc.pos] === ')') {
      sc.pos++;
      break;
    }
    const at = sc.pos;
    const m = take(sc, /(label|tc|ttl|bos)=/y);
    if (!m) throw sc.error(`expected label=, tc=, ttl=, bos= or ")" in mpls(${sc.found()}`, at);
    const [bits, shift, index] = parts[m[1]!]!;
    if (seen & (1 << index)) {
      if (lse.length === 3) throw sc.error('mpls() takes at most 3 label stack entries', at);
      lse.push(0);
      lseMask.push(0);
      seen = 0;
    }
    seen |= 1 << index;
    const i = lse.length - 1;
    const field = (((2 ** bits) - 1) * 2 ** shift) >>> 0;
    const vAt = sc.pos;
    const v = scanNum(sc, 32, `a value for ${m[1]}`);
    if (v >= 2 ** bits) throw sc.error(`${m[1]}=${v} does not fit in ${bits} bits`, vAt);
    lse[i] = ((lse[i]! & ~field) | (v * 2 ** shift)) >>> 0;
    if (masked && sc.input[sc.pos] === '/') {
      sc.pos++;
      const mAt = sc.pos;
      const mv = scanNum(sc, 32, `a mask for ${m[1]}`);
      if (mv >= 2 ** bits) throw sc.error(`${m[1]} mask ${hexAlt(mv)} does not fit in ${bits} bits`, mAt);
      lseMask[i] = ((lseMask[i]! & ~field) | (mv * 2 ** shift)) >>> 0;
    } else lseMask[i] = (lseMask[i]! | field) >>> 0;
    if (sc.input[sc.pos] === ',') sc.pos++;
    else if (sc.input[sc.pos] !== ')') throw sc.error(`expected "," or ")" in mpls(${sc.found()}`);
  }
  return { value: lse.map((v) => ({ mpls_lse: v })), mask: lseMask.map((v) => ({ mpls_lse: v })) };
}

function scanPacketType(sc: Scanner, masked: boolean): Pair {
  const fields = [fld('ns', 'ns', 'be16'), fld('id', 'id', 'be16')];
  const v: Record<string, number> = { ns: 0, id: 0 };
  const m: Record<string, number> = { ns: 0, id: 0 };
  scanFieldList(sc, 'packet_type', fields, masked, v, m);
  return { value: ((v['ns']! << 16) | v['id']!) >>> 0, mask: ((m['ns']! << 16) | m['id']!) >>> 0 };
}

function scanNdExt(sc: Scanner, masked: boolean): Pair {
  const v: Record<string, number> = { nd_reserved: 0, nd_options_type: 0 };
  const m: Record<string, number> = { nd_reserved: 0, nd_options_type: 0 };
  scanFieldList(sc, 'nd_ext', ND_EXT_FIELDS, masked, v, m);
  return { value: v, mask: m };
}

function scanNsh(sc: Scanner, masked: boolean): Pair {
  const u8 = (label: string): FieldDef => fld(label, label, 'u8');
  const fields: FieldDef[] = [
    u8('flags'), u8('ttl'), u8('mdtype'), u8('np'), fld('spi', 'spi', 'be32x'), u8('si'),
    fld('c1', 'c1', 'be32x'), fld('c2', 'c2', 'be32x'), fld('c3', 'c3', 'be32x'), fld('c4', 'c4', 'be32x'),
  ];
  const v: Record<string, number> = {};
  const m: Record<string, number> = {};
  for (const f of fields) {
    v[f.field] = 0;
    m[f.field] = 0;
  }
  scanFieldList(sc, 'nsh', fields, masked, v, m);
  // path_hdr is spi (24 bits) above si (8 bits); the spi's top byte falls off as in C.
  const path = (spi: number, si: number): number => (((spi << 8) >>> 0) | si) >>> 0;
  const base = (x: Record<string, number>, path_hdr: number) => ({
    flags: x['flags']!, ttl: x['ttl']!, mdtype: x['mdtype']!, np: x['np']!, path_hdr,
  });
  const md1 = (x: Record<string, number>) => ({ c1: x['c1']!, c2: x['c2']!, c3: x['c3']!, c4: x['c4']! });
  const value: Record<string, unknown> = { base: base(v, path(v['spi']!, v['si']!)) };
  // The key carries the MD1 context only for MD type 1; the mask always does.
  if (v['mdtype'] === 1) value['md1'] = md1(v);
  return { value, mask: { base: base(m, path(m['spi']!, m['si']!)), md1: md1(m) } };
}

/** The tunnel(...) fields: each is its own nested attribute (`field`), in text order. */
const TUNNEL_FIELDS: readonly FieldDef[] = [
  fld('tun_id', 'id', 'be64'),
  fld('src', 'ipv4_src', 'ipv4'),
  fld('dst', 'ipv4_dst', 'ipv4'),
  fld('ipv6_src', 'ipv6_src', 'ipv6'),
  fld('ipv6_dst', 'ipv6_dst', 'ipv6'),
  fld('tos', 'tos', 'u8x'),
  fld('ttl', 'ttl', 'u8'),
  fld('tp_src', 'tp_src', 'be16'),
  fld('tp_dst', 'tp_dst', 'be16'),
];

function scanTunnel(sc: Scanner, masked: boolean): Pair {
  const value: Record<string, unknown> = {};
  const mask: Record<string, unknown> = {};
  for (;;) {
    if (sc.input[sc.pos] === ')') {
      sc.pos++;
      return { value, mask };
    }
    const at = sc.pos;
    const m = take(sc, /([A-Za-z0-9_]+)([=(])/y);
    const name = m?.[1];
    const tf = m?.[2] === '=' ? TUNNEL_FIELDS.find((f) => f.label === name) : undefined;
    if (tf) {
      scanField(sc, tf, masked, value, mask);
    } else if (m?.[2] === '(' && name === 'flags') {
      const p = scanFlags(sc, TUN_FLAG_NAMES, 0xf, masked, 'tunnel flag');
      expectClose(sc, 'flags');
      // 'key' is implied by tun_id; only df, csum and oam are attributes of their own.
      for (const [bit, attr] of TUN_FLAG_ATTRS) {
        if (p.value & bit) value[attr] = true;
        if (p.mask & bit) mask[attr] = true;
      }
    } else if (m?.[2] === '(' && name === 'vxlan') {
      scanVxlan(sc, masked, value, mask);
    } else if (m?.[2] === '(' && name === 'geneve') {
      const p = scanGeneve(sc, masked);
      value['geneve_opts'] = p.value;
      mask['geneve_opts'] = p.mask;
    } else if (m?.[2] === '(' && name === 'erspan') {
      const p = scanErspan(sc, masked);
      value['erspan_opts'] = p.value;
      mask['erspan_opts'] = p.mask;
    } else if (m?.[2] === '(' && name !== undefined && /^key\d+$/.test(name)) {
      sc.pos = at;
      const a = parseGeneric(sc, tunnelKeyAttrs, masked);
      value[a.name] = a.value;
      mask[a.name] = a.mask;
    } else {
      sc.pos = at;
      const labels = TUNNEL_FIELDS.map((f) => `${f.label}=`).join(', ');
      throw sc.error(`expected one of ${labels}, flags(, vxlan(, geneve(, erspan( or ")" in tunnel(${sc.found()}`, at);
    }
    if (sc.input[sc.pos] === ',') sc.pos++;
    else if (sc.input[sc.pos] !== ')') throw sc.error(`expected "," or ")" in tunnel(${sc.found()}`);
  }
}

/** vxlan(gbp(id=N,flags=N)): one u32, flags << 16 | id; left out of key or mask when zero. */
function scanVxlan(sc: Scanner, masked: boolean, value: Record<string, unknown>, mask: Record<string, unknown>): void {
  const at = sc.pos;
  if (!take(sc, /gbp\(/y)) throw sc.error(`expected "gbp(" in vxlan(${sc.found()}`, at);
  const fields = [fld('id', 'id', 'be16'), fld('flags', 'flags', 'u8')];
  const v: Record<string, number> = { id: 0, flags: 0 };
  const m: Record<string, number> = { id: 0, flags: 0 };
  scanFieldList(sc, 'gbp', fields, masked, v, m);
  expectClose(sc, 'vxlan');
  const gbp = ((v['flags']! << 16) | v['id']!) >>> 0;
  const gbpMask = ((m['flags']! << 16) | m['id']!) >>> 0;
  if (gbp) value['vxlan_opts'] = { gbp };
  if (gbpMask) mask['vxlan_opts'] = { gbp: gbpMask };
}

/**
 * geneve({class=,type=,len=,DATA[/MASK]}...): each option is class (be16), type, a
 * length byte in 4-byte units, then the data. The mask follows scan_geneve(): an omitted
 * class or type is wildcarded, the length mask is 0x1f unless given, the data mask all
 * ones unless given; an omitted len= also wildcards the type (an ovs-dpctl quirk).
 */
const GENEVE_FIELDS = [fld('class', 'class', 'be16'), fld('type', 'type', 'u8'), fld('len', 'len', 'u8')] as const;

function scanGeneve(sc: Scanner, masked: boolean): Pair {
  const keyParts: Buffer[] = [];
  const maskParts: Buffer[] = [];
  const v: Record<string, number> = {};
  const m: Record<string, number> = {};
  let total = 0;
  while (sc.input[sc.pos] === '{') {
    sc.pos++;
    const head = Buffer.alloc(4);
    const headMask = Buffer.from([0xff, 0xff, 0xff, 0x1f]);
    let dataLen = 0;
    let data: Buffer = Buffer.alloc(0);
    let dataMask: Buffer = Buffer.alloc(0);
    let sawClass = false;
    let sawType = false;
    let sawLen = false;
    for (;;) {
      const at = sc.pos;
      if (take(sc, /class=/y)) {
        scanField(sc, GENEVE_FIELDS[0], masked, v, m);
        head.writeUInt16BE(v['class']!, 0);
        headMask.writeUInt16BE(m['class']!, 0);
        sawClass = true;
      } else if (take(sc, /type=/y)) {
        scanField(sc, GENEVE_FIELDS[1], masked, v, m);
        head[2] = v['type']!;
        headMask[2] = m['type']!;
        sawType = true;
      } else if (take(sc, /len=/y)) {
        const lAt = sc.pos;
        scanField(sc, GENEVE_FIELDS[2], masked, v, m);
        const len = v['len']!;
        if (len > 124 || len % 4) throw sc.error(`geneve option len=${len} is not a multiple of 4 up to 124`, lAt);
        dataLen = len;
        head[3] = len / 4;
        headMask[3] = m['len']! & 0x1f;
        data = Buffer.alloc(len);
        dataMask = Buffer.alloc(len, 0xff);
        sawLen = true;
      } else if (sc.input[sc.pos] !== '}' && sawLen) {
        data = scanWideInt(sc, dataLen, 'geneve option data');
        if (masked && sc.input[sc.pos] === '/') {
          sc.pos++;
          dataMask = scanWideInt(sc, dataLen, 'geneve option data mask');
        }
      } else if (sc.input[sc.pos] !== '}') {
        throw sc.error(`expected class=, type=, len=, the option data or "}" in geneve(${sc.found()}`, at);
      }
      if (sc.input[sc.pos] === ',') sc.pos++;
      else if (sc.input[sc.pos] === '}') break;
      else throw sc.error(`expected "," or "}" in geneve(${sc.found()}`);
    }
    sc.pos++;
    if (!sawClass) headMask.writeUInt16BE(0, 0);
    if (!sawType || !sawLen) headMask[2] = 0;
    total += 4 + dataLen;
    if (total > 252) throw sc.error('geneve options exceed 252 bytes');
    keyParts.push(head, data);
    maskParts.push(headMask, dataMask);
  }
  expectClose(sc, 'geneve');
  return { value: Buffer.concat(keyParts), mask: Buffer.concat(maskParts) };
}

/**
 * erspan(ver=1,idx=N) or erspan(ver=2,dir=N,hwid=N): struct erspan_metadata (a host-order
 * int version, then the index or the v2 bit fields). ovs-dpctl leaves the mask's version
 * and the untouched v2 bits all ones.
 */
function scanErspan(sc: Scanner, masked: boolean): Pair {
  const key = Buffer.alloc(12);
  const mask = Buffer.alloc(12, 0xff);
  const fields = [fld('ver', 'ver', 'u8'), fld('idx', 'idx', 'be32x'), fld('dir', 'dir', 'u8'), fld('hwid', 'hwid', 'u8')];
  const v: Record<string, number> = {};
  const m: Record<string, number> = {};
  const at = sc.pos;
  scanFieldList(sc, 'erspan', fields, masked, v, m);
  const ver = v['ver'] ?? 0;
  if (ver !== 1 && ver !== 2) throw sc.error('erspan() needs ver=1 or ver=2', at);
  key.writeInt32LE(ver, 0);
  if (ver === 1) {
    key.writeUInt32BE(v['idx'] ?? 0, 4);
    mask.writeUInt32BE(m['idx'] ?? 0, 4);
  } else {
    // Byte 11 holds o:1, gra:2, dir:1, hwid:4 from the low bit up.
    key[11] = ((v['dir'] ?? 0) & 1) << 3 | ((v['hwid'] ?? 0) & 0xf) << 4;
    mask[11] = (mask[11]! & 0x07) | ((m['dir'] ?? 0) & 1) << 3 | ((m['hwid'] ?? 0) & 0xf) << 4;
  }
  return { value: key, mask };
}

/** keyN(hex bytes[/hex bytes]): an attribute by number, as ovs-dpctl prints one it does not know. */
function parseGeneric(sc: Scanner, set: AttrSet, masked: boolean): KeyAttr {
  const at = sc.pos;
  const m = take(sc, /key(\d+)\(/y)!;
  const type = Number(m[1]);
  const bytes = (): Buffer => {
    const out: number[] = [];
    for (;;) {
      const b = take(sc, /\s*([0-9a-fA-F]{2})/y);
      if (!b) break;
      out.push(parseInt(b[1]!, 16));
    }
    return Buffer.from(out);
  };
  const raw = bytes();
  let rawMask: Buffer | undefined;
  if (masked && sc.input[sc.pos] === '/') {
    sc.pos++;
    rawMask = bytes();
  }
  expectClose(sc, `key${type}`);
  const decode = (b: Buffer): [string, unknown] => {
    const spec = set.get(type);
    if (!spec) return [unknownKey(type), { type, raw: b } satisfies UnknownAttr];
    const buf = Buffer.alloc(4 + b.length);
    buf.writeUInt16LE(4 + b.length, 0);
    buf.writeUInt16LE(type, 2);
    b.copy(buf, 4);
    try {
      const v = decodeAttrs(set, buf);
      return [spec.name, v[spec.name]];
    } catch (e) {
      throw sc.error(`key${type}: ${(e as Error).message}`, at);
    }
  };
  const [name, value] = decode(raw);
  if (!masked) return { name, value };
  return { name, value, mask: decode(rawMask ?? Buffer.alloc(raw.length, 0xff))[1] };
}

/**
 * Parses one key attribute at the scanner, e.g. `ipv4(src=10.0.0.1,dst=10.0.0.2/255.255.255.0)`,
 * leaving the scanner after its ')'. Returns the schema name and the value (and, when
 * `masked`, the mask) shaped for the codec.
 */
export function parseKeyAttr(sc: Scanner, options: KeyParseOptions): KeyAttr {
  sc.skipSpace();
  const at = sc.pos;
  const end = identifierEnd(sc.input, at);
  if (end === at) throw sc.error(`expected a flow key attribute such as in_port(, eth(, ipv4(${sc.found()}`, at);
  return parseNamedKeyAttr(sc, options, attrNamed(sc.input, at, end), at, end);
}

/** Where the name ([A-Za-z_][A-Za-z0-9_]*) that starts at `pos` ends; `pos` when none does. */
function identifierEnd(s: string, pos: number): number {
  if (!isNameStart(s.charCodeAt(pos))) return pos;
  let end = pos + 1;
  while (isWordCode(s.charCodeAt(end))) end++;
  return end;
}

/** The name ([A-Za-z_][A-Za-z0-9_]*) at the scanner, read past; undefined (not moved) when none is there. */
export function takeName(sc: Scanner): string | undefined {
  const at = sc.pos;
  const end = identifierEnd(sc.input, at);
  if (end === at) return undefined;
  sc.pos = end;
  return sc.input.slice(at, end);
}

/** parseKeyAttr once the name at [at, end) is read: `def` is its entry, if any. */
function parseNamedKeyAttr(sc: Scanner, options: KeyParseOptions, def: AttrDef | undefined, at: number, end: number): KeyAttr {
  if (!def) {
    const text = sc.input.slice(at, end);
    if (/^key\d+$/.test(text) && sc.input[end] === '(') {
      sc.pos = at;
      return parseGeneric(sc, flowKeyAttrs, options.masked);
    }
    sc.pos = at;
    throw sc.error(`unknown flow key attribute "${text}"${didYouMean(text, ATTRS.map((a) => a.text))}`, at);
  }
  sc.pos = end;
  expectOpen(sc, def.text);
  const p = parseBody(sc, def, options);
  if (!options.masked) return { name: def.attr, value: p.value };
  return { name: def.attr, value: p.value, mask: p.mask };
}

function parseBody(sc: Scanner, def: AttrDef, options: KeyParseOptions): Pair {
  const { masked } = options;
  let p: Pair;
  switch (def.kind) {
    case 'struct':
      return scanStruct(sc, def, masked);
    case 'nd_ext':
      return scanNdExt(sc, masked);
    case 'u32':
      p = scanSingle(sc, def.text, 32, masked);
      break;
    case 'recirc_id': {
      // ovs-dpctl always matches recirc_id exactly and reads no mask; a printed
      // `/mask` is accepted all the same.
      p = scanSingle(sc, def.text, 32, masked);
      break;
    }
    case 'ct_zone':
    case 'ct_mark':
      // ct_zone() and ct_mark() are printed for a key without mask: read them as wildcards.
      if (sc.input[sc.pos] === ')') p = { value: 0, mask: 0 };
      else p = scanSingle(sc, def.text, def.kind === 'ct_zone' ? 16 : 32, masked);
      break;
    case 'ct_label': {
      if (sc.input[sc.pos] === ')') {
        p = { value: Buffer.alloc(16), mask: Buffer.alloc(16) };
        break;
      }
      const value = u128Bytes(scanWideInt(sc, 16, 'a ct_label value'));
      let mask: Buffer = Buffer.alloc(16, 0xff);
      if (masked && sc.input[sc.pos] === '/') {
        sc.pos++;
        mask = u128Bytes(scanWideInt(sc, 16, 'a ct_label mask'));
      }
      p = { value, mask };
      break;
    }
    case 'ct_state':
      p = scanFlags(sc, CT_STATE_NAMES, 0xff, masked, 'ct_state flag');
      break;
    case 'tcp_flags': {
      const f = scanFlags(sc, TCP_FLAG_NAMES, 0x0fff, masked, 'tcp flag');
      p = { value: f.value & 0xffff, mask: f.mask & 0xffff };
      break;
    }
    case 'in_port': {
      const at = sc.pos;
      if (looksNumeric(sc)) {
        p = scanSingle(sc, 'in_port', 32, masked);
        // A name that merely starts with digits ("1abc") is a name.
        if (sc.input[sc.pos] !== ')' && sc.input[sc.pos] !== '/') sc.pos = at;
        else break;
      }
      const end = sc.input.indexOf(')', at);
      // No ")": the input ends inside in_port(; said so, not taken as a port name.
      if (end < 0) {
        sc.pos = at + /^\S*/.exec(sc.input.slice(at))![0].length;
        throw sc.error(`expected ")" to close in_port(${sc.found()}`);
      }
      const name = sc.input.slice(at, end);
      const port = options.portNumbers?.get(name);
      if (port === undefined) {
        throw sc.error(name ? `unknown port "${name}" in in_port()` : `expected a port number or name in in_port()${sc.found()}`, at);
      }
      sc.pos = at + name.length;
      p = { value: port, mask: U32_MAX };
      break;
    }
    case 'eth_type':
      p = scanSingle(sc, def.text, 16, masked);
      break;
    case 'vlan':
      return scanVlan(sc, masked);
    case 'mpls':
      return scanMpls(sc, masked);
    case 'packet_type':
      return scanPacketType(sc, masked);
    case 'nsh':
      return scanNsh(sc, masked);
    case 'tunnel':
      return scanTunnel(sc, masked);
    case 'encap': {
      const inner = parseKeyList(sc, options, ')');
      expectClose(sc, 'encap');
      return { value: inner.key, mask: inner.mask };
    }
  }
  expectClose(sc, def.text);
  return p;
}

/** Skips what ovs-dpctl skips between key attributes: commas, spaces, tabs, CR, LF. */
export function skipDelimiters(sc: Scanner): void {
  const s = sc.input;
  let i = sc.pos;
  // Bounded: a read past the end (every key's last attribute) deoptimized parseKeyEntries,
  // whose recompiling costs more than its lines did in a short process.
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 44 && c !== 32 && c !== 9 && c !== 13 && c !== 10) break;
  }
  sc.pos = i;
}

/**
 * Key attributes one after another (separated by commas or white space) until the
 * input ends, `stop` is next, or something that is not a key attribute follows.
 */
export function parseKeyList(
  sc: Scanner, options: KeyParseOptions, stop?: string,
): { key: AttrValues; mask: AttrValues } {
  const key: AttrValues = {};
  const mask: AttrValues = {};
  const s = sc.input;
  // The whole key (not an encap() inside it): its attributes are listed in the memo.
  const top = stop === undefined;
  if (options.memo && top) options.memo.listLength = 0;
  skipDelimiters(sc);
  // What ovs-dpctl prints for a key without attributes.
  if (s.startsWith('<empty>', sc.pos)) {
    sc.pos += 7;
    return { key, mask };
  }
  for (;;) {
    skipDelimiters(sc);
    if (sc.pos >= s.length || (stop && s.startsWith(stop, sc.pos))) break;
    const at = sc.pos;
    const end = identifierEnd(s, at);
    if (end === at) break;
    const def = attrNamed(s, at, end);
    // A key attribute begins here: a known name (the parser then insists on its '(') or keyN(.
    if (!def && !(s.charCodeAt(end) === 40 /* ( */ && /^key\d+$/.test(s.slice(at, end)))) break;
    const memo = options.memo;
    let a: KeyAttr;
    if (memo) {
      const m = memoAttrAt(sc, options, memo, def, at, end);
      if (top) memo.list[memo.listLength++] = m;
      a = m.attr;
    } else {
      a = parseNamedKeyAttr(sc, options, def, at, end);
    }
    if (key[a.name] !== undefined) {
      // ovs-dpctl would send both and the kernel refuse the flow ("Duplicate key").
      throw sc.error(`${keyAttrText(a.name)}(...) appears twice in the flow key`, at);
    }
    key[a.name] = a.value;
    if (options.masked) mask[a.name] = a.mask;
  }
  return { key, mask };
}

/**
 * The attribute whose name is at [at, end) (`def`: its entry, if any) through the memo:
 * the last one of its kind when its text repeats, else parsed (and remembered).
 */
function memoAttrAt(sc: Scanner, options: KeyParseOptions, memo: KeyAttrMemo, def: AttrDef | undefined, at: number, end: number): MemoAttr {
  const s = sc.input;
  const last = def && memo.last.get(def);
  if (last && s.slice(at, at + last.text.length) === last.text) {
    sc.pos = at + last.text.length;
    return last;
  }
  const attr = parseNamedKeyAttr(sc, options, def, at, end);
  const m: MemoAttr = { text: s.slice(at, sc.pos), attr, encoded: undefined, sends: 0 };
  if (def) memo.last.set(def, m);
  return m;
}

/** The key and mask a list of key attributes stands for (masked: as parseKeyList builds them). */
export function keyAndMask(list: readonly { attr: KeyAttr }[]): { key: AttrValues; mask: AttrValues } {
  const key: AttrValues = {};
  const mask: AttrValues = {};
  for (let i = 0; i < list.length; i++) {
    const a = list[i]!.attr;
    key[a.name] = a.value;
    mask[a.name] = a.mask;
  }
  return { key, mask };
}

/**
 * A flow file's FLOW (parseFlowKey's text) as its key attributes alone, into memo.list
 * (masked, as parseFlowKey parses): no key and mask objects are built. False, with
 * nothing thrown, for anything else or more — a `ufid:` prefix, `<empty>`, packet_type
 * (dpif-netlink rewrites key and mask for it), an attribute twice, something that is
 * not a key attribute, an error: parseFlowKey then reads it (and says what is wrong).
 */
export function parseKeyEntries(text: string, memo: KeyAttrMemo, portNumbers?: ReadonlyMap<string, number>): boolean {
  let options = memo.entryOptions;
  if (!options || options.portNumbers !== portNumbers) options = memo.entryOptions = { masked: true, portNumbers, memo };
  const sc = new Scanner(text);
  const list = memo.list;
  memo.listLength = 0;
  try {
    for (;;) {
      skipDelimiters(sc);
      const at = sc.pos;
      if (at >= text.length) return true;
      const end = identifierEnd(text, at);
      const def = end === at ? undefined : attrNamed(text, at, end);
      if (!def || def.kind === 'packet_type') return false;
      const m = memoAttrAt(sc, options, memo, def, at, end);
      const name = m.attr.name;
      for (let i = 0; i < memo.listLength; i++) if (list[i]!.attr.name === name) return false;
      list[memo.listLength++] = m;
    }
  } catch {
    return false;
  }
}

/**
 * A whole flow key string as ovs-dpctl's odp_flow_from_string() reads it: key and mask
 * in text order, an attribute left out absent from both. Throws FlowParseError.
 */
export function parseKey(text: string, options: Omit<KeyParseOptions, 'masked'> = {}): { key: AttrValues; mask: AttrValues } {
  const sc = new Scanner(text);
  const keyOptions = { ...options, masked: true };
  const out = parseKeyList(sc, keyOptions);
  if (sc.pos < text.length) {
    // Not a key attribute: let parseKeyAttr say why (unknown name, did you mean, ...).
    parseKeyAttr(sc, keyOptions);
    throw sc.error(`expected a flow key attribute such as in_port(, eth(, ipv4(${sc.found()}`);
  }
  return out;
}

// ---------------------------------------------------------------- printing

/** The payload bytes of one key attribute (for the all-zeros / all-ones tests). */
function payload(set: AttrSet, name: string, value: unknown): Buffer {
  const b = encodeAttrs(set, { [name]: value });
  return b.subarray(4, b.readUInt16LE(0));
}

function allBytes(b: Uint8Array, byte: number): boolean {
  for (const x of b) if (x !== byte) return false;
  return true;
}

/**
 * odp_mask_is_constant__(): whether a mask attribute is all zeros (byte 0) or all ones
 * (0xff). Padding is not looked at, except nd_ext's (never all ones: the kernel's pad
 * is zero); tcp_flags counts its 12 flag bits only, ipv6 its 20-bit label; a nested
 * attribute is constant only when empty; encap and attributes OVS 3.1 does not know
 * never are (ovs-dpctl then shows them, with their mask, even without -m).
 */
function maskIsConstant(name: string, mask: unknown, byte: 0 | 0xff): boolean {
  const def = BY_ATTR.get(name);
  if (!def) return false;
  switch (def.kind) {
    case 'encap':
      return false;
    case 'struct': {
      const m = mask as Record<string, unknown>;
      return def.fields.every((f) => {
        const v = m[f.field];
        if (f.kind === 'label') return ((v as number) & 0xfffff) === (byte ? 0xfffff : 0);
        return v === (byte ? exactOf(f.kind) : zeroOf(f.kind));
      });
    }
    case 'nd_ext': {
      const m = mask as Record<string, unknown>;
      return byte === 0 && m['nd_reserved'] === 0 && m['nd_options_type'] === 0;
    }
    case 'tcp_flags':
      return ((mask as number) & 0x0fff) === (byte ? 0x0fff : 0);
    case 'ct_label':
      return allBytes(mask as Uint8Array, byte);
    case 'mpls':
      return (mask as { mpls_lse: number }[]).every((e) => e.mpls_lse === (byte ? U32_MAX : 0));
    case 'tunnel':
    case 'nsh':
      return Object.keys(mask as object).length === 0;
    case 'ct_zone':
    case 'eth_type':
    case 'vlan':
      return mask === (byte ? 0xffff : 0);
    default:
      return mask === (byte ? U32_MAX : 0);
  }
}

/** An all-zeros mask shaped like `value` (generate_all_wildcard_mask()). */
function wildcardMask(set: AttrSet, name: string, value: unknown): unknown {
  const b = payload(set, name, value);
  const buf = Buffer.alloc(4 + b.length);
  buf.writeUInt16LE(4 + b.length, 0);
  buf.writeUInt16LE(name.startsWith(UNKNOWN_PREFIX) ? Number(name.slice(1)) : set.id(name), 2);
  if (set.byNameOf(name)?.type === 'nested') {
    // Nested: the same attributes inside, each with a zero payload.
    const inner = value as AttrValues;
    const innerSet = nestedSet(set, name);
    const out: AttrValues = {};
    for (const k of Object.keys(inner)) out[k] = wildcardMask(innerSet, k, inner[k]);
    return out;
  }
  return decodeAttrs(set, buf)[name];
}

function nestedSet(set: AttrSet, name: string): AttrSet {
  const spec = set.byNameOf(name)!;
  if (spec.type !== 'nested') throw new Error(`${name} is not nested`);
  return typeof spec.set === 'function' ? spec.set() : spec.set;
}

/** Space-separated hex bytes (format_generic_odp_key). */
function spacedHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex').replace(/(..)(?=.)/g, '$1 ');
}

function formatGeneric(set: AttrSet, name: string, value: unknown, mask: unknown): string {
  const type = name.startsWith(UNKNOWN_PREFIX) ? Number(name.slice(1)) : set.id(name);
  const bytes = (v: unknown): Buffer =>
    name.startsWith(UNKNOWN_PREFIX) ? (v as UnknownAttr).raw : payload(set, name, v);
  // OVS does not know these attributes, so it never finds their masks exact.
  return `key${type}(${spacedHex(bytes(value))}${mask === undefined ? '' : `/${spacedHex(bytes(mask))}`})`;
}

function structFields(def: StructAttr | OtherAttr): readonly FieldDef[] {
  return def.kind === 'struct' ? def.fields : ND_EXT_FIELDS;
}

/**
 * Prints one key attribute as ovs-dpctl does: `ipv4(src=10.0.0.1,dst=10.0.0.0/255.0.0.0,
 * proto=6,tos=0,ttl=64,frag=no)`. Without a mask the value prints as exact (a key alone,
 * a set() action); `verbose` shows wildcarded fields (-m).
 */
export function formatKeyAttr(name: string, value: unknown, mask?: unknown, options: KeyFormatOptions = {}): string {
  const verbose = options.verbose ?? false;
  const def = BY_ATTR.get(name);
  if (!def) return formatGeneric(flowKeyAttrs, name, value, mask);
  const body = formatBody(def, value, mask, verbose, options);
  return `${def.text}(${body})`;
}

function formatBody(def: AttrDef, value: unknown, mask: unknown, verbose: boolean, options: KeyFormatOptions): string {
  // Struct attributes look at their fields' masks only: work these out on demand.
  const isExact = (): boolean => mask === undefined || maskIsConstant(def.attr, mask, 0xff);
  const isEmpty = (): boolean => mask === undefined || maskIsConstant(def.attr, mask, 0);
  switch (def.kind) {
    case 'struct':
    case 'nd_ext': {
      const v = value as Record<string, unknown>;
      const m = mask as Record<string, unknown> | undefined;
      let out = '';
      for (const f of structFields(def)) {
        out += formatField(f, f.label, v[f.field], m?.[f.field], verbose);
      }
      return out.replace(/,$/, '');
    }
    case 'u32':
    case 'recirc_id':
      return `${hexAlt(value as number)}${isExact() ? '' : `/${hexAlt(mask as number)}`}`;
    case 'ct_mark':
    case 'ct_zone':
      if (!verbose && isEmpty()) return '';
      return `${hexAlt(value as number)}${isExact() ? '' : `/${hexAlt(mask as number)}`}`;
    case 'ct_state':
      if (verbose) return `${hexAlt(value as number)}${isExact() ? '' : `/${hexAlt(mask as number)}`}`;
      if (!isExact()) return formatFlagsMasked(CT_STATE_NAMES, value as number, mask as number, U32_MAX);
      return formatFlags(CT_STATE_NAMES, value as number);
    case 'ct_label': {
      const m = mask as Buffer | undefined;
      if (!verbose && !(m && !allBytes(m, 0))) return '';
      const be = (b: Uint8Array): Buffer => Buffer.from(b).reverse();
      return `${hexBytes(be(value as Buffer))}${m && !allBytes(m, 0xff) ? `/${hexBytes(be(m))}` : ''}`;
    }
    case 'in_port':
      if (isExact()) return options.portNames?.get(value as number) ?? String(value);
      return `${value}/${hexAlt(mask as number)}`;
    case 'eth_type':
      return `0x${(value as number).toString(16).padStart(4, '0')}${isExact() ? '' : `/0x${(mask as number).toString(16).padStart(4, '0')}`}`;
    case 'tcp_flags':
      if (!isExact()) return formatFlagsMasked(TCP_FLAG_NAMES, value as number, (mask as number) & 0x0fff, 0x0fff);
      return formatFlags(TCP_FLAG_NAMES, value as number);
    case 'vlan':
      return formatVlan(value as number, mask === undefined ? 0xffff : (mask as number), verbose);
    case 'mpls':
      return formatMpls(value as { mpls_lse: number }[], isExact() ? undefined : (mask as { mpls_lse: number }[]));
    case 'packet_type': {
      const v = value as number;
      const m = mask === undefined ? U32_MAX : (mask as number);
      const ns = fld('ns', 'ns', 'be16');
      const id = fld('id', 'id', 'be16x');
      return (formatField(ns, 'ns', v >>> 16, m >>> 16, verbose) + formatField(id, 'id', v & 0xffff, m & 0xffff, verbose)).replace(/,$/, '');
    }
    case 'nsh':
      return formatNsh(value as AttrValues, mask as AttrValues | undefined);
    case 'tunnel':
      return formatTunnel(value as AttrValues, mask as AttrValues | undefined, verbose);
    case 'encap': {
      const inner = value as AttrValues;
      if (!Object.keys(inner).length) return '';
      const m = mask as AttrValues | undefined;
      return formatKey(inner, m && Object.keys(m).length ? m : undefined, { verbose });
    }
  }
}

function formatVlan(tci: number, mask: number, verbose: boolean): string {
  let out = '';
  const vid = tci & 0xfff;
  const vidMask = mask & 0xfff;
  if (verbose || vid || vidMask) out += `vid=${vid}${vidMask !== 0xfff ? `/0x${vidMask.toString(16)}` : ''},`;
  const pcp = tci >> 13;
  const pcpMask = mask >> 13;
  if (verbose || pcp || pcpMask) out += `pcp=${pcp}${pcpMask !== 7 ? `/0x${pcpMask.toString(16)}` : ''},`;
  if (!(tci & 0x1000)) out += 'cfi=0,';
  return out.replace(/,$/, '');
}

function formatMpls(lses: { mpls_lse: number }[], masks?: { mpls_lse: number }[]): string {
  const label = (x: number): number => x >>> 12;
  const tc = (x: number): number => (x >>> 9) & 7;
  const ttl = (x: number): number => x & 0xff;
  const bos = (x: number): number => (x >>> 8) & 1;
  return lses.map((e, i) => {
    const k = e.mpls_lse;
    if (!masks) return `label=${label(k)},tc=${tc(k)},ttl=${ttl(k)},bos=${bos(k)}`;
    const m = masks[i]?.mpls_lse ?? 0;
    return `label=${label(k)}/0x${label(m).toString(16)},tc=${tc(k)}/${tc(m).toString(16)},` +
      `ttl=${ttl(k)}/0x${ttl(m).toString(16)},bos=${bos(k)}/${bos(m).toString(16)}`;
  }).join(',');
}

function formatNsh(value: AttrValues, mask: AttrValues | undefined): string {
  const base = (value['base'] ?? {}) as Record<string, number>;
  const md1 = (value['md1'] ?? { c1: 0, c2: 0, c3: 0, c4: 0 }) as Record<string, number>;
  const path = base['path_hdr'] ?? 0;
  if (!mask) {
    let out = `flags=${base['flags'] ?? 0},ttl=${base['ttl'] ?? 0},mdtype=${base['mdtype'] ?? 0},np=${base['np'] ?? 0}` +
      `,spi=${hex(path >>> 8)},si=${path & 0xff}`;
    if (base['mdtype'] === 1) for (const c of ['c1', 'c2', 'c3', 'c4']) out += `,${c}=${hex(md1[c] ?? 0)}`;
    return out;
  }
  // Parts the mask lacks count as exact (format_odp_nsh_attr starts from all ones).
  const mbase = (mask['base'] ?? { flags: 0xff, ttl: 0xff, mdtype: 0xff, np: 0xff, path_hdr: U32_MAX }) as Record<string, number>;
  const mmd1 = (mask['md1'] ?? { c1: U32_MAX, c2: U32_MAX, c3: U32_MAX, c4: U32_MAX }) as Record<string, number>;
  const parts: string[] = [];
  const u8 = (name: string, v: number, m: number): void => {
    if (m === 0) return;
    parts.push(m === 0xff ? `${name}=${v}` : `${name}=0x${v.toString(16).padStart(2, '0')}/0x${m.toString(16).padStart(2, '0')}`);
  };
  const be32 = (name: string, v: number, m: number): void => {
    if (m === 0) return;
    parts.push(m === U32_MAX ? `${name}=${hex(v)}` : `${name}=${hex(v)}/0x${m.toString(16).padStart(8, '0')}`);
  };
  u8('flags', base['flags'] ?? 0, mbase['flags'] ?? 0);
  u8('ttl', base['ttl'] ?? 0, mbase['ttl'] ?? 0);
  u8('mdtype', base['mdtype'] ?? 0, mbase['mdtype'] ?? 0);
  u8('np', base['np'] ?? 0, mbase['np'] ?? 0);
  const mpath = mbase['path_hdr'] ?? 0;
  const spiMask = mpath >>> 8;
  be32('spi', path >>> 8, spiMask === 0xffffff ? U32_MAX : spiMask);
  u8('si', path & 0xff, mpath & 0xff);
  for (const c of ['c1', 'c2', 'c3', 'c4']) be32(c, md1[c] ?? 0, mmd1[c] ?? 0);
  return parts.join(',');
}

function formatTunnel(value: AttrValues, mask: AttrValues | undefined, verbose: boolean): string {
  let out = '';
  let flags = 0;
  let maskFlags = 0;
  for (const name of Object.keys(value)) {
    const v = value[name];
    let m: unknown;
    if (mask) m = Object.hasOwn(mask, name) ? mask[name] : wildcardMask(tunnelKeyAttrs, name, v);
    const tf = TUNNEL_FIELDS.find((f) => f.field === name);
    if (tf) {
      out += formatField(tf, tf.label, v, m, verbose);
      if (name === 'id') {
        flags |= 0x8;
        if (mask) maskFlags |= 0x8;
      }
      continue;
    }
    switch (name) {
      case 'dont_fragment': flags |= 0x2; break;
      case 'csum': flags |= 0x4; break;
      case 'oam': flags |= 0x1; break;
      case 'vxlan_opts':
        out += `vxlan(${formatVxlan(v as AttrValues, m as AttrValues | undefined, verbose)}),`;
        break;
      case 'geneve_opts':
        out += `geneve(${formatGeneve(v as Buffer, m as Buffer | undefined, verbose)}),`;
        break;
      case 'erspan_opts':
        out += `erspan(${formatErspan(v as Buffer, m as Buffer | undefined, verbose)}),`;
        break;
      default:
        out += `${formatGeneric(tunnelKeyAttrs, name, v, m)},`;
    }
  }
  if (mask) {
    // A flag's mask can be there without the flag in the key.
    if (mask['dont_fragment']) maskFlags |= 0x2;
    if (mask['csum']) maskFlags |= 0x4;
    if (mask['oam']) maskFlags |= 0x1;
  }
  if (verbose || !mask || maskFlags) {
    out += `flags(${mask ? formatFlagsMasked(TUN_FLAG_NAMES, flags, maskFlags & 0xf, 0xf) : formatFlags(TUN_FLAG_NAMES, flags)}),`;
  }
  return out.replace(/,$/, '');
}

function formatVxlan(value: AttrValues, mask: AttrValues | undefined, verbose: boolean): string {
  let out = '';
  for (const name of Object.keys(value)) {
    const v = value[name];
    const m = mask ? (Object.hasOwn(mask, name) ? mask[name] : 0) : undefined;
    if (name === 'gbp') {
      const k = v as number;
      const mm = m as number | undefined;
      const fields = formatField(fld('id', 'id', 'be16'), 'id', k & 0xffff, mm === undefined ? undefined : mm & 0xffff, verbose) +
        formatField(fld('flags', 'flags', 'u8x'), 'flags', (k >>> 16) & 0xff, mm === undefined ? undefined : (mm >>> 16) & 0xff, verbose);
      out += `gbp(${fields.replace(/,$/, '')}),`;
    } else {
      out += `${formatGeneric(nestedSet(tunnelKeyAttrs, 'vxlan_opts'), name, v, m)},`;
    }
  }
  return out.replace(/,$/, '');
}

function formatGeneve(value: Buffer, mask: Buffer | undefined, verbose: boolean): string {
  if (mask && mask.length !== value.length) return `value len ${value.length} different from mask len ${mask.length}`;
  let out = '';
  let off = 0;
  while (off < value.length) {
    if (value.length - off < 4) return `${out}opt len ${value.length - off} less than minimum 4`;
    const dataLen = (value[off + 3]! & 0x1f) * 4;
    const len = 4 + dataLen;
    if (len > value.length - off) return `${out}opt len ${len} greater than remaining ${value.length - off}`;
    let opt = '{';
    opt += formatField(fld('class', 'class', 'be16x'), 'class', value.readUInt16BE(off), mask?.readUInt16BE(off), verbose);
    opt += formatField(fld('type', 'type', 'u8x'), 'type', value[off + 2], mask?.[off + 2], verbose);
    // The length mask is the 5-bit field; all five bits set reads as exact.
    const lenMask = mask ? ((mask[off + 3]! & 0x1f) === 0x1f ? 0xff : mask[off + 3]! & 0x1f) : undefined;
    opt += formatField(fld('len', 'len', 'u8'), 'len', dataLen, lenMask, verbose);
    const data = value.subarray(off + 4, off + len);
    const dmask = mask?.subarray(off + 4, off + len);
    if (dataLen && (verbose || !dmask || !allBytes(dmask, 0))) {
      opt += hexBytes(data);
      if (dmask && !allBytes(dmask, 0xff)) opt += `/${hexBytes(dmask)}`;
    } else opt = opt.replace(/,$/, '');
    out += `${opt}}`;
    off += len;
  }
  return out;
}

function formatErspan(value: Buffer, mask: Buffer | undefined, verbose: boolean): string {
  if (value.length < 12) return `key15(${spacedHex(value)})`;
  const ver = value.readInt32LE(0) & 0xff;
  let out = formatField(fld('ver', 'ver', 'u8'), 'ver', ver, mask ? mask.readInt32LE(0) & 0xff : undefined, verbose);
  if (ver === 1) {
    const idx = value.readUInt32BE(4);
    out += mask ? `idx=${hexAlt(idx)}/${hexAlt(mask.readUInt32BE(4))},` : `idx=${hexAlt(idx)},`;
  } else if (ver === 2) {
    const b = value[11]!;
    const mb = mask?.[11];
    out += formatField(fld('dir', 'dir', 'u8'), 'dir', (b >> 3) & 1, mb === undefined ? undefined : (mb >> 3) & 1, verbose);
    out += formatField(fld('hwid', 'hwid', 'u8x'), 'hwid', b >> 4, mb === undefined ? undefined : mb >> 4, verbose);
  }
  return out.replace(/,$/, '');
}

/**
 * A whole key (with its mask, if any) as ovs-dpctl's odp_flow_format() prints it.
 * With a mask, fully wildcarded attributes are left out unless verbose — except that an
 * all-wildcard eth() still shows (it says "this is an Ethernet packet") and nested
 * attributes always show; an eth_type found only in the mask is shown as
 * eth_type(0/0xNNNN).
 */
export function formatKey(key: AttrValues, mask?: AttrValues, options: KeyFormatOptions = {}): string {
  const names = Object.keys(key);
  if (!names.length) return '<empty>';
  const withMask = mask !== undefined && Object.keys(mask).length > 0 ? mask : undefined;
  const parts: string[] = [];
  let hasPacketType = false;
  for (const name of names) {
    const m = withMask && Object.hasOwn(withMask, name) ? withMask[name] : undefined;
    const text = formatKeyItem(name, key[name], m, withMask !== undefined, hasPacketType, options);
    // packet_type counts for a later eth() only when it is shown.
    if (name === 'packet_type') hasPacketType = text !== '';
    if (text) parts.push(text);
  }
  let out = parts.join(',');
  if (!Object.hasOwn(key, 'ethertype') && withMask && withMask['ethertype'] !== undefined) {
    out += `,eth_type(0/0x${(withMask['ethertype'] as number).toString(16).padStart(4, '0')})`;
  }
  return out;
}

/**
 * One attribute's part of formatKey()'s text: the attribute, `eth()` for a wildcarded
 * Ethernet header that no shown packet_type came before, or '' when left out. `masked`
 * says the key has a (non-empty) mask; `mask` is this attribute's, undefined when the
 * mask lacks it. Nothing else about the key matters, so the same value, mask and flags
 * always give the same text (what src/client/flow-printer.ts relies on).
 */
export function formatKeyItem(
  name: string, value: unknown, mask: unknown, masked: boolean, afterPacketType: boolean, options: KeyFormatOptions,
): string {
  const nested = name === 'encap' || name === 'tunnel' || name === 'nsh';
  const wildcard = masked && (mask === undefined || maskIsConstant(name, mask, 0));
  if ((options.verbose ?? false) || !wildcard || nested) {
    return formatKeyAttr(name, value, masked && mask === undefined ? wildcardMask(flowKeyAttrs, name, value) : mask, options);
  }
  return name === 'ethernet' && !afterPacketType ? 'eth()' : '';
}

/**
 * formatKeyItem() of a struct attribute (eth, ipv4, tcp, ct_tuple4, ...) worked out for
 * its mask ahead of the value: the text is parts[0] + shows[0](value[fields[0]]) +
 * parts[1] + ... + parts[n]. Undefined for other attributes. For many keys whose masks
 * repeat while their values change (src/client/flow-printer.ts).
 */
export interface StructItemPlan {
  parts: string[];
  fields: string[];
  shows: ((v: unknown) => string)[];
}

export function structItemPlan(name: string, mask: unknown, masked: boolean, afterPacketType: boolean, options: KeyFormatOptions): StructItemPlan | undefined {
  const def = BY_ATTR.get(name);
  if (def?.kind !== 'struct') return undefined;
  const verbose = options.verbose ?? false;
  const wildcard = masked && (mask === undefined || maskIsConstant(name, mask, 0));
  if (!verbose && wildcard) return { parts: [name === 'ethernet' && !afterPacketType ? 'eth()' : ''], fields: [], shows: [] };
  const m = (masked && mask === undefined ? wildcardMask(flowKeyAttrs, name, def.zeros) : mask) as Record<string, unknown> | undefined;
  const plan: StructItemPlan = { parts: [], fields: [], shows: [] };
  let text = `${def.text}(`;
  for (const f of def.fields) {
    const piece = fieldPiece(f, f.label, m?.[f.field], verbose);
    text += piece.text;
    if (piece.show) {
      plan.parts.push(text);
      plan.fields.push(f.field);
      plan.shows.push(piece.show);
      text = piece.tail;
    }
  }
  // formatBody's struct case drops the last field's comma.
  plan.parts.push(`${text.replace(/,$/, '')})`);
  return plan;
}
