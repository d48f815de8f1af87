/**
 * Flows of a datapath: put (create, modify, or either), get, delete, flush, dump, and bulk
 * operations pipelined many per sendmsg. Keys, masks and actions are the codec's values
 * (src/ovs/keys.ts, src/ovs/actions.ts); flow-text.ts turns ovs-dpctl's flow strings into
 * them and back.
 *
 * On the wire this is what ovs-dpctl 3.1 sends (lib/dpif-netlink.c dpif_netlink_init_flow_put
 * and dpif_netlink_flow_to_ofpbuf): attributes in the order UFID, KEY, MASK (only when not
 * empty), ACTIONS (always on a put, empty meaning drop), CLEAR; add-flow is OVS_FLOW_CMD_NEW
 * with NLM_F_CREATE, mod-flow OVS_FLOW_CMD_SET without it, mod-flow --may-create NEW
 * without it; NLM_F_ECHO only when the caller wants the flow's statistics back. A UFID is
 * sent only when the caller gives one (ovs-dpctl makes none up), and dumps ask for full
 * flows (no OVS_FLOW_ATTR_UFID_FLAGS).
 *
 * Before anything is sent, the key and mask are checked against the kernel's rules
 * (src/ovs/flow-check.ts) so a refusal says why; when the kernel still answers EINVAL, the
 * reason the openvswitch module logged is attached (NetlinkError.reason, kernel-log.ts).
 */
import { MessageBuilder, align4, attrHeaderType, encodeAttr, encodeAttrs, encodeList, encodeStruct, putAttrHeader } from '../nl/codec.js';
import { NetlinkError, errnoName, isErrno, withoutStacks } from '../nl/errors.js';
import { type GenlMessage, decodeGenlMessage, operation } from '../nl/family.js';
import { type GenlRequest, NLMSG_HDRLEN, NLM_F_CREATE, NLM_F_ECHO, NLM_F_REQUEST, appendGenlRequest, parseMessages } from '../nl/message.js';
import { DumpInterruptedError, type IndexedResult, refusalsRoom } from '../nl/socket.js';
import { type AttrValues, type UnknownAttr, unknownKey } from '../nl/schema.js';
import { ActionsCheckMemo, FlowCheckMemo, checkFlowActions, checkFlowMatch } from '../ovs/flow-check.js';
import { actionAttrs } from '../ovs/actions.js';
import { flowAttrs, flowFamily } from '../ovs/flow.js';
import { formatUfid } from '../ovs/flowstr/flow.js';
import { type MemoAttr, keyAndMask } from '../ovs/flowstr/keys.js';
import { ovsHeader } from '../ovs/header.js';
import { flowKeyAttrs } from '../ovs/keys.js';
import type { OvsConnection } from './connection.js';
import { type DatapathRef, resolveDatapath, unknownAttrs } from './datapaths.js';
import { explain, rewrap } from './errors.js';
import { KernelLog } from './kernel-log.js';

/** OVS_KEY_ATTR_* values: a flow key or mask (src/ovs/keys.ts). */
export type FlowKey = AttrValues;
/** OVS_ACTION_ATTR_* entries in order (src/ovs/actions.ts); [] drops. */
export type FlowActions = AttrValues[];

/** A flow to install. */
export interface FlowSpec {
  key: FlowKey;
  /** Absent or empty: the kernel matches every bit of the key. */
  mask?: FlowKey;
  /** Absent: [] (drop). */
  actions?: FlowActions;
  /** 1 to 16 bytes naming the flow (ovs-dpctl's `ufid:` prefix: 16). */
  ufid?: Buffer;
}

/** Which flow a get or delete means: by UFID when given, else by key. */
export interface FlowTarget {
  key?: FlowKey;
  ufid?: Buffer;
}

export interface FlowStats {
  packets: bigint;
  bytes: bigint;
}

/** A flow as the kernel reports it. */
export interface Flow {
  ufid: Buffer | undefined;
  /** The key as installed; for a flow with a UFID the kernel reports it masked. */
  key: FlowKey | undefined;
  mask: FlowKey | undefined;
  actions: FlowActions | undefined;
  stats: FlowStats;
  /** When a packet last hit, in milliseconds of the monotonic clock; undefined: never. */
  used: bigint | undefined;
  /** TCP flags seen, OR-ed (the low 8 bits). */
  tcpFlags: number;
  unknown?: Record<string, UnknownAttr>;
}

/**
 * create: the flow must not exist (add-flow); modify: it must (mod-flow); upsert: either
 * (mod-flow --may-create).
 */
export type PutMode = 'create' | 'modify' | 'upsert';

export interface PutOptions {
  mode?: PutMode;
  /** Reset the flow's statistics (mod-flow --clear). */
  clear?: boolean;
  /** Ask for the flow back (NLM_F_ECHO) to read its statistics (-s). */
  echo?: boolean;
}

/** One operation of a bulk run. */
export type FlowOp =
  | { kind: 'put'; flow: FlowSpec; mode?: PutMode; clear?: boolean }
  | {
    /**
     * A put whose key comes as the attributes a KeyAttrMemo parsed (its `list`, in order,
     * each with its mask: the key and mask are these): each attribute is encoded once
     * however many flows share it, and key and mask objects are built only if needed.
     */
    kind: 'putAttrs'; keyAttrs: readonly MemoAttr[]; ufid?: Buffer; actions: FlowActions; mode?: PutMode;
  }
  | { kind: 'del'; target: FlowTarget }
  /** A delete by key whose key comes as the attributes a KeyAttrMemo parsed (as in putAttrs). */
  | { kind: 'delAttrs'; keyAttrs: readonly MemoAttr[] }
  /**
   * A request laid out already (BulkRequests.request's fixedHeader: add-flows' line that
   * becomes a shape keeps it): the ovs_header and attributes of a put in `mode`, or with
   * no mode of a delete; sent as it is, unchecked.
   */
  | EncodedOp
  | WrittenOp;

/**
 * Requests that lay themselves out as whole netlink messages (add-flows' line shapes: a
 * run of lines of one shape, each the message of a line sent before with its own values
 * written in): one operation for `count` requests, so that such lines cost no object each.
 */
export interface WrittenOp {
  kind: 'written';
  mode: PutMode | undefined;
  /** The requests it appends. */
  count: number;
  /**
   * Appends its `count` requests to `out`, NLM_F_REQUEST and its mode's flags set, numbered
   * `seq`, `seq` + 1, ... (u32); returns where the last one starts.
   */
  appendTo(out: MessageBuilder, seq: number): number;
}

/** The operations BulkRequests lays out (a WrittenOp lays itself out). */
export type LaidOutOp = Exclude<FlowOp, WrittenOp>;

/** FlowOp's already encoded request. */
export interface EncodedOp {
  kind: 'encoded';
  fixedHeader: Buffer;
  mode: PutMode | undefined;
}

/**
 * Requests per sendmsg in bulk runs, ~60 KB of ct/nat flow puts: each sendmsg, its ACK and
 * the batch's bookkeeping are paid per batch, ~4-5 system calls with the reads and the
 * poll changes (add-flows of 20,000 flows: 2,438 system calls at 64 per batch). Test VM,
 * add-flows of 20,000 flows against 64: ~1.6% fewer instructions, 30-70 ms less in paired
 * runs.
 */
const BATCH_SIZE = 256;
/**
 * Batches in flight at once. The kernel takes a batch while it is sent, so a second one in
 * flight gains nothing, and their refusals would have to fit the receive buffer together
 * (nl/socket.ts refusalsRoom: a batch ends before its refusals could overflow it).
 */
const WINDOW = 1;

export interface BulkOptions {
  /**
   * Requests per sendmsg (default BATCH_SIZE); an operation of several requests (a
   * WrittenOp) is not split: it may take its batch past this by its count less one.
   */
  batchSize?: number;
  /** Batches in flight at once (default WINDOW). */
  window?: number;
  /**
   * The layout (and its memos of encoded actions and passed checks) the run's requests go
   * through, when the caller lays out some of them itself (add-flows' line shapes): one
   * per run, so that each actions list is encoded and each check made once.
   */
  requests?: BulkRequests;
}

/**
 * What happened to one item of a bulk run, in input order. An item whose operation is
 * several requests (a WrittenOp of count > 1) has a result for each that failed (`index`
 * says which) and then, if any succeeded, one whose `count` says how many.
 */
export interface BulkResult<T> {
  item: T;
  /** Why it failed: a parse, check or kernel error. */
  error?: Error;
  /** Which of its item's requests failed (an item of several requests only). */
  index?: number;
  /** How many of its item's requests succeeded (an item of several requests only). */
  count?: number;
}

export interface FlowTableOptions {
  /** Read the kernel log for the reasons of EINVAL answers (default true). */
  kernelLog?: boolean;
}

const EINVAL_NAME = 'EINVAL';

/** A decoded ovs_flow reply (or notification) as a Flow. */
export function flowFromMessage(msg: GenlMessage): Flow {
  const a = msg.attrs;
  const stats = a['stats'] as { n_packets: bigint; n_bytes: bigint } | undefined;
  const used = a['used'] as bigint | undefined;
  const flow: Flow = {
    ufid: a['ufid'] as Buffer | undefined,
    key: a['key'] as FlowKey | undefined,
    mask: a['mask'] as FlowKey | undefined,
    actions: a['actions'] as FlowActions | undefined,
    stats: { packets: stats?.n_packets ?? 0n, bytes: stats?.n_bytes ?? 0n },
    used: used === 0n ? undefined : used,
    tcpFlags: (a['tcp_flags'] as number | undefined) ?? 0,
  };
  const unknown = unknownAttrs(a, msg.unknownKept);
  if (unknown) flow.unknown = unknown;
  return flow;
}

function hasAttrs(v: AttrValues | undefined): v is AttrValues {
  return v !== undefined && Object.keys(v).length > 0;
}

/** The ovs_flow attributes of a put, in ovs-dpctl's order. */
export function putAttrs(flow: FlowSpec, clear = false): AttrValues {
  const attrs: AttrValues = {};
  if (flow.ufid) attrs['ufid'] = flow.ufid;
  attrs['key'] = flow.key;
  if (hasAttrs(flow.mask)) attrs['mask'] = flow.mask;
  attrs['actions'] = flow.actions ?? [];
  if (clear) attrs['clear'] = true;
  return attrs;
}

/**
 * The payloads of OVS_FLOW_ATTR_KEY, _MASK and _ACTIONS that put() sends for `flow`; the
 * mask is undefined when not sent (empty), the actions when `withActions` is false.
 */
export function flowPayloads(flow: FlowSpec, withActions = true): { key: Buffer; mask: Buffer | undefined; actions: Buffer | undefined } {
  const attrs = putAttrs(flow);
  return {
    key: encodeAttrs(flowKeyAttrs, attrs['key'] as FlowKey),
    mask: attrs['mask'] ? encodeAttrs(flowKeyAttrs, attrs['mask'] as FlowKey) : undefined,
    actions: withActions ? encodeList(actionAttrs, attrs['actions'] as FlowActions) : undefined,
  };
}

/**
 * The kernel parses a get's or delete's key as it parses a put's (a UFID does not spare
 * it), with the same bare EINVAL for a key it would not take: checkFlowMatch says why
 * first. Not for bulk deletes, whose refusals the kernel log explains.
 */
function checkTargetKey(target: FlowTarget): void {
  if (target.key && hasAttrs(target.key)) checkFlowMatch(target.key);
}

function targetAttrs(target: FlowTarget): AttrValues {
  const attrs: AttrValues = {};
  if (target.ufid) attrs['ufid'] = target.ufid;
  if (hasAttrs(target.key)) attrs['key'] = target.key;
  if (!attrs['ufid'] && !attrs['key']) throw new RangeError('a flow to get or delete needs a key or a ufid');
  return attrs;
}

// One object each, not one per request of a bulk load.
const DELETE = { command: 'del', flags: 0 };
const CREATE = { command: 'new', flags: NLM_F_CREATE };
const UPSERT = { command: 'new', flags: 0 };
const MODIFY = { command: 'set', flags: 0 };

function putCommand(mode: PutMode): { command: string; flags: number } {
  if (mode === 'create') return CREATE;
  if (mode === 'upsert') return UPSERT;
  return MODIFY;
}

/**
 * The flows of one datapath. Requests are built against the datapath's ifindex, looked up
 * once from its name.
 */
export class FlowTable {
  readonly conn: OvsConnection;
  private readonly dp: DatapathRef;
  private resolved: Promise<{ name: string; ifindex: number }> | undefined;
  private base: Promise<RequestBase> | undefined;
  /** The kernel log once a refusal opened it; null: it was tried and cannot be read. */
  private log: KernelLog | null | undefined;
  private readonly useKernelLog: boolean;

  constructor(conn: OvsConnection, dp: DatapathRef, options: FlowTableOptions = {}) {
    this.conn = conn;
    this.dp = dp;
    this.useKernelLog = options.kernelLog ?? true;
  }

  /** The datapath's name and ifindex. */
  datapath(): Promise<{ name: string; ifindex: number }> {
    this.resolved ??= resolveDatapath(this.conn, this.dp).then((d) => ({ name: d.name, ifindex: d.ifindex }));
    return this.resolved;
  }

  /** Stops reading the kernel log (the connection stays open). */
  close(): void {
    this.log?.close();
    this.log = undefined;
  }

  /** What every request of this table shares: the family's id and the encoded ovs_header. */
  private requestBase(): Promise<RequestBase> {
    this.base ??= Promise.all([this.datapath(), this.conn.family(flowFamily)]).then(([dp, family]) => ({
      familyId: family.id,
      header: encodeStruct(ovsHeader, { dp_ifindex: dp.ifindex }),
    }));
    return this.base;
  }

  private async request(command: string, flags: number, attrs: AttrValues | undefined): Promise<GenlRequest> {
    return buildRequest(await this.requestBase(), command, flags, attrs);
  }

  /**
   * One request; a refusal is explained, an EINVAL one with its logged reason. The log is
   * not opened before the request (a cost only a refusal needs): at the first EINVAL
   * refusal it is, and the request sent again (KernelLog.openAfterRefusal).
   */
  private async one(command: string, flags: number, attrs: AttrValues | undefined, explainIt: (err: NetlinkError) => NetlinkError): Promise<Flow | undefined> {
    const req = await this.request(command, flags, attrs);
    const op = operation(flowFamily, command);
    // Past what others logged since this table's last read, when the log is open already.
    this.log?.read();
    try {
      const replies = await this.conn.socket.request(req, op);
      return replies[0] && flowFromMessage(decodeGenlMessage(flowFamily, replies[0]));
    } catch (err) {
      if (!(err instanceof NetlinkError)) throw err;
      if (this.log === undefined && this.useKernelLog && isErrno(err, EINVAL_NAME)) this.log = (await KernelLog.openAfterRefusal(() => this.conn.socket.request(req, op))) ?? null;
      throw explainIt(this.withReason(err, this.log?.readReasons()));
    }
  }

  private withReason(err: NetlinkError, reasons: string[] | undefined): NetlinkError {
    if (!isErrno(err, EINVAL_NAME) || !reasons?.length) return err;
    const opts: ConstructorParameters<typeof NetlinkError>[2] = { cause: err, reason: reasons.join('; ') };
    if (err.operation) opts.operation = err.operation;
    return new NetlinkError(err.errno, err.message, opts);
  }

  /** Installs or changes a flow; with `echo`, returns it as the kernel now has it. */
  async put(flow: FlowSpec, options: PutOptions = {}): Promise<Flow | undefined> {
    const mode = options.mode ?? 'create';
    checkFlowMatch(flow.key, flow.mask);
    checkFlowActions(flow.actions);
    const { command, flags } = putCommand(mode);
    const name = (await this.datapath()).name;
    return this.one(command, flags | (options.echo ? NLM_F_ECHO : 0), putAttrs(flow, options.clear), (err) => explainFlowError(err, 'put', mode, name, flow));
  }

  /** Deletes a flow (by UFID when given, else by key); with `echo`, returns its last state. */
  async del(target: FlowTarget, options: { echo?: boolean } = {}): Promise<Flow | undefined> {
    checkTargetKey(target);
    const name = (await this.datapath()).name;
    return this.one('del', options.echo ? NLM_F_ECHO : 0, targetAttrs(target), (err) => explainFlowError(err, 'del', undefined, name, target));
  }

  /** One flow, by UFID (or by key). */
  async get(target: FlowTarget): Promise<Flow> {
    checkTargetKey(target);
    const name = (await this.datapath()).name;
    const flow = await this.one('get', 0, targetAttrs(target), (err) => explainFlowError(err, 'get', undefined, name, target));
    if (!flow) throw new Error('ovs_flow get got no reply');
    return flow;
  }

  /** Deletes every flow of the datapath. */
  async flush(): Promise<void> {
    const name = (await this.datapath()).name;
    await this.one('del', 0, undefined, (err) => explainFlowError(err, 'flush', undefined, name, {}));
  }

  /**
   * Every flow, streamed as the kernel dumps them. If the kernel flags the dump as
   * interrupted by concurrent changes, DumpInterruptedError is thrown after the last flow:
   * what came may miss or repeat flows (list() retries instead).
   */
  async *dump(): AsyncGenerator<Flow> {
    for await (const batch of this.dumpBatches()) yield* batch;
  }

  /**
   * dump(), in batches (the flows of the replies that had arrived when the consumer asked
   * for more): for a big dump, one turn of async iteration per batch rather than per flow.
   */
  async *dumpBatches(): AsyncGenerator<Flow[]> {
    const { name, ifindex } = await this.datapath();
    for await (const msgs of this.conn.dumpBatches(flowFamily, 'get', { header: { dp_ifindex: ifindex }, context: { datapath: name } })) {
      const flows = new Array<Flow>(msgs.length);
      for (let i = 0; i < msgs.length; i++) flows[i] = flowFromMessage(msgs[i]!);
      yield flows;
    }
  }

  /**
   * dumpBatches(), undecoded: the kernel's replies as they came, as byte ranges of whole
   * netlink messages (GenlSocket.dumpReplyBytes), for readers of the bytes
   * (FlowLinePrinter.printReplies for dump-flows' text). The same request and errors.
   */
  async *dumpRawBatches(): AsyncGenerator<Buffer[]> {
    const { name, ifindex } = await this.datapath();
    const context = { datapath: name };
    const req = await this.conn.buildRequest(flowFamily, 'get', { header: { dp_ifindex: ifindex }, context });
    try {
      yield* this.conn.socket.dumpReplyBytes(req, operation(flowFamily, 'get'));
    } catch (err) {
      throw explain(err, context);
    }
  }

  /** Every flow, as one consistent dump: an interrupted dump is retried (up to `attempts` times). */
  async list(attempts = 3): Promise<Flow[]> {
    for (let i = 1; ; i++) {
      const out: Flow[] = [];
      try {
        for await (const f of this.dump()) out.push(f);
        return out;
      } catch (err) {
        if (!(err instanceof DumpInterruptedError) || i >= attempts) throw err;
      }
    }
  }

  /** Installs many flows, pipelined; yields one result per flow, in order. */
  putMany(flows: AsyncIterable<FlowSpec> | Iterable<FlowSpec>, options: PutOptions & BulkOptions = {}): AsyncGenerator<BulkResult<FlowSpec>> {
    const mode = options.mode ?? 'create';
    return this.operate(flows, (flow) => ({ kind: 'put', flow, mode, clear: options.clear === true }), options);
  }

  /**
   * Runs many operations, `batchSize` requests per sendmsg with up to `window` batches in
   * flight, never waiting per item. `toOp` turns an item into its operation (and may throw:
   * a parse error fails that item alone). Yields results in input order, one per item
   * (an item of several requests, a WrittenOp: one per refused request, then its count), as
   * batches complete; memory stays bounded by the window whatever the input's length.
   */
  async *operate<T>(
    items: AsyncIterable<T> | Iterable<T>, toOp: (item: T) => FlowOp, options: BulkOptions = {},
  ): AsyncGenerator<BulkResult<T>> {
    for await (const batch of this.operateBatches(items, toOp, options)) yield* batch;
  }

  /** operate(), yielding each batch's results as one array (less per-item overhead). */
  operateBatches<T>(
    items: AsyncIterable<T> | Iterable<T>, toOp: (item: T) => FlowOp, options: BulkOptions = {},
  ): AsyncGenerator<BulkResult<T>[]> {
    return this.operateBlocks(blocksOf(items, Math.max(1, options.batchSize ?? BATCH_SIZE)), toOp, options);
  }

  /**
   * operateBatches() over items that come in blocks (arrays, e.g. add-flows' lines a
   * few dozen at a time): the items of a block are taken in a plain loop, without a turn
   * of an iterator each. A block is read through before the next is asked for: its source
   * may fill the same array again.
   */
  async *operateBlocks<T>(
    blocks: AsyncIterable<readonly T[]> | Iterable<readonly T[]>, toOp: (item: T) => FlowOp, options: BulkOptions = {},
  ): AsyncGenerator<BulkResult<T>[]> {
    const batchSize = Math.max(1, options.batchSize ?? BATCH_SIZE);
    const window = Math.max(1, options.window ?? WINDOW);
    const budget = this.conn.bulkRefusalsBudget() / window;
    const { name } = await this.datapath();
    const requests = options.requests ?? await this.bulkRequests();
    // Past what others logged since this table's last read, when the log is open already;
    // otherwise it is opened at the run's first EINVAL refusal (watchBatches).
    this.log?.read();
    const inflight: Batch<T>[] = [];
    /**
     * Builders of settled batches, to lay out new ones in. A batch's requests are laid out
     * in a builder of its own, as whole netlink messages, and sent as they lie there (the
     * binding may hold on to them until the kernel takes them): no buffer made and no copy
     * per batch, which in the test VM cost ~100 µs each (Buffer.from or allocUnsafe).
     */
    const spare: MessageBuilder[] = [];
    // A batch's requests are numbered as they are laid out, from the number its first is to
    // carry when it is sent: batches are sent in turn, right after being laid out.
    const nextBatch = (): Batch<T> => newBatch(spare.pop() ?? new MessageBuilder(1 << 16), this.conn.bulkSequence());
    let current = nextBatch();

    const settle = async (batch: Batch<T>): Promise<BulkResult<T>[]> => {
      let answered: IndexedResult[];
      try {
        answered = batch.sent ? await batch.sent : [];
        if (!batch.watched && this.useKernelLog && answered.some((r) => isErrno(r.error, EINVAL_NAME))) await watchBatches([batch, ...inflight]);
        // Answered, so the kernel has taken its requests: its builder may be used again.
        // (Not after a failure: the binding may not have sent them yet.)
        if (batch.out.buffer.length <= BUILDER_KEEP) {
          batch.out.truncate();
          spare.push(batch.out);
        }
      } catch (err) {
        answered = Array.from({ length: batch.count }, (_, index) => ({ index, replies: [], error: err as NetlinkError }));
      }
      return batchResults(batch, answered);
    };
    /**
     * A batch's results, one per item in input order, from the results of its requests
     * that got an answer (errors: puts and deletes ask for no reply). The per-item loop in
     * a function of its own, not the async settle (see take); refusals are explained apart (rare).
     */
    const batchResults = (batch: Batch<T>, answered: readonly IndexedResult[]): BulkResult<T>[] => {
      const out: BulkResult<T>[] = [];
      let refused: Refusal<T>[] | undefined;
      /** The first request of the item at hand. */
      let r = 0;
      /** The first of `answered` not yet taken. */
      let a = 0;
      let e = 0;
      const { items, ops } = batch;
      for (let i = 0; i < items.length; i++) {
        const op = ops[i];
        if (op === undefined) {
          out.push({ item: items[i]!, error: batch.errors[e++]! });
          continue;
        }
        const item = items[i]!;
        if (op.kind !== 'written' || op.count === 1) {
          const error = answered[a]?.index === r ? answered[a++]!.error : undefined;
          r++;
          const result: BulkResult<T> = { item };
          if (error) (refused ??= []).push({ result, error, op });
          out.push(result);
          continue;
        }
        let failures = 0;
        for (const end = r + op.count; a < answered.length && answered[a]!.index < end; a++) {
          const error = answered[a]!.error;
          if (!error) continue;
          failures++;
          const result: BulkResult<T> = { item, index: answered[a]!.index - r };
          (refused ??= []).push({ result, error, op });
          out.push(result);
        }
        r += op.count;
        if (failures < op.count) out.push({ item, count: op.count - failures });
      }
      if (refused) this.explainRefusals(refused, name, batch.reasons);
      return out;
    };

    /**
     * Opens the log at the run's first EINVAL refusal, for `batches`: all those sent before
     * it was open (KernelLog.openAfterRefusal says why not sooner). Once they are all
     * answered (their refusals logged, and skipped by opening), each one's EINVAL-refused
     * requests are sent again, the same bytes, and the reasons read after are its own:
     * nothing else of the run is sent meanwhile.
     */
    const watchBatches = async (batches: readonly Batch<T>[]): Promise<void> => {
      const answers = await Promise.all(batches.map((b) => b.sent?.catch((): IndexedResult[] => []) ?? []));
      this.log ??= KernelLog.open() ?? null;
      for (const b of batches) {
        b.watched = true;
        b.reasons = [];
      }
      if (!this.log) return;
      for (let k = 0; k < batches.length; k++) {
        const b = batches[k]!;
        const refused = answers[k]!.filter((r) => isErrno(r.error, EINVAL_NAME)).map((r) => r.index);
        if (!refused.length) continue;
        // Its answers are the refusals already in hand: only what they make the kernel log counts.
        await this.conn.socket.batchMessages(messagesAt(b.out.bytes(), refused), refused.length).catch(() => undefined);
        b.reasons = this.reasonsFor(refused.length);
      }
    };

    const send = (): void => {
      current.watched = this.log !== undefined;
      if (current.count) {
        current.sent = this.conn.sendNumbered(current.out.bytes(), current.count, current.lastAt, flowFamily, 'new');
        // Settled by settle(); a run its consumer abandons must not leave a rejection unhandled.
        current.sent.catch(() => undefined);
      }
      inflight.push(current);
      current = nextBatch();
    };

    const full = (): boolean => current.count >= batchSize || current.items.length >= 4 * batchSize
      || refusalsRoom(current.out.length, current.count) >= budget;
    /**
     * Takes a block's items from `i` into the current batch until it is full or the block
     * ends; returns the index after the last taken. The per-item loop lives here, not in
     * this generator: V8 then optimizes a small function, not the whole generator (whose
     * compiling took several times longer, in a process that lives a few seconds).
     */
    const take = (block: readonly T[], i: number): number => {
      while (i < block.length) {
        const item = block[i++]!;
        try {
          const op = toOp(item);
          const seq = (current.firstSeq + current.count) >>> 0;
          if (op.kind === 'written') {
            current.lastAt = op.appendTo(current.out, seq);
            current.count += op.count;
          } else {
            const req = requests.request(op);
            current.lastAt = current.out.length;
            appendGenlRequest(current.out, req, seq, NLM_F_REQUEST);
            current.count++;
          }
          current.items.push(item);
          current.ops.push(op);
        } catch (err) {
          current.items.push(item);
          current.ops.push(undefined);
          current.errors.push(err as Error);
        }
        // Items that failed before sending wait in the batch too; bound them as well.
        if (full()) break;
      }
      return i;
    };

    // A synchronous source is read without a wait per block: the loop waits only when the
    // window is full, and that is when replies are taken in.
    const iterator: Iterator<readonly T[]> | AsyncIterator<readonly T[]> = Symbol.asyncIterator in blocks
      ? (blocks as AsyncIterable<readonly T[]>)[Symbol.asyncIterator]()
      : (blocks as Iterable<readonly T[]>)[Symbol.iterator]();
    try {
      for (;;) {
        const next = iterator.next();
        const step = next instanceof Promise ? await next : next;
        if (step.done) break;
        const block = step.value;
        for (let i = 0; i < block.length;) {
          i = take(block, i);
          if (full()) {
            send();
            if (inflight.length >= window) yield await settle(inflight.shift()!);
          }
        }
      }
    } finally {
      await iterator.return?.();
    }
    if (current.items.length) send();
    while (inflight.length) yield await settle(inflight.shift()!);
  }

  /** A layout of bulk operations' requests, as operateBlocks sends them. */
  async bulkRequests(): Promise<BulkRequests> {
    return new BulkRequests(await this.requestBase());
  }

  /**
   * Sets the errors of a batch's refused requests, explained, with the kernel's logged
   * reasons (`logged`: read already, by watchBatches); made without stack traces (a file's
   * lines may be refused by the thousand).
   */
  private explainRefusals<T>(refused: readonly Refusal<T>[], dpName: string, logged: string[] | undefined): void {
    const reasons = logged ?? this.reasonsFor(refused.filter((f) => isErrno(f.error, EINVAL_NAME)).length);
    withoutStacks(() => {
      for (const f of refused) {
        const reason = isErrno(f.error, EINVAL_NAME) ? reasons.shift() : undefined;
        f.result.error = explainOpError(reason ? this.withReason(f.error, [reason]) : f.error, f.op, dpName);
      }
    });
  }

  /**
   * The openvswitch module's logged reasons for `count` EINVAL refusals of one batch, in
   * order. The kernel handles a socket's requests in order and logs before it answers, at
   * most one reason per refusal, but rate-limits its log: later refusals may get none.
   * More reasons than refusals means someone else's are in the log: none is ours to tie.
   */
  private reasonsFor(count: number): string[] {
    if (!this.log || count === 0) return [];
    const reasons = this.log.readReasons();
    return reasons.length > count ? [] : reasons;
  }
}

/** What the requests of one bulk run share: encoded actions lists, their checks, the last passed key check. */
interface BulkMemo {
  actions: WeakMap<FlowActions, Buffer>;
  actionChecks: ActionsCheckMemo;
  checks: FlowCheckMemo;
}

interface RequestBase {
  familyId: number;
  header: Buffer;
}

/**
 * The requests of a run of bulk operations (FlowTable.operateBlocks'), with what the run's
 * requests share (encoded actions, the last passed check). A caller may keep a request it
 * laid out (the line that becomes one of add-flows' line shapes) and send it as an
 * EncodedOp, or lay out requests itself and send them as a WrittenOp.
 */
export class BulkRequests {
  private readonly base: RequestBase;
  private readonly run: BulkMemo = { actions: new WeakMap(), actionChecks: new ActionsCheckMemo(), checks: new FlowCheckMemo() };

  constructor(base: RequestBase) {
    this.base = base;
  }

  /** The request of `op`; throws, for that op alone, what its check or encoding finds. */
  request(op: LaidOutOp): GenlRequest {
    return opRequest(this.base, op, this.run);
  }
}

/**
 * A request with its attributes already encoded: a value that cannot be encoded fails
 * here, for its own request, not for the batch it would have joined.
 */
function buildRequest(base: RequestBase, command: string, flags: number, attrs: AttrValues | undefined): GenlRequest {
  let fixedHeader = base.header;
  if (attrs) {
    const bytes = encodeAttrs(flowAttrs, attrs);
    fixedHeader = Buffer.concat([base.header, bytes], base.header.length + bytes.length);
  }
  return { family: base.familyId, cmd: flowFamily.commands[command]!, version: flowFamily.version, flags, fixedHeader };
}

/** OVS_FLOW_ATTR_ACTIONS' id: a pre-encoded actions list travels as this raw attribute. */
const ACTIONS_ATTR_ID = flowAttrs.id('actions');

/**
 * The request of one bulk operation. Many lines of a bulk file share their actions (the
 * caller passes the same list object for the same text): each list is encoded once per
 * run and sent as the raw attribute the codec copies verbatim. A putAttrs key is checked
 * only when it differs from the last one that passed in what the checks read, and laid
 * out from its attributes' bytes.
 */
function opRequest(base: RequestBase, op: LaidOutOp, run: BulkMemo): GenlRequest {
  if (op.kind === 'encoded') {
    const { command, flags } = op.mode === undefined ? DELETE : putCommand(op.mode);
    return { family: base.familyId, cmd: flowFamily.commands[command]!, version: flowFamily.version, flags, fixedHeader: op.fixedHeader };
  }
  if (op.kind === 'del') return buildRequest(base, 'del', 0, targetAttrs(op.target));
  if (op.kind === 'delAttrs') {
    // An empty key is no target: targetAttrs says so.
    const fixedHeader = op.keyAttrs.length ? fixedHeaderFromParts(base.header, undefined, op.keyAttrs, undefined) : undefined;
    if (fixedHeader) return { family: base.familyId, cmd: flowFamily.commands['del']!, version: flowFamily.version, flags: 0, fixedHeader };
    return buildRequest(base, 'del', 0, targetAttrs({ key: keyAndMask(op.keyAttrs).key }));
  }
  let flow: FlowSpec;
  let clear = false;
  if (op.kind === 'putAttrs') {
    run.checks.check(op.keyAttrs);
    const raw = encodedActions(run, op.actions);
    const { command, flags } = putCommand(op.mode ?? 'create');
    const fixedHeader = fixedHeaderFromParts(base.header, op.ufid, op.keyAttrs, raw);
    if (fixedHeader) return { family: base.familyId, cmd: flowFamily.commands[command]!, version: flowFamily.version, flags, fixedHeader };
    flow = putAttrsFlow(op);
  } else {
    flow = op.flow;
    clear = op.clear === true;
    checkFlowMatch(flow.key, flow.mask);
  }
  const { command, flags } = putCommand(op.mode ?? 'create');
  const raw = encodedActions(run, flow.actions ?? []);
  const attrs = putAttrs(flow, clear);
  const withRaw: AttrValues = {};
  for (const k in attrs) {
    if (k === 'actions') withRaw[unknownKey(ACTIONS_ATTR_ID)] = { type: ACTIONS_ATTR_ID, raw };
    else withRaw[k] = attrs[k];
  }
  return buildRequest(base, command, flags, withRaw);
}

function encodedActions(run: BulkMemo, actions: FlowActions): Buffer {
  let raw = run.actions.get(actions);
  if (!raw) {
    const refusal = run.actionChecks.refusal(actions);
    if (refusal) throw refusal;
    run.actions.set(actions, (raw = encodeList(actionAttrs, actions)));
  }
  return raw;
}

/** A putAttrs operation as the flow it puts: key and mask built from its attributes. */
function putAttrsFlow(op: { keyAttrs: readonly MemoAttr[]; ufid?: Buffer; actions: FlowActions }): FlowSpec {
  const { key, mask } = keyAndMask(op.keyAttrs);
  const flow: FlowSpec = { key, mask, actions: op.actions };
  if (op.ufid) flow.ufid = op.ufid;
  return flow;
}

/** The KEY, MASK and ACTIONS nests' header types, as the codec writes them. */
const KEY_TYPE = attrHeaderType(flowAttrs, 'key');
const MASK_TYPE = attrHeaderType(flowAttrs, 'mask');
const ACTIONS_TYPE = attrHeaderType(flowAttrs, 'actions');

/** The room a bulk request may take (a larger one goes the codec's way). */
const REQUEST_ROOM = 1 << 16;
/**
 * Where bulk requests are laid out, one after the other; each request's bytes are a view
 * of it (no buffer allocated and copied per request). A new one (twice REQUEST_ROOM) is
 * started when less than REQUEST_ROOM is left; an old one lives as long as requests laid
 * out in it do. The first is made by the first request and has room for a few dozen
 * more only, so that the branch that starts one is taken again before V8 optimizes the
 * function (a branch first taken after that would deoptimize it, and recompiling costs
 * more than a short process gains).
 */
let arena = Buffer.alloc(0);
let arenaOff = 0;

/**
 * Writes a key attribute's TLV in the KEY (or MASK) nest at `off`; returns the offset after
 * it. An attribute sent before has its bytes kept on its memo entry and is copied; one
 * met for the first time is encoded in place (most are never met again).
 */
function putKeyAttr(m: MemoAttr, forMask: boolean, buf: Buffer, off: number): number {
  const kept = m.encoded;
  if (kept) {
    const b = forMask ? kept.mask : kept.key;
    if (off + b.length > buf.length) throw new RangeError('no room');
    // TypedArray set: Buffer's copy checks its arguments in JavaScript.
    buf.set(b, off);
    return off + b.length;
  }
  return encodeAttr(flowKeyAttrs, m.attr.name, forMask ? m.attr.mask : m.attr.value, buf, off);
}

/**
 * The ovs_header and attributes of a put (what buildRequest makes of putAttrs without
 * `clear`), built from the key's memo entries: UFID, KEY (the attributes' TLVs one after
 * another: a run of attributes encodes as each one alone does), MASK when the key has
 * attributes (putAttrs sends a non-empty mask), ACTIONS (already encoded); without
 * actions, the UFID and KEY of a delete (targetAttrs with a non-empty key). Undefined
 * when an attribute cannot be encoded alone, or the flow has packet_type (dpif-netlink
 * drops it from key and mask: excludePacketType): buildRequest then does it all, and its
 * error, if any, names the attribute's path.
 */
function fixedHeaderFromParts(header: Buffer, ufid: Buffer | undefined, attrs: readonly MemoAttr[], actions: Buffer | undefined): Buffer | undefined {
  if (arena.length - arenaOff < REQUEST_ROOM) {
    arena = Buffer.allocUnsafeSlow(arena.length ? 2 * REQUEST_ROOM : REQUEST_ROOM + 8192);
    arenaOff = 0;
  }
  const start = arenaOff;
  const buf = arena;
  let off: number;
  try {
    for (let i = 0; i < attrs.length; i++) {
      const m = attrs[i]!;
      if (m.attr.name === 'packet_type') return undefined;
      // Sent a second time: worth keeping its bytes.
      if (m.sends++ === 1 && !m.encoded) {
        const { name, value, mask } = m.attr;
        m.encoded = { key: encodeAttrs(flowKeyAttrs, { [name]: value }), mask: encodeAttrs(flowKeyAttrs, { [name]: mask }) };
      }
    }
    buf.set(header, start);
    off = start + header.length;
    if (ufid) off = encodeAttr(flowAttrs, 'ufid', ufid, buf, off);
    const keyAt = off;
    off += 4;
    for (let i = 0; i < attrs.length; i++) off = putKeyAttr(attrs[i]!, false, buf, off);
    putAttrHeader(buf, keyAt, off - keyAt, KEY_TYPE);
    if (actions && attrs.length > 0) {
      const maskAt = off;
      off += 4;
      for (let i = 0; i < attrs.length; i++) off = putKeyAttr(attrs[i]!, true, buf, off);
      putAttrHeader(buf, maskAt, off - maskAt, MASK_TYPE);
    }
    if (actions) {
      const actionsEnd = off + 4 + actions.length;
      if (align4(actionsEnd) > buf.length) return undefined;
      putAttrHeader(buf, off, 4 + actions.length, ACTIONS_TYPE);
      buf.set(actions, off + 4);
      off = align4(actionsEnd);
      for (let i = actionsEnd; i < off; i++) buf[i] = 0;
    }
  } catch {
    return undefined;
  }
  arenaOff = off;
  return arena.subarray(start, off);
}

/**
 * Items as blocks for operateBlocks: an array is one block; a synchronous source is cut
 * into blocks of `size` (nothing waits for them); an asynchronous one gives each item as
 * it comes, as a block of one (a slow source is not held back).
 */
function blocksOf<T>(items: AsyncIterable<T> | Iterable<T>, size: number): AsyncIterable<readonly T[]> | Iterable<readonly T[]> {
  if (Array.isArray(items)) return [items];
  if (Symbol.asyncIterator in items) {
    return (async function* () {
      for await (const item of items as AsyncIterable<T>) yield [item];
    })();
  }
  return (function* () {
    let block: T[] = [];
    for (const item of items as Iterable<T>) {
      block.push(item);
      if (block.length >= size) {
        yield block;
        block = [];
      }
    }
    if (block.length) yield block;
  })();
}

/**
 * A batch's items in input order, side by side with their operations (undefined for an
 * item that failed before sending: its error is next in `errors`) and the requests of the
 * others: no object per item.
 */
interface Batch<T> {
  items: T[];
  ops: (FlowOp | undefined)[];
  errors: Error[];
  /** Requests laid out for it (all but the items that failed before sending). */
  count: number;
  /** Where they are laid out. */
  out: MessageBuilder;
  /** The sequence number of its first request; the others follow. */
  firstSeq: number;
  /** Where its last request starts in `out`. */
  lastAt: number;
  /** The results of its requests that got an answer (OvsConnection.sendNumbered). */
  sent?: Promise<IndexedResult[]>;
  /** Whether the kernel log was open when it was sent (its refusals' reasons are there to read). */
  watched: boolean;
  /** Its EINVAL refusals' reasons, when read for it alone (watchBatches). */
  reasons?: string[];
}

/** The whole netlink messages at `indices` (ascending) of those laid out back to back in `messages`, in one new buffer. */
function messagesAt(messages: Buffer, indices: readonly number[]): Buffer {
  const all = parseMessages(messages);
  return Buffer.concat(indices.map((i) => {
    const payload = all[i]!.payload;
    const start = payload.byteOffset - messages.byteOffset - NLMSG_HDRLEN;
    return messages.subarray(start, start + align4(NLMSG_HDRLEN + payload.length));
  }));
}

/** A request of a batch the kernel refused, and the result its explained error goes to. */
interface Refusal<T> {
  result: BulkResult<T>;
  error: NetlinkError;
  op: FlowOp;
}

function newBatch<T>(out: MessageBuilder, firstSeq: number): Batch<T> {
  return { items: [], ops: [], errors: [], count: 0, out, firstSeq, lastAt: 0, watched: false };
}

/** The largest builder a bulk run lays out batches in again (a batch of large flows may grow one). */
const BUILDER_KEEP = 1 << 20;

function explainOpError(err: NetlinkError, op: FlowOp, dpName: string): NetlinkError {
  if (op.kind === 'put') return explainFlowError(err, 'put', op.mode ?? 'create', dpName, op.flow);
  if (op.kind === 'putAttrs') return explainFlowError(err, 'put', op.mode ?? 'create', dpName, op.ufid ? { ufid: op.ufid } : {});
  if (op.kind === 'delAttrs' || ((op.kind === 'encoded' || op.kind === 'written') && op.mode === undefined)) return explainFlowError(err, 'del', undefined, dpName, {});
  if (op.kind === 'encoded' || op.kind === 'written') return explainFlowError(err, 'put', op.mode, dpName, {});
  return explainFlowError(err, 'del', undefined, dpName, op.target);
}

/** A flow request's kernel error as a sentence that says what to do. */
export function explainFlowError(
  err: NetlinkError, what: 'put' | 'del' | 'get' | 'flush', mode: PutMode | undefined, dpName: string, flow: FlowTarget,
): NetlinkError {
  // Without context: the datapath-level meanings of EEXIST and ENOENT are not a flow's.
  const explained = explain(err);
  if (explained !== err) return explained as NetlinkError;
  const by = flow.ufid ? `with ufid:${formatUfid(flow.ufid)}` : 'with this key';
  switch (errnoName(err.errno)) {
    case 'ENODEV':
      return rewrap(err, `no datapath named ${dpName}`);
    case 'EEXIST':
      // The kernel looks the new key up through every mask it has: a wider flow that
      // matches it counts as there.
      if (what === 'put') return rewrap(err, `a flow ${by} already exists in ${dpName}, or a wider one that matches it (mod-flow changes its actions)`);
      break;
    case 'ENOENT':
      if (what === 'put' && mode === 'modify') return rewrap(err, `no flow ${by} in ${dpName} to modify (add-flow creates it; mod-flow --may-create does either)`);
      // Found through another mask, the kernel changes a flow only with the same key and mask.
      if (what === 'put' && mode === 'upsert') return rewrap(err, `a flow with another mask matches this key in ${dpName}, and the kernel changes only a flow with the same key and mask: delete that flow first`);
      if (what === 'del' || what === 'get') {
        const hint = flow.ufid ? '' : ' (a flow installed with a UFID may only be found by it: ufid:…)';
        return rewrap(err, `no flow ${by} in ${dpName}${hint}`);
      }
      break;
    case 'EINVAL':
      return rewrap(err, `the kernel refused the flow: Invalid argument${err.reason ? '' : ' (it logged no reason we could read)'}`);
    case 'EMSGSIZE':
      return rewrap(err, 'the flow\'s actions are too long for the kernel (EMSGSIZE)');
    case 'ENOMEM':
    case 'E2BIG':
    case 'EFBIG':
      return rewrap(err, `the kernel cannot hold this flow (${errnoName(err.errno)}): its table or the flow's actions are too large`);
    default:
      break;
  }
  return err;
}
