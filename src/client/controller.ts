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
import { NLA_HDRLEN, NLA_TYPE_MASK, align4, attrLength, attrTypeField, encodeAttrs, encodeList, encodeStruct, putAttrHeader } from '../nl/codec.js';
import { NetlinkError, errnoName } from '../nl/errors.js';
import { operation } from '../nl/family.js';
import { type GenlRequest, NLM_F_CREATE } from '../nl/message.js';
import type { AttrValues } from '../nl/schema.js';
import { DumpInterruptedError, type RequestResult } from '../nl/socket.js';
import { actionAttrs } from '../ovs/actions.js';
import { UFID_FLAGS, flowAttrs, flowFamily } from '../ovs/flow.js';
import { checkFlowMatch } from '../ovs/flow-check.js';
import { mhashAdd, mhashAddTail, mhashFinish } from '../ovs/hash.js';
import { ovsHeader } from '../ovs/header.js';
import { flowKeyAttrs } from '../ovs/keys.js';
import { PACKET_FIELDS, readField } from '../ovs/openflow/fields.js';
import { packetFamily } from '../ovs/packet.js';
import { Pipeline, RecircIds, type Translation } from '../ovs/openflow/pipeline.js';
import { type Rule, parseRules } from '../ovs/openflow/rules.js';
import { OvsConnection } from './connection.js';
import { type DatapathRef, resolveDatapath } from './datapaths.js';
import { type Flow, type FlowOp, type FlowSpec, FlowTable, explainFlowError, flowFromMessage } from './flows.js';
import { explainExecuteError } from './packets.js';
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
}

function monotonicMs(): bigint {
  return process.hrtime.bigint() / 1_000_000n;
}

/**
 * The UFID of a megaflow: a hash of its mask and of the key under the mask, so that two
 * upcalls of one megaflow name the same flow.
 */
export function megaflowUfid(key: AttrValues, mask: AttrValues): Buffer {
  return ufidOf(encodeAttrs(flowKeyAttrs, key), encodeAttrs(flowKeyAttrs, mask), new Int32Array(KEY_TYPES));
}

/** Key attribute types an encoded key is indexed by (OVS_KEY_ATTR_* are below this). */
const KEY_TYPES = 128;

/**
 * megaflowUfid() from the encoded key and mask: a 128-bit hash (hash128) of the mask,
 * then the key's bytes under it laid out as the mask is (each of the mask's attributes
 * with the key's payload ANDed in; zeros where the key lacks it). `at` is scratch room,
 * KEY_TYPES long.
 */
function ufidOf(keyBytes: Buffer, maskBytes: Buffer, at: Int32Array): Buffer {
  at.fill(-1);
  for (let off = 0; off + NLA_HDRLEN <= keyBytes.length;) {
    const len = attrLength(keyBytes, off);
    if (len < NLA_HDRLEN) break;
    const type = attrTypeField(keyBytes, off) & NLA_TYPE_MASK;
    if (type < KEY_TYPES && at[type] === -1) at[type] = off;
    off += align4(len);
  }
  const n = maskBytes.length;
  if (ufidInput.length < 2 * n) ufidInput = Buffer.alloc(4 * n);
  const input = ufidInput;
  maskBytes.copy(input, 0);
  maskBytes.copy(input, n);
  for (let off = 0; off + NLA_HDRLEN <= n;) {
    const len = attrLength(maskBytes, off);
    if (len < NLA_HDRLEN) break;
    const type = attrTypeField(maskBytes, off) & NLA_TYPE_MASK;
    const k = type < KEY_TYPES ? at[type]! : -1;
    const keyEnd = k < 0 ? 0 : k + attrLength(keyBytes, k);
    for (let i = NLA_HDRLEN; i < len; i++) {
      const kb = k >= 0 && k + i < keyEnd ? keyBytes[k + i]! : 0;
      input[n + off + i] = maskBytes[off + i]! & kb;
    }
    off += align4(len);
  }
  return hash128(input, 2 * n);
}

/** ufidOf()'s hash input, reused from one miss to the next. */
let ufidInput = Buffer.alloc(512);

/** Seeds of hash128's four lanes. */
const LANE_SEEDS = [0x9747b28c, 0x2545f491, 0x5bd1e995, 0x68e31da4] as const;

/**
 * A 128-bit hash of `bytes`' first `length` bytes: four 32-bit MurmurHash3 lanes, each from its own seed, in
 * big-endian order. Not cryptographic, as ovs-vswitchd's UFIDs are not (hash_bytes128,
 * MurmurHash3 too): packets crafted to give two megaflows one UFID only keep the second
 * from being installed (EEXIST: its packets keep missing, and are still executed).
 * Computed in JavaScript because a call into node:crypto per miss costs more than this.
 */
function hash128(bytes: Buffer, length: number): Buffer {
  let h0: number = LANE_SEEDS[0];
  let h1: number = LANE_SEEDS[1];
  let h2: number = LANE_SEEDS[2];
  let h3: number = LANE_SEEDS[3];
  const words = length >>> 2;
  for (let i = 0; i < words; i++) {
    const k = bytes.readUInt32LE(4 * i);
    h0 = mhashAdd(h0, k);
    h1 = mhashAdd(h1, k);
    h2 = mhashAdd(h2, k);
    h3 = mhashAdd(h3, k);
  }
  if (length & 3) {
    let tail = 0;
    for (let i = length - 1; i >= 4 * words; i--) tail = (tail << 8) | bytes[i]!;
    h0 = mhashAddTail(h0, tail);
    h1 = mhashAddTail(h1, tail);
    h2 = mhashAddTail(h2, tail);
    h3 = mhashAddTail(h3, tail);
  }
  const out = Buffer.allocUnsafe(16);
  out.writeUInt32BE(mhashFinish((h0 ^ length) >>> 0), 0);
  out.writeUInt32BE(mhashFinish((h1 ^ length) >>> 0), 4);
  out.writeUInt32BE(mhashFinish((h2 ^ length) >>> 0), 8);
  out.writeUInt32BE(mhashFinish((h3 ^ length) >>> 0), 12);
  return out;
}

/** What every megaflow and execute of one translation shares, encoded once. */
interface EncodedTranslation {
  mask: Buffer;
  actions: Buffer;
  /** Why the kernel would refuse the megaflow (flow-check), if it would. */
  refusal?: Error;
}

/** A put or an execute of a batch, and what its result is counted against. */
type Sent =
  | { kind: 'put'; installed: InstalledFlow; id: string }
  | { kind: 'execute'; upcall: Upcall };

/** Upcalls per sendmsg (ovs-vswitchd's handlers take up to 64 at a time). */
const UPCALL_BATCH = 64;

/** The attributes of a put and of an execute, in ovs-vswitchd's order. */
const PUT_ATTRS = ['ufid', 'key', 'mask', 'actions'].map((a) => flowAttrs.id(a));
const EXECUTE_ATTRS = ['packet', 'key', 'actions'].map((a) => packetFamily.attrs.id(a));
const PUT_OP = operation(flowFamily, 'new');
const PUT_CMD = flowFamily.commands['new']!;
const EXECUTE_CMD = packetFamily.commands['execute']!;
const EXECUTE_OP = operation(packetFamily, 'execute');

/**
 * A request's payload after the genl header: the ovs_header, then attributes whose
 * payloads are already encoded (the upcall's key, a translation's mask and actions, the
 * packet), each framed as an attribute; padding zeroed.
 */
function payloadOf(header: Buffer, types: readonly number[], payloads: readonly Buffer[]): Buffer {
  let n = header.length;
  for (const p of payloads) n += align4(NLA_HDRLEN + p.length);
  // From Node's pool (Buffer.alloc would make an ArrayBuffer per request); padding zeroed below.
  const out = Buffer.allocUnsafe(n);
  header.copy(out, 0);
  let off = header.length;
  for (let i = 0; i < payloads.length; i++) {
    const p = payloads[i]!;
    const len = NLA_HDRLEN + p.length;
    putAttrHeader(out, off, len, types[i]!);
    p.copy(out, off + NLA_HDRLEN);
    for (let pad = off + len; pad < off + align4(len); pad++) out[pad] = 0;
    off += align4(len);
  }
  return out;
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

function isErrno(err: unknown, name: string): boolean {
  return err instanceof NetlinkError && errnoName(err.errno) === name;
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
  /** When each flow we know of was installed or first seen, by UFID (hex): for never-used flows. */
  private readonly seen = new Map<string, bigint>();
  private readonly idleTimeoutMs: number;
  private work: Promise<void> = Promise.resolve();
  private expiryTimer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  /** Set by close(): no new scan, no further chunk of deletes. */
  private shutdown: Promise<void> | undefined;
  private watcher: FSWatcher | undefined;
  private base: Promise<{ flow: number; packet: number; header: Buffer }> | undefined;
  private readonly encodedTranslations = new WeakMap<Translation, EncodedTranslation>();
  /** ufidOf()'s scratch room. */
  private readonly keyIndex = new Int32Array(KEY_TYPES);
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
      listener = await UpcallListener.open({ datapath: { name: dp.name, ifindex: dp.ifindex }, mode: options.mode ?? 'auto', connection: conn });
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
      e = { mask: encodeAttrs(flowKeyAttrs, t.mask), actions: encodeList(actionAttrs, t.actions) };
      try {
        checkFlowMatch(key, t.mask);
      } catch (err) {
        e.refusal = err as Error;
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
    const inBatch = new Set<string>();
    const sends: Promise<void>[] = [];
    let reqs: GenlRequest[] = [];
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
      const ufid = ufidOf(keyBytes, e.mask, this.keyIndex);
      const id = ufid.toString('hex');
      if (!inBatch.has(id)) {
        inBatch.add(id);
        const installed: InstalledFlow = { flow: { key: up.key, mask: t.mask, actions: t.actions, ufid }, translation: t, upcall: up };
        if (e.refusal) this.fail(e.refusal, `installing a flow for a miss from port ${up.inPort}`);
        else {
          const payload = payloadOf(base.header, PUT_ATTRS, [ufid, keyBytes, e.mask, e.actions]);
          reqs.push({ family: base.flow, cmd: PUT_CMD, version: flowFamily.version, flags: NLM_F_CREATE, fixedHeader: payload });
          sent.push({ kind: 'put', installed, id });
        }
      }
      if (t.actions.length) {
        const payload = payloadOf(base.header, EXECUTE_ATTRS, [up.packet, keyBytes, e.actions]);
        reqs.push({ family: base.packet, cmd: EXECUTE_CMD, version: packetFamily.version, flags: 0, fixedHeader: payload });
        sent.push({ kind: 'execute', upcall: up });
      }
      if (++upcalls % UPCALL_BATCH === 0 && reqs.length) {
        sends.push(this.send(reqs, sent));
        reqs = [];
        sent = [];
      }
    }
    if (reqs.length) sends.push(this.send(reqs, sent));
    await Promise.all(sends);
  }

  /** Sends one sendmsg's requests; counts and reports their results. */
  private async send(reqs: GenlRequest[], sent: Sent[]): Promise<void> {
    let results: RequestResult[];
    try {
      results = await this.conn.socket.batch(reqs, { ops: sent.map((s) => (s.kind === 'put' ? PUT_OP : EXECUTE_OP)) });
    } catch (err) {
      results = reqs.map(() => ({ replies: [], error: err as NetlinkError }));
    }
    const now = monotonicMs();
    const announce = this.listenerCount('install') > 0;
    for (let i = 0; i < sent.length; i++) {
      const s = sent[i]!;
      const error = results[i]?.error;
      if (s.kind === 'execute') {
        if (!error) this.counters.executed++;
        else this.fail(explainExecuteError(error, this.datapath.name, s.upcall.packet.length, []), 'executing a packet');
      } else if (!error) {
        this.counters.installed++;
        this.seen.set(s.id, now);
        if (announce) this.emit('install', s.installed);
      } else if (isErrno(error, 'EEXIST')) this.counters.existing++;
      else this.fail(explainFlowError(error, 'put', 'create', this.datapath.name, s.installed.flow), `installing a flow for a miss from port ${s.installed.upcall.inPort}`);
    }
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
    const scanStart = monotonicMs();
    const { flows, complete } = await this.scan();
    const now = monotonicMs();
    const idle: Flow[] = [];
    const present = new Set<string>();
    for (const f of flows) {
      const id = f.ufid?.toString('hex');
      if (id !== undefined && present.has(id)) continue;
      let since = f.used;
      if (since === undefined && id !== undefined) {
        since = this.seen.get(id) ?? now;
        this.seen.set(id, since);
      }
      if (id !== undefined) present.add(id);
      if (since !== undefined && now - since > BigInt(this.idleTimeoutMs)) idle.push(f);
    }
    // Gone from the kernel, unless the dump was interrupted (it may have skipped flows) or
    // the flow was installed since the dump began (it may not be in it).
    if (complete) for (const [id, since] of this.seen) if (!present.has(id) && since < scanStart) this.seen.delete(id);
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
  private async deleteIdle(flows: Flow[], scanStart: bigint): Promise<number> {
    const stillIdle = flows.filter((f) => !f.ufid || (this.seen.get(f.ufid.toString('hex')) ?? 0n) < scanStart);
    const n = await this.deleteFlows(stillIdle, 'deleting an idle flow');
    for (const f of stillIdle) if (f.ufid) this.seen.delete(f.ufid.toString('hex'));
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
      await this.listener.close();
      await this.running;
    } finally {
      this.table.close();
      this.conn.close();
      this.scanConn.close();
    }
  }
}
