/**
 * A controller that answers a datapath's flow misses from an OpenFlow-like rule table
 * (src/ovs/openflow/): the kernel datapath starts with no flows, and every flow it gets
 * comes from here, on demand, as ovs-vswitchd's handler threads do it.
 *
 * For each miss upcall: walk the tables (Pipeline.translate) to get the datapath actions
 * and the megaflow mask, install that one megaflow (key as the kernel gave it, the mask,
 * the actions; a UFID derived from the masked key and mask, so the same megaflow asked
 * for twice is one flow), then execute the packet with the same actions so the first
 * packet is not lost. A recirculated packet (ct(table=N) became ct(...),recirc(ID))
 * misses again with recirc_id and its conntrack state in the key and is translated from
 * table N.
 *
 * Flows idle for longer than the idle timeout are deleted (a periodic dump, as the
 * revalidators of ovs-vswitchd do: a terse one, UFIDs and statistics alone, on a
 * connection of its own, so that misses are answered while it runs). New rules (setRules(), or a watched rules file that
 * changed) revalidate every kernel flow: its key is translated again; a flow whose new
 * translation needs bits its mask does not match is deleted (the next packet asks
 * again), one whose actions changed is modified in place, the rest stay.
 *
 * A malformed upcall, a translation problem or a kernel error is counted, reported as a
 * 'failure' event, and the controller goes on. All kernel changes (batches of upcalls,
 * deletion of idle flows, revalidation) run one job at a time, so flows are always
 * translated with the rules in force when they are installed.
 */
import { EventEmitter } from 'node:events';
import { type FSWatcher, readFileSync, watch } from 'node:fs';
import path from 'node:path';
import { monotonicMs } from './clock.js';
import { MessageBuilder, NLA_HDRLEN, NLA_TYPE_MASK, align4, attrHeaderType, attrLength, attrTypeField, checkedAttrLength, encodeAttrs, encodeList, encodeStruct, putAttrHeader } from '../nl/codec.js';
import { NetlinkError, type NetlinkOperation, isErrno } from '../nl/errors.js';
import { operation } from '../nl/family.js';
import { GENL_HDRLEN, NLMSG_HDRLEN, NLM_F_CREATE, NLM_F_REQUEST, closeGenlRequest } from '../nl/message.js';
import type { AttrValues } from '../nl/schema.js';
import { DumpInterruptedError, type IndexedResult } from '../nl/socket.js';
import { actionAttrs } from '../ovs/actions.js';
import { UFID_FLAGS, flowAttrs, flowFamily } from '../ovs/flow.js';
import { flowRefusal } from '../ovs/flow-check.js';
import { mhashAdd, mhashFinish } from '../ovs/hash.js';
import { ovsHeader } from '../ovs/header.js';
import { flowKeyAttrs } from '../ovs/keys.js';
import { PACKET_FIELDS, readField } from '../ovs/openflow/fields.js';
import { packetFamily } from '../ovs/packet.js';
import { Pipeline, RecircIds, type Translation } from '../ovs/openflow/pipeline.js';
import { type Rule, parseRules, ruleTrail } from '../ovs/openflow/rules.js';
import { OvsConnection } from './connection.js';
import { type DatapathRef, getDatapath, resolveDatapath } from './datapaths.js';
import { type Flow, type FlowOp, type FlowSpec, FlowTable, explainFlowError, flowFromMessage } from './flows.js';
import { explainExecuteError } from './packets.js';
import { UFID_LEN, UfidTable, wordAt } from './ufid-table.js';
import { type DispatchMode, type Upcall, UpcallListener } from './upcalls.js';

export interface ControllerOptions {
  datapath: DatapathRef;
  /** The rules text; default: read from rulesFile. */
  rules?: string;
  /** A rules file: read at start (unless `rules` is given) and reloaded when it changes. */
  rulesFile?: string;
  /** Names the rules in errors (default: the file name, or "rules"). */
  source?: string;
  /** Delete flows idle for longer than this (default 10000 ms, as ovs-vswitchd's max-idle). */
  idleTimeoutMs?: number;
  /**
   * How often to look for idle flows (default: half the idle timeout, at least 1000 ms: a
   * flow goes between one and one and a half idle timeouts after its last packet).
   */
  expiryIntervalMs?: number;
  /** Wait this long after the last change of the rules file before reloading (default 200 ms). */
  reloadDelayMs?: number;
  /** Upcall dispatch mode (default 'auto': the datapath's). */
  mode?: 'auto' | DispatchMode;
  /** Read queued upcalls with one recvmmsg for many (default true; UpcallListenerOptions.batchedReads). */
  batchedReads?: boolean;
  /**
   * Send each batch of puts and executes with a send(2) of its own and read its answers
   * there and then (default true; GenlSocket.sendMessagesAtOnce), rather than through the
   * netlink binding, whose ACK is read when the event loop comes to it.
   */
  sendsAtOnce?: boolean;
}

export interface ControllerStats {
  /** miss upcalls handled */
  misses: number;
  /** megaflows installed */
  installed: number;
  /** misses whose megaflow the kernel already had (another upcall installed it first) */
  existing: number;
  /** packets executed */
  executed: number;
  /** malformed upcalls, translation problems, kernel errors */
  errors: number;
  /** flows deleted as idle */
  expired: number;
  /** rule sets loaded after the first */
  reloads: number;
  /** revalidation after reloads: flows kept, modified, deleted */
  kept: number;
  modified: number;
  deleted: number;
}

/** A megaflow the controller installed. */
export interface InstalledFlow {
  flow: FlowSpec & { ufid: Buffer };
  translation: Translation;
  upcall: Upcall;
}

export interface ReloadResult {
  rules: number;
  kept: number;
  modified: number;
  deleted: number;
}

interface ControllerEvents {
  /** A megaflow went into the kernel. */
  install: [InstalledFlow];
  /** Something went wrong for one upcall or flow; the controller goes on. */
  failure: [Error, string];
  /** New rules are in force and the kernel's flows revalidated. */
  reload: [ReloadResult];
  /** Idle flows were deleted. */
  expire: [number];
  /**
   * The datapath was deleted under the controller (a request answered ENODEV and the
   * datapath is no more): nothing is left to serve; close() still ends the controller.
   * Emitted once.
   */
  gone: [string];
}

/**
 * The UFID of a megaflow: a hash of its mask and of the key under the mask, so that two
 * upcalls of one megaflow name the same flow.
 */
export function megaflowUfid(key: AttrValues, mask: AttrValues): Buffer {
  const ufid = Buffer.alloc(UFID_LEN);
  const maskBytes = encodeAttrs(flowKeyAttrs, mask);
  ufidOf(encodeAttrs(flowKeyAttrs, key), maskBytes, lanesAfter(maskBytes), new Int32Array(KEY_TYPES), ufid);
  return ufid;
}

/** Key attribute types an encoded key is indexed by (OVS_KEY_ATTR_* are below this). */
const KEY_TYPES = 128;

/**
 * megaflowUfid() from the encoded key and mask: the UFID hash (see LANE_SEEDS) of the mask,
 * then the key's bytes under it laid out as the mask is (each of the mask's attributes
 * with the key's payload ANDed in; zeros where the key lacks it), written to `out`.
 * `maskLanes`: lanesAfter(maskBytes), the hash of the first half, the same for every key
 * under the mask. `at` is scratch room, KEY_TYPES long.
 */
function ufidOf(keyBytes: Buffer, maskBytes: Buffer, maskLanes: Uint32Array, at: Int32Array, out: Buffer): void {
  at.fill(-1);
  for (let off = 0; off < keyBytes.length;) {
    const len = checkedAttrLength(keyBytes, off, keyBytes.length);
    const type = attrTypeField(keyBytes, off) & NLA_TYPE_MASK;
    if (type < KEY_TYPES && at[type] === -1) at[type] = off;
    off += align4(len);
  }
  // The masked key goes into the lanes a word at a time as it is worked out, not laid out
  // in a buffer first (a byte loop and a second pass over the bytes, for every miss).
  let h0 = maskLanes[0]!;
  let h1 = maskLanes[1]!;
  let h2 = maskLanes[2]!;
  let h3 = maskLanes[3]!;
  const n = maskBytes.length;
  for (let off = 0; off < n;) {
    const len = checkedAttrLength(maskBytes, off, n);
    const type = attrTypeField(maskBytes, off) & NLA_TYPE_MASK;
    const k = type < KEY_TYPES ? at[type]! : -1;
    const keyEnd = k < 0 ? 0 : k + attrLength(keyBytes, k);
    const padded = align4(len);
    // The mask's header and padding as they are; its payload ANDed with the key's.
    for (let i = 0; i < padded; i += 4) {
      let w = wordAt(maskBytes, off + i);
      if (i > 0) {
        if (i + 4 <= len && k >= 0 && k + i + 4 <= keyEnd) w &= wordAt(keyBytes, k + i);
        else w = maskedWordByBytes(maskBytes, off, len, keyBytes, k, keyEnd, i);
      }
      h0 = mhashAdd(h0, w);
      h1 = mhashAdd(h1, w);
      h2 = mhashAdd(h2, w);
      h3 = mhashAdd(h3, w);
    }
    off += padded;
  }
  ufidLanes[0] = h0;
  ufidLanes[1] = h1;
  ufidLanes[2] = h2;
  ufidLanes[3] = h3;
  finishLanes(ufidLanes, 2 * n, out);
}

/**
 * Word `i` of the mask's attribute at `off` (`len` bytes, its header included) with the
 * key's attribute at `k` ANDed in, a byte at a time: for a word that is partly padding
 * (the mask's, as it is) or runs past the key's attribute (zeros, as a key without it).
 */
function maskedWordByBytes(mask: Buffer, off: number, len: number, key: Buffer, k: number, keyEnd: number, i: number): number {
  let w = 0;
  for (let b = 0; b < 4; b++) {
    const j = i + b;
    const m = mask[off + j]!;
    w |= (j >= len ? m : k >= 0 && k + j < keyEnd ? m & key[k + j]! : 0) << (8 * b);
  }
  return w;
}

/** ufidOf()'s hash lanes, reused from one miss to the next. */
const ufidLanes = new Uint32Array(4);

/**
 * The seeds of the UFID hash's four lanes. The UFID hash: a 128-bit hash of a byte string
 * whose length is a multiple of 4 (attributes are padded to 4 bytes): four 32-bit
 * MurmurHash3 lanes, each from its own seed, in big-endian order. Not cryptographic, as
 * ovs-vswitchd's UFIDs are not (hash_bytes128, MurmurHash3 too): packets crafted to give
 * two megaflows one UFID only keep the second from being installed (EEXIST: its packets
 * keep missing, and are still executed).
 * Computed in JavaScript because a call into node:crypto per miss costs more than this.
 * In three steps (lanesAfter, addWords, finishLanes) so that the lanes after a mask are
 * computed once per translation, not per miss.
 */
const LANE_SEEDS = [0x9747b28c, 0x2545f491, 0x5bd1e995, 0x68e31da4] as const;

/** The UFID hash's lanes after the words of `bytes`, from the seeds. */
function lanesAfter(bytes: Buffer): Uint32Array {
  const lanes = Uint32Array.from(LANE_SEEDS);
  addWords(lanes, bytes, bytes.length);
  return lanes;
}

/** Adds the words of bytes[0, length) to the lanes. */
function addWords(lanes: Uint32Array, bytes: Buffer, length: number): void {
  let h0 = lanes[0]!;
  let h1 = lanes[1]!;
  let h2 = lanes[2]!;
  let h3 = lanes[3]!;
  for (let i = 0; i + 4 <= length; i += 4) {
    const k = wordAt(bytes, i);
    h0 = mhashAdd(h0, k);
    h1 = mhashAdd(h1, k);
    h2 = mhashAdd(h2, k);
    h3 = mhashAdd(h3, k);
  }
  lanes[0] = h0;
  lanes[1] = h1;
  lanes[2] = h2;
  lanes[3] = h3;
}

/** The hash of `length` bytes whose words the lanes took, written to `out`. */
function finishLanes(lanes: Uint32Array, length: number, out: Buffer): void {
  for (let i = 0; i < 4; i++) out.writeUInt32BE(mhashFinish((lanes[i]! ^ length) >>> 0), 4 * i);
}

/** What every megaflow and execute of one translation shares, encoded once. */
interface EncodedTranslation {
  mask: Buffer;
  /** lanesAfter(mask): the part of each UFID under this mask that is the mask's. */
  maskLanes: Uint32Array;
  actions: Buffer;
  /** Why the kernel would refuse the megaflow (flow-check), if it would. */
  refusal?: Error;
  /** Whether that is its actions: then the packet's execute would be refused too. */
  actionsRefused?: boolean;
}

/** A put or an execute of a sendmsg, and what its result is counted against. */
interface Sent {
  upcall: Upcall;
  translation: Translation;
  /** A put's: where its UFID is in the sendmsg's bytes; an execute's: -1. */
  ufidAt: number;
}

/** The requests of one sendmsg, and what each is for. */
interface BuiltSendmsg {
  sent: Sent[];
  messages: Buffer;
  ops: NetlinkOperation[];
}

/** Upcalls per sendmsg (ovs-vswitchd's handlers take up to 64 at a time). */
const UPCALL_BATCH = 64;

// Header types of the attributes appended encoded already, as the codec writes them.
const PUT_UFID = attrHeaderType(flowAttrs, 'ufid');
const PUT_KEY = attrHeaderType(flowAttrs, 'key');
const PUT_MASK = attrHeaderType(flowAttrs, 'mask');
const PUT_ACTIONS = attrHeaderType(flowAttrs, 'actions');
const EXECUTE_PACKET = attrHeaderType(packetFamily.attrs, 'packet');
const EXECUTE_KEY = attrHeaderType(packetFamily.attrs, 'key');
const EXECUTE_ACTIONS = attrHeaderType(packetFamily.attrs, 'actions');
const PUT_OP = operation(flowFamily, 'new');
const PUT_CMD = flowFamily.commands['new']!;
const EXECUTE_CMD = packetFamily.commands['execute']!;
const EXECUTE_OP = operation(packetFamily, 'execute');

/** Appends an attribute whose payload is encoded already (padding zeroed). */
function appendAttr(b: MessageBuilder, type: number, payload: Buffer): void {
  const at = b.reserve(NLA_HDRLEN);
  putAttrHeader(b.buffer, at, NLA_HDRLEN + payload.length, type);
  b.append(payload);
  b.align();
}

/** What an install event and a failed put's report tell of a put. */
function installedOf(s: Sent, messages: Buffer): InstalledFlow {
  const t = s.translation;
  const ufid = Buffer.from(messages.subarray(s.ufidAt, s.ufidAt + UFID_LEN));
  return { flow: { key: s.upcall.key, mask: t.mask, actions: t.actions, ufid }, translation: t, upcall: s.upcall };
}

/** Whether every bit of `inner` is set in `outer` (field by field). */
function maskCovers(outer: AttrValues, inner: AttrValues): boolean {
  for (const f of PACKET_FIELDS.values()) {
    if (readField(inner, f) & ~readField(outer, f)) return false;
  }
  return true;
}

function sameActions(a: AttrValues[], b: AttrValues[]): boolean {
  return encodeList(actionAttrs, a).equals(encodeList(actionAttrs, b));
}

/** Idle flows deleted per job: misses wait for no more than this many deletes. */
const EXPIRY_CHUNK = 256;

/** The idle scan's dump: the kernel leaves out key, mask and actions of flows with a UFID. */
const TERSE_DUMP = { ufid_flags: UFID_FLAGS.omit_key | UFID_FLAGS.omit_mask | UFID_FLAGS.omit_actions };

export class Controller extends EventEmitter<ControllerEvents> {
  readonly datapath: { name: string; ifindex: number };
  readonly recirc = new RecircIds();
  private pipeline: Pipeline;
  private rulesText: string;
  private readonly source: string;
  private readonly conn: OvsConnection;
  private readonly table: FlowTable;
  /** The idle scan's dumps: a socket of their own, so that they hold up no miss. */
  private readonly scanConn: OvsConnection;
  private readonly listener: UpcallListener;
  private readonly counters: ControllerStats = {
    misses: 0, installed: 0, existing: 0, executed: 0, errors: 0, expired: 0, reloads: 0, kept: 0, modified: 0, deleted: 0,
  };
  /**
   * When (monotonicMs) each flow we know of was installed or first seen: a never-used
   * flow's idle time counts from then, and an idle flow installed again since a scan
   * began is not deleted for it.
   */
  private readonly seen = new UfidTable(1024);
  private readonly idleTimeoutMs: number;
  private work: Promise<void> = Promise.resolve();
  private expiryTimer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  /** Whether 'gone' was emitted. */
  private goneSeen = false;
  /** Set by close(): no new scan, no further chunk of deletes. */
  private shutdown: Promise<void> | undefined;
  private watcher: FSWatcher | undefined;
  private base: Promise<{ flow: number; packet: number; header: Buffer }> | undefined;
  private readonly encodedTranslations = new WeakMap<Translation, EncodedTranslation>();
  /** ufidOf()'s scratch room, and where it writes a miss's UFID. */
  private readonly keyIndex = new Int32Array(KEY_TYPES);
  private readonly ufid = Buffer.alloc(UFID_LEN);
  /** The UFIDs of the megaflows the batch being handled puts (one put per megaflow). */
  private readonly inBatch = new UfidTable(UPCALL_BATCH);
  /** Where the requests of the next sendmsg are built. */
  private readonly out = new MessageBuilder(1 << 16);
  private reloadTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private running: Promise<void> | undefined;

  private constructor(
    conn: OvsConnection, scanConn: OvsConnection, dp: { name: string; ifindex: number }, listener: UpcallListener,
    rules: Rule[], text: string, source: string, idleTimeoutMs: number,
  ) {
    super();
    this.conn = conn;
    this.scanConn = scanConn;
    this.datapath = dp;
    this.listener = listener;
    this.pipeline = new Pipeline(rules);
    this.rulesText = text;
    this.source = source;
    this.idleTimeoutMs = idleTimeoutMs;
    this.table = new FlowTable(conn, dp);
  }

  /**
   * Parses the rules (a RuleParseError stops here), claims the datapath's upcalls and
   * starts answering them. Flows already in the datapath are revalidated against the rules.
   */
  static async start(options: ControllerOptions): Promise<Controller> {
    const source = options.source ?? (options.rulesFile ? path.basename(options.rulesFile) : 'rules');
    if (options.rules === undefined && options.rulesFile === undefined) throw new TypeError('Controller.start needs rules or rulesFile');
    const text = options.rules ?? readFileSync(options.rulesFile!, 'utf8');
    const rules = parseRules(text, { source });
    const conn = new OvsConnection();
    const scanConn = new OvsConnection();
    let listener: UpcallListener | undefined;
    try {
      const dp = await resolveDatapath(conn, options.datapath);
      if (options.sendsAtOnce ?? true) await conn.socket.sendsAtOnce();
      listener = await UpcallListener.open({
        datapath: { name: dp.name, ifindex: dp.ifindex }, mode: options.mode ?? 'auto', connection: conn, batchedReads: options.batchedReads ?? true,
      });
      const c = new Controller(conn, scanConn, { name: dp.name, ifindex: dp.ifindex }, listener, rules, text, source, options.idleTimeoutMs ?? 10_000);
      listener.on('malformed', (err) => c.fail(err, 'malformed upcall'));
      listener.on('overrun', (err) => c.fail(err, 'upcall socket overrun: upcalls were lost'));
      listener.on('warning', (err) => c.fail(err, 'upcall listener'));
      await c.enqueue(() => c.revalidate().then(() => undefined));
      c.running = c.serve();
      c.scheduleExpiry(options.expiryIntervalMs ?? Math.max(1000, Math.floor(c.idleTimeoutMs / 2)));
      if (options.rulesFile) c.watchRules(options.rulesFile, options.reloadDelayMs ?? 200);
      return c;
    } catch (err) {
      await listener?.close().catch(() => undefined);
      conn.close();
      scanConn.close();
      throw err;
    }
  }

  /** Batches of puts and executes sent at once (ControllerOptions.sendsAtOnce); undefined when they are not. */
  get batchesSentAtOnce(): number | undefined {
    return this.conn.socket.batchesSentAtOnce;
  }

  /** The upcall dispatch mode in use. */
  get mode(): DispatchMode {
    return this.listener.mode;
  }

  /** The rules in force. */
  get rules(): readonly Rule[] {
    return this.pipeline.rules;
  }

  stats(): ControllerStats {
    return { ...this.counters };
  }

  /** Runs `job` after everything queued before it; its failure is reported, not thrown. */
  private enqueue<T>(job: () => Promise<T>): Promise<T | undefined> {
    const run = this.work.then(() => (this.closed ? undefined : job()));
    this.work = run.then(() => undefined, (err: unknown) => this.fail(err, 'controller'));
    return run.catch(() => undefined);
  }

  private fail(err: unknown, what: string): void {
    this.counters.errors++;
    this.emit('failure', err instanceof Error ? err : new Error(String(err)), what);
    if (isErrno(err, 'ENODEV') && !this.goneSeen && !this.closed) {
      // ENODEV is also a port's answer: the datapath is asked whether it is still there.
      getDatapath(this.scanConn, this.datapath.name).then(() => undefined, (e: unknown) => {
        if (!isErrno(e, 'ENODEV') || this.goneSeen) return;
        this.goneSeen = true;
        this.emit('gone', this.datapath.name);
      });
    }
  }

  private async serve(): Promise<void> {
    for await (const batch of this.listener.batches()) {
      await this.enqueue(() => this.handle(batch));
    }
  }

  /** The families' ids and the ovs_header, for requests built here. */
  private requestBase(): Promise<{ flow: number; packet: number; header: Buffer }> {
    this.base ??= Promise.all([this.conn.family(flowFamily), this.conn.family(packetFamily)]).then(([flow, packet]) => ({
      flow: flow.id, packet: packet.id, header: encodeStruct(ovsHeader, { dp_ifindex: this.datapath.ifindex }),
    }));
    return this.base;
  }

  /** Mask, actions and the flow check of a translation, once per translation object. */
  private encodedOf(t: Translation, key: AttrValues): EncodedTranslation {
    let e = this.encodedTranslations.get(t);
    if (!e) {
      const mask = encodeAttrs(flowKeyAttrs, t.mask);
      e = { mask, maskLanes: lanesAfter(mask), actions: encodeList(actionAttrs, t.actions) };
      const refusal = flowRefusal(key, t.mask, t.actions);
      if (refusal) {
        e.refusal = refusal.error;
        e.actionsRefused = refusal.inActions;
      }
      this.encodedTranslations.set(t, e);
    }
    return e;
  }

  /**
   * One batch of upcalls: translate each miss (a translation is reused for keys that
   * agree on what it depended on), then send, UPCALL_BATCH upcalls per sendmsg, each
   * megaflow's put followed by its packet's execute, with one ACK per sendmsg; the
   * upcall's own key bytes go back in both. All are sent before any reply is awaited.
   */
  private async handle(batch: Upcall[]): Promise<void> {
    const base = await this.requestBase();
    const inBatch = this.inBatch;
    inBatch.clear();
    const built: BuiltSendmsg[] = [];
    let sent: Sent[] = [];
    let upcalls = 0;
    for (const up of batch) {
      if (up.cmd !== 'miss') continue;
      this.counters.misses++;
      let t: Translation;
      try {
        t = this.pipeline.translateCached(up.key, this.recirc);
      } catch (err) {
        this.fail(err, `translating a miss from port ${up.inPort}`);
        continue;
      }
      if (t.problem) this.fail(new Error(t.problem), `translating a miss from port ${up.inPort}`);
      const e = this.encodedOf(t, up.key);
      const keyBytes = up.keyBytes ?? encodeAttrs(flowKeyAttrs, up.key);
      ufidOf(keyBytes, e.mask, e.maskLanes, this.keyIndex, this.ufid);
      if (inBatch.set(this.ufid, 0)) {
        if (e.refusal) this.fail(e.refusal, `installing a flow for a miss from port ${up.inPort} [${ruleTrail(this.source, t.matched.map((r) => r.line))}]`);
        else sent.push({ upcall: up, translation: t, ufidAt: this.appendPut(base, keyBytes, e) });
      }
      // Actions the kernel would refuse for the flow it refuses for the packet as well: the
      // packet is dropped, and the miss counts one error, not two.
      if (t.actions.length && !e.actionsRefused) {
        this.appendExecute(base, up.packet, keyBytes, e);
        sent.push({ upcall: up, translation: t, ufidAt: -1 });
      }
      if (++upcalls % UPCALL_BATCH === 0 && sent.length) {
        built.push(this.takeBuilt(sent));
        sent = [];
      }
    }
    if (sent.length) built.push(this.takeBuilt(sent));
    // Sent once every miss of the batch is translated, as the binding sends all but the
    // first sendmsg of a batch (it queues a sendmsg made while an earlier one's completion
    // is pending). In the test VM, sends at once between the translations set up ~6% fewer
    // flows a second than through the binding (medians of 21 bursts), after them about as
    // many (within the bursts' spread, which is wide).
    await Promise.all(built.map((b) => this.send(b)));
  }

  /** Appends the put of a miss's megaflow (UFID in this.ufid); returns where its UFID is. */
  private appendPut(base: { flow: number; header: Buffer }, keyBytes: Buffer, e: EncodedTranslation): number {
    const b = this.out;
    const start = b.reserve(NLMSG_HDRLEN + GENL_HDRLEN);
    b.append(base.header);
    const ufidAt = b.length + NLA_HDRLEN;
    appendAttr(b, PUT_UFID, this.ufid);
    appendAttr(b, PUT_KEY, keyBytes);
    appendAttr(b, PUT_MASK, e.mask);
    appendAttr(b, PUT_ACTIONS, e.actions);
    closeGenlRequest(b, start, base.flow, PUT_CMD, flowFamily.version, NLM_F_REQUEST | NLM_F_CREATE, 0);
    return ufidAt;
  }

  /** Appends the execute of a miss's packet. */
  private appendExecute(base: { packet: number; header: Buffer }, packet: Buffer, keyBytes: Buffer, e: EncodedTranslation): void {
    const b = this.out;
    const start = b.reserve(NLMSG_HDRLEN + GENL_HDRLEN);
    b.append(base.header);
    appendAttr(b, EXECUTE_PACKET, packet);
    appendAttr(b, EXECUTE_KEY, keyBytes);
    appendAttr(b, EXECUTE_ACTIONS, e.actions);
    closeGenlRequest(b, start, base.packet, EXECUTE_CMD, packetFamily.version, NLM_F_REQUEST, 0);
  }

  /**
   * The requests built since the last take, for one sendmsg: a copy (the next requests are
   * built in the same place meanwhile, and the binding may hold on to a sendmsg's bytes
   * until the kernel has them). Copied by TypedArray set, not Buffer.from: its JavaScript
   * (argument checks, _copyActual) ran once a sendmsg, too seldom to be compiled before
   * the first bursts were over.
   */
  private takeBuilt(sent: Sent[]): BuiltSendmsg {
    const bytes = this.out.bytes();
    const messages = Buffer.allocUnsafe(bytes.length);
    messages.set(bytes);
    this.out.truncate();
    const ops = new Array<NetlinkOperation>(sent.length);
    for (let i = 0; i < sent.length; i++) ops[i] = sent[i]!.ufidAt < 0 ? EXECUTE_OP : PUT_OP;
    return { sent, messages, ops };
  }

  /** Sends the requests of one sendmsg; counts their results. */
  private async send({ sent, messages, ops }: BuiltSendmsg): Promise<void> {
    let answered: IndexedResult[];
    try {
      answered = await this.conn.socket.sendMessagesAtOnce(messages, sent.length, ops);
    } catch (err) {
      answered = sent.map((_, index) => ({ index, replies: [], error: err as NetlinkError }));
    }
    const now = Number(monotonicMs());
    const announce = this.listenerCount('install') > 0;
    // Answered: the requests that got an error (or replies, which these do not ask for).
    let a = 0;
    for (let i = 0; i < sent.length; i++) {
      const s = sent[i]!;
      const error = answered[a]?.index === i ? answered[a++]!.error : undefined;
      if (error) this.refused(s, error, messages);
      else if (s.ufidAt < 0) this.counters.executed++;
      else {
        this.counters.installed++;
        this.seen.set(messages, now, s.ufidAt);
        if (announce) this.emit('install', installedOf(s, messages));
      }
    }
  }

  /** A put or execute the kernel refused: counted, and reported unless the flow was there. */
  private refused(s: Sent, error: NetlinkError, messages: Buffer): void {
    if (s.ufidAt < 0) this.fail(explainExecuteError(error, this.datapath.name, s.upcall.packet.length, []), 'executing a packet');
    else if (isErrno(error, 'EEXIST')) this.counters.existing++;
    else this.fail(explainFlowError(error, 'put', 'create', this.datapath.name, installedOf(s, messages).flow), `installing a flow for a miss from port ${s.upcall.inPort}`);
  }

  /** Looks for idle flows every `intervalMs`, counted from the end of the last look. */
  private scheduleExpiry(intervalMs: number): void {
    this.expiryTimer = setTimeout(() => {
      this.scanning = this.expire()
        .catch((err: unknown) => this.fail(err, 'looking for idle flows'))
        .finally(() => {
          this.scanning = undefined;
          if (!this.shutdown) this.scheduleExpiry(intervalMs);
        });
    }, intervalMs);
  }

  /**
   * Deletes the flows whose last packet is older than the idle timeout. The dump (terse:
   * UFIDs, statistics, last use) runs outside the job queue; the deletes are queued, a
   * chunk per job, so misses wait for one chunk at most.
   */
  private async expire(): Promise<void> {
    const scanStart = Number(monotonicMs());
    const { flows, complete } = await this.scan();
    const now = Number(monotonicMs());
    const idle: Flow[] = [];
    const present = new UfidTable(flows.length);
    for (const f of flows) {
      // Listed twice: an interrupted dump.
      if (f.ufid && !present.set(f.ufid, 0)) continue;
      let since = f.used === undefined ? undefined : Number(f.used);
      if (since === undefined && f.ufid) {
        since = this.seen.get(f.ufid) ?? now;
        this.seen.set(f.ufid, since);
      }
      if (since !== undefined && now - since > this.idleTimeoutMs) idle.push(f);
    }
    // Gone from the kernel, unless the dump was interrupted (it may have skipped flows) or
    // the flow was installed since the dump began (it may not be in it).
    if (complete) this.seen.retain((ufid, since) => present.has(ufid) || since >= scanStart);
    let deleted = 0;
    for (let i = 0; i < idle.length && !this.shutdown; i += EXPIRY_CHUNK) {
      const chunk = idle.slice(i, i + EXPIRY_CHUNK);
      deleted += (await this.enqueue(() => this.deleteIdle(chunk, scanStart))) ?? 0;
    }
    if (deleted) {
      this.counters.expired += deleted;
      this.emit('expire', deleted);
    }
  }

  /**
   * Every flow of the datapath as its UFID, statistics and last use (a flow without a UFID
   * comes with its key). Not retried when the kernel flags the dump as interrupted by
   * concurrent changes, a busy datapath's usual case: `complete` is false, and flows may
   * be missing or repeated.
   */
  private async scan(): Promise<{ flows: Flow[]; complete: boolean }> {
    const flows: Flow[] = [];
    const request = { header: { dp_ifindex: this.datapath.ifindex }, attrs: TERSE_DUMP, context: { datapath: this.datapath.name } };
    try {
      for await (const msg of this.scanConn.dump(flowFamily, 'get', request)) flows.push(flowFromMessage(msg));
    } catch (err) {
      if (!(err instanceof DumpInterruptedError)) throw err;
      return { flows, complete: false };
    }
    return { flows, complete: true };
  }

  /**
   * Deletes idle flows of a scan that began at `scanStart`, except those a miss installed
   * since: the same UFID, but a new flow, whose idle time starts now.
   */
  private async deleteIdle(flows: Flow[], scanStart: number): Promise<number> {
    const stillIdle = flows.filter((f) => !f.ufid || (this.seen.get(f.ufid) ?? 0) < scanStart);
    const n = await this.deleteFlows(stillIdle, 'deleting an idle flow');
    for (const f of stillIdle) if (f.ufid) this.seen.delete(f.ufid);
    return n;
  }

  private async deleteFlows(flows: Flow[], what: string): Promise<number> {
    let n = 0;
    const ops = this.table.operateBatches(flows, (f): FlowOp => ({ kind: 'del', target: f.ufid ? { ufid: f.ufid } : { key: f.key! } }));
    for await (const batch of ops) {
      for (const r of batch) {
        if (!r.error) n++;
        else if (!isErrno(r.error, 'ENOENT')) this.fail(r.error, what);
      }
    }
    return n;
  }

  /**
   * Puts new rules in force and revalidates the kernel's flows. A rules text that does
   * not parse throws its RuleParseError and changes nothing.
   */
  async setRules(text: string): Promise<ReloadResult> {
    const rules = parseRules(text, { source: this.source });
    const result = await this.enqueue(async () => {
      this.pipeline = new Pipeline(rules);
      this.rulesText = text;
      this.counters.reloads++;
      const r = await this.revalidate();
      this.emit('reload', r);
      return r;
    });
    if (!result) throw new Error(this.closed ? 'the controller is closed' : 'the new rules are in force, but revalidating the kernel flows failed (see the failure event)');
    return result;
  }

  /** Translates every kernel flow's key again: keep, modify or delete it. */
  private async revalidate(): Promise<ReloadResult> {
    const result: ReloadResult = { rules: this.pipeline.rules.length, kept: 0, modified: 0, deleted: 0 };
    const stale: Flow[] = [];
    const changed: FlowSpec[] = [];
    for (const f of await this.table.list()) {
      if (!f.key || !f.mask || !f.actions) continue;
      let t: Translation;
      try {
        t = this.pipeline.translate(f.key, this.recirc);
      } catch (err) {
        this.fail(err, 'revalidating a flow');
        stale.push(f);
        continue;
      }
      // The kernel's key of a flow with a UFID is the masked key: one packet of the
      // megaflow. If the new decision needs bits the old mask does not match, packets of
      // the megaflow may now differ: let them miss again.
      if (!maskCovers(f.mask, t.mask)) stale.push(f);
      else if (!sameActions(f.actions, t.actions)) {
        const spec: FlowSpec = { key: f.key, mask: f.mask, actions: t.actions };
        if (f.ufid) spec.ufid = f.ufid;
        changed.push(spec);
      } else result.kept++;
    }
    result.deleted = await this.deleteFlows(stale, 'deleting a stale flow');
    for await (const batch of this.table.operateBatches(changed, (flow): FlowOp => ({ kind: 'put', flow, mode: 'modify' }))) {
      for (const r of batch) {
        if (!r.error) result.modified++;
        else if (!isErrno(r.error, 'ENOENT')) this.fail(r.error, 'modifying a flow after new rules');
      }
    }
    this.counters.kept += result.kept;
    this.counters.modified += result.modified;
    this.counters.deleted += result.deleted;
    return result;
  }

  private watchRules(file: string, delayMs: number): void {
    const dir = path.dirname(path.resolve(file));
    const base = path.basename(file);
    // The directory, not the file: editors replace a file by renaming a new one over it.
    this.watcher = watch(dir, (_event, name) => {
      if (name !== null && name !== base) return;
      clearTimeout(this.reloadTimer);
      this.reloadTimer = setTimeout(() => this.reloadFile(file), delayMs);
    });
    this.watcher.on('error', (err) => this.fail(err, `watching ${file}`));
  }

  private reloadFile(file: string): void {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      this.fail(err, `reading ${file}`);
      return;
    }
    if (text === this.rulesText) return;
    this.setRules(text).catch((err: unknown) => this.fail(err, `new rules in ${file} (the old rules stay)`));
  }

  /** Stops: the datapath's upcall settings are put back; installed flows stay until idle. */
  close(): Promise<void> {
    this.shutdown ??= this.stop();
    return this.shutdown;
  }

  private async stop(): Promise<void> {
    clearTimeout(this.expiryTimer);
    clearTimeout(this.reloadTimer);
    this.watcher?.close();
    await this.scanning;
    await this.work;
    this.closed = true;
    try {
      // A deleted datapath has no upcall settings left to put back.
      await this.listener.close().catch((err: unknown) => { if (!this.goneSeen) throw err; });
      await this.running;
    } finally {
      this.table.close();
      this.conn.close();
      this.scanConn.close();
    }
  }
}
