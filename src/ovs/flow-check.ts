/**
 * What the kernel will refuse in a flow's key and mask, found before sending, explained
 * in the flow syntax. The kernel answers these with a bare EINVAL; its reasons exist only
 * in its log. The rules are those of net/openvswitch/flow_netlink.c (match_validate and
 * the VLAN parsing):
 *   - the key's EtherType and IP protocol demand their next header in the key ("Missing
 *     key"): IPv4/IPv6 need ipv4()/ipv6(); TCP needs tcp() and tcp_flags(); UDP udp();
 *     SCTP sctp(); ICMP icmp(); ICMPv6 icmpv6(), and nd() for neighbour solicitations and
 *     advertisements; ARP/RARP arp(); MPLS mpls(); NSH nsh(); L4 only when the packet is
 *     not a later fragment;
 *   - a mask may only have bits in an L3 header when the EtherType is matched exactly (a
 *     mask eth_type() is always taken as exact), and in an L4 header when the IP protocol
 *     is ("Unexpected mask"); in nd() when the ICMPv6 type is; never in an attribute the
 *     key lacks (in_port, tunnel and eth_type excepted). An all-zero mask attribute counts
 *     as absent;
 *   - an 802.1Q EtherType needs vlan() and encap(), and the VLAN TCI needs its CFI bit;
 *   - the key's in_port is below 65536, and ct_state (key and mask) has no flag above
 *     dnat's 0x80 (metadata_from_nlattrs).
 * Works on codec-shaped values (src/ovs/keys.ts). The ct() actions are checked too
 * (checkFlowActions, below).
 */
import { type AttrSpec, type AttrValues, UNKNOWN_PREFIX, isAttrValues, resolveSet } from '../nl/schema.js';
import { actionAttrs } from './actions.js';
import { formatActions } from './flowstr/actions.js';
import { keyAndMask, keyAttrText } from './flowstr/keys.js';
import { flowKeyAttrs } from './keys.js';

/** A flow the kernel would refuse, with what to write instead. */
export class FlowCheckError extends Error {
  override readonly name = 'FlowCheckError';
}

const ETH = {
  ip: 0x0800, arp: 0x0806, rarp: 0x8035, ipv6: 0x86dd, mplsUc: 0x8847, mplsMc: 0x8848,
  nsh: 0x894f, vlan: 0x8100, qinq: 0x88a8, llc: 0x05ff,
} as const;
const PROTO = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58, sctp: 132 } as const;
const FRAG_LATER = 2;
const VLAN_CFI = 0x1000;
const ND_SOLICIT = 135;
const ND_ADVERT = 136;

/** How each key attribute is written in the flow syntax, matching anything. */
const WILDCARD: Readonly<Record<string, string>> = {
  ipv4: 'ipv4()', ipv6: 'ipv6()', tcp: 'tcp()', tcp_flags: 'tcp_flags(0/0)', udp: 'udp()', sctp: 'sctp()',
  icmp: 'icmp()', icmpv6: 'icmpv6()', nd: 'nd()', arp: 'arp()', mpls: 'mpls(label=0/0)', nsh: 'nsh()',
};

function syntaxName(attr: string): string {
  return `${keyAttrText(attr)}(…)`;
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && /^(0x[0-9a-f]+|\d+)$/i.test(v)) return Number(v);
  return undefined;
}

/** Whether a value (as the codec takes it) encodes to all-zero bytes. */
export function isZeroValue(v: unknown): boolean {
  if (v === undefined || v === false || v === 0 || v === 0n) return true;
  if (typeof v === 'string') {
    // Zero text starts with 0, ':' or '.' (or is empty): most masks are decided by their first character.
    const c = v.charCodeAt(0);
    return (v.length === 0 || c === 48 || c === 58 || c === 46) && ZERO_TEXT.test(v);
  }
  if (v instanceof Uint8Array) {
    for (const b of v) if (b !== 0) return false;
    return true;
  }
  if (Array.isArray(v)) return v.every(isZeroValue);
  if (isAttrValues(v)) {
    for (const k in v) if (!isZeroValue(v[k])) return false;
    return true;
  }
  return false;
}

const ZERO_TEXT = /^(0x)?[0:.]*$/i;

type Attrs = Record<string, unknown>;

/**
 * The attributes of a key (or mask) the kernel sees as one set: those inside encap()
 * count as the key's own (the kernel parses the nest into the same key), and the
 * EtherType is the innermost one. Without encap() that is the key itself.
 */
function flatten(values: AttrValues): Attrs {
  if (values['encap'] === undefined) return values;
  const out: Attrs = {};
  let level: AttrValues | undefined = values;
  while (level) {
    const inner: unknown = level['encap'];
    for (const k in level) if (level[k] !== undefined && k !== 'encap') out[k] = level[k];
    if (inner !== undefined) out['encap'] = inner;
    level = isAttrValues(inner) ? inner : undefined;
  }
  return out;
}

function has(attrs: Attrs, attr: string): boolean {
  return attrs[attr] !== undefined;
}

function field(attrs: Attrs, attr: string, name: string): number | undefined {
  const v = attrs[attr];
  return isAttrValues(v) ? toNumber(v[name]) : undefined;
}

function hex4(n: number): string {
  return `0x${n.toString(16).padStart(4, '0')}`;
}

/** The IP header of an EtherType, with its protocol and fragment fields. */
const L3: Readonly<Record<number, { attr: 'ipv4' | 'ipv6'; proto: string; frag: string }>> = {
  [ETH.ip]: { attr: 'ipv4', proto: 'ipv4_proto', frag: 'ipv4_frag' },
  [ETH.ipv6]: { attr: 'ipv6', proto: 'ipv6_proto', frag: 'ipv6_frag' },
};

const NONE: readonly string[] = [];
const NEEDS_BY_ETH: Readonly<Record<number, readonly string[]>> = {
  [ETH.arp]: ['arp'], [ETH.rarp]: ['arp'], [ETH.mplsUc]: ['mpls'], [ETH.mplsMc]: ['mpls'], [ETH.nsh]: ['nsh'],
  [ETH.ip]: ['ipv4'], [ETH.ipv6]: ['ipv6'],
};
const L4_NEEDS: Readonly<Record<string, readonly string[]>> = {
  [`ipv4/${PROTO.tcp}`]: ['tcp', 'tcp_flags'], [`ipv6/${PROTO.tcp}`]: ['tcp', 'tcp_flags'],
  [`ipv4/${PROTO.udp}`]: ['udp'], [`ipv6/${PROTO.udp}`]: ['udp'],
  [`ipv4/${PROTO.sctp}`]: ['sctp'], [`ipv6/${PROTO.sctp}`]: ['sctp'],
  [`ipv4/${PROTO.icmp}`]: ['icmp'], [`ipv6/${PROTO.icmpv6}`]: ['icmpv6'],
};
const PROTO_NAMES: Readonly<Record<number, string>> = {
  [PROTO.tcp]: 'a TCP', [PROTO.udp]: 'a UDP', [PROTO.sctp]: 'an SCTP', [PROTO.icmp]: 'an ICMP', [PROTO.icmpv6]: 'an ICMPv6',
};

/** The attributes the kernel requires in the key (match_validate's key_expected). */
function expectedKeyAttrs(key: Attrs): readonly string[] {
  const ethType = toNumber(key['ethertype']) ?? ETH.llc;
  const needs = NEEDS_BY_ETH[ethType] ?? NONE;
  const l3 = L3[ethType];
  if (!l3 || field(key, l3.attr, l3.frag) === FRAG_LATER) return needs;
  const l4 = L4_NEEDS[`${l3.attr}/${field(key, l3.attr, l3.proto)}`];
  if (!l4) return needs;
  const out = [...needs, ...l4];
  const type = field(key, 'icmpv6', 'icmpv6_type');
  if (l4[0] === 'icmpv6' && (type === ND_SOLICIT || type === ND_ADVERT)) out.push('nd');
  return out;
}

/** Why the kernel wants `attr` in this key, e.g. "a TCP flow (ipv4(proto=6))". */
function becauseOf(attr: string, key: Attrs): string {
  const ethType = toNumber(key['ethertype']) ?? ETH.llc;
  const l3 = L3[ethType];
  if (attr === 'nd') {
    const type = field(key, 'icmpv6', 'icmpv6_type');
    return `a neighbour ${type === ND_SOLICIT ? 'solicitation' : 'advertisement'} (icmpv6(type=${type}))`;
  }
  if (l3 && attr !== l3.attr) {
    const proto = field(key, l3.attr, l3.proto)!;
    return `${PROTO_NAMES[proto]} flow (${l3.attr}(proto=${proto}))`;
  }
  const what: Record<string, string> = { arp: 'an ARP', mpls: 'an MPLS', nsh: 'an NSH', ipv4: 'an IPv4', ipv6: 'an IPv6' };
  return `${what[attr] ?? 'this'} flow (eth_type(${hex4(ethType)}))`;
}

const ALWAYS_MASKABLE = new Set(['tunnel', 'in_port', 'ethertype']);
/** The EtherTypes an L3 mask attribute belongs to. */
const L3_MASK_ETH: Readonly<Record<string, readonly number[]>> = {
  ipv4: [ETH.ip], ct_orig_tuple_ipv4: [ETH.ip], ipv6: [ETH.ipv6], ct_orig_tuple_ipv6: [ETH.ipv6],
  arp: [ETH.arp, ETH.rarp], mpls: [ETH.mplsUc, ETH.mplsMc], nsh: [ETH.nsh],
};
/** The IP protocol an L4 mask attribute belongs to. */
const L4_MASK_PROTO: Readonly<Record<string, number>> = {
  tcp: PROTO.tcp, tcp_flags: PROTO.tcp, udp: PROTO.udp, sctp: PROTO.sctp, icmp: PROTO.icmp, icmpv6: PROTO.icmpv6, nd: PROTO.icmpv6,
};

/** Why the kernel would refuse a mask attribute, or undefined when it takes it. */
function maskProblem(attr: string, key: Attrs, mask: Attrs): string | undefined {
  if (ALWAYS_MASKABLE.has(attr)) return undefined;
  if (!has(key, attr)) {
    return `the mask has ${syntaxName(attr)} bits but the key has no ${syntaxName(attr)}: give it in the key too, or leave it out`;
  }
  const ethType = toNumber(key['ethertype']) ?? ETH.llc;
  const ethExact = has(mask, 'ethertype');
  const wants = L3_MASK_ETH[attr];
  if (wants) {
    if (!wants.includes(ethType)) {
      return `${syntaxName(attr)} does not fit the key's eth_type(${hex4(ethType)}): it needs eth_type(${hex4(wants[0]!)})`;
    }
    if (!ethExact) return `the mask has ${syntaxName(attr)} bits but eth_type is not matched: add eth_type(${hex4(ethType)}) (the kernel matches it exactly)`;
    if (attr === 'ct_orig_tuple_ipv6' && has(key, 'nd')) return `${syntaxName(attr)} cannot be matched together with nd(…): they share the same space in the kernel's key`;
    return undefined;
  }
  const wantsProto = L4_MASK_PROTO[attr];
  if (wantsProto === undefined) return undefined;
  const l3 = L3[ethType];
  if (!l3 || !ethExact) return `the mask has ${syntaxName(attr)} bits but the flow does not match an IP eth_type exactly: add eth_type(0x0800) or eth_type(0x86dd)`;
  if (field(key, l3.attr, l3.frag) === FRAG_LATER) return `${syntaxName(attr)} cannot be matched on later fragments (${l3.attr}(frag=later)), which have no L4 header`;
  if (field(mask, l3.attr, l3.proto) !== 0xff) return `the mask has ${syntaxName(attr)} bits but ${l3.attr}(proto=…) is not matched exactly: write proto= without a mask`;
  if (attr === 'nd' && field(mask, 'icmpv6', 'icmpv6_type') !== 0xff) {
    return 'the mask has nd(…) bits but the ICMPv6 type is not matched exactly: write icmpv6(type=135) or icmpv6(type=136) without a mask';
  }
  const proto = field(key, l3.attr, l3.proto);
  if (proto !== wantsProto) return `${syntaxName(attr)} does not fit ${l3.attr}(proto=${proto}): it needs proto=${wantsProto}`;
  return undefined;
}

/** The VLAN rules: an 802.1Q/802.1ad EtherType comes with vlan() (CFI set) and encap(). */
function vlanProblem(key: AttrValues): string | undefined {
  let level: AttrValues | undefined = key;
  while (level) {
    const ethType = toNumber(level['ethertype']);
    const tci = toNumber(level['vlan']);
    if (ethType === ETH.vlan || ethType === ETH.qinq) {
      if (tci === undefined || level['encap'] === undefined) {
        return `a VLAN flow (eth_type(${hex4(ethType)})) needs vlan(…) and encap(…) in the key, e.g. eth_type(${hex4(ethType)}),vlan(vid=10),encap(eth_type(0x0800))`;
      }
    }
    if (tci !== undefined && (tci & VLAN_CFI) === 0 && !(tci === 0 && isZeroValue(level['encap']))) {
      return `vlan(…) in the key needs cfi=1 (the tag-present bit, TCI ${hex4(tci)} lacks 0x1000)`;
    }
    const inner: unknown = level['encap'];
    level = isAttrValues(inner) ? inner : undefined;
  }
  return undefined;
}

/** The conntrack state flags the kernel knows (new … dnat: CT_SUPPORTED_MASK). */
const CT_STATE_KNOWN = 0xff;
/** The kernel's port numbers are below this (DP_MAX_PORTS). */
const PORTS = 0x10000;

/** The bits of a ct_state value (key or mask) the kernel refuses, 0 when none. */
function unknownCtBits(v: unknown): number {
  const n = toNumber(v);
  return n === undefined ? 0 : (n & ~CT_STATE_KNOWN) >>> 0;
}

/** What the kernel's metadata rules refuse in the key (ports, ct_state) and mask (ct_state). */
function metadataProblem(key: Attrs, mask: Attrs | undefined): string | undefined {
  const port = toNumber(key['in_port']);
  // Values that are no u32 are left to the codec, which names them.
  if (port !== undefined && port >= PORTS && port <= 0xffffffff) {
    return `in_port(${port}) is no port number: the kernel's are below ${PORTS} (it logs "Port ${port | 0} exceeds max allowable ${PORTS - 1}" and answers only "Invalid argument")`;
  }
  const inKey = unknownCtBits(key['ct_state']);
  if (inKey) return `ct_state(0x${toNumber(key['ct_state'])!.toString(16)}) has flags the kernel does not know (0x${inKey.toString(16)}; it knows 0x1-0x80, new to dnat)`;
  if (mask && unknownCtBits(mask['ct_state']) && toNumber(key['ct_state']) !== undefined) {
    const bits = toNumber(key['ct_state'])!;
    const maskBits = toNumber(mask['ct_state'])!.toString(16);
    return `ct_state's mask 0x${maskBits} has bits the kernel does not know (flags written without + or - match all 32 bits): ` +
      `it refuses the flow ("ct_state flags ${maskBits.padStart(8, '0')} unsupported" in its log); write each flag with + or -, ` +
      `or e.g. ct_state(0x${bits.toString(16)}/0xff) for these flags set and the others clear`;
  }
  return undefined;
}

/**
 * Throws FlowCheckError naming what the kernel would refuse in `key` and `mask` (no mask:
 * an exact match, which the kernel checks the same way), and what to write instead.
 */
export function checkFlowMatch(key: AttrValues, mask?: AttrValues): void {
  try {
    checkRules(key, mask);
  } catch (err) {
    // A name that is no key attribute (a typo: eth_type for ethertype) is the encoder's to
    // report, with its path; the rules would only say what seems to be missing. Looked
    // for only when a rule refuses: a flow that passes pays nothing for it.
    if (err instanceof FlowCheckError && (hasUnknownName(key) || (mask !== undefined && hasUnknownName(mask)))) return;
    throw err;
  }
}

function checkRules(key: AttrValues, mask: AttrValues | undefined): void {
  const vlan = vlanProblem(key);
  if (vlan) throw new FlowCheckError(vlan);
  const keyAttrs = flatten(key);
  if (!has(keyAttrs, 'ethernet') && !has(keyAttrs, 'ethertype') && !has(keyAttrs, 'packet_type')) {
    // Without eth(…) the packet is an L3 one, whose EtherType must be given; with eth(…)
    // and no eth_type(…) the flow is for 802.2 frames (the kernel's default EtherType).
    throw new FlowCheckError(
      'the key has neither eth(…) nor eth_type(…): the kernel requires one of them and answers only "Invalid argument" ' +
      'without; add the EtherType the flow is for, e.g. eth_type(0x0800)',
    );
  }
  const expected = expectedKeyAttrs(keyAttrs);
  let missing: string[] | undefined;
  for (const attr of expected) if (!has(keyAttrs, attr)) (missing ??= []).push(attr);
  if (missing) {
    const names = missing.map(syntaxName);
    const because = [...new Set(missing.map((m) => becauseOf(m, keyAttrs)))].join(' and ');
    const add = missing.map((m) => WILDCARD[m] ?? syntaxName(m)).join(',');
    throw new FlowCheckError(
      `the key lacks ${names.join(' and ')}: the kernel requires ${missing.length > 1 ? 'them' : 'it'} in ${because} ` +
      `and answers only "Invalid argument" without; add ${add} to match any`,
    );
  }
  const maskAttrs = mask ? flatten(mask) : undefined;
  const metadata = metadataProblem(keyAttrs, maskAttrs);
  if (metadata) throw new FlowCheckError(metadata);
  if (!maskAttrs) return;
  for (const attr in maskAttrs) {
    const value = maskAttrs[attr];
    if (attr === 'encap' || isZeroValue(value)) continue;
    const problem = maskProblem(attr, keyAttrs, maskAttrs);
    if (problem) throw new FlowCheckError(problem);
  }
}

/** Whether a key (or mask) has an attribute name the schema does not know (unknown ids, "#N", are known). */
function hasUnknownName(values: AttrValues): boolean {
  for (const name in values) {
    if (!flowKeyAttrs.byNameOf(name) && !name.startsWith(UNKNOWN_PREFIX)) return true;
    const inner = values[name];
    if (name === 'encap' && isAttrValues(inner) && hasUnknownName(inner)) return true;
  }
  return false;
}

/** A key attribute with its mask, as a flow key parser gives it (flowstr/keys.ts KeyAttr). */
interface KeyMaskAttr {
  name: string;
  value: unknown;
  mask?: unknown;
}

/**
 * Whether checkFlowMatch reads the same of key attributes `a` and `b` (each with its mask,
 * at the same name in key and mask): which attribute it is, whether value and mask are
 * there, whether the mask is all zero, and the fields the rules look at (the EtherType,
 * the IP protocol and fragment type, the ICMPv6 type). Never for vlan() and encap(), whose
 * rules read more, nor packet_type (the key checked is not its attributes then:
 * dpif-netlink's excludePacketType).
 */
function checkedAlike(a: KeyMaskAttr, b: KeyMaskAttr): boolean {
  const name = a.name;
  if (name !== b.name || !memoCheckable(name)) return false;
  if ((a.value === undefined) !== (b.value === undefined) || (a.mask === undefined) !== (b.mask === undefined)) return false;
  if (isZeroValue(a.mask) !== isZeroValue(b.mask)) return false;
  switch (name) {
    case 'ethertype':
      return toNumber(a.value) === toNumber(b.value);
    case 'ipv4':
      return sameMember(a.value, b.value, 'ipv4_proto') && sameMember(a.value, b.value, 'ipv4_frag') && sameMember(a.mask, b.mask, 'ipv4_proto');
    case 'ipv6':
      return sameMember(a.value, b.value, 'ipv6_proto') && sameMember(a.value, b.value, 'ipv6_frag') && sameMember(a.mask, b.mask, 'ipv6_proto');
    case 'icmpv6':
      return sameMember(a.value, b.value, 'icmpv6_type') && sameMember(a.mask, b.mask, 'icmpv6_type');
    case 'in_port':
      return ((toNumber(a.value) ?? 0) < PORTS) === ((toNumber(b.value) ?? 0) < PORTS);
    case 'ct_state':
      return (unknownCtBits(a.value) | unknownCtBits(a.mask)) === 0 && (unknownCtBits(b.value) | unknownCtBits(b.mask)) === 0;
    default:
      return true;
  }
}

function memoCheckable(name: string): boolean {
  return name !== 'vlan' && name !== 'encap' && name !== 'packet_type';
}

/**
 * Whether two struct values have the same number in a field, as field() reads it (an
 * array or buffer has no such field either: no isAttrValues needed).
 */
function sameMember(a: unknown, b: unknown, name: string): boolean {
  return memberOf(a, name) === memberOf(b, name);
}

function memberOf(v: unknown, name: string): number | undefined {
  return typeof v === 'object' && v !== null ? toNumber((v as Record<string, unknown>)[name]) : undefined;
}

/**
 * checkFlowMatch for many flows in a row (a flow file) whose keys are lists of attribute
 * entries that repeat (KeyAttrMemo's): a flow whose attributes are, one by one, the same
 * entries as those of the last flow that passed, or read alike by the rules
 * (checkedAlike), passes without being checked again. Only a pass is remembered.
 */
export class FlowCheckMemo {
  private readonly entries: { attr: KeyMaskAttr }[] = [];
  private length = -1;

  /** checkFlowMatch of the key and mask `attrs` stand for (keyAndMask). */
  check(attrs: readonly { attr: KeyMaskAttr }[]): void {
    if (this.passedAlike(attrs)) return;
    const { key, mask } = keyAndMask(attrs);
    checkFlowMatch(key, mask);
    this.length = -1;
    for (let i = 0; i < attrs.length; i++) {
      const e = attrs[i]!;
      if (!memoCheckable(e.attr.name)) return;
      this.entries[i] = e;
    }
    this.length = attrs.length;
  }

  private passedAlike(attrs: readonly { attr: KeyMaskAttr }[]): boolean {
    if (attrs.length !== this.length) return false;
    for (let i = 0; i < attrs.length; i++) {
      const e = attrs[i]!;
      const last = this.entries[i]!;
      if (e === last) continue;
      if (!checkedAlike(e.attr, last.attr)) return false;
      // Alike: the next flow likely repeats this entry.
      this.entries[i] = e;
    }
    return true;
  }
}

/*
 * Conntrack actions the kernel refuses (net/openvswitch/conntrack.c), each seen in the VM
 * (kernel 6.12). Its source has a log line for each, but in the VM only "Flow actions may
 * not be safe on all matching packets" reached the log, and a NAT with both types got a
 * bare ERANGE with nothing logged:
 *   - nat with src or dst, but no commit (EINVAL), or commit only after nat among ct's
 *     attributes (library objects: the kernel reads them in order): NAT is chosen when the
 *     connection is committed;
 *   - nat with an address or port range or a flag (persistent, hash, random) but neither
 *     src nor dst (EINVAL);
 *   - nat with both src and dst (ERANGE); flow strings cannot say it (their parser
 *     refuses it), library objects can;
 *   - a mark or labels with a zero (or no) mask, or set without commit (EINVAL).
 * force_commit commits too.
 */

/** The nat() members that need src or dst, as the flow syntax writes them. */
const NAT_NEEDS_TYPE: Readonly<Record<string, string>> = {
  ip_min: 'an address', ip_max: 'an address', proto_min: 'a port', proto_max: 'a port',
  persistent: 'persistent', proto_hash: 'hash', proto_random: 'random',
};

/** The ct action as the flow syntax writes it; a value it cannot write is described. */
function ctText(ct: Record<string, unknown>): string {
  try {
    return formatActions([{ ct }]);
  } catch {
    return 'ct(…)';
  }
}

/** The ct action with commit put in, as the flow syntax writes it: the fix a message offers. */
function withCommitText(ct: Record<string, unknown>): string {
  const { commit: _commit, force_commit: _force, ...rest } = ct;
  return ctText({ commit: true, ...rest });
}

/** Whether commit (or force_commit) comes after nat among ct's keys: the kernel reads them in order. */
function commitAfterNat(ct: Record<string, unknown>): boolean {
  let natSeen = false;
  for (const key in ct) {
    if (key === 'nat') natSeen = true;
    else if ((key === 'commit' || key === 'force_commit') && ct[key] === true) return natSeen;
  }
  return false;
}

/** What the kernel would refuse in one ct action's members, or undefined. */
function ctProblem(ct: Record<string, unknown>): string | undefined {
  const commits = ct['commit'] === true || ct['force_commit'] === true;
  const nat = ct['nat'];
  if (isAttrValues(nat)) {
    const src = nat['src'] === true;
    const dst = nat['dst'] === true;
    if (src && dst) return 'ct(nat(…)) has both src and dst: the kernel takes one NAT type per ct action (ERANGE); use one, or two ct actions';
    if ((src || dst) && !commits) {
      return `${ctText(ct)} needs commit: the kernel chooses a connection's NAT when it commits it, and answers only "Invalid argument" without; ` +
        `write ${withCommitText(ct)}, or ct(nat) to apply the NAT of connections already committed`;
    }
    if ((src || dst) && commitAfterNat(ct)) {
      return 'the ct action has commit after nat: the kernel reads its attributes in order and refuses a NAT type before commit ("Invalid argument"); put commit (or force_commit) before nat';
    }
    if (!src && !dst) {
      for (const member in NAT_NEEDS_TYPE) {
        const v = nat[member];
        if (v === undefined || v === false) continue;
        return `ct(nat(…)) has ${NAT_NEEDS_TYPE[member]} but neither src nor dst: the kernel answers only "Invalid argument"; write nat(src=…) or nat(dst=…), or nat alone to apply the NAT of connections already committed`;
      }
    }
  }
  for (const [member, syntax] of [['mark', 'mark'], ['labels', 'label']] as const) {
    const v = ct[member];
    if (!isAttrValues(v)) continue;
    // The flow syntax leaves a zero-mask mark=/label= out, as ovs-dpctl does.
    if (isZeroValue(v['mask'])) {
      const named = syntax === member ? syntax : `${syntax} (${member})`;
      return `the ct action's ${named} has no mask, or a zero one: it would set nothing, and the kernel answers only "Invalid argument"; ` +
        `give the bits to set as its mask (${syntax}=VALUE/MASK in the flow syntax), or leave ${member} out`;
    }
    if (!commits) {
      return `${ctText(ct)} sets a ${syntax} without commit: the kernel sets a connection's ${syntax} only when it commits it, and answers only "Invalid argument" without; ` +
        `write ${withCommitText(ct)}`;
    }
  }
  return undefined;
}

/**
 * Where action lists nest in actions, as the actions schema marks them (a nest of the
 * actions set, as a list): by action name, true for the value itself (clone), else the
 * members that are lists (sample's actions, check_pkt_len's branches, dec_ttl's action).
 * Read off the schema at the first check.
 */
let nestedLists: Map<string, true | string[]> | undefined;

function nestedListsOfSchema(): Map<string, true | string[]> {
  const out = new Map<string, true | string[]>();
  const isActionList = (a: AttrSpec): boolean => a.type === 'nested' && a.list === true && resolveSet(a.set) === actionAttrs;
  for (const a of actionAttrs.attrs) {
    if (a.type !== 'nested') continue;
    if (isActionList(a)) out.set(a.name, true);
    else {
      const members = resolveSet(a.set).attrs.filter(isActionList).map((m) => m.name);
      if (members.length) out.set(a.name, members);
    }
  }
  return out;
}

/**
 * Throws FlowCheckError naming a ct() action (at any depth) the kernel would refuse, and
 * what to write instead. Anything that is not an action list (or entry) as the codec takes
 * it is left to the encoder, which names it.
 */
export function checkFlowActions(actions: unknown): void {
  if (!Array.isArray(actions)) return;
  for (const entry of actions) {
    if (!isAttrValues(entry)) continue;
    for (const name in entry) {
      const value = entry[name];
      if (name === 'ct') {
        const problem = isAttrValues(value) ? ctProblem(value) : undefined;
        if (problem) throw new FlowCheckError(problem);
        continue;
      }
      const nested = (nestedLists ??= nestedListsOfSchema()).get(name);
      if (nested === true) checkFlowActions(value);
      else if (nested && isAttrValues(value)) for (const member of nested) checkFlowActions(value[member]);
    }
  }
}

/**
 * What the kernel would refuse in a megaflow, for callers that go on without it (the
 * controller, `ovsdp trace`): the error, and whether it is in the actions (then a packet's
 * execute with them is refused too); undefined when the flow would be taken.
 */
export function flowRefusal(key: AttrValues, mask: AttrValues, actions: readonly AttrValues[]): { error: Error; inActions: boolean } | undefined {
  let actionsPassed = false;
  try {
    checkFlowActions(actions);
    actionsPassed = true;
    checkFlowMatch(key, mask);
    return undefined;
  } catch (err) {
    return { error: err as Error, inActions: !actionsPassed };
  }
}

/**
 * checkFlowActions once per actions list object (bulk loads and packet batches share
 * lists): the refusal found the first time, or undefined, remembered.
 */
export class ActionsCheckMemo {
  private readonly seen = new WeakMap<object, FlowCheckError | null>();

  refusal(actions: object): FlowCheckError | undefined {
    let found = this.seen.get(actions);
    if (found === undefined) {
      found = null;
      try {
        checkFlowActions(actions);
      } catch (err) {
        if (!(err instanceof FlowCheckError)) throw err;
        found = err;
      }
      this.seen.set(actions, found);
    }
    return found ?? undefined;
  }
}
