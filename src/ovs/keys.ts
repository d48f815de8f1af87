/**
 * Flow keys and masks (linux/openvswitch.h: OVS_KEY_ATTR_*, OVS_TUNNEL_KEY_ATTR_*,
 * OVS_NSH_KEY_ATTR_*, struct ovs_key_*), as data for the generic codec.
 *
 * Naming scheme (the flow-string language builds on these names):
 *   - an attribute is its uapi enum name without the prefix, lower-cased:
 *     OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4 -> ct_orig_tuple_ipv4, OVS_TUNNEL_KEY_ATTR_TP_SRC -> tp_src;
 *   - a struct field is the uapi struct member's name: ovs_key_ipv4.ipv4_src -> ipv4_src.
 *     Where the uapi member is an array the codec has no single field for, the fields
 *     are named as ovs-dpctl prints them: ovs_nsh_key_md1.context[4] -> c1..c4.
 * ovs-dpctl's flow syntax uses other names for some of these (odp-util.c
 * ovs_key_attr_to_string: priority -> skb_priority, ethernet -> eth, ethertype ->
 * eth_type, ct_labels -> ct_label, ct_orig_tuple_ipv4 -> ct_tuple4, nd_extensions ->
 * nd_ext; inside the parentheses it drops the struct prefix: ipv4(src=,dst=,proto=...));
 * that mapping belongs to the flow-string language, not to the wire schema.
 *
 * Values: see src/nl/schema.ts. Addresses are text ("10.0.0.1", "fe80::1",
 * "00:11:22:33:44:55"); be16/be32 numbers are host numbers (the codec swaps); 64-bit
 * numbers are bigints; the frag fields are numbers (FRAG_TYPES), not names, because a
 * mask has the same layout as a key and a mask's 0xff is no frag type.
 *
 * A mask (OVS_FLOW_ATTR_MASK) uses the same set as a key: same attributes, same layout.
 */
import { type AttrSet, type AttrSetOptions, defineSet, defineStruct } from '../nl/schema.js';

/**
 * NLA_F_NESTED on nested OVS attributes: off. ovs-dpctl 3.1 never sets it:
 * lib/netlink.c v3.1.0 nl_msg_start_nested() puts a plain header with the given type
 * (nl_msg_put_unspec_uninit(msg, type, 0)), and nothing else in dpif-netlink.c ORs the
 * flag in. The kernel's openvswitch module does not set it in its replies either
 * (nla_nest_start_noflag) and accepts nests with or without it. Every OVS set uses this;
 * the one exception is the psample action (actions.ts), which the kernel parses strictly.
 */
export const ovsSetOptions: AttrSetOptions = { nestedFlag: false };

/** OVS_FRAG_TYPE_*: the ipv4_frag / ipv6_frag values of a key. */
export const FRAG_TYPES = { none: 0, first: 1, later: 2 } as const;

/** OVS_CS_F_*: bits of OVS_KEY_ATTR_CT_STATE, named as ovs-dpctl prints them. */
export const CT_STATE_FLAGS = {
  new: 0x01,
  est: 0x02,
  rel: 0x04,
  rpl: 0x08,
  inv: 0x10,
  trk: 0x20,
  snat: 0x40,
  dnat: 0x80,
} as const;

// ---------------------------------------------------------------- key structs

export const keyEthernet = defineStruct('ovs_key_ethernet', [
  { name: 'eth_src', type: 'bytes', len: 6, repr: 'mac' },
  { name: 'eth_dst', type: 'bytes', len: 6, repr: 'mac' },
]);

export const keyMpls = defineStruct('ovs_key_mpls', [{ name: 'mpls_lse', type: 'be32' }]);

export const keyIPv4 = defineStruct('ovs_key_ipv4', [
  { name: 'ipv4_src', type: 'be32', repr: 'ipv4' },
  { name: 'ipv4_dst', type: 'be32', repr: 'ipv4' },
  { name: 'ipv4_proto', type: 'u8' },
  { name: 'ipv4_tos', type: 'u8' },
  { name: 'ipv4_ttl', type: 'u8' },
  { name: 'ipv4_frag', type: 'u8' },
]);

export const keyIPv6 = defineStruct('ovs_key_ipv6', [
  { name: 'ipv6_src', type: 'bytes', len: 16, repr: 'ipv6' },
  { name: 'ipv6_dst', type: 'bytes', len: 16, repr: 'ipv6' },
  // 20-bit flow label in the low bits.
  { name: 'ipv6_label', type: 'be32' },
  { name: 'ipv6_proto', type: 'u8' },
  { name: 'ipv6_tclass', type: 'u8' },
  { name: 'ipv6_hlimit', type: 'u8' },
  { name: 'ipv6_frag', type: 'u8' },
]);

export const keyIPv6Exthdrs = defineStruct('ovs_key_ipv6_exthdrs', [{ name: 'hdrs', type: 'u16' }]);

export const keyTcp = defineStruct('ovs_key_tcp', [
  { name: 'tcp_src', type: 'be16' },
  { name: 'tcp_dst', type: 'be16' },
]);

export const keyUdp = defineStruct('ovs_key_udp', [
  { name: 'udp_src', type: 'be16' },
  { name: 'udp_dst', type: 'be16' },
]);

export const keySctp = defineStruct('ovs_key_sctp', [
  { name: 'sctp_src', type: 'be16' },
  { name: 'sctp_dst', type: 'be16' },
]);

export const keyIcmp = defineStruct('ovs_key_icmp', [
  { name: 'icmp_type', type: 'u8' },
  { name: 'icmp_code', type: 'u8' },
]);

export const keyIcmpv6 = defineStruct('ovs_key_icmpv6', [
  { name: 'icmpv6_type', type: 'u8' },
  { name: 'icmpv6_code', type: 'u8' },
]);

export const keyArp = defineStruct('ovs_key_arp', [
  { name: 'arp_sip', type: 'be32', repr: 'ipv4' },
  { name: 'arp_tip', type: 'be32', repr: 'ipv4' },
  { name: 'arp_op', type: 'be16' },
  { name: 'arp_sha', type: 'bytes', len: 6, repr: 'mac' },
  { name: 'arp_tha', type: 'bytes', len: 6, repr: 'mac' },
  // sizeof rounds the 22 bytes up to the be32 alignment; the kernel checks sizeof.
  { name: 'pad', type: 'pad', len: 2 },
]);

export const keyNd = defineStruct('ovs_key_nd', [
  { name: 'nd_target', type: 'bytes', len: 16, repr: 'ipv6' },
  { name: 'nd_sll', type: 'bytes', len: 6, repr: 'mac' },
  { name: 'nd_tll', type: 'bytes', len: 6, repr: 'mac' },
]);

/** Not in the kernel's uapi: OVS userspace's include/linux/openvswitch.h defines it. */
export const keyNdExtensions = defineStruct('ovs_key_nd_extensions', [
  { name: 'nd_reserved', type: 'be32' },
  { name: 'nd_options_type', type: 'u8' },
  { name: 'pad', type: 'pad', len: 3 },
]);

export const keyCtTupleIPv4 = defineStruct('ovs_key_ct_tuple_ipv4', [
  { name: 'ipv4_src', type: 'be32', repr: 'ipv4' },
  { name: 'ipv4_dst', type: 'be32', repr: 'ipv4' },
  { name: 'src_port', type: 'be16' },
  { name: 'dst_port', type: 'be16' },
  { name: 'ipv4_proto', type: 'u8' },
  { name: 'pad', type: 'pad', len: 3 },
]);

export const keyCtTupleIPv6 = defineStruct('ovs_key_ct_tuple_ipv6', [
  { name: 'ipv6_src', type: 'bytes', len: 16, repr: 'ipv6' },
  { name: 'ipv6_dst', type: 'bytes', len: 16, repr: 'ipv6' },
  { name: 'src_port', type: 'be16' },
  { name: 'dst_port', type: 'be16' },
  { name: 'ipv6_proto', type: 'u8' },
  { name: 'pad', type: 'pad', len: 3 },
]);

// ---------------------------------------------------------------- NSH

export const nshKeyBase = defineStruct('ovs_nsh_key_base', [
  { name: 'flags', type: 'u8' },
  { name: 'ttl', type: 'u8' },
  { name: 'mdtype', type: 'u8' },
  { name: 'np', type: 'u8' },
  // service path id (24 bits) and service index (8 bits)
  { name: 'path_hdr', type: 'be32' },
]);

export const nshKeyMd1 = defineStruct('ovs_nsh_key_md1', [
  { name: 'c1', type: 'be32' },
  { name: 'c2', type: 'be32' },
  { name: 'c3', type: 'be32' },
  { name: 'c4', type: 'be32' },
]);

/** OVS_NSH_KEY_ATTR_*: the NSH header of a key, and the argument of push_nsh. */
export const nshKeyAttrs: AttrSet = defineSet('ovs_nsh_key', [
  { id: 1, name: 'base', type: 'struct', struct: nshKeyBase },
  { id: 2, name: 'md1', type: 'struct', struct: nshKeyMd1 },
  { id: 3, name: 'md2', type: 'binary', doc: 'MD type 2 TLVs, variable length' },
], ovsSetOptions);

// ---------------------------------------------------------------- tunnel

/** OVS_VXLAN_EXT_*. */
export const vxlanExtAttrs: AttrSet = defineSet('ovs_vxlan_ext', [
  { id: 1, name: 'gbp', type: 'u32', doc: 'VXLAN group based policy' },
], ovsSetOptions);

/**
 * OVS_TUNNEL_KEY_ATTR_*: the tunnel metadata of a key, of set(tunnel(...)) and of an
 * upcall's egress tunnel key. Ids start at 0 (the enum has no UNSPEC).
 * OVS userspace's own header uses id 16 for a userspace-only GTPU_OPTS that it never
 * sends to the kernel; the kernel's 16 is IPV4_INFO_BRIDGE.
 */
export const tunnelKeyAttrs: AttrSet = defineSet('ovs_tunnel_key', [
  { id: 0, name: 'id', type: 'be64' },
  { id: 1, name: 'ipv4_src', type: 'be32', repr: 'ipv4' },
  { id: 2, name: 'ipv4_dst', type: 'be32', repr: 'ipv4' },
  { id: 3, name: 'tos', type: 'u8' },
  { id: 4, name: 'ttl', type: 'u8' },
  { id: 5, name: 'dont_fragment', type: 'flag' },
  { id: 6, name: 'csum', type: 'flag' },
  { id: 7, name: 'oam', type: 'flag' },
  { id: 8, name: 'geneve_opts', type: 'binary', doc: 'Geneve options: class, type, length, data, packed' },
  { id: 9, name: 'tp_src', type: 'be16' },
  { id: 10, name: 'tp_dst', type: 'be16' },
  { id: 11, name: 'vxlan_opts', type: 'nested', set: vxlanExtAttrs },
  { id: 12, name: 'ipv6_src', type: 'binary', len: 16, repr: 'ipv6' },
  { id: 13, name: 'ipv6_dst', type: 'binary', len: 16, repr: 'ipv6' },
  { id: 14, name: 'pad', type: 'pad' },
  { id: 15, name: 'erspan_opts', type: 'binary', doc: 'struct erspan_metadata' },
  { id: 16, name: 'ipv4_info_bridge', type: 'flag' },
], ovsSetOptions);

// ---------------------------------------------------------------- the key set

/**
 * OVS_KEY_ATTR_*: a flow key, a flow mask, the argument of set() and set_masked(), an
 * upcall's key. ENCAP nests the same set (the inner headers after a VLAN tag).
 */
export const flowKeyAttrs: AttrSet = defineSet('ovs_key', [
  { id: 1, name: 'encap', type: 'nested', set: () => flowKeyAttrs },
  { id: 2, name: 'priority', type: 'u32', doc: 'skb->priority' },
  { id: 3, name: 'in_port', type: 'u32', doc: 'datapath port number' },
  { id: 4, name: 'ethernet', type: 'struct', struct: keyEthernet },
  { id: 5, name: 'vlan', type: 'be16', doc: 'VLAN TCI (with the CFI bit set when a tag is present)' },
  { id: 6, name: 'ethertype', type: 'be16' },
  { id: 7, name: 'ipv4', type: 'struct', struct: keyIPv4 },
  { id: 8, name: 'ipv6', type: 'struct', struct: keyIPv6 },
  { id: 9, name: 'tcp', type: 'struct', struct: keyTcp },
  { id: 10, name: 'udp', type: 'struct', struct: keyUdp },
  { id: 11, name: 'icmp', type: 'struct', struct: keyIcmp },
  { id: 12, name: 'icmpv6', type: 'struct', struct: keyIcmpv6 },
  { id: 13, name: 'arp', type: 'struct', struct: keyArp },
  { id: 14, name: 'nd', type: 'struct', struct: keyNd },
  { id: 15, name: 'skb_mark', type: 'u32' },
  { id: 16, name: 'tunnel', type: 'nested', set: tunnelKeyAttrs },
  { id: 17, name: 'sctp', type: 'struct', struct: keySctp },
  { id: 18, name: 'tcp_flags', type: 'be16' },
  { id: 19, name: 'dp_hash', type: 'u32', doc: '0: not computed by the datapath' },
  { id: 20, name: 'recirc_id', type: 'u32' },
  { id: 21, name: 'mpls', type: 'array', of: keyMpls },
  { id: 22, name: 'ct_state', type: 'u32', flags: CT_STATE_FLAGS },
  { id: 23, name: 'ct_zone', type: 'u16' },
  { id: 24, name: 'ct_mark', type: 'u32' },
  { id: 25, name: 'ct_labels', type: 'binary', len: 16 },
  { id: 26, name: 'ct_orig_tuple_ipv4', type: 'struct', struct: keyCtTupleIPv4 },
  { id: 27, name: 'ct_orig_tuple_ipv6', type: 'struct', struct: keyCtTupleIPv6 },
  { id: 28, name: 'nsh', type: 'nested', set: nshKeyAttrs },
  // 29 and 30 were taken by OVS userspace first; the kernel reserves them.
  { id: 29, name: 'packet_type', type: 'be32', doc: 'namespace << 16 | type' },
  { id: 30, name: 'nd_extensions', type: 'struct', struct: keyNdExtensions },
  {
    id: 31, name: 'tunnel_info', type: 'binary',
    doc: 'struct ip_tunnel_info: kernel-internal, never valid on the wire; kept as bytes',
  },
  { id: 32, name: 'ipv6_exthdrs', type: 'struct', struct: keyIPv6Exthdrs },
], ovsSetOptions);
