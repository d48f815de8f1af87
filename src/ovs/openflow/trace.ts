/**
 * A packet's walk through a rule table, pass by pass, without a kernel (`ovsdp trace`,
 * in the manner of ovs-appctl ofproto/trace): each pass is what the controller would do
 * with a miss of that key, the rules that matched and the megaflow it would install. A
 * pass whose actions hold ct(...) and recirc(ID) (a rule's ct(table=N,...)) leaves the
 * next pass's ct_state to conntrack: the caller says what conntrack would answer
 * (ctNext, one state per recirculation, in the order the walk meets them), and the walk
 * goes on with that state, the ct action's zone, and the same packet otherwise (NAT is
 * not applied). A recirc that is not the pass's last action recirculates a copy (the
 * kernel's clone); the walk follows every one, depth first.
 */
import type { AttrValues } from '../../nl/schema.js';
import { flowRefusal } from '../flow-check.js';
import { hexAlt } from '../flowstr/keys.js';
import { CT_STATE_FLAGS, FRAG_TYPES } from '../keys.js';
import { structOf } from './fields.js';
import { type Pipeline, RecircIds, type Translation } from './pipeline.js';

/** The metadata an upcall's key always has, zero unless the kernel set it. */
const UPCALL_METADATA: Readonly<AttrValues> = {
  recirc_id: 0, dp_hash: 0, priority: 0, skb_mark: 0, ct_state: 0, ct_zone: 0, ct_mark: 0, ct_labels: Buffer.alloc(16),
};

/**
 * The attributes an upcall's key starts with, in the kernel's order (__ovs_nla_put_key):
 * a megaflow made from the key is then printed as the controller prints the one it
 * installs, and as dump-flows shows it.
 */
const METADATA_ORDER = ['recirc_id', 'dp_hash', 'priority', 'tunnel', 'in_port', 'skb_mark', 'ct_state', 'ct_zone', 'ct_mark', 'ct_labels', 'ct_orig_tuple_ipv4', 'ct_orig_tuple_ipv6'];

/** The network header the kernel puts in a key for an EtherType. */
const L3_OF_ETHERTYPE = new Map([[0x0800, 'ipv4'], [0x86dd, 'ipv6'], [0x0806, 'arp'], [0x8035, 'arp']]);
/** The transport header the kernel puts in a key for an IP protocol (of ipv4 or ipv6). */
const L4_OF_PROTO: Record<'ipv4' | 'ipv6', ReadonlyMap<number, string>> = {
  ipv4: new Map([[6, 'tcp'], [17, 'udp'], [132, 'sctp'], [1, 'icmp']]),
  ipv6: new Map([[6, 'tcp'], [17, 'udp'], [132, 'sctp'], [58, 'icmpv6']]),
};

/** A header the key leaves out, every field zero. */
const zeroHeader = (attr: string): AttrValues => structOf(attr, () => 0n);

/** A trace's input that no packet's miss could have: what is wrong with it. */
export class TraceInputError extends Error {
  override readonly name = 'TraceInputError';
}

/**
 * `key` (a flow key as a person writes it) as the kernel sends a packet's first miss: the
 * metadata first, zero where left out; the network and transport headers its EtherType
 * and IP protocol imply, zero where left out (and tcp_flags with tcp), as the kernel
 * puts every header it parsed in the key. Throws TraceInputError for a key no first
 * miss has (no in_port, a recirc_id).
 */
export function upcallKey(key: AttrValues): AttrValues {
  if (key['in_port'] === undefined) throw new TraceInputError('FLOW has no in_port(N): every packet comes in on a port');
  const recirc = Number(key['recirc_id'] ?? 0);
  if (recirc !== 0) {
    throw new TraceInputError(`FLOW has recirc_id(${hexAlt(recirc)}): a trace starts at the packet's first miss (recirc_id 0); give conntrack's answers with --ct-next to follow it`);
  }
  const out: AttrValues = {};
  for (const name of METADATA_ORDER) {
    const v = key[name] ?? UPCALL_METADATA[name];
    if (v !== undefined) out[name] = v;
  }
  const l3 = L3_OF_ETHERTYPE.get(Number(key['ethertype']));
  const l3Value = l3 === undefined ? undefined : (key[l3] ?? zeroHeader(l3)) as AttrValues;
  const fragLater = l3Value !== undefined && Number(l3Value[`${l3}_frag`] ?? 0) === FRAG_TYPES.later;
  const proto = l3 === 'ipv4' || l3 === 'ipv6' ? Number(l3Value![`${l3}_proto`] ?? 0) : undefined;
  const l4 = proto === undefined || fragLater ? undefined : L4_OF_PROTO[l3 as 'ipv4' | 'ipv6'].get(proto);
  // Each attribute, then what the kernel puts after it (in its order) when the key leaves that out.
  const put = (name: string, v: unknown): void => {
    if (name in out) return;
    out[name] = v;
    if (name === 'ethertype' && l3 !== undefined) put(l3, l3Value);
    if (name === l3 && l4 !== undefined) put(l4, key[l4] ?? zeroHeader(l4));
    if (name === 'tcp' && l4 === 'tcp') put('tcp_flags', key['tcp_flags'] ?? 0);
  };
  for (const [name, v] of Object.entries(key)) put(name, v);
  return out;
}

/**
 * Conntrack's answer for --ct-next: the flags it sets, as names (trk,est; trk|est;
 * +trk+est; any case) or a number (0x22). Conntrack sets trk on every packet it sees, so
 * a state without it is refused, as are unknown flags or bits. Throws TraceInputError.
 */
export function parseCtState(text: string): number {
  const t = text.trim().toLowerCase();
  let state = 0;
  if (/^(0x[0-9a-f]+|\d+)$/.test(t)) state = Number(t);
  else {
    if (/[-/]/.test(t)) throw new TraceInputError(`"${text}": a state is the flags conntrack sets, e.g. trk,est (no -flags, no mask)`);
    const names = t.split(/[\s,|+]+/).filter((n) => n !== '');
    for (const name of names) {
      const bit = (CT_STATE_FLAGS as Readonly<Record<string, number>>)[name];
      if (bit === undefined) throw new TraceInputError(`"${text}": unknown flag "${name}" (known: ${Object.keys(CT_STATE_FLAGS).join(', ')})`);
      state |= bit;
    }
  }
  const known = Object.values(CT_STATE_FLAGS).reduce((a, b) => a | b, 0);
  if (state & ~known) throw new TraceInputError(`"${text}": ${hexAlt(state & ~known)} holds no conntrack flag (known: ${Object.keys(CT_STATE_FLAGS).join(', ')})`);
  if (!(state & CT_STATE_FLAGS.trk)) throw new TraceInputError(`"${text}": conntrack sets trk on every packet it sees (e.g. trk,est or trk,new)`);
  return state;
}

/** A recirculation the walk went through or stopped at. */
export interface Recirculation {
  id: number;
  /** The table the id continues in. */
  table: number;
  /** The conntrack zone of the ct action before it. */
  zone: number;
  /** The index of the pass whose actions recirculate. */
  from: number;
}

export interface TracePass {
  /** The key translated: every field exact, as the kernel sends a miss's. */
  key: AttrValues;
  /** The table the walk began in (0, or where the recirc id continues). */
  table: number;
  /** How the pass came about: undefined for the first. */
  after?: Recirculation;
  translation: Translation;
  /** Why the controller would not install this megaflow (the kernel would refuse it), if so. */
  refusal?: string;
}

export interface Trace {
  passes: TracePass[];
  /** Recirculations the walk stopped at for want of a conntrack state (ctNext ran out). */
  pending: Recirculation[];
  /** ctNext states left over: the walk ended before it needed them. */
  unusedCtStates: number;
}

/**
 * Walks `key` (completed by upcallKey) through `pipeline`, following recirculations
 * while `ctNext` has states for them. Recirc ids are numbered as they would be if this
 * packet were the controller's first miss (`recirc`).
 */
export function traceKey(pipeline: Pipeline, key: AttrValues, ctNext: readonly number[] = [], recirc = new RecircIds()): Trace {
  const trace: Trace = { passes: [], pending: [], unusedCtStates: 0 };
  let used = 0;
  const walk = (k: AttrValues, table: number, after: Recirculation | undefined): void => {
    const translation = pipeline.translate(k, recirc);
    const pass: TracePass = { key: k, table, translation };
    if (after) pass.after = after;
    const refusal = flowRefusal(k, translation.mask, translation.actions);
    if (refusal) pass.refusal = refusal.error.message;
    const index = trace.passes.push(pass) - 1;
    for (const r of recirculationsOf(translation, recirc, index)) {
      if (used === ctNext.length) trace.pending.push(r);
      else walk(afterConntrack(k, translation, r, ctNext[used++]!), r.table, r);
    }
  };
  walk(upcallKey(key), 0, undefined);
  trace.unusedCtStates = ctNext.length - used;
  return trace;
}

/** Each recirc of a translation's actions, with the zone of the ct action before it. */
function recirculationsOf(t: Translation, recirc: RecircIds, from: number): Recirculation[] {
  const out: Recirculation[] = [];
  t.actions.forEach((a) => {
    const id = a['recirc'];
    const target = typeof id === 'number' ? recirc.lookup(id) : undefined;
    if (target) out.push({ id: target.id, table: target.table, zone: Number(target.ct['zone'] ?? 0), from });
  });
  return out;
}

/**
 * The key of the pass after recirculation `r`: conntrack's `ctState` and the zone of the
 * ct action before the recirc, over the key of the pass before. Mark and labels: what
 * the ct action set (with commit) over what the connection had, which is the key's when
 * the zone is the same and no ct_clear came between, else none.
 */
function afterConntrack(key: AttrValues, t: Translation, r: Recirculation, ctState: number): AttrValues {
  const at = t.actions.findIndex((a) => a['recirc'] === r.id);
  const before = t.actions.slice(0, at);
  let ctAt = before.length - 1;
  while (ctAt >= 0 && before[ctAt]!['ct'] === undefined) ctAt--;
  const ct = (ctAt >= 0 ? before[ctAt]!['ct'] : {}) as AttrValues;
  const sameConnection = Number(key['ct_zone']) === r.zone && !before.slice(0, Math.max(ctAt, 0)).some((a) => a['ct_clear'] !== undefined);
  const next: AttrValues = { ...key, recirc_id: r.id, ct_state: ctState, ct_zone: r.zone };
  let mark = sameConnection ? Number(key['ct_mark']) : 0;
  let labels = sameConnection ? Buffer.from(key['ct_labels'] as Uint8Array) : Buffer.alloc(16);
  const setMark = ct['mark'] as { value: number; mask: number } | undefined;
  if (setMark) mark = ((mark & ~setMark.mask) | (setMark.value & setMark.mask)) >>> 0;
  const setLabels = ct['labels'] as { value: Buffer; mask: Buffer } | undefined;
  if (setLabels) labels = Buffer.from(labels.map((b, i) => (b & ~setLabels.mask[i]!) | (setLabels.value[i]! & setLabels.mask[i]!)));
  next['ct_mark'] = mark;
  next['ct_labels'] = labels;
  return next;
}
