/** The ovs_datapath family (linux/openvswitch.h: OVS_DP_*). */
import type { GenlFamilySpec } from '../nl/family.js';
import { defineSet, defineStruct } from '../nl/schema.js';
import { ovsHeader } from './header.js';

export const dpStats = defineStruct('ovs_dp_stats', [
  { name: 'n_hit', type: 'u64' },
  { name: 'n_missed', type: 'u64' },
  { name: 'n_lost', type: 'u64' },
  { name: 'n_flows', type: 'u64' },
]);

export const dpMegaflowStats = defineStruct('ovs_dp_megaflow_stats', [
  { name: 'n_mask_hit', type: 'u64' },
  { name: 'n_masks', type: 'u32' },
  { name: 'pad0', type: 'pad', len: 4 },
  { name: 'n_cache_hit', type: 'u64' },
  { name: 'pad1', type: 'pad', len: 8 },
]);

/** OVS_DP_F_*: what userspace tells the datapath it understands. */
export const DP_FEATURES = {
  unaligned: 1 << 0,
  vport_pids: 1 << 1,
  tc_recirc_sharing: 1 << 2,
  dispatch_upcall_per_cpu: 1 << 3,
} as const;

export const datapathAttrs = defineSet('ovs_datapath', [
  { id: 1, name: 'name', type: 'string', maxLen: 16 },
  { id: 2, name: 'upcall_pid', type: 'u32' },
  // Kernels before 4.x send only the first fields of the stats structs.
  { id: 3, name: 'stats', type: 'struct', struct: dpStats },
  { id: 4, name: 'megaflow_stats', type: 'struct', struct: dpMegaflowStats, minLen: 16 },
  { id: 5, name: 'user_features', type: 'u32', flags: DP_FEATURES },
  { id: 6, name: 'pad', type: 'pad' },
  { id: 7, name: 'masks_cache_size', type: 'u32' },
  { id: 8, name: 'per_cpu_pids', type: 'array', of: 'u32' },
  { id: 9, name: 'ifindex', type: 'u32' },
]);

export const datapathFamily: GenlFamilySpec = {
  name: 'ovs_datapath',
  version: 2,
  fixedHeader: ovsHeader,
  attrs: datapathAttrs,
  commands: { new: 1, del: 2, get: 3, set: 4 },
  mcastGroups: ['ovs_datapath'],
};
