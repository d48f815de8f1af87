/**
 * The table walk: what an OpenFlow switch does with a packet that missed in the kernel,
 * turned into one kernel megaflow (mask and datapath actions).
 *
 * Lookup in a table takes the highest-priority rule that matches (the earlier one in the
 * file among equal priorities); no match drops. The winning rule's actions run in order;
 * resubmit looks up another table and comes back; ct(table=N) sends the packet through
 * conntrack and recirculates it (a recirc id stands for "continue in table N"; the
 * recirculated packet misses again, with recirc_id and its ct_state in the key, and is
 * translated from table N).
 *
 * The mask records what the decision depended on, so that every packet matching the
 * megaflow gets the same actions:
 *   - a rule that matched: every field it matches, with its mask;
 *   - a higher-priority rule that did not match: one field that proves it cannot match,
 *     and of that field only the bits down to the highest one that differs (for flag
 *     fields, one differing bit). Any packet that agrees on those bits differs from the
 *     rule there too. Among the fields that differ, the one adding the fewest new bits is
 *     taken (a field already exact, such as in_port, costs nothing). OVS's classifier
 *     gets the same effect with its staged lookup and prefix tries; a single field is
 *     never wider than what it unwildcards, and often narrower.
 *   - what the kernel needs (fields.ts Wildcards): recirc_id, in_port, EtherType always;
 *     IP protocol and fragment type with any L4 field; set_masked of L4 ports matches
 *     the ports it rewrites, as ovs-vswitchd does.
 * Rewritten fields are read back as rewritten by later lookups; the original packet's
 * bits of them may then be matched needlessly (narrower, never wrong).
 */
import type { AttrValues } from '../../nl/schema.js';
import { type PacketField, PacketState, Wildcards, fromBigint, fullMask, isL4, packetField, readField, structOf } from './fields.js';
import type { MatchEntry, Rule } from './rules.js';

/** OVS's limit on nested resubmits (MAX_DEPTH in ofproto-dpif-xlate.c). */
export const MAX_RESUBMIT_DEPTH = 64;

/** What a recirc id stands for: the table to continue in, after this ct action. */
export interface RecircTarget {
  id: number;
  table: number;
  ct: AttrValues;
}

/**
 * Recirc ids, one per distinct (table, ct arguments): the same ct(table=N,...) in any
 * rule shares one id, and an id keeps its meaning for the life of the allocator (across
 * rule reloads), so kernel flows that recirculate stay valid.
 */
export class RecircIds {
  private readonly byKey = new Map<string, RecircTarget>();
  private readonly byId = new Map<number, RecircTarget>();
  private next = 1;

  idFor(table: number, ct: AttrValues): number {
    const key = `${table}|${JSON.stringify(ct)}`;
    let target = this.byKey.get(key);
    if (!target) {
      target = { id: this.next++, table, ct };
      this.byKey.set(key, target);
      this.byId.set(target.id, target);
    }
    return target.id;
  }

  lookup(id: number): RecircTarget | undefined {
    return this.byId.get(id);
  }

  /** Every id handed out, in order. */
  all(): RecircTarget[] {
    return [...this.byId.values()];
  }
}

/** One translated miss: the megaflow to install for the key, and how it came about. */
export interface Translation {
  /** The datapath actions ([]: drop). */
  actions: AttrValues[];
  /** OVS_FLOW_ATTR_MASK for the key that was translated. */
  mask: AttrValues;
  /** The rules that matched, in the order they were applied. */
  matched: Rule[];
  /** Set when the walk was cut short (unknown recirc id, resubmit loop): the packet is dropped. */
  problem?: string;
  /** Outputs to the input port the walk left out (OpenFlow's rule), as their rules' lines; for `ovsdp trace`. */
  skippedInPort?: number[];
}

const IN_PORT = packetField('in_port');
const RECIRC_ID = packetField('recirc_id');
const CT_FIELDS = ['ct_state', 'ct_zone', 'ct_mark', 'ct_labels'].map(packetField);

class ResubmitLimit extends Error {}

/** The walk of one packet. */
class Walk {
  readonly state: PacketState;
  readonly wc = new Wildcards();
  readonly out: AttrValues[] = [];
  readonly matched: Rule[] = [];
  readonly skippedInPort: number[] = [];
  /** Rewrites not yet emitted: attribute -> field -> the bits rewritten. */
  private readonly pending = new Map<string, Map<PacketField, bigint>>();
  private depth = 0;

  constructor(private readonly pipeline: Pipeline, key: AttrValues, private readonly recirc: RecircIds) {
    this.state = new PacketState(key);
  }

  lookup(table: number): void {
    for (const rule of this.pipeline.table(table)) {
      const evidence = this.mismatch(rule.match);
      if (evidence) {
        this.wc.add(evidence.field, evidence.bits, this.state);
        continue;
      }
      for (const e of rule.match) this.wc.add(e.field, e.mask, this.state);
      this.matched.push(rule);
      this.apply(rule, table);
      return;
    }
  }

  /** The cheapest proof that the packet does not match, or undefined when it matches. */
  private mismatch(match: readonly MatchEntry[]): { field: PacketField; bits: bigint } | undefined {
    let best: { field: PacketField; bits: bigint; cost: number } | undefined;
    for (const e of match) {
      // A field whose header the packet lacks: the rule's protocol entries differ instead.
      if (!this.state.has(e.field.layer)) continue;
      const diff = (this.state.get(e.field) ^ e.value) & e.mask;
      if (diff === 0n) continue;
      const bits = evidenceBits(e, diff, this.wc.get(e.field));
      const cost = this.wc.cost(e.field, bits, this.state);
      if (!best || cost < best.cost) best = { field: e.field, bits, cost };
      if (cost === 0) break;
    }
    return best;
  }

  private apply(rule: Rule, table: number): void {
    for (const a of rule.actions) {
      switch (a.type) {
        case 'output':
          // OpenFlow never sends a packet back out its input port unless asked (in_port).
          if (BigInt(a.port) !== this.state.get(IN_PORT)) this.emit({ output: a.port });
          else this.skippedInPort.push(rule.line);
          break;
        case 'in_port':
          this.emit({ output: Number(this.state.get(IN_PORT)) });
          break;
        case 'resubmit':
          this.resubmit(a.table ?? table, a.port);
          break;
        case 'ct':
          this.emit({ ct: a.ct });
          if (a.table !== undefined) this.out.push({ recirc: this.recirc.idFor(a.table, a.ct) });
          break;
        case 'ct_clear':
          this.emit({ ct_clear: true });
          for (const f of CT_FIELDS) this.state.set(f, 0n);
          break;
        case 'set_field':
          this.rewrite(a.field, a.value, a.mask);
          break;
      }
    }
  }

  private resubmit(table: number, port: number | undefined): void {
    if (++this.depth > MAX_RESUBMIT_DEPTH) throw new ResubmitLimit(`more than ${MAX_RESUBMIT_DEPTH} nested resubmits (a loop in the tables?)`);
    const inPort = this.state.get(IN_PORT);
    if (port !== undefined) this.state.set(IN_PORT, BigInt(port));
    this.lookup(table);
    if (port !== undefined) this.state.set(IN_PORT, inPort);
    this.depth--;
  }

  private rewrite(f: PacketField, value: bigint, mask: bigint): void {
    this.state.set(f, (this.state.get(f) & ~mask) | value);
    // The kernel checks an L4 rewrite against the flow's protocol; ovs-vswitchd also
    // matches the ports it rewrites. Matching the field brings both.
    if (isL4(f.layer)) this.wc.add(f, fullMask(f), this.state, false);
    let fields = this.pending.get(f.attr);
    if (!fields) this.pending.set(f.attr, (fields = new Map()));
    fields.set(f, (fields.get(f) ?? 0n) | mask);
  }

  /** Emits the pending rewrites (as set_masked, one per header), then `action`. */
  private emit(action: AttrValues): void {
    for (const [attr, fields] of this.pending) {
      // The kernel ORs the value into the cleared bits: no value bit outside the mask.
      const maskOf = (f: PacketField): bigint => fields.get(f) ?? 0n;
      const valueOf = (f: PacketField): bigint => this.state.get(f) & maskOf(f);
      const [f] = fields.keys();
      const pair = f!.member === undefined
        ? { value: fromBigint(f!, valueOf(f!)), mask: fromBigint(f!, maskOf(f!)) }
        : { value: structOf(attr, valueOf), mask: structOf(attr, maskOf) };
      this.out.push({ set_masked: { [attr]: pair } });
    }
    this.pending.clear();
    this.out.push(action);
  }
}

/** Index of the highest set bit. */
function highestBit(v: bigint): bigint {
  return BigInt(v.toString(2).length - 1);
}

/**
 * The bits of a differing field that prove the mismatch: for flag fields one differing
 * bit (one already matched if any); otherwise the rule's mask bits from the top down to
 * the highest differing bit, as a prefix trie would.
 */
function evidenceBits(e: MatchEntry, diff: bigint, already: bigint): bigint {
  if (e.field.flags) {
    const free = diff & already;
    const pick = free || diff;
    return 1n << highestBit(pick);
  }
  return e.mask & ~((1n << highestBit(diff)) - 1n);
}

/**
 * The fields every cached decision is told apart by, whatever the walk looked at: they
 * decide which headers a key has (a field of a header the packet lacks is skipped).
 */
const HEADER_FIELDS = ['ethertype', 'ipv4_proto', 'ipv4_frag', 'ipv6_proto', 'ipv6_frag'].map(packetField);

/** A translation kept for keys that agree with its key on the bits its walk depended on. */
interface Decision {
  translation: Translation;
  /** The key attributes the mask has an attribute for, and whether the key had each. */
  maskAttrs: string[];
  present: boolean[];
}

/**
 * Decisions that looked at the same bits: keys agreeing on those bits walk the tables the
 * same way (every rule that matched still matches, every rule that did not still fails
 * on its evidence), so they get the same actions, and the mask stays a correct megaflow
 * for each of them. As ovs-vswitchd's classifier, one table per set of bits looked at.
 */
interface DecisionTable {
  signature: string;
  fields: LookedAt[];
  byValue: Map<string, Decision>;
}

/** A field's bits a decision looked at; `small`: the mask as a number, for fields the key holds as numbers. */
interface LookedAt {
  field: PacketField;
  mask: bigint;
  small: number | undefined;
}

/** Bounds on the decision cache: tables of distinct looked-at bits, decisions per table. */
const MAX_DECISION_TABLES = 32;
const MAX_DECISIONS = 4096;

/**
 * The looked-at bits of `key`, as text (a map key): an absent header as "-", a number
 * field in decimal without going through bigint, any other in hex after an "x".
 */
function valuesOf(key: AttrValues, fields: readonly LookedAt[]): string {
  let s = '';
  for (const { field: f, mask, small } of fields) {
    const a = key[f.attr];
    if (a === undefined) {
      s += '-,';
      continue;
    }
    const v = f.member === undefined ? a : (a as Record<string, unknown>)[f.member];
    s += small !== undefined && typeof v === 'number' ? `${(v & small) >>> 0},` : `x${(readField(key, f) & mask).toString(16)},`;
  }
  return s;
}

/** The rules as tables, each in lookup order. */
export class Pipeline {
  readonly rules: readonly Rule[];
  private readonly tables = new Map<number, Rule[]>();
  private readonly decisions: DecisionTable[] = [];

  constructor(rules: readonly Rule[]) {
    this.rules = rules;
    for (const r of rules) {
      let t = this.tables.get(r.table);
      if (!t) this.tables.set(r.table, (t = []));
      t.push(r);
    }
    for (const t of this.tables.values()) t.sort((a, b) => b.priority - a.priority || a.seq - b.seq);
  }

  /** A table's rules, highest priority first. */
  table(n: number): readonly Rule[] {
    return this.tables.get(n) ?? [];
  }

  /**
   * Translates a miss: `key` is the upcall's flow key (every field exact). A key with a
   * recirc_id continues in the table its id stands for.
   */
  translate(key: AttrValues, recirc: RecircIds): Translation {
    const walk = new Walk(this, key, recirc);
    const id = Number(walk.state.get(RECIRC_ID));
    let problem: string | undefined;
    try {
      if (id === 0) walk.lookup(0);
      else {
        const target = recirc.lookup(id);
        if (target) walk.lookup(target.table);
        else problem = `unknown recirc_id ${id}`;
      }
    } catch (err) {
      if (!(err instanceof ResubmitLimit)) throw err;
      problem = err.message;
    }
    const t: Translation = { actions: problem ? [] : walk.out, mask: walk.wc.toMask(key), matched: walk.matched };
    if (walk.skippedInPort.length) t.skippedInPort = walk.skippedInPort;
    if (problem) t.problem = problem;
    else this.remember(key, walk.wc, t);
    return t;
  }

  /**
   * translate(), reusing the translation of an earlier key that agrees with `key` on every
   * bit that translation's walk depended on (and has the same headers). The result may be
   * shared with other keys: do not change it. Its mask is correct for `key` as well, though
   * a fresh walk might have found another.
   */
  translateCached(key: AttrValues, recirc: RecircIds): Translation {
    for (const table of this.decisions) {
      const d = table.byValue.get(valuesOf(key, table.fields));
      if (d && d.maskAttrs.every((a, i) => (key[a] !== undefined) === d.present[i])) return d.translation;
    }
    return this.translate(key, recirc);
  }

  private remember(key: AttrValues, wc: Wildcards, translation: Translation): void {
    const looked = new Map(wc.decisionEntries());
    for (const f of HEADER_FIELDS) looked.set(f, fullMask(f));
    const fields = [...looked].map(([field, mask]): LookedAt => ({ field, mask, small: field.kind === 'int' && field.bits <= 32 ? Number(mask) : undefined }));
    const signature = fields.map(({ field, mask }) => `${field.name}/${mask.toString(16)}`).sort().join(',');
    let table = this.decisions.find((t) => t.signature === signature);
    if (!table) {
      if (this.decisions.length >= MAX_DECISION_TABLES) return;
      table = { signature, fields, byValue: new Map() };
      this.decisions.push(table);
    }
    if (table.byValue.size >= MAX_DECISIONS) table.byValue.clear();
    const maskAttrs = [...new Set(wc.entries().map(([f]) => f.attr))];
    table.byValue.set(valuesOf(key, table.fields), { translation, maskAttrs, present: maskAttrs.map((a) => key[a] !== undefined) });
  }
}
