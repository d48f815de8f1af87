/**
 * The packet fields an OpenFlow-like rule table matches on and modifies, located in the
 * kernel's flow key (src/ovs/keys.ts): each field is one key attribute, or one member of
 * a key attribute's struct, read and written as an unsigned bigint so that values and
 * masks combine with plain bit operations.
 *
 * Field names are the flow key's own (the struct member, or the attribute for scalar
 * attributes): in_port, eth_src, ipv4_src, tcp_dst, ct_state, ... The rule language
 * (rules.ts) maps ovs-ofctl's names (nw_src, tp_dst, dl_type, ...) onto these.
 *
 * Wildcards is the megaflow mask being built while a packet is translated: which bits of
 * which fields the decision depended on. It also knows what the kernel insists on around
 * them (net/openvswitch/flow_netlink.c match_validate): mask bits in an L3 header need
 * the EtherType matched exactly; in an L4 header the IP protocol too. It turns into the
 * OVS_FLOW_ATTR_MASK attributes for a key.
 */
import { formatIPv4, formatIPv6, formatMac, parseIPv4, parseIPv6, parseMac } from '../../nl/repr.js';
import type { AttrValues } from '../../nl/schema.js';

/** How a field's codec value looks: a number, dotted IPv4, IPv6 text, MAC text, or bytes. */
export type FieldKind = 'int' | 'ipv4' | 'ipv6' | 'mac' | 'u128le';

/**
 * Which header a field lives in. The layer decides when the field exists in a packet
 * (prerequisites) and what else a megaflow must match exactly when the field is matched.
 */
export type Layer = 'meta' | 'l2' | 'ipv4' | 'ipv6' | 'arp' | 'tcp' | 'udp' | 'sctp' | 'icmp' | 'icmpv6';

export interface PacketField {
  name: string;
  /** The flow key attribute that holds it. */
  attr: string;
  /** The struct member inside the attribute; absent for scalar attributes. */
  member?: string;
  bits: number;
  kind: FieldKind;
  layer: Layer;
  /** Bits with independent meanings (ct_state, tcp_flags): a single bit proves a mismatch. */
  flags?: boolean;
}

function field(name: string, attr: string, member: string | undefined, bits: number, kind: FieldKind, layer: Layer, flags = false): PacketField {
  const f: PacketField = { name, attr, bits, kind, layer };
  if (member !== undefined) f.member = member;
  if (flags) f.flags = true;
  return f;
}

const LIST: PacketField[] = [
  field('recirc_id', 'recirc_id', undefined, 32, 'int', 'meta'),
  field('in_port', 'in_port', undefined, 32, 'int', 'meta'),
  field('skb_mark', 'skb_mark', undefined, 32, 'int', 'meta'),
  field('ct_state', 'ct_state', undefined, 32, 'int', 'meta', true),
  field('ct_zone', 'ct_zone', undefined, 16, 'int', 'meta'),
  field('ct_mark', 'ct_mark', undefined, 32, 'int', 'meta'),
  field('ct_labels', 'ct_labels', undefined, 128, 'u128le', 'meta'),
  field('eth_src', 'ethernet', 'eth_src', 48, 'mac', 'l2'),
  field('eth_dst', 'ethernet', 'eth_dst', 48, 'mac', 'l2'),
  field('ethertype', 'ethertype', undefined, 16, 'int', 'l2'),
  field('ipv4_src', 'ipv4', 'ipv4_src', 32, 'ipv4', 'ipv4'),
  field('ipv4_dst', 'ipv4', 'ipv4_dst', 32, 'ipv4', 'ipv4'),
  field('ipv4_proto', 'ipv4', 'ipv4_proto', 8, 'int', 'ipv4'),
  field('ipv4_tos', 'ipv4', 'ipv4_tos', 8, 'int', 'ipv4'),
  field('ipv4_ttl', 'ipv4', 'ipv4_ttl', 8, 'int', 'ipv4'),
  field('ipv4_frag', 'ipv4', 'ipv4_frag', 8, 'int', 'ipv4'),
  field('ipv6_src', 'ipv6', 'ipv6_src', 128, 'ipv6', 'ipv6'),
  field('ipv6_dst', 'ipv6', 'ipv6_dst', 128, 'ipv6', 'ipv6'),
  field('ipv6_label', 'ipv6', 'ipv6_label', 32, 'int', 'ipv6'),
  field('ipv6_proto', 'ipv6', 'ipv6_proto', 8, 'int', 'ipv6'),
  field('ipv6_tclass', 'ipv6', 'ipv6_tclass', 8, 'int', 'ipv6'),
  field('ipv6_hlimit', 'ipv6', 'ipv6_hlimit', 8, 'int', 'ipv6'),
  field('ipv6_frag', 'ipv6', 'ipv6_frag', 8, 'int', 'ipv6'),
  field('arp_sip', 'arp', 'arp_sip', 32, 'ipv4', 'arp'),
  field('arp_tip', 'arp', 'arp_tip', 32, 'ipv4', 'arp'),
  field('arp_op', 'arp', 'arp_op', 16, 'int', 'arp'),
  field('arp_sha', 'arp', 'arp_sha', 48, 'mac', 'arp'),
  field('arp_tha', 'arp', 'arp_tha', 48, 'mac', 'arp'),
  field('tcp_src', 'tcp', 'tcp_src', 16, 'int', 'tcp'),
  field('tcp_dst', 'tcp', 'tcp_dst', 16, 'int', 'tcp'),
  field('tcp_flags', 'tcp_flags', undefined, 16, 'int', 'tcp', true),
  field('udp_src', 'udp', 'udp_src', 16, 'int', 'udp'),
  field('udp_dst', 'udp', 'udp_dst', 16, 'int', 'udp'),
  field('sctp_src', 'sctp', 'sctp_src', 16, 'int', 'sctp'),
  field('sctp_dst', 'sctp', 'sctp_dst', 16, 'int', 'sctp'),
  field('icmp_type', 'icmp', 'icmp_type', 8, 'int', 'icmp'),
  field('icmp_code', 'icmp', 'icmp_code', 8, 'int', 'icmp'),
  field('icmpv6_type', 'icmpv6', 'icmpv6_type', 8, 'int', 'icmpv6'),
  field('icmpv6_code', 'icmpv6', 'icmpv6_code', 8, 'int', 'icmpv6'),
];

/** Every field by name. */
export const PACKET_FIELDS: ReadonlyMap<string, PacketField> = new Map(LIST.map((f) => [f.name, f]));

/** The field of that name; throws for a name that is not one (a programming error). */
export function packetField(name: string): PacketField {
  const f = PACKET_FIELDS.get(name);
  if (!f) throw new Error(`no packet field ${name}`);
  return f;
}

/** All ones in a field's width. */
export function fullMask(f: PacketField): bigint {
  return (1n << BigInt(f.bits)) - 1n;
}

export const ETH_TYPE = { ipv4: 0x0800, arp: 0x0806, rarp: 0x8035, ipv6: 0x86dd } as const;
export const IP_PROTO = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58, sctp: 132 } as const;

// ---------------------------------------------------------------- values

function bytesToBigint(b: Uint8Array): bigint {
  return b.length ? BigInt(`0x${Buffer.from(b).toString('hex')}`) : 0n;
}

function bigintToBytes(v: bigint, len: number): Buffer {
  return Buffer.from(v.toString(16).padStart(len * 2, '0'), 'hex');
}

/** A codec value of the field's kind as a bigint (undefined, e.g. absent: 0). */
export function toBigint(f: PacketField, v: unknown): bigint {
  if (v === undefined) return 0n;
  switch (f.kind) {
    case 'int':
      return typeof v === 'bigint' ? v : BigInt(v as number);
    case 'ipv4':
      return BigInt(typeof v === 'number' ? v : parseIPv4(String(v)) ?? 0);
    case 'ipv6':
      return bytesToBigint(Buffer.isBuffer(v) ? v : parseIPv6(String(v)) ?? Buffer.alloc(16));
    case 'mac':
      return bytesToBigint(Buffer.isBuffer(v) ? v : parseMac(String(v)) ?? Buffer.alloc(6));
    case 'u128le':
      return bytesToBigint(Buffer.from(v as Uint8Array).reverse());
  }
}

/** A bigint as the codec's value for the field. */
export function fromBigint(f: PacketField, v: bigint): unknown {
  switch (f.kind) {
    case 'int':
      return f.bits > 32 ? v : Number(v);
    case 'ipv4':
      return formatIPv4(Number(v));
    case 'ipv6':
      return formatIPv6(bigintToBytes(v, 16));
    case 'mac':
      return formatMac(bigintToBytes(v, 6));
    case 'u128le':
      return bigintToBytes(v, 16).reverse();
  }
}

/** A field's value in a flow key (0 when the key lacks it, as OpenFlow sees absent headers). */
export function readField(key: AttrValues, f: PacketField): bigint {
  const a = key[f.attr];
  if (a === undefined) return 0n;
  if (f.member === undefined) return toBigint(f, a);
  return toBigint(f, (a as Record<string, unknown>)[f.member]);
}

// ---------------------------------------------------------------- packet state

/**
 * The packet as a translation sees it: the flow key's fields, with what actions changed
 * (set_field, ct_clear, resubmit's in_port) laid over them.
 */
export class PacketState {
  readonly key: AttrValues;
  private readonly changed = new Map<string, bigint>();

  constructor(key: AttrValues) {
    this.key = key;
  }

  get(f: PacketField): bigint {
    return this.changed.get(f.name) ?? readField(this.key, f);
  }

  set(f: PacketField, v: bigint): void {
    this.changed.set(f.name, v & fullMask(f));
  }

  /** The original key's value, before any action changed it. */
  original(f: PacketField): bigint {
    return readField(this.key, f);
  }

  /** Whether the packet has the field's header (its prerequisites hold). */
  has(layer: Layer): boolean {
    const ethType = Number(this.get(ETHERTYPE));
    const v4 = ethType === ETH_TYPE.ipv4;
    const v6 = ethType === ETH_TYPE.ipv6;
    const proto = v4 ? Number(this.get(IPV4_PROTO)) : v6 ? Number(this.get(IPV6_PROTO)) : -1;
    switch (layer) {
      case 'meta': case 'l2': return true;
      case 'ipv4': return v4;
      case 'ipv6': return v6;
      case 'arp': return ethType === ETH_TYPE.arp || ethType === ETH_TYPE.rarp;
      case 'tcp': return proto === IP_PROTO.tcp;
      case 'udp': return proto === IP_PROTO.udp;
      case 'sctp': return proto === IP_PROTO.sctp;
      case 'icmp': return v4 && proto === IP_PROTO.icmp;
      case 'icmpv6': return v6 && proto === IP_PROTO.icmpv6;
    }
  }

  /** The packet's IP family, for the L4 layers' prerequisites. */
  ipFamily(): 'ipv4' | 'ipv6' | undefined {
    const ethType = Number(this.get(ETHERTYPE));
    return ethType === ETH_TYPE.ipv4 ? 'ipv4' : ethType === ETH_TYPE.ipv6 ? 'ipv6' : undefined;
  }
}

const RECIRC_ID = packetField('recirc_id');
const IN_PORT = packetField('in_port');
const ETHERTYPE = packetField('ethertype');
const IPV4_PROTO = packetField('ipv4_proto');
const IPV6_PROTO = packetField('ipv6_proto');
const IPV4_FRAG = packetField('ipv4_frag');
const IPV6_FRAG = packetField('ipv6_frag');

// ---------------------------------------------------------------- wildcards

/**
 * A megaflow mask under construction: for each field, the bits the translation looked at.
 * recirc_id, in_port and the EtherType start exact, as ovs-vswitchd's megaflows have them
 * (xlate's "always examined" fields): every flow the kernel holds is then per port and
 * per pass, and the kernel's rules for L3 masks hold from the start.
 */
export class Wildcards {
  private readonly bits = new Map<string, bigint>();
  /** The bits a decision depended on (bits also has those matched only for the kernel's sake). */
  private readonly looked = new Map<string, bigint>();

  constructor() {
    for (const f of [RECIRC_ID, IN_PORT, ETHERTYPE]) {
      this.bits.set(f.name, fullMask(f));
      this.looked.set(f.name, fullMask(f));
    }
  }

  get(f: PacketField): bigint {
    return this.bits.get(f.name) ?? 0n;
  }

  /**
   * Marks `bits` of `f` as looked at, with what the kernel needs around them in a packet
   * like `state`: the EtherType for L3 and L4 fields (always exact already), the IP
   * protocol and fragment type for L4 fields. The fragment type is needed because a later
   * fragment has no L4 header: it must not share a megaflow with first fragments, whose
   * ports were looked at. `decided` false: matched for the kernel's sake (a rewritten L4
   * port), not because the decision depended on it.
   */
  add(f: PacketField, bits: bigint, state: PacketState, decided = true): void {
    const m = bits & fullMask(f);
    if (m === 0n) return;
    this.bits.set(f.name, this.get(f) | m);
    if (decided) this.looked.set(f.name, (this.looked.get(f.name) ?? 0n) | m);
    if (L4.has(f.layer)) {
      const family = state.ipFamily();
      if (family === 'ipv4') this.addAll(IPV4_PROTO, IPV4_FRAG);
      else if (family === 'ipv6') this.addAll(IPV6_PROTO, IPV6_FRAG);
    }
  }

  private addAll(...fields: PacketField[]): void {
    for (const f of fields) this.bits.set(f.name, fullMask(f));
  }

  /** How many bits marking `bits` of `f` would add (the cost of using it as evidence). */
  cost(f: PacketField, bits: bigint, state: PacketState): number {
    let n = popcount(bits & ~this.get(f));
    if (L4.has(f.layer)) {
      const family = state.ipFamily();
      const [proto, frag] = family === 'ipv6' ? [IPV6_PROTO, IPV6_FRAG] : [IPV4_PROTO, IPV4_FRAG];
      n += popcount(fullMask(proto) & ~this.get(proto)) + popcount(fullMask(frag) & ~this.get(frag));
    }
    return n;
  }

  /** The fields with any bit looked at. */
  entries(): Array<[PacketField, bigint]> {
    return [...this.bits].filter(([, m]) => m !== 0n).map(([n, m]) => [packetField(n), m]);
  }

  /** The fields with any bit the decision depended on (a subset of entries()). */
  decisionEntries(): Array<[PacketField, bigint]> {
    return [...this.looked].filter(([, m]) => m !== 0n).map(([n, m]) => [packetField(n), m]);
  }

  /**
   * The OVS_FLOW_ATTR_MASK attributes for `key`: one mask attribute per key attribute
   * with a bit looked at, every other member of its struct zero. Attributes the key lacks
   * are left out (the kernel refuses a mask for a header the packet does not have; a
   * later fragment's ports read as 0 and its fragment type, exact, stands for them).
   */
  toMask(key: AttrValues): AttrValues {
    const mask: AttrValues = {};
    for (const [f, m] of this.entries()) {
      if (key[f.attr] === undefined) continue;
      if (f.member === undefined) {
        mask[f.attr] = fromBigint(f, m);
      } else {
        const struct = (mask[f.attr] ??= structOf(f.attr, () => 0n)) as Record<string, unknown>;
        struct[f.member] = fromBigint(f, m);
      }
    }
    return mask;
  }
}

const L4 = new Set<Layer>(['tcp', 'udp', 'sctp', 'icmp', 'icmpv6']);

/** Whether a layer is a transport header (what needs the IP protocol matched). */
export function isL4(layer: Layer): boolean {
  return L4.has(layer);
}

/** A struct attribute's value with every member, in the struct's order, from `valueOf`. */
export function structOf(attr: string, valueOf: (f: PacketField) => bigint): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of LIST) if (f.attr === attr && f.member !== undefined) out[f.member] = fromBigint(f, valueOf(f));
  return out;
}

export function popcount(v: bigint): number {
  let n = 0;
  for (let x = v; x > 0n; x &= x - 1n) n++;
  return n;
}

/**
 * The key as the kernel keeps it for a megaflow: every field of `key` ANDed with `mask`
 * (attributes the fields here do not cover are copied unchanged).
 */
export function maskedKey(key: AttrValues, mask: AttrValues): AttrValues {
  const out: AttrValues = { ...key };
  const masked = (f: PacketField): bigint => readField(key, f) & readField(mask, f);
  for (const f of LIST) {
    if (key[f.attr] === undefined) continue;
    out[f.attr] = f.member === undefined ? fromBigint(f, masked(f)) : structOf(f.attr, masked);
  }
  return out;
}
