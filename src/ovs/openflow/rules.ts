/**
 * OpenFlow-like rules in ovs-ofctl's flow syntax, as `ovs-ofctl add-flows` reads a file:
 *
 *   table=0,priority=100,in_port=1,tcp,nw_src=10.0.0.0/8,tp_dst=80,actions=ct(commit,zone=1),2
 *
 * One rule a line; `#` starts a comment; a trailing `\` continues the line. Items are
 * separated by commas or white space; `actions=` (or `action=`) comes last and takes the
 * rest of the line. The subset known here is what an OpenFlow table on the kernel
 * datapath needs:
 *
 *   table=N priority=N cookie=N (ignored)
 *   in_port=N|LOCAL  dl_src/dl_dst (eth_src/eth_dst)  dl_type (eth_type)
 *   ip ipv6 arp rarp tcp udp sctp icmp tcp6 udp6 sctp6 icmp6
 *   nw_src/nw_dst (ip_src/ip_dst; arp_spa/arp_tpa with arp)  ipv6_src/ipv6_dst  ipv6_label
 *   nw_proto (ip_proto; the ARP opcode with arp)  nw_tos ip_dscp nw_ecn nw_ttl
 *   arp_op arp_spa arp_tpa arp_sha arp_tha
 *   tp_src/tp_dst (tcp_src.. udp_src.. sctp_src..; ICMP type/code with icmp)
 *   icmp_type icmp_code  tcp_flags=+syn-ack|N/M  pkt_mark
 *   ct_state=+trk+est-new|N/M  ct_zone  ct_mark  ct_label
 *   values take /MASK (addresses also /PREFIX) where OpenFlow allows a mask.
 *
 *   actions: N, output:N, in_port, LOCAL, drop, resubmit(,T) resubmit(P,T) resubmit:P,
 *   goto_table:T, ct(commit,force,zone=N,table=T,alg=ftp,exec(set_field:V[/M]->ct_mark,
 *   set_field:V[/M]->ct_label),nat[(src|dst=ADDR[-ADDR][:PORT[-PORT]],persistent,hash,random)]),
 *   ct_clear, mod_dl_src/mod_dl_dst:MAC, mod_nw_src/mod_nw_dst:IP, mod_nw_tos/mod_nw_ecn/
 *   mod_nw_ttl:N, mod_tp_src/mod_tp_dst:N, set_field:V[/M]->FIELD.
 *
 * Like ovs-ofctl, a field needs its prerequisites in the same rule (nw_src needs ip or
 * arp, tp_dst needs tcp, udp, sctp or icmp), and so do actions (ct needs ip or ipv6,
 * mod_tp_dst needs tcp, udp or sctp); the order of items does not matter. Errors are
 * RuleParseErrors: the file, the line, and a caret under the column.
 *
 * The matched fields become MatchEntries over the kernel flow key's fields (fields.ts),
 * so a table walk compares them with an upcall's key directly.
 */
import type { AttrValues } from '../../nl/schema.js';
import { parseIPv4, parseIPv6 } from '../../nl/repr.js';
import { parseActions } from '../flowstr/actions.js';
import { take } from '../flowstr/keys.js';
import { FlowParseError, Scanner, closeMatches, parseUnsigned } from '../flowstr/scanner.js';
import { CT_STATE_FLAGS } from '../keys.js';
import { ETH_TYPE, IP_PROTO, PACKET_FIELDS, type PacketField, fullMask, packetField, toBigint } from './fields.js';

/** One matched field: the packet matches when (field & mask) == value. */
export interface MatchEntry {
  field: PacketField;
  value: bigint;
  mask: bigint;
}

export type RuleAction =
  | { type: 'output'; port: number }
  /** Out the port the packet came in on (a plain output to it is dropped, as in OpenFlow). */
  | { type: 'in_port' }
  /** Look the packet up in `table` (default: the rule's), as if it came in on `port`. */
  | { type: 'resubmit'; port?: number; table?: number }
  /**
   * Send through conntrack: `ct` holds the datapath action's OVS_CT_ATTR_* values; with
   * `table`, processing goes on there once conntrack is done (recirculation).
   */
  | { type: 'ct'; ct: AttrValues; table?: number }
  | { type: 'ct_clear' }
  | { type: 'set_field'; field: PacketField; value: bigint; mask: bigint };

export interface Rule {
  table: number;
  priority: number;
  match: MatchEntry[];
  actions: RuleAction[];
  /** 1-based line of the rules text the rule starts on. */
  line: number;
  /** The rule as written (comment and continuation removed). */
  text: string;
  /** Its place in the file: among equal priorities the earlier rule wins. */
  seq: number;
}

/** OpenFlow's default priority. */
export const DEFAULT_PRIORITY = 32768;
/** The highest table number (255 is OpenFlow's "all tables"). */
export const MAX_TABLE = 254;
/** OFPP_LOCAL: the datapath's own port, number 0 on the kernel datapath. */
const LOCAL_PORT = 0;

/** A rules text that does not parse: where (source, line, column) and why. */
export class RuleParseError extends FlowParseError {
  readonly source: string;
  readonly line: number;

  constructor(source: string, line: number, err: FlowParseError) {
    super(err.input, err.position, err.detail);
    this.source = source;
    this.line = line;
    this.message = `${source}:${line}: ${err.detail} (column ${err.position + 1})`;
  }
}

export interface ParseRulesOptions {
  /** Names the text in errors (a file name); default "rules". */
  source?: string;
}

/** Parses a rules text: one rule per line, comments and blank lines skipped. */
export function parseRules(text: string, options: ParseRulesOptions = {}): Rule[] {
  const source = options.source ?? 'rules';
  const rules: Rule[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const first = i + 1;
    let line = stripComment(lines[i]!);
    while (line.endsWith('\\') && i + 1 < lines.length) line = `${line.slice(0, -1)} ${stripComment(lines[++i]!)}`;
    if (line.trim() === '') continue;
    try {
      rules.push(parseRule(line, first, rules.length));
    } catch (err) {
      if (err instanceof FlowParseError) throw new RuleParseError(source, first, err);
      throw err;
    }
  }
  return rules;
}

function stripComment(line: string): string {
  const hash = line.indexOf('#');
  return (hash < 0 ? line : line.slice(0, hash)).replace(/\r$/, '').trimEnd();
}

// ---------------------------------------------------------------- one rule

interface Item {
  name: string;
  value: string | undefined;
  at: number;
  valueAt: number;
}

/** What the rule's EtherType and IP protocol say, for prerequisites. */
interface Protocols {
  ethType: number | undefined;
  proto: number | undefined;
}

const SHORTHANDS: Readonly<Record<string, { ethType: number; proto?: number }>> = {
  ip: { ethType: ETH_TYPE.ipv4 }, ipv6: { ethType: ETH_TYPE.ipv6 }, arp: { ethType: ETH_TYPE.arp },
  rarp: { ethType: ETH_TYPE.rarp },
  tcp: { ethType: ETH_TYPE.ipv4, proto: IP_PROTO.tcp }, udp: { ethType: ETH_TYPE.ipv4, proto: IP_PROTO.udp },
  sctp: { ethType: ETH_TYPE.ipv4, proto: IP_PROTO.sctp }, icmp: { ethType: ETH_TYPE.ipv4, proto: IP_PROTO.icmp },
  tcp6: { ethType: ETH_TYPE.ipv6, proto: IP_PROTO.tcp }, udp6: { ethType: ETH_TYPE.ipv6, proto: IP_PROTO.udp },
  sctp6: { ethType: ETH_TYPE.ipv6, proto: IP_PROTO.sctp }, icmp6: { ethType: ETH_TYPE.ipv6, proto: IP_PROTO.icmpv6 },
};

function parseRule(text: string, line: number, seq: number): Rule {
  const sc = new Scanner(text);
  const items: Item[] = [];
  let actionsAt = -1;
  for (;;) {
    take(sc, /[,\s]*/y);
    if (sc.pos >= text.length) break;
    const at = sc.pos;
    const m = take(sc, /[A-Za-z_][A-Za-z0-9_]*/y);
    if (!m) throw sc.error(`expected a field name${sc.found()}`);
    const name = m[0];
    if (text[sc.pos] !== '=' && text[sc.pos] !== ':') {
      if (name === 'actions' || name === 'action') throw sc.error(`expected "=" after ${name}`);
      items.push({ name, value: undefined, at, valueAt: sc.pos });
      continue;
    }
    sc.pos++;
    if (name === 'actions' || name === 'action') {
      actionsAt = sc.pos;
      break;
    }
    const valueAt = sc.pos;
    const value = take(sc, /[^,\s]*/y)![0];
    if (value === '') throw sc.error(`expected a value for ${name}${sc.found()}`);
    items.push({ name, value, at, valueAt });
  }
  if (actionsAt < 0) {
    // A misspelt "actions" is the likelier mistake: name it rather than the end.
    for (const item of items) if (!isItemName(item.name)) throw unknownField(sc, item);
    throw sc.error('expected actions=... at the end of the rule');
  }

  let table = 0;
  let priority = DEFAULT_PRIORITY;
  const protocols: Protocols = { ethType: undefined, proto: undefined };
  const fieldItems: Item[] = [];
  const setProtocol = (item: Item, key: keyof Protocols, v: number, what: string): void => {
    const before = protocols[key];
    if (before !== undefined && before !== v) throw sc.error(`${item.name} conflicts with the ${what} given before (0x${before.toString(16)})`, item.at);
    protocols[key] = v;
  };
  for (const item of items) {
    const short = SHORTHANDS[item.name];
    if (short) {
      if (item.value !== undefined) throw sc.error(`${item.name} takes no value`, item.at);
      setProtocol(item, 'ethType', short.ethType, 'EtherType');
      if (short.proto !== undefined) setProtocol(item, 'proto', short.proto, 'IP protocol');
      continue;
    }
    switch (item.name) {
      case 'table':
        table = itemNumber(sc, item, MAX_TABLE);
        break;
      case 'priority':
        priority = itemNumber(sc, item, 0xffff);
        break;
      case 'cookie':
        requireValue(sc, item);
        break;
      case 'dl_type': case 'eth_type':
        setProtocol(item, 'ethType', itemNumber(sc, item, 0xffff), 'EtherType');
        break;
      case 'nw_proto': case 'ip_proto':
        setProtocol(item, 'proto', itemNumber(sc, item, 0xff), 'IP protocol');
        break;
      default:
        fieldItems.push(item);
    }
  }

  const entries = new Map<string, MatchEntry>();
  const add = (item: Item | undefined, entry: MatchEntry): void => {
    if (entries.has(entry.field.name)) throw sc.error(`${item?.name ?? entry.field.name} is matched twice`, item?.at ?? 0);
    entries.set(entry.field.name, entry);
  };
  if (protocols.ethType !== undefined) add(undefined, exact(packetField('ethertype'), protocols.ethType));
  if (protocols.proto !== undefined) {
    const protoField = protocolField(protocols.ethType);
    if (!protoField) {
      const item = items.find((i) => i.name === 'nw_proto' || i.name === 'ip_proto')!;
      throw sc.error(`${item.name} needs ip, ipv6 or arp in the rule`, item.at);
    }
    add(undefined, exact(protoField, protocols.proto));
  }
  for (const item of fieldItems) add(item, parseMatchItem(sc, item, protocols));

  const actions = parseActionList(sc, actionsAt, protocols);
  return {
    table, priority, match: [...entries.values()].sort((a, b) => FIELD_ORDER.get(a.field.name)! - FIELD_ORDER.get(b.field.name)!),
    actions, line, text, seq,
  };
}

/** The order a table walk compares fields in: metadata, L2, L3, L4 (as OVS's stages). */
const FIELD_ORDER = new Map([...PACKET_FIELDS.keys()].map((name, i) => [name, i]));

function exact(field: PacketField, v: number | bigint): MatchEntry {
  return { field, value: BigInt(v), mask: fullMask(field) };
}

function protocolField(ethType: number | undefined): PacketField | undefined {
  if (ethType === ETH_TYPE.ipv4) return packetField('ipv4_proto');
  if (ethType === ETH_TYPE.ipv6) return packetField('ipv6_proto');
  if (ethType === ETH_TYPE.arp || ethType === ETH_TYPE.rarp) return packetField('arp_op');
  return undefined;
}

function requireValue(sc: Scanner, item: Item): string {
  if (item.value === undefined) throw sc.error(`expected "=" and a value after ${item.name}`, item.valueAt);
  return item.value;
}

function itemNumber(sc: Scanner, item: Item, max: number): number {
  const text = requireValue(sc, item);
  const v = parseUnsigned(text);
  if (v === undefined || v > BigInt(max)) throw sc.error(`${item.name} must be a number from 0 to ${max}, not "${text}"`, item.valueAt);
  return Number(v);
}

// ---------------------------------------------------------------- match fields

/** How an OpenFlow field name finds its packet field, given the rule's protocols. */
interface OfField {
  /** The packet field, or undefined when the rule lacks the prerequisites. */
  resolve(p: Protocols): string | undefined;
  /** What the rule needs for it, for the error. */
  needs?: string;
  /** Reads the value (and mask); default: by the packet field's kind, /MASK allowed. */
  parse?: (text: string, f: PacketField) => { value: bigint; mask: bigint };
}

const isV4 = (p: Protocols): boolean => p.ethType === ETH_TYPE.ipv4;
const isV6 = (p: Protocols): boolean => p.ethType === ETH_TYPE.ipv6;
const isArp = (p: Protocols): boolean => p.ethType === ETH_TYPE.arp || p.ethType === ETH_TYPE.rarp;
const isIp = (p: Protocols): boolean => isV4(p) || isV6(p);

function always(name: string): OfField {
  return { resolve: () => name };
}

function when(test: (p: Protocols) => boolean, name: string, needs: string, parse?: OfField['parse']): OfField {
  const f: OfField = { resolve: (p) => (test(p) ? name : undefined), needs };
  if (parse) f.parse = parse;
  return f;
}

/** The L4 port fields: which header depends on the protocol; ICMP's type and code stand in. */
function portField(end: 'src' | 'dst'): OfField {
  return {
    resolve: (p) => {
      if (!isIp(p)) return undefined;
      switch (p.proto) {
        case IP_PROTO.tcp: return `tcp_${end}`;
        case IP_PROTO.udp: return `udp_${end}`;
        case IP_PROTO.sctp: return `sctp_${end}`;
        case IP_PROTO.icmp: return isV4(p) ? (end === 'src' ? 'icmp_type' : 'icmp_code') : undefined;
        case IP_PROTO.icmpv6: return isV6(p) ? (end === 'src' ? 'icmpv6_type' : 'icmpv6_code') : undefined;
        default: return undefined;
      }
    },
    needs: 'tcp, udp, sctp, icmp or icmp6',
  };
}

function protoOnly(proto: number, name: string, needs: string): OfField {
  return when((p) => isIp(p) && p.proto === proto, name, needs);
}

function icmpField(which: 'type' | 'code'): OfField {
  return {
    resolve: (p) => (isV4(p) && p.proto === IP_PROTO.icmp ? `icmp_${which}` : isV6(p) && p.proto === IP_PROTO.icmpv6 ? `icmpv6_${which}` : undefined),
    needs: 'icmp or icmp6',
  };
}

/** Bits of the IP ToS / traffic class byte: DSCP the upper six, ECN the lower two. */
function tosBits(shift: number, mask: number, what: string): OfField['parse'] {
  return (text) => {
    const v = parseUnsigned(text);
    if (v === undefined || (v << BigInt(shift)) & ~BigInt(mask)) throw new Error(`${what} must be a number that fits in 0x${(mask >> shift).toString(16)}`);
    return { value: v << BigInt(shift), mask: BigInt(mask) };
  };
}

const OF_FIELDS: Readonly<Record<string, OfField>> = {
  in_port: { resolve: () => 'in_port', parse: parsePort },
  dl_src: always('eth_src'), eth_src: always('eth_src'),
  dl_dst: always('eth_dst'), eth_dst: always('eth_dst'),
  pkt_mark: always('skb_mark'),
  nw_src: { resolve: (p) => (isV4(p) ? 'ipv4_src' : isArp(p) ? 'arp_sip' : undefined), needs: 'ip or arp (for IPv6: ipv6_src)' },
  nw_dst: { resolve: (p) => (isV4(p) ? 'ipv4_dst' : isArp(p) ? 'arp_tip' : undefined), needs: 'ip or arp (for IPv6: ipv6_dst)' },
  ip_src: when(isV4, 'ipv4_src', 'ip'), ip_dst: when(isV4, 'ipv4_dst', 'ip'),
  ipv6_src: when(isV6, 'ipv6_src', 'ipv6'), ipv6_dst: when(isV6, 'ipv6_dst', 'ipv6'),
  ipv6_label: when(isV6, 'ipv6_label', 'ipv6', (text) => {
    const { value, mask } = parseInt(text, 20);
    return { value, mask };
  }),
  nw_tos: { resolve: (p) => (isV4(p) ? 'ipv4_tos' : isV6(p) ? 'ipv6_tclass' : undefined), needs: 'ip or ipv6', parse: tosBits(0, 0xfc, 'nw_tos (the DSCP bits of the ToS byte)') },
  ip_dscp: { resolve: (p) => (isV4(p) ? 'ipv4_tos' : isV6(p) ? 'ipv6_tclass' : undefined), needs: 'ip or ipv6', parse: tosBits(2, 0xfc, 'ip_dscp') },
  nw_ecn: { resolve: (p) => (isV4(p) ? 'ipv4_tos' : isV6(p) ? 'ipv6_tclass' : undefined), needs: 'ip or ipv6', parse: tosBits(0, 0x03, 'nw_ecn') },
  nw_ttl: { resolve: (p) => (isV4(p) ? 'ipv4_ttl' : isV6(p) ? 'ipv6_hlimit' : undefined), needs: 'ip or ipv6', parse: (text, f) => ({ value: parseInt(text, f.bits).value, mask: fullMask(f) }) },
  arp_op: when(isArp, 'arp_op', 'arp'),
  arp_spa: when(isArp, 'arp_sip', 'arp'), arp_tpa: when(isArp, 'arp_tip', 'arp'),
  arp_sha: when(isArp, 'arp_sha', 'arp'), arp_tha: when(isArp, 'arp_tha', 'arp'),
  tp_src: portField('src'), tp_dst: portField('dst'),
  tcp_src: protoOnly(IP_PROTO.tcp, 'tcp_src', 'tcp or tcp6'), tcp_dst: protoOnly(IP_PROTO.tcp, 'tcp_dst', 'tcp or tcp6'),
  udp_src: protoOnly(IP_PROTO.udp, 'udp_src', 'udp or udp6'), udp_dst: protoOnly(IP_PROTO.udp, 'udp_dst', 'udp or udp6'),
  sctp_src: protoOnly(IP_PROTO.sctp, 'sctp_src', 'sctp or sctp6'), sctp_dst: protoOnly(IP_PROTO.sctp, 'sctp_dst', 'sctp or sctp6'),
  icmp_type: icmpField('type'), icmp_code: icmpField('code'),
  icmpv6_type: when((p) => isV6(p) && p.proto === IP_PROTO.icmpv6, 'icmpv6_type', 'icmp6'),
  icmpv6_code: when((p) => isV6(p) && p.proto === IP_PROTO.icmpv6, 'icmpv6_code', 'icmp6'),
  tcp_flags: { ...protoOnly(IP_PROTO.tcp, 'tcp_flags', 'tcp or tcp6'), parse: (text) => parseFlags(text, TCP_FLAGS, 12) },
  ct_state: { resolve: () => 'ct_state', parse: (text) => parseFlags(text, CT_STATE_FLAGS, 32) },
  ct_zone: always('ct_zone'),
  ct_mark: always('ct_mark'),
  ct_label: always('ct_labels'),
};

/** TCP flag names as ovs-ofctl writes them in tcp_flags=+syn-ack. */
const TCP_FLAGS: Readonly<Record<string, number>> = {
  fin: 0x001, syn: 0x002, rst: 0x004, psh: 0x008, ack: 0x010, urg: 0x020, ece: 0x040, cwr: 0x080, ns: 0x100,
};

function parseMatchItem(sc: Scanner, item: Item, p: Protocols): MatchEntry {
  const of = OF_FIELDS[item.name];
  if (!of) throw unknownField(sc, item);
  const name = of.resolve(p);
  if (name === undefined) throw sc.error(`${item.name} needs ${of.needs} in the rule`, item.at);
  const text = requireValue(sc, item);
  const f = packetField(name);
  try {
    const { value, mask } = of.parse ? of.parse(text, f) : parseValue(text, f);
    return { field: f, value: value & mask, mask };
  } catch (err) {
    throw sc.error(`bad ${item.name} "${text}": ${(err as Error).message}`, item.valueAt);
  }
}

const OTHER_ITEMS = ['table', 'priority', 'cookie', 'dl_type', 'eth_type', 'nw_proto', 'ip_proto', 'actions'];

function isItemName(name: string): boolean {
  return name in OF_FIELDS || name in SHORTHANDS || OTHER_ITEMS.includes(name);
}

function unknownField(sc: Scanner, item: Item): FlowParseError {
  const guess = closeMatches(item.name, [...Object.keys(OF_FIELDS), ...Object.keys(SHORTHANDS), ...OTHER_ITEMS], 1);
  return sc.error(`unknown field "${item.name}"${guess.length ? `; did you mean "${guess[0]}"?` : ''}`, item.at);
}

function parsePort(text: string): { value: bigint; mask: bigint } {
  if (/^local$/i.test(text)) return { value: BigInt(LOCAL_PORT), mask: 0xffffffffn };
  const v = parseUnsigned(text);
  if (v === undefined || v > 0xffffffffn) throw new Error('expected a port number or LOCAL');
  return { value: v, mask: 0xffffffffn };
}

function parseInt(text: string, bits: number): { value: bigint; mask: bigint } {
  const [v, m] = text.split('/', 2);
  const max = (1n << BigInt(bits)) - 1n;
  const value = parseUnsigned(v!);
  if (value === undefined) throw new Error('expected a number (decimal or 0x hex)');
  if (value > max) throw new Error(`does not fit in ${bits} bits`);
  if (m === undefined) return { value, mask: max };
  const mask = parseUnsigned(m);
  if (mask === undefined || mask > max) throw new Error(`the mask must be a number that fits in ${bits} bits`);
  return { value, mask };
}

/** A value by the field's kind, with an optional /MASK (or /PREFIX for IP addresses). */
function parseValue(text: string, f: PacketField): { value: bigint; mask: bigint } {
  if (f.kind === 'int') return parseInt(text, f.bits);
  if (f.kind === 'u128le') {
    const [v, m] = text.split('/', 2);
    const wide = (s: string): bigint => {
      const n = parseUnsigned(s);
      if (n === undefined || n > fullMask(f)) throw new Error('expected a number of up to 128 bits');
      return n;
    };
    return { value: wide(v!), mask: m === undefined ? fullMask(f) : wide(m) };
  }
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const maskText = slash < 0 ? undefined : text.slice(slash + 1);
  const value = addressValue(addr, f);
  if (maskText === undefined) return { value, mask: fullMask(f) };
  if (f.kind !== 'mac' && /^\d+$/.test(maskText)) {
    const len = Number(maskText);
    if (len > f.bits) throw new Error(`a prefix length is at most ${f.bits}`);
    return { value, mask: len === 0 ? 0n : (fullMask(f) >> BigInt(f.bits - len)) << BigInt(f.bits - len) };
  }
  return { value, mask: addressValue(maskText, f) };
}

function addressValue(text: string, f: PacketField): bigint {
  const ok = f.kind === 'ipv4' ? parseIPv4(text) !== undefined : f.kind === 'ipv6' ? parseIPv6(text) !== undefined : /^([0-9a-f]{1,2}:){5}[0-9a-f]{1,2}$/i.test(text);
  if (!ok) throw new Error(`expected ${f.kind === 'ipv4' ? 'an IPv4 address' : f.kind === 'ipv6' ? 'an IPv6 address' : 'a MAC address'}`);
  return toBigint(f, text);
}

/** `+name-name...` over named bits, or a number with an optional mask. */
function parseFlags(text: string, names: Readonly<Record<string, number>>, bits: number): { value: bigint; mask: bigint } {
  if (!/^[+-]/.test(text)) return parseInt(text, bits);
  let value = 0n;
  let mask = 0n;
  const re = /([+-])([a-z]+)/gy;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(text))) {
    const bit = names[m[2]!];
    if (bit === undefined) throw new Error(`unknown flag "${m[2]}" (known: ${Object.keys(names).join(', ')})`);
    const b = BigInt(bit);
    if (mask & b) throw new Error(`flag ${m[2]} given twice`);
    mask |= b;
    if (m[1] === '+') value |= b;
    end = re.lastIndex;
  }
  if (end !== text.length) throw new Error(`expected +FLAG or -FLAG at "${text.slice(end)}"`);
  return { value, mask };
}

// ---------------------------------------------------------------- actions

interface Piece {
  text: string;
  at: number;
}

/** Splits `text` (from `at`) at commas outside parentheses. */
function splitTopLevel(sc: Scanner, text: string, at: number): Piece[] {
  const pieces: Piece[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')' && --depth < 0) throw sc.error('unbalanced ")"', at + i);
    else if ((c === ',' && depth === 0) || i === text.length) {
      const raw = text.slice(start, i);
      const lead = raw.length - raw.trimStart().length;
      if (raw.trim() !== '') pieces.push({ text: raw.trim(), at: at + start + lead });
      start = i + 1;
    }
  }
  if (depth > 0) throw sc.error('unbalanced "(": no matching ")"', at + text.lastIndexOf('('));
  return pieces;
}

/** Actions ovs-vswitchd has that need more than the kernel datapath's actions. */
const UNSUPPORTED_ACTIONS = new Set(['normal', 'flood', 'all', 'controller', 'learn', 'move', 'load', 'enqueue', 'group', 'meter', 'note', 'multipath', 'bundle', 'bundle_load', 'push_vlan', 'pop_vlan', 'strip_vlan', 'mod_vlan_vid', 'mod_vlan_pcp', 'dec_ttl', 'clone', 'sample', 'write_actions', 'clear_actions', 'write_metadata', 'fin_timeout', 'exit', 'conjunction']);

const ACTION_NAMES = ['output', 'in_port', 'local', 'drop', 'resubmit', 'goto_table', 'ct', 'ct_clear', 'mod_dl_src', 'mod_dl_dst', 'mod_nw_src', 'mod_nw_dst', 'mod_nw_tos', 'mod_nw_ecn', 'mod_nw_ttl', 'mod_tp_src', 'mod_tp_dst', 'set_field'];

function parseActionList(sc: Scanner, at: number, p: Protocols): RuleAction[] {
  const pieces = splitTopLevel(sc, sc.input.slice(at), at);
  if (pieces.length === 0) throw sc.error('expected actions after "actions=" (use "drop" for none)', at);
  const out: RuleAction[] = [];
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i]!;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:([:(])([\s\S]*))?$/.exec(piece.text);
    if (/^\d+$/.test(piece.text)) {
      out.push({ type: 'output', port: portNumber(sc, piece.text, piece.at) });
      continue;
    }
    if (!m) throw sc.error(`expected an action${new Scanner(sc.input, piece.at).found()}`, piece.at);
    const name = m[1]!.toLowerCase();
    const sep = m[2];
    let arg = m[3];
    const argAt = piece.at + m[1]!.length + 1;
    if (sep === '(') {
      if (!arg!.endsWith(')')) throw sc.error(`expected ")" to close ${name}(`, piece.at + piece.text.length);
      arg = arg!.slice(0, -1);
    }
    const noArg = (): void => {
      if (sep !== undefined) throw sc.error(`${name} takes no argument`, argAt - 1);
    };
    const needArg = (what: string): string => {
      if (sep !== ':' || !arg) throw sc.error(`expected ${name}:${what}`, piece.at);
      return arg;
    };
    switch (name) {
      case 'drop':
        noArg();
        if (pieces.length > 1) throw sc.error('"drop" must be the only action', piece.at);
        break;
      case 'output':
        out.push({ type: 'output', port: portNumber(sc, needArg('PORT'), argAt) });
        break;
      case 'local':
        noArg();
        out.push({ type: 'output', port: LOCAL_PORT });
        break;
      case 'in_port':
        noArg();
        out.push({ type: 'in_port' });
        break;
      case 'resubmit':
        out.push(parseResubmit(sc, sep, arg ?? '', argAt, piece.at));
        break;
      case 'goto_table': {
        if (i !== pieces.length - 1) throw sc.error('goto_table must be the last action', piece.at);
        out.push({ type: 'resubmit', table: tableNumber(sc, needArg('TABLE'), argAt) });
        break;
      }
      case 'ct':
        if (sep === ':') throw sc.error('expected ct or ct(...)', argAt - 1);
        out.push(parseCt(sc, arg ?? '', argAt, piece.at, p));
        break;
      case 'ct_clear':
        noArg();
        out.push({ type: 'ct_clear' });
        break;
      case 'set_field':
        out.push(parseSetField(sc, needArg('VALUE->FIELD'), argAt, p, false));
        break;
      default: {
        const mod = MOD_ACTIONS[name];
        if (mod) {
          out.push(parseMod(sc, name, mod, needArg('VALUE'), argAt, piece.at, p));
          break;
        }
        if (UNSUPPORTED_ACTIONS.has(name)) {
          throw sc.error(`${name} is not supported: this controller speaks only what the kernel datapath does (output, ct, resubmit, set_field/mod_*)`, piece.at);
        }
        const guess = closeMatches(name, ACTION_NAMES, 1);
        throw sc.error(`unknown action "${name}"${guess.length ? `; did you mean "${guess[0]}"?` : ''}`, piece.at);
      }
    }
  }
  return out;
}

function portNumber(sc: Scanner, text: string, at: number): number {
  if (/^local$/i.test(text)) return LOCAL_PORT;
  const v = parseUnsigned(text);
  if (v === undefined || v > 0xffffffffn) throw sc.error(`expected a port number or LOCAL, not "${text}"`, at);
  return Number(v);
}

function tableNumber(sc: Scanner, text: string, at: number): number {
  const v = parseUnsigned(text.trim());
  if (v === undefined || v > BigInt(MAX_TABLE)) throw sc.error(`expected a table number from 0 to ${MAX_TABLE}, not "${text}"`, at);
  return Number(v);
}

/** resubmit:PORT, resubmit(PORT), resubmit(,TABLE), resubmit(PORT,TABLE). */
function parseResubmit(sc: Scanner, sep: string | undefined, arg: string, argAt: number, at: number): RuleAction {
  if (sep === undefined || arg.trim() === '') throw sc.error('expected resubmit(,TABLE), resubmit(PORT,TABLE) or resubmit:PORT', at);
  const [portText, tableText, extra] = arg.split(',');
  if (extra !== undefined || (sep === ':' && tableText !== undefined)) throw sc.error('resubmit takes a port and a table', at);
  const action: RuleAction & { type: 'resubmit' } = { type: 'resubmit' };
  if (portText!.trim() !== '') {
    if (/^in_port$/i.test(portText!.trim())) {
      // resubmit(in_port,T): the packet's own port, which is what no port means.
    } else action.port = portNumber(sc, portText!.trim(), argAt);
  }
  if (tableText !== undefined && tableText.trim() !== '') action.table = tableNumber(sc, tableText, argAt + portText!.length + 1);
  if (action.port === undefined && action.table === undefined && !/^in_port$/i.test(portText!.trim())) {
    throw sc.error('resubmit needs a port or a table', at);
  }
  return action;
}

/** mod_* actions: the OpenFlow field they set, and how their value reads. */
const MOD_ACTIONS: Readonly<Record<string, { field: string; parse?: OfField['parse'] }>> = {
  mod_dl_src: { field: 'dl_src' },
  mod_dl_dst: { field: 'dl_dst' },
  mod_nw_src: { field: 'nw_src' },
  mod_nw_dst: { field: 'nw_dst' },
  mod_nw_tos: { field: 'nw_tos' },
  mod_nw_ecn: { field: 'nw_ecn' },
  mod_nw_ttl: { field: 'nw_ttl' },
  mod_tp_src: { field: 'tp_src' },
  mod_tp_dst: { field: 'tp_dst' },
};

/** Fields the kernel can rewrite (set/set_masked of these key attributes). */
const SETTABLE_ATTRS = new Set(['ethernet', 'ipv4', 'ipv6', 'tcp', 'udp', 'sctp', 'skb_mark']);
/** Members a masked set must leave alone (the kernel refuses them). */
const READ_ONLY_MEMBERS = new Set(['ipv4_proto', 'ipv4_frag', 'ipv6_proto', 'ipv6_frag']);

function settableField(sc: Scanner, ofName: string, p: Protocols, at: number, what: string): { field: PacketField; of: OfField } {
  const of = OF_FIELDS[ofName];
  if (!of) throw sc.error(`${what}: unknown field "${ofName}"`, at);
  const name = of.resolve(p);
  if (name === undefined) throw sc.error(`${what} needs ${of.needs} in the rule's match`, at);
  const field = packetField(name);
  if (!SETTABLE_ATTRS.has(field.attr) || (field.member && READ_ONLY_MEMBERS.has(field.member))) {
    throw sc.error(`${what}: the kernel datapath cannot rewrite ${ofName}`, at);
  }
  return { field, of };
}

function parseMod(sc: Scanner, name: string, mod: { field: string }, text: string, argAt: number, at: number, p: Protocols): RuleAction {
  const { field, of } = settableField(sc, mod.field, p, at, name);
  try {
    const { value, mask } = of.parse ? of.parse(text, field) : parseValue(text, field);
    if (mask !== fullMask(field) && !of.parse) throw new Error('takes no mask');
    return { type: 'set_field', field, value: value & mask, mask };
  } catch (err) {
    throw sc.error(`bad ${name} value "${text}": ${(err as Error).message}`, argAt);
  }
}

/** set_field:VALUE[/MASK]->FIELD; inside ct's exec() only ct_mark and ct_label. */
function parseSetField(sc: Scanner, text: string, at: number, p: Protocols, inCt: true): { field: 'ct_mark' | 'ct_label'; value: bigint; mask: bigint };
function parseSetField(sc: Scanner, text: string, at: number, p: Protocols, inCt: false): RuleAction;
function parseSetField(sc: Scanner, text: string, at: number, p: Protocols, inCt: boolean): RuleAction | { field: 'ct_mark' | 'ct_label'; value: bigint; mask: bigint } {
  const arrow = text.indexOf('->');
  if (arrow < 0) throw sc.error('expected set_field:VALUE->FIELD', at);
  const valueText = text.slice(0, arrow).trim();
  const ofName = text.slice(arrow + 2).trim();
  const fieldAt = at + arrow + 2;
  if (inCt) {
    if (ofName !== 'ct_mark' && ofName !== 'ct_label') throw sc.error(`ct's exec() sets only ct_mark and ct_label, not "${ofName}"`, fieldAt);
    const f = packetField(ofName === 'ct_mark' ? 'ct_mark' : 'ct_labels');
    try {
      const { value, mask } = parseValue(valueText, f);
      return { field: ofName, value: value & mask, mask };
    } catch (err) {
      throw sc.error(`bad ${ofName} value "${valueText}": ${(err as Error).message}`, at);
    }
  }
  if (ofName === 'ct_mark' || ofName === 'ct_label') throw sc.error(`${ofName} is set by ct(commit,exec(set_field:...->${ofName}))`, fieldAt);
  const { field, of } = settableField(sc, ofName, p, fieldAt, 'set_field');
  try {
    const { value, mask } = of.parse ? of.parse(valueText, field) : parseValue(valueText, field);
    return { type: 'set_field', field, value: value & mask, mask };
  } catch (err) {
    throw sc.error(`bad set_field value "${valueText}": ${(err as Error).message}`, at);
  }
}

const CT_HELPERS = new Set(['ftp', 'tftp']);

/** ct(...) as ovs-ofctl takes it, into the datapath's ct attributes and a table. */
function parseCt(sc: Scanner, arg: string, argAt: number, at: number, p: Protocols): RuleAction {
  if (!isIp(p)) throw sc.error('ct needs ip or ipv6 in the rule\'s match: conntrack tracks IP packets only', at);
  let commit = false;
  let force = false;
  let zone: number | undefined;
  let table: number | undefined;
  let helper: string | undefined;
  let nat: AttrValues | undefined;
  let mark: { value: number; mask: number } | undefined;
  let labels: { value: Buffer; mask: Buffer } | undefined;
  let execSeen = false;
  let natAt = at;
  for (const piece of splitTopLevel(sc, arg, argAt)) {
    const m = /^([a-z_]+)(?:=([\s\S]*)|\(([\s\S]*)\))?$/.exec(piece.text);
    const name = m?.[1];
    const value = m?.[2];
    switch (name) {
      case 'commit':
        commit = true;
        break;
      case 'force':
        force = true;
        break;
      case 'zone': {
        const v = value === undefined ? undefined : parseUnsigned(value);
        if (v === undefined || v > 0xffffn) throw sc.error('expected zone=N (0 to 65535)', piece.at);
        zone = Number(v);
        break;
      }
      case 'table':
        if (value === undefined) throw sc.error('expected table=N', piece.at);
        table = tableNumber(sc, value, piece.at + 6);
        break;
      case 'alg':
        if (value === undefined || !CT_HELPERS.has(value)) throw sc.error('expected alg=ftp or alg=tftp', piece.at);
        helper = value;
        break;
      case 'nat':
        nat = parseNat(sc, piece, p);
        natAt = piece.at;
        break;
      case 'exec': {
        if (m?.[3] === undefined) throw sc.error('expected exec(set_field:VALUE->ct_mark, ...)', piece.at);
        execSeen = true;
        for (const inner of splitTopLevel(sc, m[3], piece.at + 5)) {
          const sm = /^set_field:([\s\S]*)$/.exec(inner.text);
          if (!sm) throw sc.error('ct\'s exec() takes set_field:VALUE->ct_mark and set_field:VALUE->ct_label only', inner.at);
          const set = parseSetField(sc, sm[1]!, inner.at + 10, p, true);
          if (set.field === 'ct_mark') mark = { value: Number(set.value), mask: Number(set.mask) };
          else {
            const f = packetField('ct_labels');
            labels = { value: fromU128(f, set.value), mask: fromU128(f, set.mask) };
          }
        }
        break;
      }
      default: {
        const guess = name ? closeMatches(name, ['commit', 'force', 'zone', 'table', 'alg', 'nat', 'exec'], 1) : [];
        throw sc.error(`expected commit, force, zone=, table=, alg=, nat or exec(...) in ct(...)${guess.length ? `; did you mean "${guess[0]}"?` : ''}`, piece.at);
      }
    }
  }
  if (execSeen && !commit && !force) throw sc.error('ct(exec(...)) needs commit: conntrack stores a mark or label only when committing', at);
  // Without commit only a bare nat (apply the NAT of committed connections) is taken, by
  // ovs-vswitchd (OFPBAC_BAD_ARGUMENT) as by the kernel.
  if (nat && Object.keys(nat).length && !commit && !force) {
    throw sc.error('nat(src...) and nat(dst...) need commit in ct(...): the NAT of a connection is chosen when it is committed; without commit write nat alone', natAt);
  }
  // The datapath action, attributes in the order ovs-vswitchd sends them.
  const ct: AttrValues = {};
  if (force) ct['force_commit'] = true;
  else if (commit) ct['commit'] = true;
  if (zone) ct['zone'] = zone;
  if (mark && mark.mask) ct['mark'] = mark;
  if (labels && labels.mask.some((b) => b !== 0)) ct['labels'] = labels;
  if (helper) ct['helper'] = helper;
  if (nat) ct['nat'] = nat;
  const action: RuleAction & { type: 'ct' } = { type: 'ct', ct };
  if (table !== undefined) action.table = table;
  return action;
}

function fromU128(f: PacketField, v: bigint): Buffer {
  return Buffer.from(v.toString(16).padStart(f.bits / 4, '0'), 'hex').reverse();
}

/** nat or nat(...): the same syntax as the datapath's ct(nat(...)), read by its parser. */
function parseNat(sc: Scanner, piece: Piece, p: Protocols): AttrValues {
  let ct: AttrValues;
  try {
    ct = parseActions(`ct(${piece.text})`, { ofctlNat: true })[0]!['ct'] as AttrValues;
  } catch (err) {
    if (err instanceof FlowParseError) throw sc.error(err.detail, piece.at + Math.max(0, err.position - 3));
    throw err;
  }
  const nat = ct['nat'] as AttrValues;
  const min = nat['ip_min'];
  if (typeof min === 'string' && min.includes(':') !== isV6(p)) {
    throw sc.error(`the NAT address ${min} is not of the rule's IP family (${isV6(p) ? 'ipv6' : 'ip'})`, piece.at);
  }
  return nat;
}

/** The runs of equal items in a row, each item with how many times it came. */
export function consecutiveRuns<T>(items: readonly T[]): [T, number][] {
  const runs: [T, number][] = [];
  for (const item of items) {
    const last = runs.at(-1);
    if (last !== undefined && last[0] === item) last[1]++;
    else runs.push([item, 1]);
  }
  return runs;
}

/**
 * The rules that made a flow, as FILE:LINE words; a rule matched again and again in a
 * row (a resubmit loop, cut at 64) is named once, with a count.
 */
export function ruleTrail(file: string, lines: readonly number[]): string {
  return consecutiveRuns(lines).map(([line, n]) => `${file}:${line}${n > 1 ? ` (x${n})` : ''}`).join(' ') || 'no rule: drop';
}
