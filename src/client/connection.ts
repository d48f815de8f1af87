/**
 * One connection to the OVS kernel families: a generic netlink socket, the families'
 * ids resolved once, typed requests and dumps, errors explained.
 */
import type { AttrValues } from '../nl/schema.js';
import {
  type FamilyInfo, type GenlFamilySpec, type GenlMessage, decodeGenlMessage, genlRequest, listFamilies,
  operation, resolveFamily,
} from '../nl/family.js';
import type { GenlRequest } from '../nl/message.js';
import { GenlSocket, type GenlSocketOptions, type IndexedResult, type RequestResult } from '../nl/socket.js';
import { type ErrorContext, explain } from './errors.js';

export interface RequestOptions {
  flags?: number;
  /** The fixed ovs_header: { dp_ifindex }. */
  header?: Record<string, unknown>;
  attrs?: AttrValues;
  /** Names used to explain errors ("no datapath named dp0"). */
  context?: ErrorContext;
}

export class OvsConnection {
  readonly socket: GenlSocket;
  /** sendNumbered's socket, made at its first use (bulkSocket). */
  private bulk: GenlSocket | undefined;
  private readonly options: GenlSocketOptions;

  constructor(options: GenlSocketOptions = {}) {
    this.socket = new GenlSocket(options);
    this.options = options;
  }

  close(): void {
    this.socket.close();
    this.bulk?.close();
    // Bulk sends after this fail as the connection's socket's requests do (no new socket).
    this.bulk = this.socket;
  }

  /** The kernel's id and groups for a family (cached per connection). */
  async family(spec: GenlFamilySpec): Promise<FamilyInfo> {
    try {
      return await resolveFamily(this.socket, spec.name);
    } catch (err) {
      throw explain(err);
    }
  }

  /** Every registered generic netlink family. */
  async families(): Promise<FamilyInfo[]> {
    return listFamilies(this.socket);
  }

  async buildRequest(spec: GenlFamilySpec, command: string, options: RequestOptions = {}): Promise<GenlRequest> {
    const info = await this.family(spec);
    return genlRequest(spec, info.id, command, options);
  }

  /** One request, waited for; returns its decoded replies. */
  async request(spec: GenlFamilySpec, command: string, options: RequestOptions = {}): Promise<GenlMessage[]> {
    const req = await this.buildRequest(spec, command, options);
    try {
      const replies = await this.socket.request(req, operation(spec, command));
      return replies.map((m) => decodeGenlMessage(spec, m));
    } catch (err) {
      throw explain(err, options.context);
    }
  }

  /** A dump, streamed. */
  async *dump(spec: GenlFamilySpec, command: string, options: RequestOptions = {}): AsyncGenerator<GenlMessage> {
    for await (const batch of this.dumpBatches(spec, command, options)) yield* batch;
  }

  /**
   * dump(), in batches: the replies that had arrived when the consumer asked for more,
   * decoded. A big dump then pays one turn of async iteration per batch, not per reply.
   */
  async *dumpBatches(spec: GenlFamilySpec, command: string, options: RequestOptions = {}): AsyncGenerator<GenlMessage[]> {
    const req = await this.buildRequest(spec, command, options);
    try {
      for await (const batch of this.socket.dumpBatches(req, operation(spec, command))) {
        const decoded = new Array<GenlMessage>(batch.length);
        for (let i = 0; i < batch.length; i++) decoded[i] = decodeGenlMessage(spec, batch[i]!);
        yield decoded;
      }
    } catch (err) {
      throw explain(err, options.context);
    }
  }

  /** Many prepared requests in one sendmsg; one result per request. */
  batch(reqs: readonly GenlRequest[], spec: GenlFamilySpec, command: string): Promise<RequestResult[]> {
    const op = operation(spec, command);
    // fill, not map: executeMany sends a batch every few milliseconds.
    return this.socket.batch(reqs, { ops: new Array<typeof op>(reqs.length).fill(op) });
  }

  /**
   * batch() of requests laid out already as whole netlink messages and numbered from
   * bulkSequence() (the last one's at byte `lastAt`), for requests that mostly just succeed
   * (GenlSocket.sendNumbered): results only for those that got replies or an error, each
   * with its index.
   */
  sendNumbered(messages: Buffer, count: number, lastAt: number, spec: GenlFamilySpec, command: string): Promise<IndexedResult[]> {
    const op = operation(spec, command);
    return this.bulkSocket().sendNumbered(messages, count, lastAt, new Array<typeof op>(count).fill(op));
  }

  /** What the refusals of one of sendNumbered's batches may take of its socket's receive buffer. */
  bulkRefusalsBudget(): number {
    return this.bulkSocket().refusalsBudget;
  }

  /** The sequence number the first request of sendNumbered's next batch is to carry. */
  bulkSequence(): number {
    return this.bulkSocket().nextSequence;
  }

  /**
   * A socket of its own for bulk sends, which reads each datagram at its own size
   * (GenlSocketOptions.peekSizes): a bulk load's answers are an ACK or two per batch, and
   * the connection's socket reads into a fresh, zeroed 128 KiB buffer each time (for its
   * dumps), twice per batch with the read that finds nothing. It never dumps.
   */
  private bulkSocket(): GenlSocket {
    return (this.bulk ??= new GenlSocket({ ...this.options, peekSizes: true }));
  }
}
