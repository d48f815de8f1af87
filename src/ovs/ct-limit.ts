/**
 * The ovs_ct_limit family (linux/openvswitch.h: OVS_CT_LIMIT_*): how many connections
 * conntrack may track in each zone, for the connections the openvswitch module commits.
 * The limits belong to the network namespace, not to a datapath: every request's
 * ovs_header carries dp_ifindex 0 (as ovs-dpctl sends it).
 */
import type { GenlFamilySpec } from '../nl/family.js';
import { defineSet, defineStruct } from '../nl/schema.js';
import { ovsHeader } from './header.js';

/** struct ovs_zone_limit. `count` is the kernel's, in replies (0 in requests). */
const zoneLimit = defineStruct('ovs_zone_limit', [
  { name: 'zone_id', type: 's32' },
  { name: 'limit', type: 'u32' },
  { name: 'count', type: 'u32' },
]);

/** OVS_ZONE_LIMIT_DEFAULT_ZONE: the zone_id that stands for the default limit. */
export const DEFAULT_ZONE = -1;

export const ctLimitAttrs = defineSet('ovs_ct_limit', [
  // The uapi calls it nested; it holds struct ovs_zone_limit back to back, no attribute headers.
  { id: 1, name: 'zone_limit', type: 'array', of: zoneLimit },
]);

export const ctLimitFamily: GenlFamilySpec = {
  name: 'ovs_ct_limit',
  version: 1,
  fixedHeader: ovsHeader,
  attrs: ctLimitAttrs,
  commands: { set: 1, del: 2, get: 3 },
  mcastGroups: ['ovs_ct_limit'],
};
