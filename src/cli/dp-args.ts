/**
 * Command-line arguments shared by the datapath and port commands: datapath names
 * ("dp0" or ovs-dpctl's "system@dp0") and ovs-dpctl's IFACE[,key=value...] port specs.
 */
import { NetlinkError } from '../nl/errors.js';
import { DP_FEATURES } from '../ovs/datapath.js';
import { type TunnelOptions, type VportTypeName, TUNNEL_OPTIONS, VportOptionError } from '../ovs/vport.js';
import { type CliContext, UsageError } from './context.js';

/** The kernel datapath a DP argument names: "dp0" or "system@dp0". */
export function datapathArg(arg: string): string {
  const at = arg.indexOf('@');
  const type = at < 0 ? 'system' : arg.slice(0, at);
  const name = at < 0 ? arg : arg.slice(at + 1);
  if (type !== 'system') throw new UsageError(`"${arg}": only kernel datapaths (system@NAME) exist here, not ${type}@`);
  if (name === '') throw new UsageError(`"${arg}" names no datapath`);
  if (Buffer.byteLength(name) > 15) throw new UsageError(`datapath name "${name}" is longer than 15 bytes`);
  return name;
}

/** One IFACE argument of add-dp, add-if or set-if. */
export interface IfaceSpec {
  /** the argument as given, for messages */
  arg: string;
  name: string;
  type?: VportTypeName;
  portNo?: number;
  upcallPids?: number[];
  options: TunnelOptions;
  /** tunnel settings of ovs-vswitchd that the kernel's ports do not have */
  userspaceOnly: string[];
  /** keys no port type takes */
  unknown: string[];
}

const TYPE_NAMES: Readonly<Record<string, VportTypeName>> = {
  system: 'netdev', netdev: 'netdev', internal: 'internal', gre: 'gre', vxlan: 'vxlan', geneve: 'geneve',
};

/**
 * Options ovs-vswitchd reads for its tunnels (lib/netdev-vport.c set_tunnel_config). The
 * kernel datapath's tunnel ports have none of them: flows set those per packet.
 */
const USERSPACE_TUNNEL_OPTIONS = new Set([
  'remote_ip', 'local_ip', 'key', 'in_key', 'out_key', 'tos', 'ttl', 'csum', 'df_default', 'egress_pkt_mark',
  'seq', 'packet_type', 'erspan_ver', 'erspan_idx', 'erspan_dir', 'erspan_hwid', 'payload_type',
]);

/** A decimal number from 0 to `max`, the `what` of argument `arg`, or a usage error naming both. */
export function unsignedArg(text: string, max: number, what: string, arg: string): number {
  if (!/^\d+$/.test(text) || Number(text) > max) throw new UsageError(`bad ${what} "${text}" in "${arg}" (want 0-${max})`);
  return Number(text);
}

/** Parses "NAME[,type=T][,port_no=N][,upcall_pid=P[:P...]][,OPTION=VALUE...]" (ovs-dpctl's syntax). */
export function parseIfaceSpec(arg: string): IfaceSpec {
  // Like ovs-dpctl's strtok(): empty pieces between commas are skipped.
  const [name, ...pieces] = arg.split(',').filter((p) => p !== '');
  if (name === undefined || name.includes('=')) throw new UsageError(`"${arg}" does not start with a network device name`);
  if (Buffer.byteLength(name) > 15) throw new UsageError(`port name "${name}" is longer than 15 bytes`);
  const spec: IfaceSpec = { arg, name, options: {}, userspaceOnly: [], unknown: [] };
  const seen = new Set<string>();
  for (const piece of pieces) {
    const eq = piece.indexOf('=');
    if (eq <= 0) throw new UsageError(`"${piece}" in "${arg}" is not KEY=VALUE`);
    const key = piece.slice(0, eq);
    const value = piece.slice(eq + 1);
    if (seen.has(key)) throw new UsageError(`duplicate "${key}" option in "${arg}"`);
    seen.add(key);
    switch (key) {
      case 'type': {
        const type = TYPE_NAMES[value];
        if (!type) throw new UsageError(`unknown port type "${value}" in "${arg}" (kernel port types: system, internal, gre, vxlan, geneve)`);
        spec.type = type;
        break;
      }
      case 'port_no':
        spec.portNo = unsignedArg(value, 0xffffffff, 'port number', arg);
        break;
      case 'upcall_pid':
        spec.upcallPids = value.split(':').map((p) => unsignedArg(p, 0xffffffff, 'upcall pid', arg));
        break;
      case 'dst_port': {
        const port = unsignedArg(value, 0xffff, 'UDP port', arg);
        if (port === 0) throw new UsageError(`bad UDP port "0" in "${arg}" (want 1-65535)`);
        spec.options.dstPort = port;
        break;
      }
      case 'exts': {
        const exts = value.split(/[ ;]/).filter(Boolean);
        for (const e of exts) if (e !== 'gbp') throw new VportOptionError(`${spec.name}: vxlan extension "${e}" is not one the kernel has (it has gbp)`);
        spec.options.exts = exts as 'gbp'[];
        break;
      }
      default:
        (USERSPACE_TUNNEL_OPTIONS.has(key) ? spec.userspaceOnly : spec.unknown).push(key);
    }
  }
  return spec;
}

/**
 * Checks the spec's options against the port type (throwing VportOptionError: exit 1) and
 * warns about ovs-vswitchd-only tunnel settings, which the kernel port does not have.
 */
export function checkIfaceOptions(ctx: CliContext, spec: IfaceSpec, type: VportTypeName): void {
  const takes = TUNNEL_OPTIONS[type];
  const label = type === 'netdev' ? 'system' : type;
  const takesText = takes.length ? `it takes ${takes.join(', ')}` : 'it takes no options';
  const given = [...(spec.options.dstPort !== undefined ? ['dst_port'] : []), ...(spec.options.exts !== undefined ? ['exts'] : [])];
  const misfits = [...given.filter((k) => !takes.includes(k)), ...spec.unknown];
  if (misfits.length) throw new VportOptionError(`${spec.name}: a ${label} port has no option ${misfits.join(', ')} (${takesText})`);
  if (spec.userspaceOnly.length) {
    if (type !== 'gre' && type !== 'vxlan' && type !== 'geneve') {
      throw new VportOptionError(`${spec.name}: a ${label} port has no option ${spec.userspaceOnly.join(', ')} (${takesText})`);
    }
    ctx.warn(`${spec.name}: ignoring ${spec.userspaceOnly.join(', ')}: ovs-vswitchd settings that the kernel's ${type} port does not have (flows set them per packet)`);
  }
}

/** Feature names as the command line writes them (dashes or underscores). */
export function featureList(text: string): string[] {
  if (text === 'none' || text === '') return [];
  return text.split(',').map((f) => f.trim().replace(/-/g, '_')).filter(Boolean).map((f) => {
    if (!Object.hasOwn(DP_FEATURES, f) && !/^0x[0-9a-f]+$/i.test(f)) {
      throw new UsageError(`unknown datapath feature "${f}" (known: ${Object.keys(DP_FEATURES).join(', ')})`);
    }
    return f;
  });
}

/** The one line an error gets on stderr, as src/cli/main.ts writes it. */
export function errorLine(err: unknown): string {
  if (err instanceof NetlinkError) return `${err.message}${err.reason ? ` (${err.reason})` : ''}`;
  return err instanceof Error ? err.message : String(err);
}

/** Reports a failure of one of several items and carries on; the command then exits 1. */
export function reportAndContinue(ctx: CliContext, err: unknown): void {
  if (err instanceof UsageError) throw err;
  ctx.warn(errorLine(err));
  process.exitCode = 1;
}
