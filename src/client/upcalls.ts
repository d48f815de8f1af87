/**
 * Upcalls: the packets the kernel datapath sends up to userspace, a MISS for each packet
 * that matched no flow and an ACTION for each userspace(pid=...) action executed.
 *
 * An UpcallListener opens handler sockets (generic netlink sockets that only receive) and
 * registers their port ids with the datapath in one of the kernel's two dispatch modes
 * (lib/dpif-netlink.c in OVS 3.1 does the same for ovs-vswitchd):
 *
 * - per-cpu (Linux 5.16+): the datapath has the user feature dispatch_upcall_per_cpu and
 *   OVS_DP_ATTR_PER_CPU_PIDS, one port id per CPU; a miss goes to the id of the CPU that
 *   handled the packet. The array is as long as the CPU ids go (CPUs without a handler of
 *   their own share one), so the kernel never falls back to guessing.
 * - per-vport: every port has OVS_VPORT_ATTR_UPCALL_PID, a list of port ids; the kernel
 *   picks one by the packet's hash. Each port gets all handler sockets. Ports added while
 *   the listener is open are claimed as the ovs_vport notification of their creation comes.
 *
 * mode 'auto' takes the datapath's current mode (which its creator negotiated with the
 * kernel) and changes no feature. Asking for the other mode changes the datapath's
 * dispatch_upcall_per_cpu feature: `featureChange` says so, and close() puts it back.
 * close() restores everything the listener changed (port ids of ports and of CPUs,
 * features) where nobody changed it since, so a listener never leaves a datapath
 * half-configured; a process killed before close() leaves its port ids in place (upcalls
 * to them are then lost, counted in the datapath's `lost`).
 *
 * Received upcalls are decoded into the codec's values (key: src/ovs/keys.ts) and handed
 * out either one by one ('upcall' events) or in batches (batches(): everything that
 * arrived since the consumer last asked). When a handler socket's receive buffer is full,
 * the kernel drops upcalls: the handler sockets have NETLINK_NO_ENOBUFS set (without it
 * the first overrun aborts the process, see src/nl/overrun.ts), and the listener counts
 * the kernel's drops of each socket, emits 'overrun' and keeps going.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { NetlinkError, errnoName, errnoNumber, isErrno } from '../nl/errors.js';
import { NLA_HDRLEN, NLA_TYPE_MASK, align4, attrTypeField, checkedAttrLength, decodeAttrs, decodeStruct } from '../nl/codec.js';
import { commandName, decodeGenlMessage } from '../nl/family.js';
import { GENL_HDRLEN, NETLINK_GENERIC, type NetlinkMessage, parseGenlHeader } from '../nl/message.js';
import { netlinkDropsOf, netlinkPortsInUse, netlinkSocketHolders, setNoEnobufs } from '../nl/overrun.js';
import { type AttrValues, structSize } from '../nl/schema.js';
import { GenlSocket } from '../nl/socket.js';
import { DP_FEATURES, featureNames } from '../ovs/datapath.js';
import { flowKeyAttrs } from '../ovs/keys.js';
import { packetFamily } from '../ovs/packet.js';
import { vportFamily } from '../ovs/vport.js';
import { OvsConnection } from './connection.js';
import { type Datapath, type DatapathRef, getDatapath, setDatapath } from './datapaths.js';
import { rewrap } from './errors.js';
import { type Vport, getVport, listVports, setVport, vportFromMessage } from './vports.js';

export type DispatchMode = 'per-cpu' | 'per-vport';

export interface UpcallListenerOptions {
  datapath: DatapathRef;
  /**
   * 'auto' (default): the datapath's current dispatch mode, no feature changed.
   * 'per-cpu' / 'per-vport': that mode, switching the datapath's feature if needed.
   */
  mode?: 'auto' | DispatchMode;
  /** Handler sockets (default: one per CPU this process may run on). */
  handlers?: number;
  /** SO_RCVBUF of each handler socket (default 8 MiB; the kernel caps it at net.core.rmem_max). */
  recvBufferSize?: number;
  /** Upcalls held for a consumer that is behind, beyond which they are dropped (default 65536). */
  maxQueued?: number;
  /**
   * Read the upcalls queued on a handler socket with one recvmmsg for many (default true;
   * GenlSocket.readInBatches), rather than one read and one callback of the netlink
   * binding's each.
   */
  batchedReads?: boolean;
  /** The connection for the datapath and port requests (default: one of the listener's own). */
  connection?: OvsConnection;
  /**
   * Take the upcalls even when they go to sockets that are alive (another listener, such as
   * ovs-vswitchd): without it, open() refuses. Port ids of sockets that are gone never stop it.
   */
  takeOver?: boolean;
}

/** open() found the datapath's upcalls going to another live listener (and takeOver was not given). */
export class UpcallsTakenError extends Error {
  override readonly name = 'UpcallsTakenError';
  readonly portIds: number[];
  /** The processes holding those sockets, where /proc tells (pid and command line). */
  readonly holders: { pid: number; command: string }[];
  constructor(datapath: string, portIds: number[], holders: { pid: number; command: string }[] = []) {
    const who = holders.length ? `held open by ${holders.map((h) => `pid ${h.pid} (${h.command})`).join(', ')}` : 'that another listener (ovs-vswitchd?) holds open';
    super(`${datapath}'s upcalls go to netlink port ${portIds.length === 1 ? 'id' : 'ids'} ${portIds.join(', ')}, sockets ${who}: stop it, or take them over (--take-over)`);
    this.portIds = portIds;
    this.holders = holders;
  }
}

/** One upcall, decoded. */
export interface Upcall {
  cmd: 'miss' | 'action';
  datapath: { name: string; ifindex: number };
  /** The port the packet came in on (the key's in_port). */
  inPort: number;
  /** The flow key the kernel extracted (OVS_KEY_ATTR_* values, every field exact). */
  key: AttrValues;
  /**
   * The same key as the kernel encoded it (the OVS_PACKET_ATTR_KEY payload), to send back
   * in a flow or an execute without encoding it again.
   */
  keyBytes?: Buffer;
  /** The packet from its Ethernet header (truncated when the action said so; see len). */
  packet: Buffer;
  /** action: the userspace action's cookie. */
  userdata?: Buffer;
  /** action: the actions the userspace action asked to see (OVS_USERSPACE_ATTR_ACTIONS). */
  actions?: AttrValues[];
  /** action: the tunnel the packet would be sent out with (userspace(tunnel_out_port=...)). */
  egressTunKey?: AttrValues;
  /** Largest fragment received, for packets conntrack reassembled. */
  mru?: number;
  /** Length of the packet before a trunc() action cut it. */
  len?: number;
  /** skb hash in bits 0..31, sw_hash bit 32, l4_hash bit 33. */
  hash?: bigint;
  /** Port id of the handler socket that received it. */
  handlerPid: number;
}

export interface UpcallStats {
  /** upcalls received and decoded (misses + actions) */
  upcalls: number;
  misses: number;
  actions: number;
  /** upcalls the kernel dropped because a handler socket's receive buffer was full */
  overruns: number;
  /** messages that were not a decodable upcall */
  malformed: number;
  /** upcalls dropped because the consumer was more than maxQueued behind */
  dropped: number;
  /** datagrams (upcalls, or messages counted in `malformed`) read with recvmmsg behind another (batchedReads) */
  batched: number;
}

/** What the listener changed in the datapath's features, to put back on close. */
export interface FeatureChange {
  before: string[];
  after: string[];
}

interface ListenerEvents {
  upcall: [Upcall];
  /** A handler socket's buffer was full: `lost` upcalls were dropped (checked every second). */
  overrun: [lost: number, handlerPid: number];
  /** A message on a handler socket that is not a decodable upcall. */
  malformed: [Error, NetlinkMessage];
  /** Configuring a port added while open failed (the listener keeps going). */
  warning: [Error];
}

const PER_CPU = DP_FEATURES.dispatch_upcall_per_cpu;

/**
 * How many CPU ids the kernel may use (the highest possible CPU id + 1): the length of a
 * per-CPU port id array that never makes the kernel fall back.
 */
export function possibleCpuSlots(text?: string): number {
  let spec = text;
  if (spec === undefined) {
    try {
      spec = readFileSync('/sys/devices/system/cpu/possible', 'utf8');
    } catch {
      return availableParallelism();
    }
  }
  let max = -1;
  for (const range of spec.trim().split(',')) {
    const ids = range.split('-').map(Number);
    for (const id of ids) if (Number.isInteger(id) && id > max) max = id;
  }
  return max >= 0 ? max + 1 : availableParallelism();
}

const MISS_CMD = packetFamily.commands['miss']!;
const ACTION_CMD = packetFamily.commands['action']!;
const KEY_ATTR = packetFamily.attrs.id('key');
const PACKET_ATTR = packetFamily.attrs.id('packet');
const ATTRS_START = GENL_HDRLEN + structSize(packetFamily.fixedHeader!);

/**
 * Decodes one ovs_packet message into an Upcall; throws on anything else. The packet and
 * the key's bytes are views of the message (the listener reads each datagram into a
 * buffer of its own size); the key is decoded from those bytes, any other attribute
 * through the codec one by one.
 */
export function decodeUpcall(msg: NetlinkMessage, datapathName: string, handlerPid: number): Upcall {
  const payload = msg.payload;
  const cmdId = parseGenlHeader(payload).cmd;
  if (cmdId !== MISS_CMD && cmdId !== ACTION_CMD) throw new Error(`ovs_packet command ${commandName(packetFamily, cmdId)} is not an upcall`);
  if (payload.length < ATTRS_START) throw new Error(`an upcall of ${payload.length} bytes has no room for its ovs_header`);
  const header = decodeStruct(packetFamily.fixedHeader!, payload, GENL_HDRLEN);
  let keyBytes: Buffer | undefined;
  let packet: Buffer | undefined;
  const a: AttrValues = {};
  for (let off = ATTRS_START; off < payload.length;) {
    const len = checkedAttrLength(payload, off, payload.length);
    const type = attrTypeField(payload, off) & NLA_TYPE_MASK;
    if (type === KEY_ATTR) keyBytes = payload.subarray(off + NLA_HDRLEN, off + len);
    else if (type === PACKET_ATTR) packet = payload.subarray(off + NLA_HDRLEN, off + len);
    else Object.assign(a, decodeAttrs(packetFamily.attrs, payload, off, off + len, packetFamily.name));
    off += align4(len);
  }
  if (!packet) throw new Error('upcall without a packet');
  if (!keyBytes) throw new Error('upcall without a flow key');
  const key = decodeAttrs(flowKeyAttrs, keyBytes, 0, keyBytes.length, `${packetFamily.name}.key`);
  const up: Upcall = {
    cmd: cmdId === MISS_CMD ? 'miss' : 'action',
    datapath: { name: datapathName, ifindex: header['dp_ifindex'] as number },
    inPort: (key['in_port'] as number | undefined) ?? 0,
    key,
    keyBytes,
    packet,
    handlerPid,
  };
  if (a['userdata'] !== undefined) up.userdata = a['userdata'] as Buffer;
  if (a['actions'] !== undefined) up.actions = a['actions'] as AttrValues[];
  if (a['egress_tun_key'] !== undefined) up.egressTunKey = a['egress_tun_key'] as AttrValues;
  if (a['mru'] !== undefined) up.mru = a['mru'] as number;
  if (a['len'] !== undefined) up.len = a['len'] as number;
  if (a['hash'] !== undefined) up.hash = a['hash'] as bigint;
  return up;
}

function isGone(err: unknown): boolean {
  return err instanceof NetlinkError && ['ENODEV', 'ENOENT', 'EFBIG'].includes(errnoName(err.errno));
}

/**
 * Receives a datapath's upcalls. Open with UpcallListener.open(); consume with
 * `for await (const batch of listener.batches())` or `listener.on('upcall', ...)` (one
 * style per listener: without 'upcall' handlers, upcalls are queued for batches());
 * always close().
 */
export class UpcallListener extends EventEmitter<ListenerEvents> {
  /** The mode in use. */
  readonly mode: DispatchMode;
  /** The datapath's feature change this listener made (undone by close()), if any. */
  readonly featureChange: FeatureChange | undefined;
  readonly datapath: { name: string; ifindex: number };

  private readonly conn: OvsConnection;
  private readonly ownsConn: boolean;
  private readonly sockets: GenlSocket[] = [];
  private readonly counters: Omit<UpcallStats, 'batched'> = { upcalls: 0, misses: 0, actions: 0, overruns: 0, malformed: 0, dropped: 0 };
  private readonly maxQueued: number;
  private queue: Upcall[] = [];
  private wake: (() => void) | undefined;
  private wakeScheduled = false;
  private closed = false;
  private closing: Promise<void> | undefined;
  private packetFamilyId = -1;
  /** The datapath as it was before: features, per-CPU ids. */
  private original: Datapath | undefined;
  /** Features as this listener set them (restored only while still so). */
  private setBits: number | undefined;
  /** per-cpu: the per-CPU ids this listener set. */
  private setCpuPids: number[] | undefined;
  /** per-vport: each claimed port's ids before. */
  private readonly portsBefore = new Map<number, number[]>();
  private vportWatch: GenlSocket | undefined;
  /** The kernel's drop count of each handler socket, as last seen. */
  private readonly dropsSeen = new Map<number, number>();
  private dropsTimer: NodeJS.Timeout | undefined;
  private portWork: Promise<void> = Promise.resolve();

  private constructor(conn: OvsConnection, ownsConn: boolean, dp: Datapath, mode: DispatchMode, featureChange: FeatureChange | undefined, maxQueued: number) {
    super();
    this.conn = conn;
    this.ownsConn = ownsConn;
    this.datapath = { name: dp.name, ifindex: dp.ifindex };
    this.mode = mode;
    this.featureChange = featureChange;
    this.maxQueued = maxQueued;
  }

  /** Opens handler sockets and registers them with the datapath. */
  static async open(options: UpcallListenerOptions): Promise<UpcallListener> {
    const ownsConn = options.connection === undefined;
    const conn = options.connection ?? new OvsConnection();
    let listener: UpcallListener | undefined;
    try {
      const dp = typeof options.datapath === 'string' ? await getDatapath(conn, options.datapath) : await getDatapath(conn, { ifindex: options.datapath.ifindex });
      const current: DispatchMode = dp.featureBits & PER_CPU ? 'per-cpu' : 'per-vport';
      const mode = !options.mode || options.mode === 'auto' ? current : options.mode;
      const afterBits = mode === 'per-cpu' ? (dp.featureBits | PER_CPU) >>> 0 : (dp.featureBits & ~PER_CPU) >>> 0;
      const change = afterBits === dp.featureBits ? undefined : { before: dp.features, after: featureNames(afterBits) };
      if (!options.takeOver) {
        // Whoever gets the upcalls now: the per-CPU ids, or the ports' ids.
        const current = dp.featureBits & PER_CPU ? dp.perCpuPids ?? [] : (await listVports(conn, dp)).flatMap((p) => p.upcallPids);
        const live = netlinkPortsInUse(NETLINK_GENERIC, [...new Set(current)]);
        if (live.length) throw new UpcallsTakenError(dp.name, live, netlinkSocketHolders(NETLINK_GENERIC, live));
      }
      listener = new UpcallListener(conn, ownsConn, dp, mode, change, options.maxQueued ?? 65536);
      listener.original = dp;
      await listener.start(options, afterBits);
      return listener;
    } catch (err) {
      if (listener) await listener.close();
      else if (ownsConn) conn.close();
      throw err;
    }
  }

  /** The handler sockets' port ids (e.g. for a userspace(pid=...) action). */
  get pids(): number[] {
    return this.sockets.map((s) => s.portId);
  }

  stats(): UpcallStats {
    if (!this.closed) this.checkDrops();
    let batched = 0;
    for (const sock of this.sockets) batched += sock.batchedReads?.datagrams ?? 0;
    return { ...this.counters, batched };
  }

  /** Adds the upcalls the kernel dropped at the handler sockets since the last look. */
  private checkDrops(): void {
    const drops = netlinkDropsOf(NETLINK_GENERIC, this.pids);
    for (const [pid, now] of drops) {
      const lost = now - (this.dropsSeen.get(pid) ?? 0);
      if (lost <= 0) continue;
      this.dropsSeen.set(pid, now);
      this.counters.overruns += lost;
      this.emit('overrun', lost, pid);
    }
  }

  private async start(options: UpcallListenerOptions, bits: number): Promise<void> {
    this.packetFamilyId = (await this.conn.family(packetFamily)).id;
    const n = Math.max(1, Math.floor(options.handlers ?? availableParallelism()));
    for (let i = 0; i < n; i++) {
      // Each read sized to its datagram (a peek first): the binding allocates and zeroes
      // a fresh buffer of the read size for every datagram, and an upcall is one
      // datagram of a few hundred bytes, where the default read size is 128 KiB.
      const sock = new GenlSocket({ recvBufferSize: options.recvBufferSize ?? 8 << 20, peekSizes: true });
      this.sockets.push(sock);
      const pid = sock.portId;
      await setNoEnobufs(await sock.descriptor());
      if (options.batchedReads !== false) await sock.readInBatches();
      this.dropsSeen.set(pid, 0);
      sock.on('notification', (msg) => this.receive(msg, pid));
      sock.ref();
    }
    this.dropsTimer = setInterval(() => this.checkDrops(), 1000);
    this.dropsTimer.unref();
    if (this.mode === 'per-cpu') await this.registerPerCpu(bits);
    else await this.registerPerVport(bits);
  }

  private async registerPerCpu(bits: number): Promise<void> {
    const slots = possibleCpuSlots();
    const pids = Array.from({ length: slots }, (_, i) => this.sockets[i % this.sockets.length]!.portId);
    let dp: Datapath;
    try {
      dp = await setDatapath(this.conn, this.datapath.name, { features: bits, perCpuPids: pids });
    } catch (err) {
      if (isErrno(err, 'EOPNOTSUPP')) {
        throw rewrap(err, `the kernel has no per-CPU upcall dispatch (Linux 5.16+): use mode per-vport`);
      }
      throw err;
    }
    this.setBits = bits;
    this.setCpuPids = pids;
    // Kernels that ignore unknown features accept the bit without doing anything.
    if (!(dp.featureBits & PER_CPU)) throw new NetlinkError(errnoNumber('EOPNOTSUPP') ?? 95, `the kernel ignored per-CPU upcall dispatch for ${this.datapath.name}: use mode per-vport`);
  }

  private async registerPerVport(bits: number): Promise<void> {
    if (this.featureChange) {
      await setDatapath(this.conn, this.datapath.name, { features: bits });
      this.setBits = bits;
    }
    // Watch for new ports first, so none is added unseen between the listing and the watch.
    const info = await this.conn.family(vportFamily);
    const watch = new GenlSocket();
    this.vportWatch = watch;
    watch.on('notification', (msg) => {
      if (msg.type !== info.id) return;
      let port: Vport;
      let cmd: string;
      try {
        const m = decodeGenlMessage(vportFamily, msg);
        cmd = m.cmd;
        port = vportFromMessage(m);
      } catch {
        return;
      }
      if (port.datapathIfindex !== this.datapath.ifindex) return;
      if (cmd === 'new') this.portWork = this.portWork.then(() => this.claimPort(port)).catch((err: Error) => { this.emit('warning', err); });
      else if (cmd === 'del') this.portsBefore.delete(port.portNo);
    });
    for (const g of info.groups) watch.joinGroup(g.id);
    for (const port of await listVports(this.conn, this.datapath)) await this.claimPort(port);
  }

  /** Points a port's upcalls at the handler sockets, remembering what it had. */
  private async claimPort(port: Vport): Promise<void> {
    if (this.closed) return;
    const pids = this.pids;
    if (port.upcallPids.length === pids.length && port.upcallPids.every((p, i) => p === pids[i])) return;
    if (!this.portsBefore.has(port.portNo)) this.portsBefore.set(port.portNo, port.upcallPids);
    try {
      await setVport(this.conn, this.datapath, port.portNo, { upcallPids: pids });
    } catch (err) {
      this.portsBefore.delete(port.portNo);
      if (!isGone(err)) throw err;
    }
  }

  private receive(msg: NetlinkMessage, pid: number): void {
    if (this.closed) return;
    let up: Upcall;
    try {
      if (msg.type !== this.packetFamilyId) throw new Error(`message of netlink type ${msg.type} on an upcall socket`);
      up = decodeUpcall(msg, this.datapath.name, pid);
    } catch (err) {
      this.counters.malformed++;
      this.emit('malformed', err as Error, msg);
      return;
    }
    this.counters.upcalls++;
    if (up.cmd === 'miss') this.counters.misses++;
    else this.counters.actions++;
    if (this.listenerCount('upcall') > 0) {
      this.emit('upcall', up);
      return;
    }
    if (this.queue.length >= this.maxQueued) {
      this.counters.dropped++;
      return;
    }
    this.queue.push(up);
    this.scheduleWake();
  }

  /**
   * Wakes the batch consumer once the current round of reads is over (setImmediate runs
   * after the poll phase), so a batch holds everything the sockets had, not one upcall.
   */
  private scheduleWake(): void {
    if (this.wakeScheduled || !this.wake) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      this.wake?.();
    });
  }

  /** Upcalls in batches, each everything that arrived since the last; ends on close(). */
  async *batches(): AsyncGenerator<Upcall[]> {
    while (!this.closed) {
      if (this.queue.length === 0) {
        await new Promise<void>((resolve) => { this.wake = resolve; });
        this.wake = undefined;
        continue;
      }
      const batch = this.queue;
      this.queue = [];
      yield batch;
    }
  }

  /**
   * Puts back what the listener changed (port ids, features) where it is still as the
   * listener left it, then closes the sockets. Safe to call more than once.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    if (this.dropsTimer) {
      clearInterval(this.dropsTimer);
      this.checkDrops();
    }
    this.closed = true;
    this.vportWatch?.close();
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
    const failures: unknown[] = [];
    try {
      await this.portWork.catch(() => undefined);
      await this.restorePorts(failures);
      await this.restoreDatapath(failures);
    } finally {
      for (const s of this.sockets) s.close();
      if (this.ownsConn) this.conn.close();
    }
    if (failures.length) throw failures[0];
  }

  private async restorePorts(failures: unknown[]): Promise<void> {
    const first = this.sockets[0]?.portId;
    for (const [portNo, before] of this.portsBefore) {
      try {
        const now = await getVport(this.conn, this.datapath, portNo);
        // Without the vport_pids feature the kernel reports only the first id.
        if (now.upcallPids[0] !== first) continue;
        await setVport(this.conn, this.datapath, portNo, { upcallPids: before.length ? before : [0] });
      } catch (err) {
        if (!isGone(err)) failures.push(err);
      }
    }
    this.portsBefore.clear();
  }

  private async restoreDatapath(failures: unknown[]): Promise<void> {
    if (this.setBits === undefined || !this.original) return;
    const before = this.original;
    try {
      const now = await getDatapath(this.conn, this.datapath.name);
      if (now.featureBits !== this.setBits) return;
      const mine = this.setCpuPids;
      const pidsStillMine = mine !== undefined && now.perCpuPids !== undefined && now.perCpuPids.length === mine.length && now.perCpuPids.every((p, i) => p === mine[i]);
      const changes: Parameters<typeof setDatapath>[2] = { features: before.featureBits };
      if (pidsStillMine && before.featureBits & PER_CPU) {
        // Another daemon's ids go back; ids never set become zeros (upcalls lost, as before).
        changes.perCpuPids = before.perCpuPids?.length ? before.perCpuPids : mine.map(() => 0);
      }
      await setDatapath(this.conn, this.datapath.name, changes);
    } catch (err) {
      if (!isGone(err)) failures.push(err);
    }
    this.setBits = undefined;
  }
}
