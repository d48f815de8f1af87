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
  formatKeyAttr, found, hexAlt, hexBytes, parseKeyAttr, scanInt, scanIPv4, scanIPv6, scanMac, scanWideInt,
  take, u128Bytes,
} from './keys.js';
import { Scanner, closeMatches } from './scanner.js';

export interface ParseActionsOptions {
  /** Resolves a port name in an output action (ovs-dpctl takes names only from a datapath's ports). */
  portNames?: (name: string) => number | undefined;
}

export interface FormatActionsOptions {
  /** A name to print for an output port number; the number is printed when it returns undefined. */
  portName?: (no: number) => string | undefined;
}

// ---------------------------------------------------------------- scanning helpers

/** MAX_ODP_NESTED: how deep ovs-dpctl lets action lists nest (clone(clone(...))). */
const MAX_DEPTH = 32;

const U32_MAX = 0xffffffff;

/** What ovs-dpctl skips between actions and between the items inside one. */
const SEPARATORS = /[, \t\r\n]*/y;

function skipSeparators(sc: Scanner): void {
  take(sc, SEPARATORS);
}

function isSeparator(c: string | undefined): boolean {
  return c === ',' || c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

function expectChar(sc: Scanner, c: string, context: string): void {
  if (sc.input[sc.pos] !== c) throw sc.error(`expected "${c}" ${context}${found(sc)}`);
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
  if (!m) throw sc.error(`expected ${what}${radix === 'x' ? ' (hex)' : ''}${found(sc)}`, at);
  const v = BigInt(radix === 'x' ? `0x${m[2]}` : m[2]!);
  return BigInt.asUintN(bits, m[1] === '-' ? -v : v);
}

function num(sc: Scanner, bits: number, what: string, radix: 'i' | 'u' | 'x' = 'i'): number {
  return Number(scanNumber(sc, bits, what, radix));
}

/** Hex digits (white space between bytes allowed) up to `end`, as bytes; an odd count gets a leading 0. */
function scanHexBytes(sc: Scanner, what: string, oddAllowed: boolean): Buffer {
  const at = sc.pos;
  const m = take(sc, /[0-9a-fA-F \t]*/y)!;
  const digits = m[0].replace(/[ \t]/g, '');
  if (digits.length % 2 && !oddAllowed) throw sc.error(`${what} needs an even number of hex digits`, at);
  return Buffer.from(digits.length % 2 ? `0${digits}` : digits, 'hex');
}

/** One `name` or `name=value` or `name(...)` item of an argument list. */
interface Item {
  /** How the item is shown in "expected ..." messages. */
  label: string;
  /** Reads the rest of the item, the scanner just after its name. */
  read: (sc: Scanner) => unknown;
}

function flagItem(name: string): [string, Item] {
  return [name, { label: name, read: () => true }];
}

function valueItem(name: string, read: (sc: Scanner) => unknown): [string, Item] {
  return [name, {
    label: `${name}=`,
    read: (sc) => {
      expectChar(sc, '=', `after ${name}`);
      return read(sc);
    },
  }];
}

function callItem(name: string, read: (sc: Scanner) => unknown): [string, Item] {
  return [name, { label: `${name}(...)`, read }];
}

/**
 * The items of `what(...)` up to and including its ')': any order, separated by commas
 * or white space; an item given twice keeps its last value (as in ovs-dpctl).
 */
function scanItems(sc: Scanner, what: string, items: ReadonlyArray<[string, Item]>): Map<string, unknown> {
  const byName = new Map(items);
  const out = new Map<string, unknown>();
  for (;;) {
    skipSeparators(sc);
    if (sc.input[sc.pos] === ')') {
      sc.pos++;
      return out;
    }
    const at = sc.pos;
    const name = take(sc, /[A-Za-z_][A-Za-z0-9_]*/y)?.[0];
    const item = name === undefined ? undefined : byName.get(name);
    if (!item) {
      sc.pos = at;
      const labels = items.map(([, i]) => i.label);
      const hint = name ? closeMatches(name, items.map(([n]) => n)) : [];
      const guess = hint.length ? ` (did you mean ${hint.join(', ')}?)` : '';
      throw sc.error(`expected ${labels.join(', ')} or ")" in ${what}(...)${found(sc)}${guess}`, at);
    }
    out.set(name!, item.read(sc));
    const c = sc.input[sc.pos];
    if (c !== ')' && !isSeparator(c)) throw sc.error(`expected "," or ")" to close ${what}(...)${found(sc)}`);
  }
}

function fieldNumber(fields: Map<string, unknown>, name: string, fallback = 0): number {
  return (fields.get(name) as number | undefined) ?? fallback;
}

// ---------------------------------------------------------------- action lists

interface ParseContext {
  portNames?: (name: string) => number | undefined;
  depth: number;
}

/**
 * Actions up to the end of the input (top level) or up to, not including, the ')' that
 * closes `within`. `drop` alone is the empty list, as ovs-dpctl prints it.
 */
function parseList(sc: Scanner, ctx: ParseContext, within?: string): AttrValues[] {
  if (++ctx.depth > MAX_DEPTH) throw sc.error(`actions nest more than ${MAX_DEPTH} levels deep`);
  const atEnd = (): boolean => (within ? sc.input[sc.pos] === ')' : sc.pos >= sc.input.length);
  skipSeparators(sc);
  const dropAt = sc.pos;
  if (take(sc, /drop(?![A-Za-z0-9_(])/iy)) {
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
    if (within && sc.pos >= sc.input.length) throw sc.error(`expected an action or ")" to close ${within}(...)${found(sc)}`);
    if (list.length && 'drop' in list[list.length - 1]!) {
      throw sc.error('nothing can follow drop(N): the kernel refuses a drop that is not the last action of its list');
    }
    list.push(parseAction(sc, ctx));
    if (!atEnd() && !isSeparator(sc.input[sc.pos])) {
      throw sc.error(`expected "," after an action${within ? ` or ")" to close ${within}(...)` : ''}${found(sc)}`);
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

function parseAction(sc: Scanner, ctx: ParseContext): AttrValues {
  const at = sc.pos;
  const token = /[^, \t\r\n()]+/y;
  token.lastIndex = at;
  const word = token.exec(sc.input)?.[0] ?? '';
  if (/^[+-]?[0-9]/.test(word)) return { output: num(sc, 32, 'a port number') };
  if (ctx.portNames && word && sc.input[at + word.length] !== '(') {
    const port = ctx.portNames(word);
    if (port !== undefined) {
      sc.pos = at + word.length;
      return { output: port };
    }
  }
  const name = take(sc, /[A-Za-z_][A-Za-z0-9_]*/y)?.[0];
  if (name === undefined) throw sc.error(`expected an action${found(sc)}`, at);
  const parser = PARSERS.get(name);
  if (parser) return parser(sc, ctx, at);
  const generic = /^action([0-9]+)$/.exec(name);
  if (generic) return parseGenericAction(sc, Number(generic[1]), at);
  sc.pos = at;
  if (USERSPACE_ONLY[name]) {
    throw sc.error(`${name} is an action of OVS's userspace datapath; the kernel has none (${USERSPACE_ONLY[name]})`, at);
  }
  const close = closeMatches(name, PARSERS.keys());
  const port = ctx.portNames ? ' or port name' : '';
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

function parseCt(sc: Scanner): AttrValues {
  if (sc.input[sc.pos] !== '(') return { ct: {} };
  const open = sc.pos;
  sc.pos++;
  const name = (max: number, what: string) => (s: Scanner): string => {
    const start = s.pos;
    const m = take(s, /[^, \t\r\n)]*/y)!;
    if (!m[0] || m[0].length > max) throw s.error(`${what} is 1 to ${max} characters`, start);
    return m[0];
  };
  const f = scanItems(sc, 'ct', [
    flagItem('commit'),
    flagItem('force_commit'),
    valueItem('zone', (s) => num(s, 16, 'a zone number', 'u')),
    valueItem('mark', (s) => {
      const value = num(s, 32, 'a mark', 'x');
      let mask = U32_MAX;
      if (s.input[s.pos] === '/') {
        s.pos++;
        mask = num(s, 32, 'a mark mask', 'x');
      }
      return { value, mask };
    }),
    valueItem('label', (s) => {
      const value = u128Bytes(scanWideInt(s, 16, 'a label'));
      let mask: Buffer = Buffer.alloc(16, 0xff);
      if (s.input[s.pos] === '/') {
        s.pos++;
        mask = u128Bytes(scanWideInt(s, 16, 'a label mask'));
      }
      return { value, mask };
    }),
    valueItem('helper', name(15, 'a helper name')),
    valueItem('timeout', name(31, 'a timeout policy name')),
    valueItem('eventmask', (s) => num(s, 32, 'an event mask', 'x')),
    callItem('nat', parseNat),
  ]);
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

/** An address for nat(): IPv4, IPv6, or [IPv6] (brackets needed when a port follows). */
function scanNatAddress(sc: Scanner, v6: boolean | undefined): string {
  if (v6 !== true && /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/.test(sc.input.slice(sc.pos, sc.pos + 16))) {
    return scanIPv4(sc, 'a NAT address');
  }
  if (v6 === false) return scanIPv4(sc, 'a NAT address');
  if (sc.input[sc.pos] === '[') {
    sc.pos++;
    const a = scanIPv6(sc, 'a NAT address');
    expectChar(sc, ']', 'after an IPv6 address');
    return a;
  }
  return scanIPv6(sc, 'a NAT address');
}

function scanNatRange(sc: Scanner): NatRange | undefined {
  if (sc.input[sc.pos] !== '=') return undefined;
  sc.pos++;
  const at = sc.pos;
  const min = scanNatAddress(sc, undefined);
  const r: NatRange = { min, at };
  if (sc.input[sc.pos] === '-') {
    sc.pos++;
    r.max = scanNatAddress(sc, min.includes(':'));
  }
  if (sc.input[sc.pos] === ':') {
    sc.pos++;
    r.protoMin = num(sc, 16, 'a port', 'u');
    if (sc.input[sc.pos] === '-') {
      sc.pos++;
      r.protoMax = num(sc, 16, 'a port', 'u');
    }
  }
  return r;
}

/** An address as it goes on the wire (4 or 16 bytes), for comparing range ends. */
function addressBytes(a: string): Buffer {
  const v4 = parseIPv4(a);
  if (v4 === undefined) return parseIPv6(a)!;
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v4);
  return b;
}

function parseNat(sc: Scanner): AttrValues {
  if (sc.input[sc.pos] !== '(') return {};
  const open = sc.pos - 3;
  sc.pos++;
  let range: NatRange | undefined;
  const side = (s: Scanner): true => {
    const r = scanNatRange(s);
    if (r) range = r;
    return true;
  };
  const f = scanItems(sc, 'nat', [
    ['src', { label: 'src[=ADDRESSES[:PORTS]]', read: side }],
    ['dst', { label: 'dst[=ADDRESSES[:PORTS]]', read: side }],
    flagItem('persistent'), flagItem('hash'), flagItem('random'),
  ]);
  if (f.get('src') && f.get('dst')) throw sc.error('nat(...) takes src or dst, not both', open);
  if (f.get('hash') && f.get('random')) throw sc.error('nat(...) takes hash or random, not both', open);
  const nat: AttrValues = {};
  // Without src or dst ovs-dpctl sends an empty nat, whatever else was given.
  if (!f.get('src') && !f.get('dst')) return nat;
  nat[f.get('src') ? 'src' : 'dst'] = true;
  if (!range) return nat;
  const r: NatRange = range;
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

const COOKIE_NAMES = ['sFlow', 'slow_path', 'flow_sample', 'ipfix', 'controller', 'userdata'] as const;

function cookieBytes(spec: StructSpec, type: keyof typeof COOKIE_TYPES, fields: Record<string, unknown>): Buffer {
  return encodeStruct(spec, { type, ofp_in_port: OFPP_NONE, ...fields });
}

/** slow_path(a,b|N): reason names or numbers, separated by ',' or '|'. */
function scanSlowPath(sc: Scanner): Buffer {
  expectChar(sc, '(', 'after slow_path');
  let reason = 0;
  while (sc.input[sc.pos] !== ')') {
    const at = sc.pos;
    const m = take(sc, /[A-Za-z_]+/y);
    if (m) {
      const bit = (SLOW_PATH_REASONS as Record<string, number>)[m[0]];
      if (bit === undefined) {
        sc.pos = at;
        throw sc.error(`expected a slow path reason (${Object.keys(SLOW_PATH_REASONS).join(', ')}) or a number${found(sc)}`, at);
      }
      reason |= bit;
    } else reason |= num(sc, 32, 'a slow path reason');
    if (sc.input[sc.pos] === ',' || sc.input[sc.pos] === '|') sc.pos++;
    else if (sc.input[sc.pos] !== ')') throw sc.error(`expected ",", "|" or ")" in slow_path(...)${found(sc)}`);
  }
  sc.pos++;
  if (reason & ~0x7f) throw sc.error(`slow path reason ${hexAlt(reason >>> 0)} has unknown bits`);
  return cookieBytes(COOKIE_STRUCTS.slow_path, 'slow_path', { reason: reason >>> 0 });
}

function scanPort(sc: Scanner, ctx: ParseContext, what: string): number {
  if (ctx.portNames && !/^[+-]?[0-9]/.test(sc.input.slice(sc.pos, sc.pos + 2))) {
    const at = sc.pos;
    const m = take(sc, /[^, \t\r\n()]+/y);
    const port = m ? ctx.portNames(m[0]) : undefined;
    if (port !== undefined) return port;
    sc.pos = at;
  }
  return num(sc, 32, what);
}

function scanCookie(sc: Scanner, ctx: ParseContext, name: typeof COOKIE_NAMES[number]): Buffer {
  const u = (bits: number, radix: 'i' | 'u' | 'x' = 'i') => (s: Scanner) => scanNumber(s, bits, 'a number', radix);
  const port = (s: Scanner) => BigInt(scanPort(s, ctx, 'a port number'));
  const n = (f: Map<string, unknown>, k: string): number => Number((f.get(k) as bigint | undefined) ?? 0n);
  switch (name) {
    case 'userdata': {
      expectChar(sc, '(', 'after userdata');
      const data = scanHexBytes(sc, 'userdata(...)', false);
      expectChar(sc, ')', 'to close userdata(...)');
      // ovs-dpctl sends at least 8 bytes (what kernels before 3.10 required), zero-padded.
      return data.length >= 8 ? data : Buffer.concat([data, Buffer.alloc(8 - data.length)]);
    }
    case 'slow_path':
      return scanSlowPath(sc);
    case 'sFlow': {
      expectChar(sc, '(', 'after sFlow');
      const f = scanItems(sc, 'sFlow', [valueItem('vid', u(32)), valueItem('pcp', u(32)), valueItem('output', u(32))]);
      let tci = (n(f, 'vid') | (n(f, 'pcp') << 13)) & 0xffff;
      if (tci) tci |= 0x1000;
      return cookieBytes(COOKIE_STRUCTS.sflow, 'sflow', { vlan_tci: tci, output: n(f, 'output') });
    }
    case 'flow_sample': {
      expectChar(sc, '(', 'after flow_sample');
      const f = scanItems(sc, 'flow_sample', [
        valueItem('probability', u(16)), valueItem('collector_set_id', u(32)), valueItem('obs_domain_id', u(32)),
        valueItem('obs_point_id', u(32)), valueItem('output_port', port), flagItem('ingress'), flagItem('egress'),
      ]);
      if (f.get('ingress') && f.get('egress')) throw sc.error('flow_sample(...) takes ingress or egress, not both');
      return cookieBytes(COOKIE_STRUCTS.flow_sample, 'flow_sample', {
        probability: n(f, 'probability'), collector_set_id: n(f, 'collector_set_id'),
        obs_domain_id: n(f, 'obs_domain_id'), obs_point_id: n(f, 'obs_point_id'),
        output_odp_port: n(f, 'output_port'),
        direction: f.get('ingress') ? 'ingress' : f.get('egress') ? 'egress' : 'default',
      });
    }
    case 'ipfix': {
      expectChar(sc, '(', 'after ipfix');
      const f = scanItems(sc, 'ipfix', [valueItem('output_port', port)]);
      return cookieBytes(COOKIE_STRUCTS.ipfix, 'ipfix', { output_odp_port: n(f, 'output_port') });
    }
    case 'controller': {
      expectChar(sc, '(', 'after controller');
      const f = scanItems(sc, 'controller', [
        valueItem('reason', u(16, 'u')), valueItem('dont_send', u(8, 'u')), valueItem('continuation', u(8, 'u')),
        valueItem('recirc_id', u(32, 'u')), valueItem('rule_cookie', u(64, 'x')),
        valueItem('controller_id', u(16, 'u')), valueItem('max_len', u(16, 'u')),
      ]);
      return cookieBytes(COOKIE_STRUCTS.controller, 'controller', {
        dont_send: n(f, 'dont_send') ? 1 : 0, continuation: n(f, 'continuation') ? 1 : 0,
        reason: n(f, 'reason'), recirc_id: n(f, 'recirc_id'), rule_cookie: (f.get('rule_cookie') as bigint | undefined) ?? 0n,
        controller_id: n(f, 'controller_id'), max_len: n(f, 'max_len'),
      });
    }
  }
}

function parseUserspace(sc: Scanner, ctx: ParseContext, at: number): AttrValues {
  expectChar(sc, '(', 'after userspace');
  const cookie = (name: typeof COOKIE_NAMES[number]): [string, Item] =>
    callItem(name, (s) => scanCookie(s, ctx, name));
  const f = scanItems(sc, 'userspace', [
    valueItem('pid', (s) => num(s, 32, 'a netlink port id')),
    ...COOKIE_NAMES.map(cookie),
    flagItem('actions'),
    valueItem('tunnel_out_port', (s) => scanPort(s, ctx, 'a port number')),
  ]);
  if (!f.has('pid')) throw sc.error('userspace(...) needs pid=', at);
  const cookies = COOKIE_NAMES.filter((c) => f.has(c));
  if (cookies.length > 1) throw sc.error(`userspace(...) takes one of ${COOKIE_NAMES.join(', ')}, not ${cookies.join(' and ')}`, at);
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
    throw sc.error('set(...): the value has bits outside its mask, which the kernel refuses; write the value with those bits zero (e.g. 10.1.0.0/255.255.0.0)', keyAt);
  }
  return { set_masked: { [a.name]: { value: a.value, mask: a.mask } } };
}

/** NSH_CTX_HDRS_MAX_LEN: the most MD type 2 metadata push_nsh can carry. */
const NSH_MD2_MAX = 248;

function parsePushNsh(sc: Scanner): AttrValues {
  expectChar(sc, '(', 'after push_nsh');
  const open = sc.pos - 1;
  const i8 = (s: Scanner) => num(s, 8, 'a number');
  const x32 = (s: Scanner) => num(s, 32, 'a hex number', 'x');
  const f = scanItems(sc, 'push_nsh', [
    valueItem('flags', i8), valueItem('ttl', i8), valueItem('mdtype', i8), valueItem('np', i8),
    valueItem('spi', x32), valueItem('si', i8),
    valueItem('c1', x32), valueItem('c2', x32), valueItem('c3', x32), valueItem('c4', x32),
    valueItem('md2', (s) => {
      take(s, /0[xX]/y);
      return scanHexBytes(s, 'md2', true);
    }),
  ]);
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
function parseSingle(name: string, read: (sc: Scanner) => unknown, shape = (v: unknown): unknown => v): ActionParser {
  return (sc) => {
    expectChar(sc, '(', `after ${name}`);
    const v = read(sc);
    expectChar(sc, ')', `to close ${name}(...)`);
    return { [name]: shape(v) };
  };
}

function mplsLse(f: Map<string, unknown>): number {
  return ((fieldNumber(f, 'label') << 12) | (fieldNumber(f, 'tc') << 9) | (fieldNumber(f, 'bos') << 8) | fieldNumber(f, 'ttl')) >>> 0;
}

const MPLS_ITEMS = (): Array<[string, Item]> => [
  valueItem('label', (s) => num(s, 32, 'an MPLS label')),
  valueItem('tc', (s) => num(s, 8, 'an MPLS traffic class', 'u')),
  valueItem('ttl', (s) => num(s, 8, 'an MPLS TTL', 'u')),
  valueItem('bos', (s) => num(s, 8, 'an MPLS bottom-of-stack bit', 'u')),
  valueItem('eth_type', (s) => num(s, 16, 'an ethertype', 'x')),
];

function requireItems(sc: Scanner, f: Map<string, unknown>, what: string, names: string[], at: number): void {
  const missing = names.filter((n) => !f.has(n));
  if (missing.length) throw sc.error(`${what}(...) needs ${missing.map((n) => `${n}=`).join(', ')}`, at);
}

const PARSERS: ReadonlyMap<string, ActionParser> = new Map<string, ActionParser>([
  ['ct', (sc) => parseCt(sc)],
  ['ct_clear', parseNoArgs('ct_clear')],
  ['drop', (sc, _ctx, at) => {
    if (sc.input[sc.pos] !== '(') {
      throw sc.error('"drop" alone means no actions and cannot be combined with others; drop(N) is the kernel\'s explicit drop with reason N', at);
    }
    return parseSingle('drop', (s) => num(s, 32, 'a drop reason'))(sc, _ctx, at);
  }],
  ['recirc', parseSingle('recirc', (s) => num(s, 32, 'a recirculation id', 'u'))],
  ['meter', parseSingle('meter', (s) => num(s, 32, 'a meter id'))],
  ['trunc', parseSingle('trunc', (s) => num(s, 32, 'a length'), (v) => ({ max_len: v }))],
  ['hash', (sc) => {
    expectChar(sc, '(', 'after hash');
    const at = sc.pos;
    const alg = take(sc, /(sym_l4|l4)\(/y)?.[1];
    if (!alg) throw sc.error(`expected l4( or sym_l4( in hash(...)${found(sc)}`, at);
    const basis = num(sc, 32, 'a hash basis', 'u');
    expectChar(sc, ')', 'to close the hash basis');
    expectChar(sc, ')', 'to close hash(...)');
    return { hash: { hash_alg: alg, hash_basis: basis } };
  }],
  ['push_vlan', (sc, _ctx, at) => {
    expectChar(sc, '(', 'after push_vlan');
    const f = scanItems(sc, 'push_vlan', [
      valueItem('tpid', (s) => num(s, 32, 'a TPID')), valueItem('vid', (s) => num(s, 32, 'a VLAN id')),
      valueItem('pcp', (s) => num(s, 32, 'a VLAN priority')), valueItem('cfi', (s) => num(s, 32, 'a CFI bit')),
    ]);
    const vid = fieldNumber(f, 'vid');
    const pcp = fieldNumber(f, 'pcp');
    if (vid > 0xfff) throw sc.error(`push_vlan(...): vid=${vid} does not fit in 12 bits`, at);
    if (pcp > 7) throw sc.error(`push_vlan(...): pcp=${pcp} does not fit in 3 bits`, at);
    const cfi = fieldNumber(f, 'cfi', 1) ? 0x1000 : 0;
    return { push_vlan: { vlan_tpid: fieldNumber(f, 'tpid', 0x8100) & 0xffff, vlan_tci: vid | (pcp << 13) | cfi } };
  }],
  ['pop_vlan', parseNoArgs('pop_vlan')],
  ['push_mpls', (sc, _ctx, at) => {
    expectChar(sc, '(', 'after push_mpls');
    const f = scanItems(sc, 'push_mpls', MPLS_ITEMS());
    requireItems(sc, f, 'push_mpls', ['eth_type'], at);
    return { push_mpls: { mpls_lse: mplsLse(f), mpls_ethertype: fieldNumber(f, 'eth_type') } };
  }],
  ['add_mpls', (sc, _ctx, at) => {
    expectChar(sc, '(', 'after add_mpls');
    const f = scanItems(sc, 'add_mpls', [...MPLS_ITEMS(), valueItem('tun_flags', (s) => num(s, 16, 'tunnel flags'))]);
    requireItems(sc, f, 'add_mpls', ['eth_type'], at);
    return { add_mpls: { mpls_lse: mplsLse(f), mpls_ethertype: fieldNumber(f, 'eth_type'), tun_flags: fieldNumber(f, 'tun_flags') } };
  }],
  ['pop_mpls', (sc, _ctx, at) => {
    expectChar(sc, '(', 'after pop_mpls');
    const f = scanItems(sc, 'pop_mpls', [valueItem('eth_type', (s) => num(s, 16, 'an ethertype', 'x'))]);
    requireItems(sc, f, 'pop_mpls', ['eth_type'], at);
    return { pop_mpls: fieldNumber(f, 'eth_type') };
  }],
  ['push_eth', (sc) => {
    expectChar(sc, '(', 'after push_eth');
    const f = scanItems(sc, 'push_eth', [
      valueItem('src', (s) => scanMac(s, 'a source MAC')), valueItem('dst', (s) => scanMac(s, 'a destination MAC')),
    ]);
    return { push_eth: { eth_src: f.get('src') ?? '00:00:00:00:00:00', eth_dst: f.get('dst') ?? '00:00:00:00:00:00' } };
  }],
  ['pop_eth', parseNoArgs('pop_eth')],
  ['push_nsh', (sc) => parsePushNsh(sc)],
  ['pop_nsh', parseNoArgs('pop_nsh', true)],
  ['set', (sc) => parseSet(sc)],
  ['userspace', parseUserspace],
  ['sample', (sc, ctx, at) => {
    expectChar(sc, '(', 'after sample');
    const f = scanItems(sc, 'sample', [
      valueItem('sample', (s) => {
        const pAt = s.pos;
        const m = take(s, /[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/y);
        if (!m) throw s.error(`expected a percentage${found(s)}`, pAt);
        expectChar(s, '%', 'after the sampling percentage');
        const pct = Number(m[0]);
        if (!(pct >= 0 && pct <= 100)) throw s.error(`the sampling percentage is 0 to 100, not ${m[0]}`, pAt);
        // ovs-dpctl's rounding, in the same double arithmetic.
        return Math.min(U32_MAX, Math.max(0, Math.floor(U32_MAX * (pct / 100) + 0.5)));
      }),
      callItem('actions', (s) => parseNestedList(s, ctx, 'actions')),
    ]);
    requireItems(sc, f, 'sample', ['sample'], at);
    return { sample: { probability: f.get('sample'), actions: f.get('actions') ?? [] } };
  }],
  ['clone', (sc, ctx) => ({ clone: parseNestedList(sc, ctx, 'clone') })],
  ['check_pkt_len', (sc, ctx, at) => {
    expectChar(sc, '(', 'after check_pkt_len');
    const f = scanItems(sc, 'check_pkt_len', [
      valueItem('size', (s) => num(s, 16, 'a packet length')),
      callItem('gt', (s) => parseNestedList(s, ctx, 'gt')),
      callItem('le', (s) => parseNestedList(s, ctx, 'le')),
    ]);
    requireItems(sc, f, 'check_pkt_len', ['size'], at);
    return {
      check_pkt_len: {
        pkt_len: f.get('size'), actions_if_greater: f.get('gt') ?? [], actions_if_less_equal: f.get('le') ?? [],
      },
    };
  }],
  ['dec_ttl', (sc, ctx) => {
    expectChar(sc, '(', 'after dec_ttl');
    const f = scanItems(sc, 'dec_ttl', [callItem('le_1', (s) => parseNestedList(s, ctx, 'le_1'))]);
    return { dec_ttl: { action: f.get('le_1') ?? [] } };
  }],
  ['psample', (sc, _ctx, at) => {
    expectChar(sc, '(', 'after psample');
    const f = scanItems(sc, 'psample', [
      valueItem('group', (s) => num(s, 32, 'a psample group')),
      valueItem('cookie', (s) => {
        const cAt = s.pos;
        if (!take(s, /0[xX]/y)) throw s.error(`expected a cookie in hex, 0x...${found(s)}`, cAt);
        const b = scanHexBytes(s, 'a psample cookie', true);
        if (b.length > 16) throw s.error('a psample cookie is at most 16 bytes', cAt);
        return b;
      }),
    ]);
    requireItems(sc, f, 'psample', ['group'], at);
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
  return parseList(sc, { portNames: options.portNames, depth: 0 });
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
