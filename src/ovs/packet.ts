/**
 * The ovs_packet family (linux/openvswitch.h: OVS_PACKET_*): upcalls from the kernel
 * (miss, action) and packets userspace asks the datapath to execute.
 */
import type { GenlFamilySpec } from '../nl/family.js';
import { defineSet } from '../nl/schema.js';
import { actionAttrs } from './actions.js';
import { ovsHeader } from './header.js';
import { flowKeyAttrs, ovsSetOptions, tunnelKeyAttrs } from './keys.js';

export const packetAttrs = defineSet('ovs_packet', [
  { id: 1, name: 'packet', type: 'binary', doc: 'the whole packet, from the Ethernet header' },
  { id: 2, name: 'key', type: 'nested', set: flowKeyAttrs },
  { id: 3, name: 'actions', type: 'nested', set: actionAttrs, list: true },
  { id: 4, name: 'userdata', type: 'binary', doc: 'the userspace action\'s cookie' },
  { id: 5, name: 'egress_tun_key', type: 'nested', set: tunnelKeyAttrs },
  { id: 6, name: 'unused1', type: 'binary' },
  { id: 7, name: 'unused2', type: 'binary' },
  { id: 8, name: 'probe', type: 'flag', doc: 'a feature probe: the kernel logs no error' },
  { id: 9, name: 'mru', type: 'u16', doc: 'largest IP fragment received (reassembled packets)' },
  { id: 10, name: 'len', type: 'u32', doc: 'packet length before truncation' },
  { id: 11, name: 'hash', type: 'u64', doc: 'skb hash in bits 0..31, sw_hash bit 32, l4_hash bit 33' },
], ovsSetOptions);

export const packetFamily: GenlFamilySpec = {
  name: 'ovs_packet',
  version: 1,
  fixedHeader: ovsHeader,
  attrs: packetAttrs,
  commands: { miss: 1, action: 2, execute: 3 },
};
