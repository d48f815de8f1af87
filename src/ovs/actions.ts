/**
 * Flow actions (linux/openvswitch.h: OVS_ACTION_ATTR_* and the sets nested in them), as
 * data for the generic codec. Names follow keys.ts: the uapi enum name without its
 * prefix, lower-cased; struct fields are the uapi member names.
 *
 * An action list decodes as a list ([{output: 2}, {ct: {...}}, ...]): order and repeats
 * matter. The argument-less actions (pop_vlan, pop_eth, ct_clear, pop_nsh) are
 * zero-length attributes, i.e. flags: {pop_vlan: true}.
 *
 * Ids 23..25 are the kernel's. OVS userspace 3.1's own header gives 23..26 to
 * userspace-only actions (tunnel_push, tunnel_pop, drop, lb_output) that dpif-netlink
 * never sends to the kernel, and has no dec_ttl; the kernel's drop (24, 6.12) and
 * psample (25, 6.12) are newer than the 6.1 uapi header.
 */
import { type AttrSet, defineSet, defineStruct } from '../nl/schema.js';
import { flowKeyAttrs, ovsSetOptions } from './keys.js';

/**
 * OVS_HASH_ALG_*: the hash_alg of a hash() action. sym_l4 comes from OVS userspace's
 * header (#ifndef __KERNEL__): ovs-dpctl prints it, the kernel accepts only l4.
 */
export const HASH_ALGS = { l4: 0, sym_l4: 1 } as const;

export const actionPushVlan = defineStruct('ovs_action_push_vlan', [
  { name: 'vlan_tpid', type: 'be16' },
  { name: 'vlan_tci', type: 'be16' },
]);

export const actionHash = defineStruct('ovs_action_hash', [
  { name: 'hash_alg', type: 'u32', enum: HASH_ALGS },
  { name: 'hash_basis', type: 'u32' },
]);

export const actionPushMpls = defineStruct('ovs_action_push_mpls', [
  { name: 'mpls_lse', type: 'be32' },
  { name: 'mpls_ethertype', type: 'be16' },
  { name: 'pad', type: 'pad', len: 2 },
]);

/** OVS_MPLS_L3_TUNNEL_FLAG_MASK: insert the label at the L3 header, not the packet start. */
export const ADD_MPLS_FLAGS = { l3_tunnel: 1 } as const;

export const actionAddMpls = defineStruct('ovs_action_add_mpls', [
  { name: 'mpls_lse', type: 'be32' },
  { name: 'mpls_ethertype', type: 'be16' },
  { name: 'tun_flags', type: 'u16', flags: ADD_MPLS_FLAGS },
]);

export const actionTrunc = defineStruct('ovs_action_trunc', [{ name: 'max_len', type: 'u32' }]);

/** struct ovs_action_push_eth { struct ovs_key_ethernet addresses; }, flattened. */
export const actionPushEth = defineStruct('ovs_action_push_eth', [
  { name: 'eth_src', type: 'bytes', len: 6, repr: 'mac' },
  { name: 'eth_dst', type: 'bytes', len: 6, repr: 'mac' },
]);

/** OVS_CT_ATTR_MARK: the mark to set and which of its bits. */
export const ctMark = defineStruct('ovs_ct_mark', [
  { name: 'value', type: 'u32' },
  { name: 'mask', type: 'u32' },
]);

/** OVS_CT_ATTR_LABELS: the 128-bit label to set and which of its bits. */
export const ctLabels = defineStruct('ovs_ct_labels', [
  { name: 'value', type: 'bytes', len: 16 },
  { name: 'mask', type: 'bytes', len: 16 },
]);

/** OVS_USERSPACE_ATTR_*. */
export const userspaceAttrs: AttrSet = defineSet('ovs_userspace', [
  { id: 1, name: 'pid', type: 'u32', doc: 'netlink port id to send the upcall to' },
  { id: 2, name: 'userdata', type: 'binary', doc: 'cookie copied into the upcall' },
  { id: 3, name: 'egress_tun_port', type: 'u32' },
  { id: 4, name: 'actions', type: 'flag', doc: 'include the flow actions in the upcall' },
], ovsSetOptions);

/** OVS_SAMPLE_ATTR_*. */
export const sampleAttrs: AttrSet = defineSet('ovs_sample', [
  { id: 1, name: 'probability', type: 'u32', doc: 'fraction of packets out of UINT32_MAX' },
  { id: 2, name: 'actions', type: 'nested', set: () => actionAttrs, list: true },
], ovsSetOptions);

/** OVS_NAT_ATTR_*. The address range is 4-byte IPv4 or 16-byte IPv6 ('ip' repr). */
export const natAttrs: AttrSet = defineSet('ovs_nat', [
  { id: 1, name: 'src', type: 'flag' },
  { id: 2, name: 'dst', type: 'flag' },
  { id: 3, name: 'ip_min', type: 'binary', repr: 'ip' },
  { id: 4, name: 'ip_max', type: 'binary', repr: 'ip' },
  { id: 5, name: 'proto_min', type: 'u16' },
  { id: 6, name: 'proto_max', type: 'u16' },
  { id: 7, name: 'persistent', type: 'flag' },
  { id: 8, name: 'proto_hash', type: 'flag' },
  { id: 9, name: 'proto_random', type: 'flag' },
], ovsSetOptions);

/** OVS_CT_ATTR_*. */
export const ctAttrs: AttrSet = defineSet('ovs_ct', [
  { id: 1, name: 'commit', type: 'flag' },
  { id: 2, name: 'zone', type: 'u16' },
  { id: 3, name: 'mark', type: 'struct', struct: ctMark },
  { id: 4, name: 'labels', type: 'struct', struct: ctLabels },
  { id: 5, name: 'helper', type: 'string', maxLen: 16, doc: 'conntrack helper name, e.g. "ftp"' },
  { id: 6, name: 'nat', type: 'nested', set: natAttrs },
  { id: 7, name: 'force_commit', type: 'flag' },
  { id: 8, name: 'eventmask', type: 'u32', doc: 'IPCT_* event bits' },
  { id: 9, name: 'timeout', type: 'string', maxLen: 32, doc: 'conntrack timeout policy name' },
], ovsSetOptions);

/** OVS_CHECK_PKT_LEN_ATTR_*. */
export const checkPktLenAttrs: AttrSet = defineSet('ovs_check_pkt_len', [
  { id: 1, name: 'pkt_len', type: 'u16' },
  { id: 2, name: 'actions_if_greater', type: 'nested', set: () => actionAttrs, list: true },
  { id: 3, name: 'actions_if_less_equal', type: 'nested', set: () => actionAttrs, list: true },
], ovsSetOptions);

/** OVS_DEC_TTL_ATTR_*: the actions to run when the TTL runs out. */
export const decTtlAttrs: AttrSet = defineSet('ovs_dec_ttl', [
  { id: 1, name: 'action', type: 'nested', set: () => actionAttrs, list: true },
], ovsSetOptions);

/** OVS_PSAMPLE_ATTR_* (kernel 6.12). */
export const psampleAttrs: AttrSet = defineSet('ovs_psample', [
  { id: 1, name: 'group', type: 'u32' },
  { id: 2, name: 'cookie', type: 'binary', maxLen: 16 },
], ovsSetOptions);

/** OVS_ACTION_ATTR_*: one flow's actions. Decode and encode it as a list. */
export const actionAttrs: AttrSet = defineSet('ovs_action', [
  { id: 1, name: 'output', type: 'u32', doc: 'datapath port number' },
  { id: 2, name: 'userspace', type: 'nested', set: userspaceAttrs },
  { id: 3, name: 'set', type: 'nested', set: flowKeyAttrs, doc: 'exactly one key attribute' },
  { id: 4, name: 'push_vlan', type: 'struct', struct: actionPushVlan },
  { id: 5, name: 'pop_vlan', type: 'flag' },
  { id: 6, name: 'sample', type: 'nested', set: sampleAttrs },
  { id: 7, name: 'recirc', type: 'u32', doc: 'recirc_id' },
  { id: 8, name: 'hash', type: 'struct', struct: actionHash },
  { id: 9, name: 'push_mpls', type: 'struct', struct: actionPushMpls },
  { id: 10, name: 'pop_mpls', type: 'be16', doc: 'ethertype after the pop' },
  {
    id: 11, name: 'set_masked', type: 'nested', set: flowKeyAttrs, masked: true,
    doc: 'exactly one key attribute as {value, mask}',
  },
  { id: 12, name: 'ct', type: 'nested', set: ctAttrs },
  { id: 13, name: 'trunc', type: 'struct', struct: actionTrunc },
  { id: 14, name: 'push_eth', type: 'struct', struct: actionPushEth },
  { id: 15, name: 'pop_eth', type: 'flag' },
  { id: 16, name: 'ct_clear', type: 'flag' },
  // The kernel reads push_nsh's payload as one OVS_KEY_ATTR_NSH key attribute holding
  // the OVS_NSH_KEY_ATTR_* (push_nsh() -> nsh_hdr_from_nlattr(nla_data(a))), and
  // ovs-dpctl 3.1 sends exactly that: 11 00 | 1c 00 (nsh) | base, md1 (seen in the VM).
  {
    id: 17, name: 'push_nsh', type: 'nested', set: flowKeyAttrs,
    doc: 'exactly one key attribute, nsh: {base, md1 | md2}',
  },
  { id: 18, name: 'pop_nsh', type: 'flag' },
  { id: 19, name: 'meter', type: 'u32' },
  // The kernel's OVS_CLONE_ATTR_EXEC is internal: userspace nests the actions directly.
  { id: 20, name: 'clone', type: 'nested', set: () => actionAttrs, list: true },
  { id: 21, name: 'check_pkt_len', type: 'nested', set: checkPktLenAttrs },
  { id: 22, name: 'add_mpls', type: 'struct', struct: actionAddMpls },
  { id: 23, name: 'dec_ttl', type: 'nested', set: decTtlAttrs },
  { id: 24, name: 'drop', type: 'u32', doc: 'drop reason (kernel 6.12)' },
  // The one nest the kernel parses strictly (validate_psample: nla_parse_nested, which
  // refuses a nest without NLA_F_NESTED with EINVAL; seen on 6.12.117 in the VM). Its
  // flow replies echo the action without the flag; decoding ignores the flag.
  { id: 25, name: 'psample', type: 'nested', set: psampleAttrs, nestedFlag: true, doc: 'kernel 6.12' },
], ovsSetOptions);
