/**
 * A packet's walk through a rule table, pass by pass, without a kernel (`ovsdp trace`,
 * in the manner of ovs-appctl ofproto/trace): each pass is what the controller would do
 * with a miss of that key, the rules that matched and the megaflow it would install. A
 * pass whose actions end in ct(...) and recirc(ID) (a rule's ct(table=N,...)) leaves
 * the next pass's ct_state to conntrack: the caller says what conntrack would answer
 * (ctNext, one state per recirculation), and the walk goes on with that state, the ct
 * action's zone, mark and labels, and the same packet otherwise (NAT is not applied).
 */
import type { AttrValues } from '../../nl/schema.js';
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

/** `key` as the kernel would send it in a miss: its metadata first, what it leaves out zero. */
function upcallKey(key: AttrValues): AttrValues {
  const out: AttrValues = {};
  for (const name of METADATA_ORDER) {
    const v = key[name] ?? UPCALL_METADATA[name];
    if (v !== undefined) out[name] = v;
  }
  for (const [name, v] of Object.entries(key)) if (!(name in out)) out[name] = v;
  return out;
}

/** A recirculation the walk stopped at or went through. */
export interface Recirculation {
  id: number;
  /** The table the id continues in. */
  table: number;
  /** The conntrack zone of the ct action before it. */
  zone: number;
}

export interface TracePass {
  /** The key translated: every field exact, as the kernel sends a miss's. */
  key: AttrValues;
  /** The table the walk began in (0, or where the recirc id continues). */
  table: number;
  /** ct_state came from the caller (ctNext), not from the key given. */
  ctStateGiven: boolean;
  translation: Translation;
}

export interface Trace {
  passes: TracePass[];
  /** Where the walk stopped for want of a conntrack state (no ctNext left). */
  pending?: Recirculation;
  /** ctNext states left over: the walk ended before it needed them. */
  unusedCtStates: number;
}

/**
 * Walks `key` (a flow key: what it leaves out of an upcall's metadata is zero) through
 * `pipeline`, following recirculations while `ctNext` has states for them. Recirc ids
 * are numbered as a controller starting now would number them (`recirc`).
 */
export function traceKey(pipeline: Pipeline, key: AttrValues, ctNext: readonly number[] = [], recirc = new RecircIds()): Trace {
  const passes: TracePass[] = [];
  let current = upcallKey(key);
  let ctStateGiven = false;
  let table = 0;
  let used = 0;
  for (;;) {
    const translation = pipeline.translate(current, recirc);
    passes.push({ key: current, table, ctStateGiven, translation });
    const next = recirculationOf(translation, recirc);
    if (!next) break;
    if (used === ctNext.length) return { passes, pending: next, unusedCtStates: 0 };
    current = afterConntrack(current, translation, next.id, ctNext[used++]!);
    ctStateGiven = true;
    table = next.table;
  }
  return { passes, unusedCtStates: ctNext.length - used };
}

/** The recirculation a translation's actions end in (a rule's ct(table=N,...)), if any. */
function recirculationOf(t: Translation, recirc: RecircIds): Recirculation | undefined {
  const last = t.actions.at(-1);
  const id = last?.['recirc'];
  if (typeof id !== 'number') return undefined;
  const target = recirc.lookup(id);
  if (!target) return undefined;
  return { id, table: target.table, zone: Number(target.ct['zone'] ?? 0) };
}

/**
 * The key of the pass after a ct action and recirc(id): conntrack's `ctState`, the zone,
 * and the mark and labels the ct action set (with commit), over the key of the pass before.
 */
function afterConntrack(key: AttrValues, t: Translation, id: number, ctState: number): AttrValues {
  const ct = [...t.actions].reverse().find((a) => a['ct'] !== undefined)?.['ct'] as AttrValues | undefined;
  const next: AttrValues = { ...key, recirc_id: id, ct_state: ctState, ct_zone: Number(ct?.['zone'] ?? 0) };
  const mark = ct?.['mark'] as { value: number; mask: number } | undefined;
  if (mark) next['ct_mark'] = ((Number(key['ct_mark']) & ~mark.mask) | (mark.value & mark.mask)) >>> 0;
  const labels = ct?.['labels'] as { value: Buffer; mask: Buffer } | undefined;
  if (labels) {
    const old = key['ct_labels'] as Buffer;
    next['ct_labels'] = Buffer.from(old.map((b, i) => (b & ~labels.mask[i]!) | (labels.value[i]! & labels.mask[i]!)));
  }
  return next;
}
