/**
 * The cookie ovs-vswitchd puts in a userspace() action's userdata (OVS userspace's
 * lib/odp-util.h struct user_action_cookie, 48 bytes, host byte order but for the
 * be16/be64 fields), as struct data for the codec's encodeStruct/decodeStruct.
 *
 * The kernel treats userdata as opaque bytes; only OVS userspace reads the cookie. It
 * matters here because ovs-dpctl prints a 48-byte userdata whose type it knows as
 * `sFlow(...)`, `slow_path(...)`, `flow_sample(...)`, `ipfix(...)` or `controller(...)`,
 * and parses those back into the same bytes.
 *
 * Layout: a common header (type u16, 2 bytes padding, OpenFlow in_port u32, ofproto UUID
 * 16 bytes) and a union at offset 24 whose variants are listed below, each padded to the
 * 48 bytes (checked against ovs-dpctl 3.1's bytes in the VM).
 */
import { type StructField, type StructSpec, defineStruct, structSize } from '../nl/schema.js';

/** enum user_action_cookie_type. */
export const COOKIE_TYPES = { unspec: 0, sflow: 1, slow_path: 2, flow_sample: 3, ipfix: 4, controller: 5 } as const;

/** sizeof(struct user_action_cookie): only userdata of exactly this size is read as a cookie. */
export const COOKIE_SIZE = 48;

/** OFPP_NONE: the in_port ovs-dpctl writes into every cookie it builds. */
export const OFPP_NONE = 0xffff;

/** enum slow_path_reason (SLOW_PATH_REASONS), named as ovs-dpctl prints them. */
export const SLOW_PATH_REASONS = {
  cfm: 0x01, bfd: 0x02, lacp: 0x04, stp: 0x08, lldp: 0x10, action: 0x20, match: 0x40,
} as const;

/** enum nx_action_sample_direction. */
export const SAMPLE_DIRECTIONS = { default: 0, ingress: 1, egress: 2 } as const;

const header: readonly StructField[] = [
  { name: 'type', type: 'u16', enum: COOKIE_TYPES },
  { name: 'pad_type', type: 'pad', len: 2 },
  // ofp_port_t is a uint32_t in OVS userspace (types.h).
  { name: 'ofp_in_port', type: 'u32' },
  { name: 'ofproto_uuid', type: 'bytes', len: 16 },
];

function cookie(name: string, fields: readonly StructField[]): StructSpec {
  const partial = defineStruct(name, [...header, ...fields]);
  const pad = COOKIE_SIZE - structSize(partial);
  return pad ? defineStruct(name, [...partial.fields, { name: 'pad', type: 'pad', len: pad }]) : partial;
}

/** The cookie variants by type name (the unspec type has no union member). */
export const COOKIE_STRUCTS: Readonly<Record<Exclude<keyof typeof COOKIE_TYPES, 'unspec'>, StructSpec>> = {
  sflow: cookie('user_action_cookie.sflow', [
    { name: 'vlan_tci', type: 'be16' },
    { name: 'pad0', type: 'pad', len: 2 },
    { name: 'output', type: 'u32' },
  ]),
  slow_path: cookie('user_action_cookie.slow_path', [
    { name: 'unused', type: 'u16' },
    { name: 'pad0', type: 'pad', len: 2 },
    { name: 'reason', type: 'u32', flags: SLOW_PATH_REASONS },
  ]),
  flow_sample: cookie('user_action_cookie.flow_sample', [
    { name: 'probability', type: 'u16' },
    { name: 'pad0', type: 'pad', len: 2 },
    { name: 'collector_set_id', type: 'u32' },
    { name: 'obs_domain_id', type: 'u32' },
    { name: 'obs_point_id', type: 'u32' },
    { name: 'output_odp_port', type: 'u32' },
    { name: 'direction', type: 'u32', enum: SAMPLE_DIRECTIONS },
  ]),
  ipfix: cookie('user_action_cookie.ipfix', [
    { name: 'output_odp_port', type: 'u32' },
  ]),
  controller: cookie('user_action_cookie.controller', [
    { name: 'dont_send', type: 'u8' },
    { name: 'continuation', type: 'u8' },
    { name: 'reason', type: 'u16' },
    { name: 'recirc_id', type: 'u32' },
    // ovs_32aligned_be64: big-endian, only 4-byte aligned, hence no padding before it.
    { name: 'rule_cookie', type: 'be64' },
    { name: 'controller_id', type: 'u16' },
    { name: 'max_len', type: 'u16' },
  ]),
};
