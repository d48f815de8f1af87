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
 *   - an 802.1Q EtherType needs vlan() and encap(), and the VLAN TCI needs its CFI bit.
 * Works on codec-shaped values (src/ovs/keys.ts).
 */
import type { AttrValues } from '../nl/schema.js';
import { keyAttrText } from './flowstr/keys.js';

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

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

/** Whether a value (as the codec takes it) encodes to all-zero bytes. */
export function isZeroValue(v: unknown): boolean {
  if (v === undefined || v === false || v === 0 || v === 0n) return true;
  if (typeof v === 'string') return ZERO_TEXT.test(v);
  if (v instanceof Uint8Array) {
    for (const b of v) if (b !== 0) return false;
    return true;
  }
  if (Array.isArray(v)) return v.every(isZeroValue);
  if (isRecord(v)) {
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
    level = isRecord(inner) ? inner : undefined;
  }
  return out;
}

function has(attrs: Attrs, attr: string): boolean {
  return attrs[attr] !== undefined;
}

function field(attrs: Attrs, attr: string, name: string): number | undefined {
  const v = attrs[attr];
  return isRecord(v) ? toNumber(v[name]) : undefined;
}

function hex4(n: number): string {
  return `0x${n.toString(16).padStart(4, '0')}`;
}

interface Expectation {
  attr: string;
  /** why the kernel wants it, e.g. "a TCP flow (proto=6)" */
  because: string;
}

/** Attributes the kernel requires in the key, each with the reason. */
function expectedKeyAttrs(key: Attrs): Expectation[] {
  const out: Expectation[] = [];
  const ethType = toNumber(key['ethertype']) ?? ETH.llc;
  const need = (attr: string, because: string): void => { out.push({ attr, because }); };
  if (ethType === ETH.arp || ethType === ETH.rarp) need('arp', `an ARP flow (eth_type(${hex4(ethType)}))`);
  if (ethType === ETH.mplsUc || ethType === ETH.mplsMc) need('mpls', `an MPLS flow (eth_type(${hex4(ethType)}))`);
  if (ethType === ETH.nsh) need('nsh', 'an NSH flow (eth_type(0x894f))');
  const l3 = ethType === ETH.ip ? 'ipv4' : ethType === ETH.ipv6 ? 'ipv6' : undefined;
  if (!l3) return out;
  need(l3, `an ${l3 === 'ipv4' ? 'IPv4' : 'IPv6'} flow (eth_type(${hex4(ethType)}))`);
  if (field(key, l3, `${l3}_frag`) === FRAG_LATER) return out;
  const proto = field(key, l3, `${l3}_proto`);
  const via = `${l3}(proto=${proto})`;
  if (proto === PROTO.tcp) {
    need('tcp', `a TCP flow (${via})`);
    need('tcp_flags', `a TCP flow (${via})`);
  } else if (proto === PROTO.udp) need('udp', `a UDP flow (${via})`);
  else if (proto === PROTO.sctp) need('sctp', `an SCTP flow (${via})`);
  else if (proto === PROTO.icmp && l3 === 'ipv4') need('icmp', `an ICMP flow (${via})`);
  else if (proto === PROTO.icmpv6 && l3 === 'ipv6') {
    need('icmpv6', `an ICMPv6 flow (${via})`);
    const type = field(key, 'icmpv6', 'icmpv6_type');
    if (type === ND_SOLICIT || type === ND_ADVERT) need('nd', `a neighbour ${type === ND_SOLICIT ? 'solicitation' : 'advertisement'} (icmpv6(type=${type}))`);
  }
  return out;
}

const L3_MASKS = new Set(['ipv4', 'ipv6', 'ct_orig_tuple_ipv4', 'ct_orig_tuple_ipv6', 'arp', 'mpls', 'nsh']);
const L4_MASKS = new Set(['tcp', 'tcp_flags', 'udp', 'sctp', 'icmp', 'icmpv6']);
const ALWAYS_MASKABLE = new Set(['tunnel', 'in_port', 'ethertype']);

/** Why the kernel would refuse a mask attribute, or undefined when it takes it. */
function maskProblem(attr: string, key: Attrs, mask: Attrs): string | undefined {
  if (ALWAYS_MASKABLE.has(attr)) return undefined;
  const name = syntaxName(attr);
  if (!has(key, attr)) return `the mask has ${name} bits but the key has no ${name}: give it in the key too, or leave it out`;
  const ethType = toNumber(key['ethertype']) ?? ETH.llc;
  const ethExact = has(mask, 'ethertype');
  if (L3_MASKS.has(attr)) {
    const wants: number[] = attr === 'arp' ? [ETH.arp, ETH.rarp]
      : attr === 'mpls' ? [ETH.mplsUc, ETH.mplsMc]
        : attr === 'nsh' ? [ETH.nsh]
          : attr.endsWith('ipv4') ? [ETH.ip] : [ETH.ipv6];
    if (!wants.includes(ethType)) {
      return `${name} does not fit the key's eth_type(${hex4(ethType)}): it needs eth_type(${hex4(wants[0]!)})`;
    }
    if (!ethExact) return `the mask has ${name} bits but eth_type is not matched: add eth_type(${hex4(ethType)}) (the kernel matches it exactly)`;
    if (attr === 'ct_orig_tuple_ipv6' && has(key, 'nd')) return `${name} cannot be matched together with nd(…): they share the same space in the kernel's key`;
    return undefined;
  }
  if (L4_MASKS.has(attr) || attr === 'nd') {
    const l3 = ethType === ETH.ip ? 'ipv4' : ethType === ETH.ipv6 ? 'ipv6' : undefined;
    if (!l3 || !ethExact) return `the mask has ${name} bits but the flow does not match an IP eth_type exactly: add eth_type(0x0800) or eth_type(0x86dd)`;
    if (field(key, l3, `${l3}_frag`) === FRAG_LATER) return `${name} cannot be matched on later fragments (${l3}(frag=later)) , which have no L4 header`;
    const protoMask = field(mask, l3, `${l3}_proto`);
    if (protoMask !== 0xff) return `the mask has ${name} bits but ${l3}(proto=…) is not matched exactly: write proto= without a mask`;
    if (attr === 'nd') {
      const typeMask = field(mask, 'icmpv6', 'icmpv6_type');
      if (typeMask !== 0xff) return `the mask has nd(…) bits but the ICMPv6 type is not matched exactly: write icmpv6(type=135) or icmpv6(type=136) without a mask`;
    }
    const proto = field(key, l3, `${l3}_proto`);
    const fits: Record<string, number> = { tcp: PROTO.tcp, tcp_flags: PROTO.tcp, udp: PROTO.udp, sctp: PROTO.sctp, icmp: PROTO.icmp, icmpv6: PROTO.icmpv6, nd: PROTO.icmpv6 };
    if (proto !== fits[attr]) return `${name} does not fit ${l3}(proto=${proto}): it needs proto=${fits[attr]}`;
  }
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
    level = isRecord(inner) ? inner : undefined;
  }
  return undefined;
}

/**
 * Throws FlowCheckError naming what the kernel would refuse in `key` and `mask` (no mask:
 * an exact match, which the kernel checks the same way), and what to write instead.
 */
export function checkFlowMatch(key: AttrValues, mask?: AttrValues): void {
  const vlan = vlanProblem(key);
  if (vlan) throw new FlowCheckError(vlan);
  const keyAttrs = flatten(key);
  const missing = expectedKeyAttrs(keyAttrs).filter((e) => !has(keyAttrs, e.attr));
  if (missing.length) {
    const names = missing.map((m) => syntaxName(m.attr));
    const because = [...new Set(missing.map((m) => m.because))].join(' and ');
    const add = missing.map((m) => WILDCARD[m.attr] ?? syntaxName(m.attr)).join(',');
    throw new FlowCheckError(
      `the key lacks ${names.join(' and ')}: the kernel requires ${missing.length > 1 ? 'them' : 'it'} in ${because} ` +
      `and answers only "Invalid argument" without; add ${add} to match any`,
    );
  }
  if (!mask) return;
  const maskAttrs = flatten(mask);
  for (const attr in maskAttrs) {
    const value = maskAttrs[attr];
    if (attr === 'encap' || isZeroValue(value)) continue;
    const problem = maskProblem(attr, keyAttrs, maskAttrs);
    if (problem) throw new FlowCheckError(problem);
  }
}
