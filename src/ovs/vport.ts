/**
 * The ovs_vport family (linux/openvswitch.h: OVS_VPORT_*), the tunnel options the kernel's
 * vxlan/geneve/gre vports take, and how ovs-dpctl 3.1 names and describes ports (its
 * `show` derives a tunnel's type and options from the port's name, not from the kernel).
 */
import type { GenlFamilySpec } from '../nl/family.js';
import { defineSet, defineStruct } from '../nl/schema.js';
import { ovsHeader } from './header.js';

export const vportStats = defineStruct('ovs_vport_stats', [
  { name: 'rx_packets', type: 'u64' },
  { name: 'tx_packets', type: 'u64' },
  { name: 'rx_bytes', type: 'u64' },
  { name: 'tx_bytes', type: 'u64' },
  { name: 'rx_errors', type: 'u64' },
  { name: 'tx_errors', type: 'u64' },
  { name: 'rx_dropped', type: 'u64' },
  { name: 'tx_dropped', type: 'u64' },
]);

/** OVS_VPORT_TYPE_*: the port kinds the kernel module implements. */
export const VPORT_TYPES = { netdev: 1, internal: 2, gre: 3, vxlan: 4, geneve: 5 } as const;
export type VportTypeName = keyof typeof VPORT_TYPES;

/** OVS_VXLAN_EXT_* as a vport option: a flag per extension (the flow key's is a u32). */
export const vportVxlanExtAttrs = defineSet('ovs_vport_vxlan_ext', [
  { id: 1, name: 'gbp', type: 'flag', doc: 'VXLAN group based policy' },
]);

/** OVS_TUNNEL_ATTR_*: OVS_VPORT_ATTR_OPTIONS of a tunnel vport. */
export const tunnelOptionAttrs = defineSet('ovs_tunnel_options', [
  { id: 1, name: 'dst_port', type: 'u16', doc: 'UDP port of vxlan and geneve (host order)' },
  { id: 2, name: 'extension', type: 'nested', set: vportVxlanExtAttrs },
]);

/** OVS_VPORT_UPCALL_ATTR_* (kernel 6.2+): upcalls sent for the port. Ids start at 0. */
export const upcallStatsAttrs = defineSet('ovs_vport_upcall_stats', [
  { id: 0, name: 'success', type: 'u64' },
  { id: 1, name: 'fail', type: 'u64' },
]);

export const vportAttrs = defineSet('ovs_vport', [
  { id: 1, name: 'port_no', type: 'u32' },
  { id: 2, name: 'type', type: 'u32', enum: VPORT_TYPES },
  { id: 3, name: 'name', type: 'string', maxLen: 16 },
  { id: 4, name: 'options', type: 'nested', set: tunnelOptionAttrs },
  { id: 5, name: 'upcall_pid', type: 'array', of: 'u32', doc: 'netlink port ids that get the upcalls of this port' },
  { id: 6, name: 'stats', type: 'struct', struct: vportStats },
  { id: 7, name: 'pad', type: 'pad' },
  { id: 8, name: 'ifindex', type: 'u32', doc: 'ifindex for a new internal port' },
  { id: 9, name: 'netnsid', type: 's32', doc: 'netns id of the netdev, when not in the datapath\'s netns' },
  { id: 10, name: 'upcall_stats', type: 'nested', set: upcallStatsAttrs },
]);

export const vportFamily: GenlFamilySpec = {
  name: 'ovs_vport',
  version: 1,
  fixedHeader: ovsHeader,
  attrs: vportAttrs,
  commands: { new: 1, del: 2, get: 3, set: 4 },
  mcastGroups: ['ovs_vport'],
};

// ---------------------------------------------------------------- tunnel options

/** The UDP ports OVS uses when none is given (IANA's for VXLAN and Geneve). */
export const DEFAULT_DST_PORTS: Readonly<Partial<Record<VportTypeName, number>>> = { vxlan: 4789, geneve: 6081 };

/** What each kernel vport type accepts as options; the kernel requires dst_port for UDP tunnels. */
export const TUNNEL_OPTIONS: Readonly<Record<VportTypeName, readonly string[]>> = {
  netdev: [],
  internal: [],
  gre: [],
  vxlan: ['dst_port', 'exts'],
  geneve: ['dst_port'],
};

/** Tunnel options as the library takes them. */
export interface TunnelOptions {
  /** UDP destination port (vxlan, geneve). */
  dstPort?: number;
  /** VXLAN extensions; only `gbp` exists. */
  exts?: readonly 'gbp'[];
}

/** A tunnel option given to a vport type that does not take it. */
export class VportOptionError extends Error {
  override readonly name = 'VportOptionError';
}

function typeLabel(type: VportTypeName): string {
  return type === 'netdev' ? 'system (netdev)' : type;
}

/**
 * OVS_VPORT_ATTR_OPTIONS for a new vport of `type`, in the order ovs-dpctl writes them
 * (dst_port, then the extension nest); undefined when the type takes none. Throws
 * VportOptionError for an option the type does not take.
 */
export function vportOptionsAttr(type: VportTypeName, options: TunnelOptions = {}): Record<string, unknown> | undefined {
  const accepted = TUNNEL_OPTIONS[type];
  const given = Object.entries(options).filter(([, v]) => v !== undefined).map(([k]) => (k === 'dstPort' ? 'dst_port' : k));
  for (const name of given) {
    if (!accepted.includes(name)) {
      const takes = accepted.length ? `it takes ${accepted.join(', ')}` : 'it takes no options';
      throw new VportOptionError(`a ${typeLabel(type)} port does not take the option ${name} (${takes})`);
    }
  }
  const dstPort = options.dstPort ?? DEFAULT_DST_PORTS[type];
  if (dstPort === undefined && !options.exts?.length) return undefined;
  const attr: Record<string, unknown> = {};
  if (dstPort !== undefined) {
    if (!Number.isInteger(dstPort) || dstPort < 1 || dstPort > 0xffff) throw new VportOptionError(`dst_port ${dstPort} is not a UDP port (1-65535)`);
    attr['dst_port'] = dstPort;
  }
  if (options.exts?.length) {
    const ext: Record<string, unknown> = {};
    for (const e of options.exts) {
      if (e !== 'gbp') throw new VportOptionError(`unknown vxlan extension "${String(e)}" (the kernel knows gbp)`);
      ext[e] = true;
    }
    attr['extension'] = ext;
  }
  return attr;
}

/** The library's view of decoded OVS_VPORT_ATTR_OPTIONS. */
export function tunnelOptionsFromAttr(attr: Record<string, unknown> | undefined): TunnelOptions | undefined {
  if (!attr) return undefined;
  const out: TunnelOptions = {};
  if (typeof attr['dst_port'] === 'number') out.dstPort = attr['dst_port'];
  const ext = attr['extension'] as Record<string, unknown> | undefined;
  if (ext) out.exts = ext['gbp'] === true ? ['gbp'] : [];
  return out;
}

// ---------------------------------------------------------------- ovs-dpctl's view of ports

/**
 * OVS's tunnel netdev classes: the type, the prefix of the port names ovs-vswitchd and
 * ovs-dpctl give such ports in the kernel (lib/netdev-vport.c), and the UDP port they
 * assume when the name carries none.
 */
const DPCTL_TUNNEL_CLASSES: readonly { type: string; prefix: string; defaultDstPort?: number }[] = [
  { type: 'geneve', prefix: 'genev_sys', defaultDstPort: 6081 },
  { type: 'gre', prefix: 'gre_sys' },
  { type: 'vxlan', prefix: 'vxlan_sys', defaultDstPort: 4789 },
  { type: 'lisp', prefix: 'lisp_sys', defaultDstPort: 4341 },
  { type: 'stt', prefix: 'stt_sys', defaultDstPort: 7471 },
  { type: 'erspan', prefix: 'erspan_sys' },
  { type: 'ip6erspan', prefix: 'ip6erspan_sys' },
  { type: 'ip6gre', prefix: 'ip6gre_sys' },
  { type: 'gtpu', prefix: 'gtpu_sys', defaultDstPort: 2152 },
  { type: 'bareudp', prefix: 'udp_sys', defaultDstPort: 0 },
];

/**
 * The type ovs-dpctl prints for a port: "system" for a netdev vport (unless its name starts
 * with a tunnel class's prefix, e.g. vxlan_sys_4789, which ovs-dpctl creates through
 * rtnetlink as a netdev vport), "internal", the tunnel type, or "unknown".
 */
export function dpctlPortType(type: string | number, name: string): string {
  if (type === 'netdev') return DPCTL_TUNNEL_CLASSES.find((c) => name.startsWith(c.prefix))?.type ?? 'system';
  return typeof type === 'string' ? type : 'unknown';
}

/** Whether ovs-dpctl treats ports of this (printed) type as tunnels. */
export function isDpctlTunnelType(dpctlType: string): boolean {
  return DPCTL_TUNNEL_CLASSES.some((c) => c.type === dpctlType);
}

/** C's atoi(): optional blanks and sign, then digits; 0 when there are none. */
function atoi(s: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(s);
  return m ? Number.parseInt(m[1]!, 10) | 0 : 0;
}

/**
 * The configuration ovs-dpctl `show` prints for a tunnel port, as sorted key=value pairs.
 * ovs-dpctl opens a fresh tunnel netdev to ask, so what it prints comes from the port's
 * name, not from the kernel: the UDP port parsed from a `<prefix>_<port>` name (shown
 * when not the type's default), erspan_ver=0 for erspan types, and always
 * packet_type=ptap (a fresh netdev's packet-type mode is unset, never the default).
 */
export function dpctlTunnelConfig(dpctlType: string, name: string): [string, string][] {
  const cls = DPCTL_TUNNEL_CLASSES.find((c) => c.type === dpctlType);
  if (!cls) return [];
  const out: [string, string][] = [];
  if (cls.defaultDstPort !== undefined) {
    let port = 0;
    if (name.length > cls.prefix.length + 1 && name.startsWith(cls.prefix)) port = atoi(name.slice(cls.prefix.length + 1)) & 0xffff;
    const dstPort = port || cls.defaultDstPort;
    if (dstPort && (dstPort !== cls.defaultDstPort || cls.type === 'bareudp')) out.push(['dst_port', String(dstPort)]);
  }
  if (cls.type === 'erspan' || cls.type === 'ip6erspan') out.push(['erspan_ver', '0']);
  out.push(['packet_type', 'ptap']);
  return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
