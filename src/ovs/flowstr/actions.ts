/**
 * Flow actions in ovs-dpctl's datapath syntax: `ct(commit,zone=1,nat(src=10.1.1.240-
 * 10.1.1.255)),2`. parseActions() builds the action list the codec encodes with
 * actionAttrs (src/ovs/actions.ts) — one single-key object per action, in order — and
 * formatActions() prints such a list (as decoded from the kernel) the way ovs-dpctl 3.1
 * prints `actions:`.
 *
 * For every string ovs-dpctl 3.1 accepts, the bytes we encode are the bytes it sends,
 * quirks included (numbers wrap as C stores them, `mark=10` is hex, `userspace(pid=1)`
 * carries 48 zero bytes of userdata, `nat(src,persistent)` drops `persistent`, ...).
 * Everything we print parses back: we also read what ovs-dpctl prints but cannot parse
 * (hash(), push_mpls(), pop_mpls(), push_eth(), pop_eth, recirc(0x1), `drop` inside a
 * nested list), and the kernel actions 3.1 does not know (dec_ttl, drop(N), psample,
 * ct eventmask). docs/flow-syntax.md ("Actions") lists the syntax and the choices made.
 */
import { decodeList, decodeStruct, encodeAttrs, encodeStruct } from '../../nl/codec.js';
import { type AttrValues, type StructSpec, type UnknownAttr, UNKNOWN_PREFIX } from '../../nl/schema.js';
import { parseIPv4, parseIPv6 } from '../../nl/repr.js';
import { actionAttrs } from '../actions.js';
import { flowKeyAttrs } from '../keys.js';
import {
  COOKIE_SIZE, COOKIE_STRUCTS, COOKIE_TYPES, OFPP_NONE, SLOW_PATH_REASONS,
} from '../userspace-cookie.js';
import {
  formatKeyAttr, hexAlt, hexBytes, parseKeyAttr, scanInt, scanIPv4, scanIPv6, scanMac, scanNum, scanWideInt,
  skipDelimiters, take, takeName, u128Bytes,
} from './keys.js';
import { type FlowParseError, Scanner, closeMatches } from './scanner.js';

export interface ParseActionsOptions {
  /** Resolves a port name in an output action (ovs-dpctl takes names only from a datapath's ports). */
  portNames?: (name: string) => number | undefined;
  /**
   * nat() as ovs-ofctl reads it: addresses and ports out of range are refused, where
   * ovs-dpctl's scanf wraps them (10.1.1.300 is 10.1.1.44 there), and so are persistent,
   * hash and random without src or dst, which ovs-dpctl drops.
   */
  ofctlNat?: boolean;
}

export interface FormatActionsOptions {
  /** A name to print for an output port number; the number is printed when it returns undefined. */
  portName?: (no: number) => string | undefined;
}

// ---------------------------------------------------------------- scanning helpers

/** MAX_ODP_NESTED: how deep ovs-dpctl lets action lists nest (clone(clone(...))). */
const MAX_DEPTH = 32;

const U32_MAX = 0xffffffff;

/** What ovs-dpctl skips between actions and between the items inside one: commas, spaces, tabs, CR, LF. */
function skipSeparators(sc: Scanner): void {
  skipDelimiters(sc);
}

function isSeparator(c: string | undefined): boolean {
  return c === ',' || c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

function expectChar(sc: Scanner, c: string, context: string): void {
  if (sc.input[sc.pos] !== c) throw sc.error(`expected "${c}" ${context}${sc.found()}`);
  sc.pos++;
}

/**
 * An unsigned number stored into a `bits`-wide field, wrapped as C stores it, read the
 * way ovs-dpctl's scanf conversion for the field reads it: 'i' (%i: decimal, 0x hex,
 * leading-0 octal), 'u' (%u: decimal; we also take 0x hex, which %u refuses), 'x' (%x:
 * hex, with or without 0x).
 */
function scanNumber(sc: Scanner, bits: number, what: string, radix: 'i' | 'u' | 'x'): bigint {
  if (radix === 'i') return scanInt(sc, bits, what);
  const at = sc.pos;
  const m = radix === 'x'
    ? take(sc, /([+-]?)(?:0[xX])?([0-9a-fA-F]+)/y)
    : take(sc, /([+-]?)(0[xX][0-9a-fA-F]+|[0-9]+)/y);
  if (!m) throw sc.error(`expected ${what}${radix === 'x' ? ' (hex)' : ''}${sc.found()}`, at);
  const v = BigInt(radix === 'x' ? `0x${m[2]}` : m[2]!);
  return BigInt.asUintN(bits, m[1] === '-' ? -v : v);
}

function num(sc: Scanner, bits: number, what: string, radix: 'i' | 'u' | 'x' = 'i'): number {
  return radix === 'i' && bits <= 32 ? scanNum(sc, bits, what) : Number(scanNumber(sc, bits, what, radix));
}

/** Hex digits (white space between bytes allowed) up to `end`, as bytes; an odd count gets a leading 0. */
function scanHexBytes(sc: Scanner, what: string, oddAllowed: boolean): Buffer {
  const at = sc.pos;
  const m = take(sc, /[0-9a-fA-F \t]*/y)!;
  const digits = m[0].replace(/[ \t]/g, '');
  if (digits.length % 2 && !oddAllowed) throw sc.error(`${what} needs an even number of hex digits`, at);
  return Buffer.from(digits.length % 2 ? `0${digits}` : digits, 'hex');
}

type Reader = (sc: Scanner, ctx: ParseContext) => unknown;

/** One `name` or `name=value` or `name(...)` item of an argument list. */
interface Item {
  name: string;
  /** How the item is shown in "expected ..." messages. */
  label: string;
  /**
   * Reads the rest of the item, the scanner just after its name. Undefined keeps what
   * an earlier mention gave (a bare `src` after `src=RANGE` in nat()).
   */
  read: Reader;
}

function flagItem(name: string): Item {
  return { name, label: name, read: () => true };
}

function valueItem(name: string, read: Reader): Item {
  return {
    name,
    label: `${name}=`,
    read: (sc, ctx) => {
      expectChar(sc, '=', `after ${name}`);
      return read(sc, ctx);
    },
  };
}

function callItem(name: string, read: Reader, label = `${name}(...)`): Item {
  return { name, label, read };
}

/** The items `what(...)` takes, looked up by name. */
class ItemTable {
  readonly what: string;
  readonly items: ReadonlyMap<string, Item>;

  constructor(what: string, items: readonly Item[]) {
    this.what = what;
    this.items = new Map(items.map((i) => [i.name, i]));
  }

  unknown(sc: Scanner, name: string | undefined, at: number): FlowParseError {
    const labels = [...this.items.values()].map((i) => i.label);
    const hint = name ? closeMatches(name, this.items.keys()) : [];
    const guess = hint.length ? ` (did you mean ${hint.join(', ')}?)` : '';
    return sc.error(`expected ${labels.join(', ')} or ")" in ${this.what}(...)${sc.found()}${guess}`, at);
  }
}

/**
 * The items of `what(...)` up to and including its ')': any order, separated by commas
 * or white space; an item given twice keeps its last value (as in ovs-dpctl).
 */
function scanItems(sc: Scanner, ctx: ParseContext, table: ItemTable): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (;;) {
    skipSeparators(sc);
    if (sc.input[sc.pos] === ')') {
      sc.pos++;
      return out;
    }
    const at = sc.pos;
    const name = takeName(sc);
    const item = name === undefined ? undefined : table.items.get(name);
    if (!item) {
      sc.pos = at;
      throw table.unknown(sc, name, at);
    }
    const value = item.read(sc, ctx);
    if (value !== undefined || !out.has(item.name)) out.set(item.name, value);
    const c = sc.input[sc.pos];
    if (c !== ')' && !isSeparator(c)) throw sc.error(`expected "," or ")" to close ${table.what}(...)${sc.found()}`);
  }
}

function fieldNumber(fields: Map<string, unknown>, name: string, fallback = 0): number {
  return (fields.get(name) as number | undefined) ?? fallback;
}

// ---------------------------------------------------------------- action lists

interface ParseContext {
  portNames?: (name: string) => number | undefined;
  depth: number;
  ofctlNat?: boolean;
}

const BARE_DROP = /drop(?![A-Za-z0-9_(])/iy;
const WORD = /[^, \t\r\n()]+/y;

/**
 * Actions up to the end of the input (top level) or up to, not including, the ')' that
 * closes `within`. `drop` alone is the empty list, as ovs-dpctl prints it.
 */
function parseList(sc: Scanner, ctx: ParseContext, within?: string): AttrValues[] {
  if (++ctx.depth > MAX_DEPTH) throw sc.error(`actions nest more than ${MAX_DEPTH} levels deep`);
  const atEnd = (): boolean => (within ? sc.input[sc.pos] === ')' : sc.pos >= sc.input.length);
  skipSeparators(sc);
  const dropAt = sc.pos;
  if (take(sc, BARE_DROP)) {
    skipSeparators(sc);
    if (atEnd()) {
      ctx.depth--;
      return [];
    }
    sc.pos = dropAt;
  }
  const list: AttrValues[] = [];
  for (;;) {
    skipSeparators(sc);
    if (atEnd()) break;
    if (within && sc.pos >= sc.input.length) throw sc.error(`expected an action or ")" to close ${within}(...)${sc.found()}`);
    if (list.length && 'drop' in list[list.length - 1]!) {
      throw sc.error('nothing can follow drop(N): the kernel refuses a drop that is not the last action of its list');
    }
    list.push(parseAction(sc, ctx));
    if (!atEnd() && !isSeparator(sc.input[sc.pos])) {
      throw sc.error(`expected "," after an action${within ? ` or ")" to close ${within}(...)` : ''}${sc.found()}`);
    }
  }
  ctx.depth--;
  return list;
}

/** A nested `(LIST)` of `name(`, the scanner on the '('; consumes the ')'. */
function parseNestedList(sc: Scanner, ctx: ParseContext, name: string): AttrValues[] {
  expectChar(sc, '(', `after ${name}`);
  const list = parseList(sc, ctx, name);
  sc.pos++;
  return list;
}

type ActionParser = (sc: Scanner, ctx: ParseContext, at: number) => AttrValues;

/** Actions of OVS's userspace datapath only, with why the kernel cannot take them. */
const USERSPACE_ONLY: Readonly<Record<string, string>> = {
  tnl_push: 'ovs-dpctl 3.1 sends it as action 23, the kernel\'s dec_ttl, which refuses it',
  tnl_pop: 'ovs-dpctl 3.1 sends it as action 24, which kernel 6.12 takes as drop(N)',
  lb_output: 'ovs-dpctl 3.1 sends it as action 26, which the kernel refuses',
};

/**
 * OpenFlow spellings (ovs-ofctl's) of what the datapath's action text writes otherwise:
 * what to write instead, for someone who knows the one and types it in the other.
 */
const OPENFLOW_SPELLINGS: Readonly<Record<string, string>> = {
  output: 'a datapath output is the port number alone, e.g. 2',
  resubmit: 'the datapath has no tables: recirc(ID) looks the packet up again with recirc_id(ID)',
  mod_dl_src: 'write set(eth(src=...))', mod_dl_dst: 'write set(eth(dst=...))',
  mod_nw_src: 'write set(ipv4(src=...))', mod_nw_dst: 'write set(ipv4(dst=...))',
  mod_tp_src: 'write set(tcp(src=...)) or set(udp(src=...))', mod_tp_dst: 'write set(tcp(dst=...)) or set(udp(dst=...))',
};

function parseAction(sc: Scanner, ctx: ParseContext): AttrValues {
  const at = sc.pos;
  // A number (an optional sign, then a digit) is an output port.
  const first = sc.input.charCodeAt(at);
  const digitAt = first === 43 /* + */ || first === 45 /* - */ ? at + 1 : at;
  if (sc.input.charCodeAt(digitAt) >= 48 && sc.input.charCodeAt(digitAt) <= 57) return { output: num(sc, 32, 'a port number') };
  if (ctx.portNames) {
    WORD.lastIndex = at;
    const word = WORD.exec(sc.input)?.[0] ?? '';
    if (word && sc.input[at + word.length] !== '(') {
      const port = ctx.portNames(word);
      if (port !== undefined) {
        sc.pos = at + word.length;
        return { output: port };
      }
    }
  }
  const name = takeName(sc);
  if (name === undefined) throw sc.error(`expected an action${sc.found()}`, at);
  const parser = PARSERS.get(name);
  if (parser) return parser(sc, ctx, at);
  const generic = /^action([0-9]+)$/.exec(name);
  if (generic) return parseGenericAction(sc, Number(generic[1]), at);
  sc.pos = at;
  if (USERSPACE_ONLY[name]) {
    throw sc.error(`${name} is an action of OVS's userspace datapath; the kernel has none (${USERSPACE_ONLY[name]})`, at);
  }
  const port = ctx.portNames ? ' or port name' : '';
  if (OPENFLOW_SPELLINGS[name]) throw sc.error(`unknown action${port} "${name}": that is OpenFlow's; ${OPENFLOW_SPELLINGS[name]}`, at);
  const close = closeMatches(name, PARSERS.keys());
  throw sc.error(`unknown action${port} "${name}"${close.length ? ` (did you mean ${close.join(', ')}?)` : ''}`, at);
}

/** actionN(hex bytes): an action by number, as ovs-dpctl prints one it does not know. */
function parseGenericAction(sc: Scanner, type: number, at: number): AttrValues {
  if (type > 0x3fff) throw sc.error(`action type ${type} is above netlink's 16383`, at);
  let raw: Buffer = Buffer.alloc(0);
  if (sc.input[sc.pos] === '(') {
    sc.pos++;
    raw = scanHexBytes(sc, `action${type}(...)`, false);
    expectChar(sc, ')', `to close action${type}(...)`);
  }
  // A type the schema knows decodes to its usual shape, so actionN(...) and the named
  // form mean the same value.
  const attr = Buffer.alloc(4 + raw.length + 3 & ~3);
  attr.writeUInt16LE(4 + raw.length, 0);
  attr.writeUInt16LE(type, 2);
  raw.copy(attr, 4);
  try {
    return decodeList(actionAttrs, attr)[0]!;
  } catch (e) {
    throw sc.error(`action${type}(...) is not a valid ${actionAttrs.get(type)?.name ?? 'action'}: ${(e as Error).message}`, at);
  }
}

// ---------------------------------------------------------------- ct and nat

const CT_NAME = /[^, \t\r\n)]*/y;

/** A helper or timeout policy name: up to the next separator or ')', at most `max` characters. */
function ctName(max: number, what: string): Reader {
  return (sc) => {
    const start = sc.pos;
    const m = take(sc, CT_NAME)!;
    if (!m[0] || m[0].length > max) throw sc.error(`${what} is 1 to ${max} characters`, start);
    return m[0];
  };
}

const CT_ITEMS = new ItemTable('ct', [
  flagItem('commit'),
  flagItem('force_commit'),
  valueItem('zone', (sc) => num(sc, 16, 'a zone number', 'u')),
  valueItem('mark', (sc) => {
    const value = num(sc, 32, 'a mark', 'x');
    let mask = U32_MAX;
    if (sc.input[sc.pos] === '/') {
      sc.pos++;
      mask = num(sc, 32, 'a mark mask', 'x');
    }
    return { value, mask };
  }),
  valueItem('label', (sc) => {
    const value = u128Bytes(scanWideInt(sc, 16, 'a label'));
    let mask: Buffer = Buffer.alloc(16, 0xff);
    if (sc.input[sc.pos] === '/') {
      sc.pos++;
      mask = u128Bytes(scanWideInt(sc, 16, 'a label mask'));
    }
    return { value, mask };
  }),
  valueItem('helper', ctName(15, 'a helper name')),
  valueItem('timeout', ctName(31, 'a timeout policy name')),
  valueItem('eventmask', (sc) => num(sc, 32, 'an event mask', 'x')),
  callItem('nat', (sc, ctx) => parseNat(sc, ctx)),
]);

function parseCt(sc: Scanner, ctx: ParseContext): AttrValues {
  if (sc.input[sc.pos] !== '(') return { ct: {} };
  const open = sc.pos;
  sc.pos++;
  const f = scanItems(sc, ctx, CT_ITEMS);
  if (f.get('commit') && f.get('force_commit')) throw sc.error('ct(...) takes commit or force_commit, not both', open);
  // What ovs-dpctl sends: zone 0, a zero mark mask and a zero label mask send nothing.
  const ct: AttrValues = {};
  if (f.get('commit')) ct['commit'] = true;
  else if (f.get('force_commit')) ct['force_commit'] = true;
  if (f.get('zone')) ct['zone'] = f.get('zone');
  const mark = f.get('mark') as { mask: number } | undefined;
  if (mark?.mask) ct['mark'] = mark;
  const label = f.get('label') as { mask: Buffer } | undefined;
  if (label && label.mask.some((b) => b !== 0)) ct['labels'] = label;
  if (f.has('helper')) ct['helper'] = f.get('helper');
  if (f.has('eventmask')) ct['eventmask'] = f.get('eventmask');
  if (f.has('timeout')) ct['timeout'] = f.get('timeout');
  if (f.has('nat')) ct['nat'] = f.get('nat');
  return { ct };
}

interface NatRange {
  min: string;
  max?: string;
  protoMin?: number;
  protoMax?: number;
  at: number;
}

const IPV4_AHEAD = /[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/y;

/** An address for nat(): IPv4, IPv6, or [IPv6] (brackets needed when a port follows). */
function scanNatAddress(sc: Scanner, v6: boolean | undefined, strict: boolean): string {
  const at = sc.pos;
  IPV4_AHEAD.lastIndex = at;
  if (v6 !== true && IPV4_AHEAD.test(sc.input)) {
    const text = sc.input.slice(at, IPV4_AHEAD.lastIndex);
    if (strict && parseIPv4(text) === undefined) throw sc.error(`${text} is no IPv4 address (each part is 0-255)`, at);
    return scanIPv4(sc, 'a NAT address');
  }
  if (v6 === false) return scanIPv4(sc, 'a NAT address');
  // Digits and dots alone are an IPv4 address cut short, not an IPv6 one.
  if (/^[0-9.]+(?![0-9a-fA-F:])/.test(sc.input.slice(at))) throw sc.error(`expected a NAT address (IPv4 a.b.c.d, or IPv6)${sc.found()}`, at);
  if (sc.input[sc.pos] === '[') {
    sc.pos++;
    const a = scanIPv6(sc, 'a NAT address');
    expectChar(sc, ']', 'after an IPv6 address');
    return a;
  }
  return scanIPv6(sc, 'a NAT address');
}

function scanNatRange(sc: Scanner, strict: boolean): NatRange | undefined {
  if (sc.input[sc.pos] !== '=') return undefined;
  sc.pos++;
  const at = sc.pos;
  const min = scanNatAddress(sc, undefined, strict);
  const r: NatRange = { min, at };
  if (sc.input[sc.pos] === '-') {
    sc.pos++;
    r.max = scanNatAddress(sc, min.includes(':'), strict);
  }
  if (sc.input[sc.pos] === ':') {
    sc.pos++;
    r.protoMin = scanNatPort(sc, strict);
    if (sc.input[sc.pos] === '-') {
      sc.pos++;
      r.protoMax = scanNatPort(sc, strict);
    }
  }
  return r;
}

/** A NAT port: 16 bits, wrapping as ovs-dpctl's scanf does unless `strict`. */
function scanNatPort(sc: Scanner, strict: boolean): number {
  if (!strict) return num(sc, 16, 'a port', 'u');
  const at = sc.pos;
  const n = scanNumber(sc, 64, 'a port', 'u');
  if (n > 0xffffn) throw sc.error(`${n} is no port (0-65535)`, at);
  return Number(n);
}

/** An address as it goes on the wire (4 or 16 bytes), for comparing range ends. */
function addressBytes(a: string): Buffer {
  const v4 = parseIPv4(a);
  if (v4 === undefined) return parseIPv6(a)!;
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v4);
  return b;
}

const NAT_ITEMS = new ItemTable('nat', [
  callItem('src', (sc, ctx) => scanNatRange(sc, ctx.ofctlNat === true), 'src[=ADDRESSES[:PORTS]]'),
  callItem('dst', (sc, ctx) => scanNatRange(sc, ctx.ofctlNat === true), 'dst[=ADDRESSES[:PORTS]]'),
  flagItem('persistent'), flagItem('hash'), flagItem('random'),
]);

function parseNat(sc: Scanner, ctx: ParseContext): AttrValues {
  if (sc.input[sc.pos] !== '(') return {};
  const open = sc.pos - 3;
  sc.pos++;
  const f = scanItems(sc, ctx, NAT_ITEMS);
  if (f.has('src') && f.has('dst')) throw sc.error('nat(...) takes src or dst, not both', open);
  if (f.get('hash') && f.get('random')) throw sc.error('nat(...) takes hash or random, not both', open);
  const nat: AttrValues = {};
  if (!f.has('src') && !f.has('dst')) {
    // ovs-ofctl refuses a flag without a type; ovs-dpctl sends an empty nat, whatever else was given.
    const flag = ctx.ofctlNat ? [...f.keys()].find((name) => f.get(name)) : undefined;
    if (flag) throw sc.error(`nat(${flag}) needs src or dst: the flags choose how a new connection's NAT is picked`, open);
    return nat;
  }
  nat[f.has('src') ? 'src' : 'dst'] = true;
  const r = (f.get('src') ?? f.get('dst')) as NatRange | undefined;
  if (!r) return nat;
  const min = addressBytes(r.min);
  const max = r.max === undefined ? undefined : addressBytes(r.max);
  if (max && max.some((b) => b !== 0) && Buffer.compare(max, min) < 0) {
    throw sc.error(`the NAT address range ends (${r.max}) below where it starts (${r.min})`, r.at);
  }
  if (r.protoMax && r.protoMax < (r.protoMin ?? 0)) {
    throw sc.error(`the NAT port range ends (${r.protoMax}) below where it starts (${r.protoMin ?? 0})`, r.at);
  }
  // Only what widens the range is sent, and the flags only with an address.
  nat['ip_min'] = r.min;
  if (max && Buffer.compare(max, min) > 0) nat['ip_max'] = r.max;
  if (r.protoMin) {
    nat['proto_min'] = r.protoMin;
    if (r.protoMax && r.protoMax > r.protoMin) nat['proto_max'] = r.protoMax;
  }
  if (f.get('persistent')) nat['persistent'] = true;
  if (f.get('hash')) nat['proto_hash'] = true;
  if (f.get('random')) nat['proto_random'] = true;
  return nat;
}

// ---------------------------------------------------------------- userspace()

function cookieBytes(spec: StructSpec, type: keyof typeof COOKIE_TYPES, fields: Record<string, unknown>): Buffer {
  return encodeStruct(spec, { type, ofp_in_port: OFPP_NONE, ...fields });
}

const REASON_NAME = /[A-Za-z_]+/y;

/** slow_path(a,b|N): reason names or numbers, separated by ',' or '|'. */
function scanSlowPath(sc: Scanner): Buffer {
  expectChar(sc, '(', 'after slow_path');
  let reason = 0;
  while (sc.input[sc.pos] !== ')') {
    const at = sc.pos;
    const m = take(sc, REASON_NAME);
    if (m) {
      const bit = (SLOW_PATH_REASONS as Record<string, number>)[m[0]];
      if (bit === undefined) {
        sc.pos = at;
        throw sc.error(`expected a slow path reason (${Object.keys(SLOW_PATH_REASONS).join(', ')}) or a number${sc.found()}`, at);
      }
      reason |= bit;
    } else reason |= num(sc, 32, 'a slow path reason');
    if (sc.input[sc.pos] === ',' || sc.input[sc.pos] === '|') sc.pos++;
    else if (sc.input[sc.pos] !== ')') throw sc.error(`expected ",", "|" or ")" in slow_path(...)${sc.found()}`);
  }
  sc.pos++;
  if (reason & ~0x7f) throw sc.error(`slow path reason ${hexAlt(reason >>> 0)} has unknown bits`);
  return cookieBytes(COOKIE_STRUCTS.slow_path, 'slow_path', { reason: reason >>> 0 });
}

const NUMBER_AHEAD = /[+-]?[0-9]/y;

/** A port number, or a name the caller resolves. */
function scanPort(sc: Scanner, ctx: ParseContext): number {
  NUMBER_AHEAD.lastIndex = sc.pos;
  if (ctx.portNames && !NUMBER_AHEAD.test(sc.input)) {
    const at = sc.pos;
    const m = take(sc, WORD);
    const port = m ? ctx.portNames(m[0]) : undefined;
    if (port !== undefined) return port;
    sc.pos = at;
  }
  return num(sc, 32, 'a port number');
}

const int = (bits: number, radix: 'i' | 'u' | 'x' = 'i'): Reader => (sc) => num(sc, bits, 'a number', radix);
const port: Reader = (sc, ctx) => scanPort(sc, ctx);

const SFLOW_ITEMS = new ItemTable('sFlow', [valueItem('vid', int(32)), valueItem('pcp', int(32)), valueItem('output', int(32))]);
const FLOW_SAMPLE_ITEMS = new ItemTable('flow_sample', [
  valueItem('probability', int(16)), valueItem('collector_set_id', int(32)), valueItem('obs_domain_id', int(32)),
  valueItem('obs_point_id', int(32)), valueItem('output_port', port), flagItem('ingress'), flagItem('egress'),
]);
const IPFIX_ITEMS = new ItemTable('ipfix', [valueItem('output_port', port)]);
const CONTROLLER_ITEMS = new ItemTable('controller', [
  valueItem('reason', int(16, 'u')), valueItem('dont_send', int(8, 'u')), valueItem('continuation', int(8, 'u')),
  valueItem('recirc_id', int(32, 'u')), valueItem('rule_cookie', (sc) => scanNumber(sc, 64, 'a cookie', 'x')),
  valueItem('controller_id', int(16, 'u')), valueItem('max_len', int(16, 'u')),
]);

/** The userdata forms of userspace(...) in ovs-dpctl's order, each read into the bytes it sends. */
const COOKIES: readonly Item[] = [
  callItem('slow_path', scanSlowPath),
  callItem('sFlow', (sc, ctx) => {
    expectChar(sc, '(', 'after sFlow');
    const f = scanItems(sc, ctx, SFLOW_ITEMS);
    let tci = (fieldNumber(f, 'vid') | (fieldNumber(f, 'pcp') << 13)) & 0xffff;
    if (tci) tci |= 0x1000;
    return cookieBytes(COOKIE_STRUCTS.sflow, 'sflow', { vlan_tci: tci, output: fieldNumber(f, 'output') });
  }),
  callItem('flow_sample', (sc, ctx) => {
    expectChar(sc, '(', 'after flow_sample');
    const f = scanItems(sc, ctx, FLOW_SAMPLE_ITEMS);
    if (f.get('ingress') && f.get('egress')) throw sc.error('flow_sample(...) takes ingress or egress, not both');
    return cookieBytes(COOKIE_STRUCTS.flow_sample, 'flow_sample', {
      probability: fieldNumber(f, 'probability'), collector_set_id: fieldNumber(f, 'collector_set_id'),
      obs_domain_id: fieldNumber(f, 'obs_domain_id'), obs_point_id: fieldNumber(f, 'obs_point_id'),
      output_odp_port: fieldNumber(f, 'output_port'),
      direction: f.get('ingress') ? 'ingress' : f.get('egress') ? 'egress' : 'default',
    });
  }),
  callItem('ipfix', (sc, ctx) => {
    expectChar(sc, '(', 'after ipfix');
    const f = scanItems(sc, ctx, IPFIX_ITEMS);
    return cookieBytes(COOKIE_STRUCTS.ipfix, 'ipfix', { output_odp_port: fieldNumber(f, 'output_port') });
  }),
  callItem('controller', (sc, ctx) => {
    expectChar(sc, '(', 'after controller');
    const f = scanItems(sc, ctx, CONTROLLER_ITEMS);
    return cookieBytes(COOKIE_STRUCTS.controller, 'controller', {
      dont_send: fieldNumber(f, 'dont_send') ? 1 : 0, continuation: fieldNumber(f, 'continuation') ? 1 : 0,
      reason: fieldNumber(f, 'reason'), recirc_id: fieldNumber(f, 'recirc_id'),
      rule_cookie: (f.get('rule_cookie') as bigint | undefined) ?? 0n,
      controller_id: fieldNumber(f, 'controller_id'), max_len: fieldNumber(f, 'max_len'),
    });
  }),
  callItem('userdata', (sc) => {
    expectChar(sc, '(', 'after userdata');
    const data = scanHexBytes(sc, 'userdata(...)', false);
    expectChar(sc, ')', 'to close userdata(...)');
    // ovs-dpctl sends at least 8 bytes (what kernels before 3.10 required), zero-padded.
    return data.length >= 8 ? data : Buffer.concat([data, Buffer.alloc(8 - data.length)]);
  }),
];

const USERSPACE_ITEMS = new ItemTable('userspace', [
  valueItem('pid', int(32)),
  ...COOKIES,
  flagItem('actions'),
  valueItem('tunnel_out_port', port),
]);

function parseUserspace(sc: Scanner, ctx: ParseContext, at: number): AttrValues {
  expectChar(sc, '(', 'after userspace');
  const f = scanItems(sc, ctx, USERSPACE_ITEMS);
  if (!f.has('pid')) throw sc.error('userspace(...) needs pid=', at);
  const cookies = COOKIES.map((c) => c.name).filter((c) => f.has(c));
  if (cookies.length > 1) {
    throw sc.error(`userspace(...) takes one of ${COOKIES.map((c) => c.name).join(', ')}, not ${cookies.join(' and ')}`, at);
  }
  const u: AttrValues = { pid: f.get('pid') };
  // Without a cookie ovs-dpctl still sends one: 48 zero bytes (an "unspec" cookie).
  u['userdata'] = cookies.length ? f.get(cookies[0]!) : Buffer.alloc(COOKIE_SIZE);
  if (f.has('tunnel_out_port')) u['egress_tun_port'] = f.get('tunnel_out_port');
  if (f.get('actions')) u['actions'] = true;
  return { userspace: u };
}

// ---------------------------------------------------------------- set, push_nsh

/** The payload bytes of one flow key attribute. */
function keyPayload(name: string, value: unknown): Buffer {
  if (name.startsWith(UNKNOWN_PREFIX)) return (value as UnknownAttr).raw;
  const b = encodeAttrs(flowKeyAttrs, { [name]: value });
  return b.subarray(4, b.readUInt16LE(0));
}

function parseSet(sc: Scanner): AttrValues {
  expectChar(sc, '(', 'after set');
  const keyAt = sc.pos;
  const a = parseKeyAttr(sc, { masked: true });
  if (a.name === 'nsh') {
    // The kernel takes an NSH set only as set_masked with each inner attribute masked,
    // which ovs-dpctl 3.1 cannot write either ("parsing actions: Invalid argument").
    throw sc.error('set(nsh(...)) is not supported: the kernel needs it masked per NSH field, which this syntax cannot express', keyAt);
  }
  expectChar(sc, ')', 'to close set(...): it takes one key attribute');
  // ovs-dpctl turns set() into set_masked when the mask is not all ones. Nested keys
  // (tunnel) always go as set: their mask is never a byte-for-byte match.
  if (flowKeyAttrs.byNameOf(a.name)?.type === 'nested') return { set: { [a.name]: a.value } };
  const value = keyPayload(a.name, a.value);
  const mask = keyPayload(a.name, a.mask);
  if (mask.every((b) => b === 0xff)) return { set: { [a.name]: a.value } };
  if (value.some((b, i) => b & ~mask[i]!)) {
    // The kernel refuses such a set_masked (EINVAL); ovs-dpctl sends it all the same.
    const example = a.name === 'ipv6' ? '2001:db8::/ffff:ffff::' : a.name === 'ethernet' ? '00:11:22:00:00:00/ff:ff:ff:00:00:00' : '10.1.0.0/255.255.0.0';
    throw sc.error(`set(...): the value has bits outside its mask, which the kernel refuses; write the value with those bits zero (e.g. ${example})`, keyAt);
  }
  return { set_masked: { [a.name]: { value: a.value, mask: a.mask } } };
}

/** NSH_CTX_HDRS_MAX_LEN: the most MD type 2 metadata push_nsh can carry. */
const NSH_MD2_MAX = 248;

const HEX_PREFIX = /0[xX]/y;

const PUSH_NSH_ITEMS = new ItemTable('push_nsh', [
  valueItem('flags', int(8)), valueItem('ttl', int(8)), valueItem('mdtype', int(8)), valueItem('np', int(8)),
  valueItem('spi', int(32, 'x')), valueItem('si', int(8)),
  valueItem('c1', int(32, 'x')), valueItem('c2', int(32, 'x')), valueItem('c3', int(32, 'x')), valueItem('c4', int(32, 'x')),
  valueItem('md2', (sc) => {
    take(sc, HEX_PREFIX);
    return scanHexBytes(sc, 'md2', true);
  }),
]);

function parsePushNsh(sc: Scanner, ctx: ParseContext): AttrValues {
  expectChar(sc, '(', 'after push_nsh');
  const open = sc.pos - 1;
  const f = scanItems(sc, ctx, PUSH_NSH_ITEMS);
  // ovs-dpctl's defaults: MD type 1, TTL 63, next protocol Ethernet (3), SI 255.
  const mdtype = fieldNumber(f, 'mdtype', 1);
  if (mdtype !== 1 && mdtype !== 2) throw sc.error(`push_nsh(...): mdtype is 1 or 2, not ${mdtype}`, open);
  const md1Given = ['c1', 'c2', 'c3', 'c4'].filter((c) => f.has(c));
  if (mdtype === 2 && md1Given.length) throw sc.error(`push_nsh(...): ${md1Given.join(', ')} belong to mdtype=1`, open);
  if (mdtype === 1 && f.has('md2')) throw sc.error('push_nsh(...): md2 belongs to mdtype=2', open);
  const spi = fieldNumber(f, 'spi');
  const si = fieldNumber(f, 'si', 255);
  const nsh: AttrValues = {
    base: {
      flags: fieldNumber(f, 'flags'), ttl: fieldNumber(f, 'ttl', 63), mdtype, np: fieldNumber(f, 'np', 3),
      path_hdr: ((spi << 8) | si) >>> 0,
    },
  };
  if (mdtype === 1) {
    nsh['md1'] = { c1: fieldNumber(f, 'c1'), c2: fieldNumber(f, 'c2'), c3: fieldNumber(f, 'c3'), c4: fieldNumber(f, 'c4') };
  } else {
    const md2 = (f.get('md2') as Buffer | undefined) ?? Buffer.alloc(0);
    // Padded with zeros to a multiple of 4 bytes, as ovs-dpctl does.
    const padded = Buffer.concat([md2, Buffer.alloc(-md2.length & 3)]);
    if (padded.length > NSH_MD2_MAX) throw sc.error(`push_nsh(...): md2 is at most ${NSH_MD2_MAX} bytes`, open);
    if (padded.length) nsh['md2'] = padded;
  }
  return { push_nsh: { nsh } };
}

// ---------------------------------------------------------------- the other actions

function parseNoArgs(name: string, optionalParens = false): ActionParser {
  return (sc) => {
    if (optionalParens && sc.input.startsWith('()', sc.pos)) sc.pos += 2;
    return { [name]: true };
  };
}

/** `name(N)` with one number. */
function parseSingle(name: string, read: Reader, shape = (v: unknown): unknown => v): ActionParser {
  return (sc, ctx) => {
    expectChar(sc, '(', `after ${name}`);
    const v = read(sc, ctx);
    expectChar(sc, ')', `to close ${name}(...)`);
    return { [name]: shape(v) };
  };
}

/** `name(items)`: the items as a map, with `required` insisted on. */
function parseWithItems(sc: Scanner, ctx: ParseContext, at: number, table: ItemTable, required: readonly string[] = []): Map<string, unknown> {
  expectChar(sc, '(', `after ${table.what}`);
  const f = scanItems(sc, ctx, table);
  const missing = required.filter((n) => !f.has(n));
  if (missing.length) throw sc.error(`${table.what}(...) needs ${missing.map((n) => `${n}=`).join(', ')}`, at);
  return f;
}

function mplsLse(f: Map<string, unknown>): number {
  return ((fieldNumber(f, 'label') << 12) | (fieldNumber(f, 'tc') << 9) | (fieldNumber(f, 'bos') << 8) | fieldNumber(f, 'ttl')) >>> 0;
}

const MPLS_ITEMS: readonly Item[] = [
  valueItem('label', int(32)), valueItem('tc', int(8, 'u')), valueItem('ttl', int(8, 'u')),
  valueItem('bos', int(8, 'u')), valueItem('eth_type', int(16, 'x')),
];
const PUSH_MPLS_ITEMS = new ItemTable('push_mpls', MPLS_ITEMS);
const ADD_MPLS_ITEMS = new ItemTable('add_mpls', [...MPLS_ITEMS, valueItem('tun_flags', int(16))]);
const POP_MPLS_ITEMS = new ItemTable('pop_mpls', [valueItem('eth_type', int(16, 'x'))]);
const PUSH_VLAN_ITEMS = new ItemTable('push_vlan', [
  valueItem('tpid', int(32)), valueItem('vid', int(32)), valueItem('pcp', int(32)), valueItem('cfi', int(32)),
]);
const PUSH_ETH_ITEMS = new ItemTable('push_eth', [
  valueItem('src', (sc) => scanMac(sc, 'a source MAC')), valueItem('dst', (sc) => scanMac(sc, 'a destination MAC')),
]);

const PERCENT = /[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/y;

const SAMPLE_ITEMS = new ItemTable('sample', [
  valueItem('sample', (sc) => {
    const at = sc.pos;
    const m = take(sc, PERCENT);
    if (!m) throw sc.error(`expected a percentage${sc.found()}`, at);
    expectChar(sc, '%', 'after the sampling percentage');
    const pct = Number(m[0]);
    if (!(pct >= 0 && pct <= 100)) throw sc.error(`the sampling percentage is 0 to 100, not ${m[0]}`, at);
    // ovs-dpctl's rounding, in the same double arithmetic.
    return Math.min(U32_MAX, Math.max(0, Math.floor(U32_MAX * (pct / 100) + 0.5)));
  }),
  callItem('actions', (sc, ctx) => parseNestedList(sc, ctx, 'actions')),
]);
const CHECK_PKT_LEN_ITEMS = new ItemTable('check_pkt_len', [
  valueItem('size', int(16)),
  callItem('gt', (sc, ctx) => parseNestedList(sc, ctx, 'gt')),
  callItem('le', (sc, ctx) => parseNestedList(sc, ctx, 'le')),
]);
const DEC_TTL_ITEMS = new ItemTable('dec_ttl', [callItem('le_1', (sc, ctx) => parseNestedList(sc, ctx, 'le_1'))]);
const PSAMPLE_ITEMS = new ItemTable('psample', [
  valueItem('group', int(32)),
  valueItem('cookie', (sc) => {
    const at = sc.pos;
    if (!take(sc, HEX_PREFIX)) throw sc.error(`expected a cookie in hex, 0x...${sc.found()}`, at);
    const b = scanHexBytes(sc, 'a psample cookie', true);
    if (b.length > 16) throw sc.error('a psample cookie is at most 16 bytes', at);
    return b;
  }),
]);

const HASH_ALG = /(sym_l4|l4)\(/y;

const PARSERS: ReadonlyMap<string, ActionParser> = new Map<string, ActionParser>([
  ['ct', parseCt],
  ['ct_clear', parseNoArgs('ct_clear')],
  ['drop', (sc, ctx, at) => {
    if (sc.input[sc.pos] !== '(') {
      throw sc.error('"drop" alone means no actions and cannot be combined with others; drop(N) is the kernel\'s explicit drop with reason N', at);
    }
    return parseSingle('drop', int(32))(sc, ctx, at);
  }],
  ['recirc', parseSingle('recirc', int(32, 'u'))],
  ['meter', parseSingle('meter', int(32))],
  ['trunc', parseSingle('trunc', int(32), (v) => ({ max_len: v }))],
  ['hash', (sc) => {
    expectChar(sc, '(', 'after hash');
    const at = sc.pos;
    const alg = take(sc, HASH_ALG)?.[1];
    if (!alg) throw sc.error(`expected l4( or sym_l4( in hash(...)${sc.found()}`, at);
    const basis = num(sc, 32, 'a hash basis', 'u');
    expectChar(sc, ')', 'to close the hash basis');
    expectChar(sc, ')', 'to close hash(...)');
    return { hash: { hash_alg: alg, hash_basis: basis } };
  }],
  ['push_vlan', (sc, ctx, at) => {
    const f = parseWithItems(sc, ctx, at, PUSH_VLAN_ITEMS);
    const vid = fieldNumber(f, 'vid');
    const pcp = fieldNumber(f, 'pcp');
    if (vid > 0xfff) throw sc.error(`push_vlan(...): vid=${vid} does not fit in 12 bits`, at);
    if (pcp > 7) throw sc.error(`push_vlan(...): pcp=${pcp} does not fit in 3 bits`, at);
    const cfi = fieldNumber(f, 'cfi', 1) ? 0x1000 : 0;
    return { push_vlan: { vlan_tpid: fieldNumber(f, 'tpid', 0x8100) & 0xffff, vlan_tci: vid | (pcp << 13) | cfi } };
  }],
  ['pop_vlan', parseNoArgs('pop_vlan')],
  ['push_mpls', (sc, ctx, at) => {
    const f = parseWithItems(sc, ctx, at, PUSH_MPLS_ITEMS, ['eth_type']);
    return { push_mpls: { mpls_lse: mplsLse(f), mpls_ethertype: fieldNumber(f, 'eth_type') } };
  }],
  ['add_mpls', (sc, ctx, at) => {
    const f = parseWithItems(sc, ctx, at, ADD_MPLS_ITEMS, ['eth_type']);
    return { add_mpls: { mpls_lse: mplsLse(f), mpls_ethertype: fieldNumber(f, 'eth_type'), tun_flags: fieldNumber(f, 'tun_flags') } };
  }],
  ['pop_mpls', (sc, ctx, at) => ({ pop_mpls: fieldNumber(parseWithItems(sc, ctx, at, POP_MPLS_ITEMS, ['eth_type']), 'eth_type') })],
  ['push_eth', (sc, ctx, at) => {
    const f = parseWithItems(sc, ctx, at, PUSH_ETH_ITEMS);
    return { push_eth: { eth_src: f.get('src') ?? '00:00:00:00:00:00', eth_dst: f.get('dst') ?? '00:00:00:00:00:00' } };
  }],
  ['pop_eth', parseNoArgs('pop_eth')],
  ['push_nsh', parsePushNsh],
  ['pop_nsh', parseNoArgs('pop_nsh', true)],
  ['set', parseSet],
  ['userspace', parseUserspace],
  ['sample', (sc, ctx, at) => {
    const f = parseWithItems(sc, ctx, at, SAMPLE_ITEMS, ['sample']);
    return { sample: { probability: f.get('sample'), actions: f.get('actions') ?? [] } };
  }],
  ['clone', (sc, ctx) => ({ clone: parseNestedList(sc, ctx, 'clone') })],
  ['check_pkt_len', (sc, ctx, at) => {
    const f = parseWithItems(sc, ctx, at, CHECK_PKT_LEN_ITEMS, ['size']);
    return {
      check_pkt_len: {
        pkt_len: f.get('size'), actions_if_greater: f.get('gt') ?? [], actions_if_less_equal: f.get('le') ?? [],
      },
    };
  }],
  ['dec_ttl', (sc, ctx, at) => ({ dec_ttl: { action: parseWithItems(sc, ctx, at, DEC_TTL_ITEMS).get('le_1') ?? [] } })],
  ['psample', (sc, ctx, at) => {
    const f = parseWithItems(sc, ctx, at, PSAMPLE_ITEMS, ['group']);
    const p: AttrValues = { group: f.get('group') };
    if (f.has('cookie') && (f.get('cookie') as Buffer).length) p['cookie'] = f.get('cookie');
    return { psample: p };
  }],
]);

/**
 * Parses a datapath action list as ovs-dpctl's add-flow takes it (`drop` for none).
 * Throws a FlowParseError that names what was expected and where.
 */
export function parseActions(text: string, options: ParseActionsOptions = {}): AttrValues[] {
  const sc = new Scanner(text);
  return parseList(sc, { portNames: options.portNames, depth: 0, ofctlNat: options.ofctlNat });
}

// ---------------------------------------------------------------- printing

function portText(no: number, o: FormatActionsOptions): string {
  return o.portName?.(no) ?? String(no);
}

function hexText(n: number | bigint): string {
  return `0x${n.toString(16)}`;
}

function formatList(list: readonly AttrValues[], o: FormatActionsOptions): string {
  return list.length ? list.map((a) => formatAction(a, o)).join(',') : 'drop';
}

function spacedHex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');
}

function formatNat(n: AttrValues): string {
  if (!n['src'] && !n['dst']) return 'nat';
  let s = `nat(${n['src'] ? 'src' : 'dst'}`;
  const min = n['ip_min'] as string | undefined;
  if (min !== undefined) {
    const protoMin = n['proto_min'] as number | undefined;
    const protoMax = n['proto_max'] as number | undefined;
    const bracket = min.includes(':') && !!protoMin;
    const addr = (a: string): string => (bracket ? `[${a}]` : a);
    s += `=${addr(min)}`;
    const max = n['ip_max'] as string | undefined;
    if (max !== undefined && max !== min && addressBytes(max).some((b) => b !== 0)) s += `-${addr(max)}`;
    if (protoMin) {
      s += `:${protoMin}`;
      if (protoMax && protoMax !== protoMin) s += `-${protoMax}`;
    }
  }
  if (n['persistent']) s += ',persistent';
  if (n['proto_hash']) s += ',hash';
  if (n['proto_random']) s += ',random';
  return `${s})`;
}

function formatCt(ct: AttrValues): string {
  const parts: string[] = [];
  if (ct['commit']) parts.push('commit');
  if (ct['force_commit']) parts.push('force_commit');
  if (ct['zone']) parts.push(`zone=${ct['zone']}`);
  const mark = ct['mark'] as { value: number; mask: number } | undefined;
  if (mark) parts.push(`mark=${hexAlt(mark.value)}/${hexAlt(mark.mask)}`);
  const labels = ct['labels'] as { value: Buffer; mask: Buffer } | undefined;
  if (labels) {
    const ones = labels.mask.every((b) => b === 0xff);
    parts.push(`label=${hexBytes(u128Bytes(labels.value))}${ones ? '' : `/${hexBytes(u128Bytes(labels.mask))}`}`);
  }
  if (ct['helper'] !== undefined) parts.push(`helper=${ct['helper']}`);
  if (ct['eventmask'] !== undefined) parts.push(`eventmask=${hexText(ct['eventmask'] as number)}`);
  if (ct['timeout'] !== undefined) parts.push(`timeout=${ct['timeout']}`);
  if (ct['nat']) parts.push(formatNat(ct['nat'] as AttrValues));
  return parts.length ? `ct(${parts.join(',')})` : 'ct';
}

function formatSlowPath(reason: number): string {
  if (!reason) return '0';
  const names: string[] = [];
  let unknown = 0;
  for (let bit = 1; bit && bit <= reason; bit = (bit << 1) >>> 0) {
    if (!(reason & bit)) continue;
    const name = Object.entries(SLOW_PATH_REASONS).find(([, b]) => b === bit)?.[0];
    if (name) names.push(name);
    else unknown = (unknown | bit) >>> 0;
  }
  if (unknown) names.push(hexText(unknown));
  return names.join(',');
}

/** A userdata ovs-dpctl recognises as a cookie prints as one; anything else as hex. */
function formatUserdata(data: Buffer, o: FormatActionsOptions): string {
  // Every variant starts with the same header: any of them reads the type.
  const type = data.length === COOKIE_SIZE ? decodeStruct(COOKIE_STRUCTS.ipfix, data)['type'] : undefined;
  switch (type) {
    case 'sflow': {
      const c = decodeStruct(COOKIE_STRUCTS.sflow, data);
      const tci = c['vlan_tci'] as number;
      return `sFlow(vid=${tci & 0xfff},pcp=${tci >> 13},output=${c['output']})`;
    }
    case 'slow_path':
      return `slow_path(${formatSlowPath(decodeStruct(COOKIE_STRUCTS.slow_path, data)['reason'] as number)})`;
    case 'flow_sample': {
      const c = decodeStruct(COOKIE_STRUCTS.flow_sample, data);
      const dir = c['direction'] === 'ingress' || c['direction'] === 'egress' ? `,${c['direction']}` : '';
      return `flow_sample(probability=${c['probability']},collector_set_id=${c['collector_set_id']},`
        + `obs_domain_id=${c['obs_domain_id']},obs_point_id=${c['obs_point_id']},`
        + `output_port=${portText(c['output_odp_port'] as number, o)}${dir})`;
    }
    case 'ipfix':
      return `ipfix(output_port=${portText(decodeStruct(COOKIE_STRUCTS.ipfix, data)['output_odp_port'] as number, o)})`;
    case 'controller': {
      const c = decodeStruct(COOKIE_STRUCTS.controller, data);
      return `controller(reason=${c['reason']},dont_send=${c['dont_send'] ? 1 : 0},`
        + `continuation=${c['continuation'] ? 1 : 0},recirc_id=${c['recirc_id']},`
        + `rule_cookie=${hexAlt(c['rule_cookie'] as bigint)},controller_id=${c['controller_id']},max_len=${c['max_len']})`;
    }
    default:
      return `userdata(${data.toString('hex')})`;
  }
}

function formatUserspace(u: AttrValues, o: FormatActionsOptions): string {
  let s = `userspace(pid=${u['pid'] ?? 0}`;
  if (u['userdata'] !== undefined) s += `,${formatUserdata(u['userdata'] as Buffer, o)}`;
  if (u['actions']) s += ',actions';
  if (u['egress_tun_port'] !== undefined) s += `,tunnel_out_port=${portText(u['egress_tun_port'] as number, o)}`;
  return `${s})`;
}

function formatMplsLse(lse: number): string {
  return `label=${lse >>> 12},tc=${(lse >> 9) & 7},ttl=${lse & 0xff},bos=${(lse >> 8) & 1}`;
}

function formatPushNsh(arg: AttrValues): string {
  const nsh = (arg['nsh'] ?? {}) as AttrValues;
  const base = (nsh['base'] ?? {}) as Record<string, number>;
  const path = base['path_hdr'] ?? 0;
  const mdtype = base['mdtype'] ?? 0;
  let s = `push_nsh(flags=${base['flags'] ?? 0},ttl=${base['ttl'] ?? 0},mdtype=${mdtype},np=${base['np'] ?? 0},`
    + `spi=${hexText(path >>> 8)},si=${path & 0xff}`;
  if (mdtype === 1) {
    const md1 = (nsh['md1'] ?? {}) as Record<string, number>;
    for (const c of ['c1', 'c2', 'c3', 'c4']) s += `,${c}=${hexText(md1[c] ?? 0)}`;
  } else if (mdtype === 2) {
    const md2 = nsh['md2'] as Buffer | undefined;
    if (md2?.length) s += `,md2=0x${md2.toString('hex')}`;
  } else s += ',<error: unknown mdtype>';
  return `${s})`;
}

function formatSet(name: 'set' | 'set_masked', arg: AttrValues): string {
  const keys = Object.keys(arg).map((k) => {
    if (name === 'set') return formatKeyAttr(k, arg[k], undefined, { verbose: true });
    const p = arg[k] as { value: unknown; mask: unknown };
    return formatKeyAttr(k, p.value, p.mask);
  });
  return `set(${keys.join(',')})`;
}

/** The sampling percentage as ovs-dpctl prints it ("%.1f"). */
function formatPercent(probability: number): string {
  return ((100 * probability) / U32_MAX).toFixed(1);
}

function formatAction(item: AttrValues, o: FormatActionsOptions): string {
  const name = Object.keys(item)[0]!;
  const v = item[name];
  switch (name) {
    case 'output': return portText(v as number, o);
    case 'userspace': return formatUserspace(v as AttrValues, o);
    case 'set': case 'set_masked': return formatSet(name, v as AttrValues);
    case 'push_vlan': {
      const { vlan_tpid: tpid, vlan_tci: tci } = v as { vlan_tpid: number; vlan_tci: number };
      const t = tpid === 0x8100 ? '' : `tpid=0x${tpid.toString(16).padStart(4, '0')},`;
      return `push_vlan(${t}vid=${tci & 0xfff},pcp=${tci >> 13}${tci & 0x1000 ? '' : ',cfi=0'})`;
    }
    case 'pop_vlan': case 'pop_eth': case 'ct_clear': return name;
    case 'pop_nsh': return 'pop_nsh()';
    case 'sample': {
      const s = v as { probability?: number; actions?: AttrValues[] };
      return `sample(sample=${formatPercent(s.probability ?? 0)}%,actions(${formatList(s.actions ?? [], o)}))`;
    }
    case 'recirc': return `recirc(${hexAlt(v as number)})`;
    case 'hash': {
      const h = v as { hash_alg: unknown; hash_basis: number };
      if (h.hash_alg === 'l4' || h.hash_alg === 'sym_l4') return `hash(${h.hash_alg}(${h.hash_basis}))`;
      return `hash(Unknown hash algorithm(${h.hash_alg}))`;
    }
    case 'push_mpls': case 'add_mpls': {
      const m = v as { mpls_lse: number; mpls_ethertype: number; tun_flags?: number };
      const flags = m.tun_flags ? `,tun_flags=${hexText(m.tun_flags)}` : '';
      return `${name}(${formatMplsLse(m.mpls_lse)},eth_type=${hexText(m.mpls_ethertype)}${flags})`;
    }
    case 'pop_mpls': return `pop_mpls(eth_type=${hexText(v as number)})`;
    case 'ct': return formatCt(v as AttrValues);
    case 'trunc': return `trunc(${(v as { max_len: number }).max_len})`;
    case 'push_eth': {
      const e = v as { eth_src: string; eth_dst: string };
      return `push_eth(src=${e.eth_src},dst=${e.eth_dst})`;
    }
    case 'push_nsh': return formatPushNsh(v as AttrValues);
    case 'meter': return `meter(${v as number})`;
    case 'clone': return `clone(${formatList(v as AttrValues[], o)})`;
    case 'check_pkt_len': {
      const c = v as { pkt_len: number; actions_if_greater?: AttrValues[]; actions_if_less_equal?: AttrValues[] };
      return `check_pkt_len(size=${c.pkt_len},gt(${formatList(c.actions_if_greater ?? [], o)}),`
        + `le(${formatList(c.actions_if_less_equal ?? [], o)}))`;
    }
    case 'dec_ttl': return `dec_ttl(le_1(${formatList((v as { action?: AttrValues[] }).action ?? [], o)}))`;
    case 'drop': return `drop(${v as number})`;
    case 'psample': {
      const p = v as { group: number; cookie?: Buffer };
      return `psample(group=${p.group}${p.cookie?.length ? `,cookie=0x${p.cookie.toString('hex')}` : ''})`;
    }
    default: {
      const u = v as UnknownAttr;
      return `action${u.type}${u.raw.length ? `(${spacedHex(u.raw)})` : ''}`;
    }
  }
}

/**
 * Prints an action list as ovs-dpctl's dump-flows does after `actions:` (`drop` when
 * empty). Port numbers print as numbers unless `portName` names them.
 */
export function formatActions(list: readonly AttrValues[], options: FormatActionsOptions = {}): string {
  return formatList(list, options);
}
