/**
 * dump-flows' filter=MATCH: an OpenFlow-style match (`tcp,nw_dst=10.0.0.2,tp_dst=80`,
 * `in_port=eth0`, `dl_type=0x0806`) tested against datapath flows the way ovs-dpctl does
 * (lib/dpctl.c dpctl_dump_flows): a field is compared only where both the flow's mask and
 * the filter have bits, so a flow that wildcards a field passes a filter on it, and an
 * attribute the flow lacks reads as zero with a zero mask (but a missing VLAN tag is matched
 * exactly when the EtherType is, as OVS reads it). Fields use OVS's struct flow
 * meanings: tp_src/tp_dst hold the ICMP type and code, nw_src/nw_dst/nw_proto the ARP
 * addresses and opcode.
 */
import { parseIPv4, parseIPv6, parseMac } from '../nl/repr.js';
import { type AttrValues, isAttrValues } from '../nl/schema.js';
import { CT_STATE_FLAGS } from './keys.js';

/** A filter that cannot be read, with what is wrong. */
export class FilterError extends Error {
  override readonly name = 'FilterError';
}

type Fields = Map<string, bigint>;

function big(v: unknown): bigint | undefined {
  if (typeof v === 'number') return BigInt(v);
  if (typeof v === 'bigint') return v;
  if (Buffer.isBuffer(v)) return v.length ? BigInt(`0x${v.toString('hex')}`) : 0n;
  if (typeof v !== 'string') return undefined;
  const v4 = parseIPv4(v);
  if (v4 !== undefined) return BigInt(v4);
  const bytes = parseMac(v) ?? parseIPv6(v);
  if (bytes) return BigInt(`0x${bytes.toString('hex')}`);
  return /^(0x[0-9a-f]+|\d+)$/i.test(v) ? BigInt(v) : undefined;
}

function put(out: Fields, name: string, v: unknown): void {
  const n = big(v);
  if (n !== undefined) out.set(name, n);
}

/** A key's (or mask's) fields as struct flow names them (the ones filters can name). */
export function flowFields(key: AttrValues): Fields {
  const out: Fields = new Map();
  let level: AttrValues | undefined = key;
  while (level) {
    const a: AttrValues = level;
    put(out, 'in_port', a['in_port']);
    put(out, 'recirc_id', a['recirc_id']);
    put(out, 'dp_hash', a['dp_hash']);
    put(out, 'skb_mark', a['skb_mark']);
    put(out, 'skb_priority', a['priority']);
    put(out, 'ct_state', a['ct_state']);
    put(out, 'ct_zone', a['ct_zone']);
    put(out, 'ct_mark', a['ct_mark']);
    put(out, 'dl_type', a['ethertype']);
    // The outermost tag: inner levels (encap) have none of their own.
    if (!out.has('vlan_tci')) put(out, 'vlan_tci', a['vlan']);
    if (isAttrValues(a['ethernet'])) {
      put(out, 'dl_src', a['ethernet']['eth_src']);
      put(out, 'dl_dst', a['ethernet']['eth_dst']);
    }
    if (isAttrValues(a['tunnel'])) {
      put(out, 'tun_id', a['tunnel']['id']);
      put(out, 'tun_src', a['tunnel']['ipv4_src']);
      put(out, 'tun_dst', a['tunnel']['ipv4_dst']);
    }
    const ip4 = a['ipv4'];
    if (isAttrValues(ip4)) {
      put(out, 'nw_src', ip4['ipv4_src']);
      put(out, 'nw_dst', ip4['ipv4_dst']);
      put(out, 'nw_proto', ip4['ipv4_proto']);
      put(out, 'nw_tos', ip4['ipv4_tos']);
      put(out, 'nw_ttl', ip4['ipv4_ttl']);
    }
    const ip6 = a['ipv6'];
    if (isAttrValues(ip6)) {
      put(out, 'ipv6_src', ip6['ipv6_src']);
      put(out, 'ipv6_dst', ip6['ipv6_dst']);
      put(out, 'nw_proto', ip6['ipv6_proto']);
      put(out, 'nw_tos', ip6['ipv6_tclass']);
      put(out, 'nw_ttl', ip6['ipv6_hlimit']);
      put(out, 'ipv6_label', ip6['ipv6_label']);
    }
    const arp = a['arp'];
    if (isAttrValues(arp)) {
      put(out, 'nw_src', arp['arp_sip']);
      put(out, 'nw_dst', arp['arp_tip']);
      put(out, 'nw_proto', arp['arp_op']);
      put(out, 'arp_sha', arp['arp_sha']);
      put(out, 'arp_tha', arp['arp_tha']);
    }
    const nd = a['nd'];
    if (isAttrValues(nd)) {
      put(out, 'nd_target', nd['nd_target']);
      // struct flow keeps the ND link-layer addresses where ARP's are.
      put(out, 'arp_sha', nd['nd_sll']);
      put(out, 'arp_tha', nd['nd_tll']);
    }
    const mpls = a['mpls'];
    if (Array.isArray(mpls) && isAttrValues(mpls[0])) put(out, 'mpls_lse', mpls[0]['mpls_lse']);
    for (const l4 of ['tcp', 'udp', 'sctp'] as const) {
      const v = a[l4];
      if (isAttrValues(v)) {
        put(out, 'tp_src', v[`${l4}_src`]);
        put(out, 'tp_dst', v[`${l4}_dst`]);
      }
    }
    for (const icmp of ['icmp', 'icmpv6'] as const) {
      const v = a[icmp];
      if (isAttrValues(v)) {
        put(out, 'tp_src', v[`${icmp}_type`]);
        put(out, 'tp_dst', v[`${icmp}_code`]);
      }
    }
    put(out, 'tcp_flags', a['tcp_flags']);
    const inner: unknown = a['encap'];
    level = isAttrValues(inner) ? inner : undefined;
  }
  return out;
}

type ValueKind = 'int' | 'ipv4' | 'ipv6' | 'mac' | 'port' | 'ct_state';

/**
 * Where a filter field's value sits in its struct flow field, for fields that are part of
 * one (OVS's meta-flow): shifted left by `shift`, with `implied` bits matched too (dl_vlan
 * means a tag is present: the CFI bit), and only the bits of `within` allowed (nw_tos is
 * the DSCP bits of the TOS byte).
 */
interface Placement {
  shift?: number;
  implied?: bigint;
  within?: bigint;
}

const VLAN_CFI = 0x1000n;

/** Filter field names (and OVS's synonyms) -> struct flow field, value kind, width in bits, placement. */
const FIELDS: Readonly<Record<string, [string, ValueKind, number, Placement?]>> = {
  in_port: ['in_port', 'port', 32],
  recirc_id: ['recirc_id', 'int', 32], dp_hash: ['dp_hash', 'int', 32],
  pkt_mark: ['skb_mark', 'int', 32], skb_mark: ['skb_mark', 'int', 32], skb_priority: ['skb_priority', 'int', 32],
  ct_zone: ['ct_zone', 'int', 16], ct_mark: ['ct_mark', 'int', 32],
  dl_type: ['dl_type', 'int', 16], eth_type: ['dl_type', 'int', 16],
  dl_src: ['dl_src', 'mac', 48], eth_src: ['dl_src', 'mac', 48], dl_dst: ['dl_dst', 'mac', 48], eth_dst: ['dl_dst', 'mac', 48],
  nw_src: ['nw_src', 'ipv4', 32], ip_src: ['nw_src', 'ipv4', 32], arp_spa: ['nw_src', 'ipv4', 32],
  nw_dst: ['nw_dst', 'ipv4', 32], ip_dst: ['nw_dst', 'ipv4', 32], arp_tpa: ['nw_dst', 'ipv4', 32],
  ipv6_src: ['ipv6_src', 'ipv6', 128], ipv6_dst: ['ipv6_dst', 'ipv6', 128],
  nw_proto: ['nw_proto', 'int', 8], ip_proto: ['nw_proto', 'int', 8], arp_op: ['nw_proto', 'int', 8],
  nw_ttl: ['nw_ttl', 'int', 8],
  tp_src: ['tp_src', 'int', 16], tcp_src: ['tp_src', 'int', 16], udp_src: ['tp_src', 'int', 16], sctp_src: ['tp_src', 'int', 16],
  tp_dst: ['tp_dst', 'int', 16], tcp_dst: ['tp_dst', 'int', 16], udp_dst: ['tp_dst', 'int', 16], sctp_dst: ['tp_dst', 'int', 16],
  icmp_type: ['tp_src', 'int', 8], icmpv6_type: ['tp_src', 'int', 8], icmp_code: ['tp_dst', 'int', 8], icmpv6_code: ['tp_dst', 'int', 8],
  tcp_flags: ['tcp_flags', 'int', 12],
  tun_id: ['tun_id', 'int', 64], tunnel_id: ['tun_id', 'int', 64], tun_src: ['tun_src', 'ipv4', 32], tun_dst: ['tun_dst', 'ipv4', 32],
  ct_state: ['ct_state', 'ct_state', 8],
  vlan_tci: ['vlan_tci', 'int', 16],
  dl_vlan: ['vlan_tci', 'int', 12, { implied: VLAN_CFI }], dl_vlan_pcp: ['vlan_tci', 'int', 3, { shift: 13, implied: VLAN_CFI }],
  nw_tos: ['nw_tos', 'int', 8, { within: 0xfcn }], ip_dscp: ['nw_tos', 'int', 6, { shift: 2 }],
  nw_ecn: ['nw_tos', 'int', 2], ip_ecn: ['nw_tos', 'int', 2],
  ipv6_label: ['ipv6_label', 'int', 20],
  arp_sha: ['arp_sha', 'mac', 48], arp_tha: ['arp_tha', 'mac', 48], nd_sll: ['arp_sha', 'mac', 48], nd_tll: ['arp_tha', 'mac', 48],
  nd_target: ['nd_target', 'ipv6', 128],
  mpls_label: ['mpls_lse', 'int', 20, { shift: 12 }], mpls_tc: ['mpls_lse', 'int', 3, { shift: 9 }], mpls_bos: ['mpls_lse', 'int', 1, { shift: 8 }],
};

/** Protocol shorthands: the fields they stand for. */
const SHORTHANDS: Readonly<Record<string, [number, number?]>> = {
  ip: [0x0800], ipv6: [0x86dd], icmp: [0x0800, 1], icmp6: [0x86dd, 58], tcp: [0x0800, 6], tcp6: [0x86dd, 6],
  udp: [0x0800, 17], udp6: [0x86dd, 17], sctp: [0x0800, 132], sctp6: [0x86dd, 132], arp: [0x0806], rarp: [0x8035],
  mpls: [0x8847], mplsm: [0x8848],
};

function ones(bits: number): bigint {
  return (1n << BigInt(bits)) - 1n;
}

/** ct_state's `+trk-est` form: the flags given, set (+) or clear (-), as value and mask. */
function parseCtFlags(text: string): { value: bigint; mask: bigint } | undefined {
  let value = 0n;
  let mask = 0n;
  for (const m of text.matchAll(/([+-])([a-z]+)|(.)/g)) {
    const bit = m[2] === undefined ? undefined : (CT_STATE_FLAGS as Readonly<Record<string, number>>)[m[2]];
    if (bit === undefined) return undefined;
    mask |= BigInt(bit);
    if (m[1] === '+') value |= BigInt(bit);
  }
  return mask === 0n ? undefined : { value, mask };
}

function parseValue(kind: ValueKind, text: string, bits: number, ports: ReadonlyMap<string, number>, what: string): bigint {
  const fail = (): never => { throw new FilterError(`bad value "${text}" for ${what} in filter${kind === 'ct_state' ? ` (flags as +trk-est, or a number)` : ''}`); };
  let v: bigint | undefined;
  if (kind === 'port' && ports.has(text)) v = BigInt(ports.get(text)!);
  else if (kind === 'ipv4') { const n = parseIPv4(text); v = n === undefined ? undefined : BigInt(n); }
  else if (kind === 'ipv6') { const b = parseIPv6(text); v = b ? BigInt(`0x${b.toString('hex')}`) : undefined; }
  else if (kind === 'mac') { const b = parseMac(text); v = b ? BigInt(`0x${b.toString('hex')}`) : undefined; }
  else if (/^(0x[0-9a-f]+|\d+)$/i.test(text)) v = BigInt(text);
  if (v === undefined || v > ones(bits)) return fail();
  return v;
}

function parseMask(kind: ValueKind, text: string, bits: number, ports: ReadonlyMap<string, number>, what: string): bigint {
  // Addresses take a prefix length too: 10.0.0.0/24.
  if ((kind === 'ipv4' || kind === 'ipv6') && /^\d+$/.test(text)) {
    const len = Number(text);
    if (len > bits) throw new FilterError(`bad prefix length /${text} for ${what} in filter`);
    return ones(bits) ^ ones(bits - len);
  }
  return parseValue(kind === 'port' ? 'int' : kind, text, bits, ports, what);
}

/**
 * Reads a filter; the result tells whether a flow's key and mask pass it. Port names are
 * taken for in_port. Throws FilterError.
 */
export function compileFilter(text: string, ports: ReadonlyMap<string, number>): (key: AttrValues, mask: AttrValues) => boolean {
  const want = new Map<string, { value: bigint; mask: bigint }>();
  // Fields that share a struct flow field (dl_vlan and dl_vlan_pcp) add up.
  const set = (field: string, value: bigint, mask: bigint): void => {
    const had = want.get(field) ?? { value: 0n, mask: 0n };
    want.set(field, { value: (had.value & ~mask) | (value & mask), mask: had.mask | mask });
  };
  for (const token of text.split(/[,\s]+/).filter(Boolean)) {
    const eq = token.indexOf('=');
    if (eq < 0) {
      const sh = SHORTHANDS[token];
      if (!sh) throw new FilterError(`unknown protocol "${token}" in filter (known: ${Object.keys(SHORTHANDS).join(', ')})`);
      set('dl_type', BigInt(sh[0]), 0xffffn);
      if (sh[1] !== undefined) set('nw_proto', BigInt(sh[1]), 0xffn);
      continue;
    }
    const name = token.slice(0, eq);
    const def = FIELDS[name];
    if (!def) throw new FilterError(`unknown field "${name}" in filter (known: ${Object.keys(FIELDS).join(', ')})`);
    const [field, kind, bits, place = {}] = def;
    const text = token.slice(eq + 1);
    const flags = kind === 'ct_state' && /^[+-]/.test(text) ? parseCtFlags(text) : undefined;
    const [valueText, maskText] = text.split('/', 2) as [string, string | undefined];
    const value = flags?.value ?? parseValue(kind, valueText, bits, ports, name);
    const mask = flags?.mask ?? (maskText === undefined ? ones(bits) : parseMask(kind, maskText, bits, ports, name));
    if (place.within !== undefined && value & ~place.within) {
      throw new FilterError(`bad value "${valueText}" for ${name} in filter (only the bits 0x${place.within.toString(16)} may be set)`);
    }
    const shift = BigInt(place.shift ?? 0);
    const implied = place.implied ?? 0n;
    set(field, (value << shift) | implied, ((mask & (place.within ?? mask)) << shift) | implied);
  }
  return (key, mask) => {
    const k = flowFields(key);
    const m = flowFields(mask);
    // As OVS reads a flow (odp_flow_key_to_mask): a key with its EtherType matched and no
    // VLAN tag matches "no tag" exactly, where other absent attributes match anything.
    if (!k.has('vlan_tci') && m.get('dl_type')) m.set('vlan_tci', 0xffffn);
    for (const [field, f] of want) {
      const both = f.mask & (m.get(field) ?? 0n);
      if (((k.get(field) ?? 0n) ^ f.value) & both) return false;
    }
    return true;
  };
}
