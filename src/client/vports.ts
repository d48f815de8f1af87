/**
 * Vports: the ports of a datapath. List, get, add (netdev, internal, vxlan, geneve, gre with
 * their options), delete and change them, plus the two things ovs-dpctl does to a port's
 * network device through rtnetlink: bring it up, read its error counters.
 */
import { errnoName, errnoNumber, isErrno, NetlinkError } from '../nl/errors.js';
import type { GenlMessage } from '../nl/family.js';
import { NLM_F_ECHO } from '../nl/message.js';
import type { AttrValues, UnknownAttr } from '../nl/schema.js';
import {
  type TunnelOptions, type VportTypeName, VPORT_TYPES, dpctlPortType, isDpctlTunnelType, tunnelOptionsFromAttr,
  vportFamily, vportOptionsAttr,
} from '../ovs/vport.js';
import type { OvsConnection, RequestOptions } from './connection.js';
import { type DatapathRef, resolveDatapath, unknownAttrs } from './datapaths.js';
import { rewrap } from './errors.js';

export interface VportStats {
  rxPackets: bigint;
  txPackets: bigint;
  rxBytes: bigint;
  txBytes: bigint;
  rxErrors: bigint;
  txErrors: bigint;
  rxDropped: bigint;
  txDropped: bigint;
}

/** A datapath port as the kernel reports it. */
export interface Vport {
  /** ifindex of the datapath's local port (the datapath's identity in requests) */
  datapathIfindex: number;
  portNo: number;
  /** OVS_VPORT_TYPE_* name, or the number for a type this library does not know */
  type: VportTypeName | number;
  name: string;
  options: TunnelOptions | undefined;
  /** netlink port ids that receive this port's upcalls (per-vport dispatch) */
  upcallPids: number[];
  stats: VportStats | undefined;
  ifindex: number | undefined;
  /** set when the port's netdev lives in another network namespace */
  netnsid: number | undefined;
  /** upcalls sent and failed for this port (kernel 6.2+) */
  upcallStats: { success: bigint; fail: bigint } | undefined;
  unknown?: Record<string, UnknownAttr>;
}

/** A port by name, or by number. */
export type PortRef = string | number;

export interface AddVportOptions {
  /** Default netdev: attach an existing network device. */
  type?: VportTypeName;
  /** Default: the kernel picks the lowest free number. */
  portNo?: number;
  /** Default [0]: no upcalls (ovs-dpctl's choice; per-cpu datapaths ignore them). */
  upcallPids?: readonly number[];
  /** vxlan: dstPort (default 4789), exts ['gbp']; geneve: dstPort (default 6081). */
  options?: TunnelOptions;
  /** ifindex for a new internal port's netdev. */
  ifindex?: number;
  /** Bring the port's network device up afterwards, as ovs-dpctl add-if does. */
  up?: boolean;
}

export interface VportChanges {
  upcallPids?: readonly number[];
  /** The kernel's own tunnels cannot change options; it answers EOPNOTSUPP. */
  options?: TunnelOptions;
}

/** A decoded ovs_vport reply (or notification) as a Vport. */
export function vportFromMessage(msg: GenlMessage): Vport {
  const a = msg.attrs;
  const s = a['stats'] as Record<string, bigint> | undefined;
  const us = a['upcall_stats'] as Record<string, bigint> | undefined;
  const port: Vport = {
    datapathIfindex: msg.header['dp_ifindex'] as number,
    portNo: a['port_no'] as number,
    type: a['type'] as VportTypeName | number,
    name: a['name'] as string,
    options: tunnelOptionsFromAttr(a['options'] as Record<string, unknown> | undefined),
    upcallPids: (a['upcall_pid'] as number[] | undefined) ?? [],
    stats: s && {
      rxPackets: s['rx_packets']!, txPackets: s['tx_packets']!, rxBytes: s['rx_bytes']!, txBytes: s['tx_bytes']!,
      rxErrors: s['rx_errors']!, txErrors: s['tx_errors']!, rxDropped: s['rx_dropped']!, txDropped: s['tx_dropped']!,
    },
    ifindex: a['ifindex'] as number | undefined,
    netnsid: a['netnsid'] as number | undefined,
    upcallStats: us && { success: us['success'] ?? 0n, fail: us['fail'] ?? 0n },
  };
  const unknown = unknownAttrs(a, msg.unknownKept);
  if (unknown) port.unknown = unknown;
  return port;
}

function portAttr(port: PortRef): AttrValues {
  return typeof port === 'number' ? { port_no: port } : { name: port };
}

function portLabel(port: PortRef): string {
  return typeof port === 'number' ? `port ${port}` : `port named ${port}`;
}

async function one(conn: OvsConnection, command: string, options: RequestOptions): Promise<Vport> {
  const replies = await conn.request(vportFamily, command, options);
  if (!replies[0]) throw new Error(`ovs_vport ${command} got no reply`);
  return vportFromMessage(replies[0]);
}

/** The ports of a datapath, in the kernel's order. */
export async function listVports(conn: OvsConnection, dp: DatapathRef): Promise<Vport[]> {
  const { name, ifindex } = await resolveDatapath(conn, dp);
  const out: Vport[] = [];
  for await (const msg of conn.dump(vportFamily, 'get', { header: { dp_ifindex: ifindex }, context: { datapath: name } })) {
    out.push(vportFromMessage(msg));
  }
  return out;
}

/** One port of a datapath, by name or number. */
export async function getVport(conn: OvsConnection, dp: DatapathRef, port: PortRef): Promise<Vport> {
  const { name, ifindex } = await resolveDatapath(conn, dp);
  try {
    // By name the kernel looks in every datapath, and says ENODEV when the port is in another.
    return await one(conn, 'get', { header: { dp_ifindex: ifindex }, attrs: portAttr(port) });
  } catch (err) {
    if (isErrno(err, 'ENODEV') || isErrno(err, 'ENOENT') || isErrno(err, 'EFBIG')) throw rewrap(err, `no ${portLabel(port)} in datapath ${name}`);
    throw err;
  }
}

/**
 * Adds a port. Tunnel types get OVS_VPORT_ATTR_OPTIONS (the kernel requires a UDP port
 * for vxlan and geneve: OVS's defaults are filled in); an option the type does not take
 * throws VportOptionError before anything is sent.
 */
export async function addVport(conn: OvsConnection, dp: DatapathRef, name: string, options: AddVportOptions = {}): Promise<Vport> {
  const type = options.type ?? 'netdev';
  if (!Object.hasOwn(VPORT_TYPES, type)) {
    throw new RangeError(`unknown port type "${type}" (the kernel has ${Object.keys(VPORT_TYPES).join(', ')})`);
  }
  const vportOptions = vportOptionsAttr(type, options.options);
  const datapath = await resolveDatapath(conn, dp);
  const attrs: AttrValues = {};
  if (options.portNo !== undefined) attrs['port_no'] = options.portNo;
  attrs['type'] = type;
  attrs['name'] = name;
  attrs['upcall_pid'] = [...(options.upcallPids ?? [0])];
  if (vportOptions) attrs['options'] = vportOptions;
  if (options.ifindex !== undefined) attrs['ifindex'] = options.ifindex;
  let port: Vport;
  try {
    port = await one(conn, 'new', { flags: NLM_F_ECHO, header: { dp_ifindex: datapath.ifindex }, attrs });
  } catch (err) {
    throw await explainAddError(conn, err, datapath, name, type, options.portNo);
  }
  if (options.up && (type === 'netdev' || type === 'internal')) await setLinkUp(name);
  return port;
}

async function explainAddError(
  conn: OvsConnection, err: unknown, dp: { name: string; ifindex: number }, name: string, type: VportTypeName, portNo: number | undefined,
): Promise<unknown> {
  if (!(err instanceof NetlinkError)) return err;
  const code = errnoName(err.errno);
  if (code === 'EBUSY' && portNo !== undefined) {
    const holder = await getVport(conn, dp, portNo).then((p) => ` by ${p.name}`, () => '');
    return rewrap(err, `port number ${portNo} is already in use in datapath ${dp.name}${holder}`);
  }
  if (code === 'EFBIG' && portNo !== undefined) return rewrap(err, `port number ${portNo} is too large for datapath ${dp.name}`);
  if (type === 'netdev') {
    if (code === 'ENODEV') return rewrap(err, `no network device named ${name} (create it first, e.g. ip link add ${name} type veth peer name ${name}-peer)`);
    if (code === 'EBUSY' || code === 'EEXIST') {
      const existing = await getVport(conn, dp, name).then(() => true, () => false);
      return rewrap(err, existing
        ? `${name} is already a port of datapath ${dp.name}`
        : `${name} is already in use: a port of another datapath, or enslaved to a bridge or bond`);
    }
    if (code === 'EINVAL') return rewrap(err, `${name} cannot be a datapath port (loopback, a datapath's internal port, or not Ethernet)`);
  } else if (code === 'EEXIST' || code === 'EBUSY') {
    const udp = type === 'vxlan' || type === 'geneve' ? ` (or a ${type} port already uses that UDP port)` : '';
    return rewrap(err, `a network device named ${name} already exists${udp}`);
  }
  if (code === 'ENODEV') return rewrap(err, `no datapath named ${dp.name}`);
  return rewrap(err, `adding ${name} to ${dp.name} failed: ${err.message}`);
}

/**
 * Deletes a port and returns what it was. Like ovs-dpctl, by number: a name is looked up
 * first. A netdev port named like an OVS tunnel (vxlan_sys_4789...: a device ovs-dpctl
 * made through rtnetlink) has its device deleted too, as ovs-dpctl does; the kernel
 * removes the devices of its own tunnel and internal ports.
 */
export async function deleteVport(conn: OvsConnection, dp: DatapathRef, port: PortRef): Promise<Vport> {
  const datapath = await resolveDatapath(conn, dp);
  const portNo = typeof port === 'number' ? port : (await getVport(conn, datapath, port)).portNo;
  let gone: Vport;
  try {
    gone = await one(conn, 'del', { flags: NLM_F_ECHO, header: { dp_ifindex: datapath.ifindex }, attrs: { port_no: portNo } });
  } catch (err) {
    if (isErrno(err, 'ENODEV') || isErrno(err, 'ENOENT') || isErrno(err, 'EFBIG')) throw rewrap(err, `no ${portLabel(port)} in datapath ${datapath.name}`);
    if (isErrno(err, 'EINVAL') && portNo === 0) {
      throw rewrap(err, `port 0 is the datapath's own port: delete the datapath instead (del-dp ${datapath.name})`);
    }
    throw err;
  }
  if (gone.type === 'netdev' && isDpctlTunnelType(dpctlPortType(gone.type, gone.name))) await deleteLink(gone.name).catch(() => undefined);
  return gone;
}

/** Changes a port's upcall port ids (and, where the kernel allows it, options). */
export async function setVport(conn: OvsConnection, dp: DatapathRef, port: PortRef, changes: VportChanges): Promise<Vport> {
  const datapath = await resolveDatapath(conn, dp);
  const current = await getVport(conn, datapath, port);
  const attrs: AttrValues = { ...portAttr(port) };
  if (changes.options !== undefined && typeof current.type === 'string') {
    const options = vportOptionsAttr(current.type, changes.options);
    const now = current.options && vportOptionsAttr(current.type, current.options);
    // Only a real change is sent: the kernel's own tunnels refuse any OPTIONS in a SET.
    if (options && JSON.stringify(options) !== JSON.stringify(now)) attrs['options'] = options;
  }
  if (changes.upcallPids !== undefined) attrs['upcall_pid'] = [...changes.upcallPids];
  if (!attrs['options'] && !attrs['upcall_pid']) return current;
  try {
    return await one(conn, 'set', { flags: NLM_F_ECHO, header: { dp_ifindex: datapath.ifindex }, attrs });
  } catch (err) {
    if (isErrno(err, 'EOPNOTSUPP') && attrs['options']) {
      throw rewrap(err, `the kernel cannot change the options of an existing ${String(current.type)} port: delete ${current.name} and add it again`);
    }
    throw err;
  }
}

// ---------------------------------------------------------------- the port's network device

/** Counters of a network device that the vport's own stats do not have (rtnl_link_stats64). */
export interface LinkErrorCounters {
  collisions: bigint;
  rxOverErrors: bigint;
  rxFrameErrors: bigint;
  txAbortedErrors: bigint;
  txCarrierErrors: bigint;
}

type RtSocket = import('netlink/dist/rt/rt.js').RtNetlinkSocket;

/** Runs `fn` with an rtnetlink socket (the netlink package's, loaded only when needed). */
async function withRtnetlink<T>(fn: (rt: RtSocket) => Promise<T>): Promise<T> {
  const { createRtNetlink } = await import('netlink/dist/rt/rt.js');
  const rt = createRtNetlink();
  try {
    return await fn(rt);
  } catch (err) {
    // That package reports kernel errors as "Request rejected: ENODEV".
    const code = err instanceof Error ? /Request rejected: (E[A-Z0-9]+)/.exec(err.message)?.[1] : undefined;
    const errno = code ? errnoNumber(code) : undefined;
    if (errno !== undefined) throw new NetlinkError(errno, `rtnetlink: ${code}`, { operation: { family: 'rtnetlink', command: 'link' }, cause: err });
    throw err;
  } finally {
    rt.socket.close();
  }
}

async function linkIndex(rt: RtSocket, name: string): Promise<number> {
  const [link] = await rt.getLink({}, { ifname: name });
  if (!link?.data.index) throw new NetlinkError(errnoNumber('ENODEV') ?? 19, `no network device named ${name}`);
  return link.data.index;
}

/** Brings a network device up (IFF_UP), as ovs-dpctl add-if does for the port it added. */
export async function setLinkUp(name: string): Promise<void> {
  await withRtnetlink(async (rt) => {
    const index = await linkIndex(rt, name);
    await rt.setLink({ index, flags: { up: true }, change: { up: true } });
  });
}

/** Deletes a network device. */
export async function deleteLink(name: string): Promise<void> {
  await withRtnetlink(async (rt) => {
    await rt.delLink({ index: await linkIndex(rt, name) });
  });
}

/** The error counters of network devices by name; a device that is not there is left out. */
export async function linkErrorCounters(names: readonly string[]): Promise<Map<string, LinkErrorCounters>> {
  const out = new Map<string, LinkErrorCounters>();
  if (names.length === 0) return out;
  await withRtnetlink(async (rt) => {
    await Promise.all(names.map(async (name) => {
      const [link] = await rt.getLink({}, { ifname: name }).catch(() => []);
      const s = link?.attrs.stats64;
      if (!s) return;
      out.set(name, {
        collisions: s.collisions ?? 0n,
        rxOverErrors: s.rxOverErrors ?? 0n,
        rxFrameErrors: s.rxFrameErrors ?? 0n,
        txAbortedErrors: s.txAbortedErrors ?? 0n,
        txCarrierErrors: s.txCarrierErrors ?? 0n,
      });
    }));
  });
  return out;
}
