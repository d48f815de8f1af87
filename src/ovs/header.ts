/** What every OVS generic netlink family shares. */
import { defineStruct } from '../nl/schema.js';

/** struct ovs_header: the datapath's ifindex, after the genl header of every OVS message. */
export const ovsHeader = defineStruct('ovs_header', [{ name: 'dp_ifindex', type: 's32' }]);
