/** The ovs_flow family (linux/openvswitch.h: OVS_FLOW_*). */
import type { GenlFamilySpec } from '../nl/family.js';
import { defineSet, defineStruct } from '../nl/schema.js';
import { actionAttrs } from './actions.js';
import { ovsHeader } from './header.js';
import { flowKeyAttrs, ovsSetOptions } from './keys.js';

export const flowStats = defineStruct('ovs_flow_stats', [
  { name: 'n_packets', type: 'u64' },
  { name: 'n_bytes', type: 'u64' },
]);

/** OVS_UFID_F_*: what a flow reply may leave out when the flow has a UFID. */
export const UFID_FLAGS = {
  omit_key: 1 << 0,
  omit_mask: 1 << 1,
  omit_actions: 1 << 2,
} as const;

export const flowAttrs = defineSet('ovs_flow', [
  { id: 1, name: 'key', type: 'nested', set: flowKeyAttrs },
  { id: 2, name: 'actions', type: 'nested', set: actionAttrs, list: true },
  { id: 3, name: 'stats', type: 'struct', struct: flowStats },
  { id: 4, name: 'tcp_flags', type: 'u8', doc: 'TCP flags seen, OR-ed' },
  { id: 5, name: 'used', type: 'u64', doc: 'last use, msecs of monotonic time' },
  { id: 6, name: 'clear', type: 'flag', doc: 'reset stats, tcp_flags and used' },
  { id: 7, name: 'mask', type: 'nested', set: flowKeyAttrs },
  { id: 8, name: 'probe', type: 'flag', doc: 'a feature probe: the kernel logs no error' },
  // The kernel takes 1..16 bytes; ovs-dpctl always sends 16.
  { id: 9, name: 'ufid', type: 'binary', maxLen: 16, repr: 'hex' },
  { id: 10, name: 'ufid_flags', type: 'u32', flags: UFID_FLAGS },
  { id: 11, name: 'pad', type: 'pad' },
], ovsSetOptions);

export const flowFamily: GenlFamilySpec = {
  name: 'ovs_flow',
  version: 1,
  fixedHeader: ovsHeader,
  attrs: flowAttrs,
  commands: { new: 1, del: 2, get: 3, set: 4 },
  mcastGroups: ['ovs_flow'],
};
