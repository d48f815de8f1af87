/** What every OVS generic netlink family shares. */
import { defineStruct } from '../nl/schema.js';

/** struct ovs_header: the datapath's ifindex, after the genl header of every OVS message. */
export const ovsHeader = defineStruct('ovs_header', [{ name: 'dp_ifindex', type: 's32' }]);

/** The families the openvswitch kernel module registers, as the kernel names them. */
export const OVS_FAMILY_NAMES = ['ovs_datapath', 'ovs_vport', 'ovs_flow', 'ovs_packet', 'ovs_meter', 'ovs_ct_limit'] as const;
