/**
 * Datapath, vport and flow notifications as they happen: the kernel multicasts every
 * change made through the ovs_datapath, ovs_vport and ovs_flow families (by anyone but
 * the listening socket itself) to each family's group.
 */
import { decodeGenlMessage, type GenlFamilySpec } from '../nl/family.js';
import type { NetlinkError } from '../nl/errors.js';
import type { NetlinkMessage } from '../nl/message.js';
import { datapathFamily } from '../ovs/datapath.js';
import { flowFamily } from '../ovs/flow.js';
import { vportFamily } from '../ovs/vport.js';
import { OvsConnection } from './connection.js';
import { type Datapath, datapathFromMessage, getDatapath, listDatapaths } from './datapaths.js';
import { type Flow, flowFromMessage } from './flows.js';
import { type Vport, vportFromMessage } from './vports.js';

export type MonitorKind = 'datapath' | 'vport' | 'flow';

interface EventBase {
  /** the genl command: new, del, set (or cmdN for one this library does not know) */
  command: string;
  /** name of the datapath concerned (undefined if it vanished before it could be asked) */
  datapath: string | undefined;
  datapathIfindex: number;
}

export type MonitorEvent =
  | (EventBase & { kind: 'datapath'; object: Datapath })
  | (EventBase & { kind: 'vport'; object: Vport })
  | (EventBase & { kind: 'flow'; object: Flow })
  /** The socket's receive buffer overflowed: some notifications were lost. */
  | { kind: 'overrun'; error: NetlinkError };

export interface MonitorOptions {
  /** Which families to listen to; default all three. */
  kinds?: readonly MonitorKind[];
}

const FAMILIES: Record<MonitorKind, GenlFamilySpec> = { datapath: datapathFamily, vport: vportFamily, flow: flowFamily };

/**
 * A subscription. Iterate it for events; close() ends the iteration (and the sockets).
 * Datapath names are looked up on a second connection: the listening one sends nothing,
 * so no reply can be mistaken for a notification.
 */
export class Monitor implements AsyncIterable<MonitorEvent> {
  private readonly listener = new OvsConnection();
  private readonly query = new OvsConnection();
  private readonly families = new Map<number, MonitorKind>();
  private readonly names = new Map<number, string>();
  private readonly queue: (NetlinkMessage | NetlinkError)[] = [];
  private wake: (() => void) | undefined;
  private closed = false;

  private constructor() {}

  /** Joins the groups; events from then on are delivered. */
  static async open(options: MonitorOptions = {}): Promise<Monitor> {
    const m = new Monitor();
    try {
      await m.subscribe(options.kinds ?? ['datapath', 'vport', 'flow']);
    } catch (err) {
      m.close();
      throw err;
    }
    return m;
  }

  private async subscribe(kinds: readonly MonitorKind[]): Promise<void> {
    const groups: number[] = [];
    for (const kind of kinds) {
      const info = await this.listener.family(FAMILIES[kind]);
      this.families.set(info.id, kind);
      for (const g of info.groups) groups.push(g.id);
    }
    this.listener.socket.on('notification', (msg) => this.push(msg));
    this.listener.socket.on('overrun', (err) => this.push(err));
    for (const g of groups) this.listener.socket.joinGroup(g);
    for (const dp of await listDatapaths(this.query)) this.names.set(dp.ifindex, dp.name);
  }

  private push(item: NetlinkMessage | NetlinkError): void {
    if (this.closed) return;
    this.queue.push(item);
    this.wake?.();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listener.close();
    this.query.close();
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<MonitorEvent> {
    try {
      while (!this.closed) {
        const item = this.queue.shift();
        if (item === undefined) {
          await new Promise<void>((resolve) => { this.wake = resolve; });
          this.wake = undefined;
          continue;
        }
        const event = await this.toEvent(item);
        if (event && !this.closed) yield event;
      }
    } finally {
      this.close();
    }
  }

  private async toEvent(item: NetlinkMessage | NetlinkError): Promise<MonitorEvent | undefined> {
    if (!('payload' in item)) return { kind: 'overrun', error: item };
    const kind = this.families.get(item.type);
    if (!kind) return undefined;
    const msg = decodeGenlMessage(FAMILIES[kind], item);
    const ifindex = msg.header['dp_ifindex'] as number;
    const base = { command: msg.cmd, datapathIfindex: ifindex };
    if (kind === 'datapath') {
      const dp = datapathFromMessage(msg);
      if (msg.cmd === 'del') this.names.delete(ifindex);
      else this.names.set(ifindex, dp.name);
      return { ...base, kind, datapath: dp.name, object: dp };
    }
    const datapath = await this.datapathName(ifindex);
    return kind === 'vport'
      ? { ...base, kind, datapath, object: vportFromMessage(msg) }
      : { ...base, kind, datapath, object: flowFromMessage(msg) };
  }

  private async datapathName(ifindex: number): Promise<string | undefined> {
    const known = this.names.get(ifindex);
    if (known !== undefined || this.closed) return known;
    const dp = await getDatapath(this.query, { ifindex }).catch(() => undefined);
    if (dp) this.names.set(ifindex, dp.name);
    return dp?.name;
  }
}
