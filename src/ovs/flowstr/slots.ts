/**
 * Value slots of a flow file's lines: the field values a line may change from the line
 * before and still be that line's flow with those bytes changed (add-flows' line shapes,
 * src/client/flow-shapes.ts). Generated files repeat a line with other addresses and
 * ports; such a line is then neither scanned nor encoded nor checked again.
 *
 * A field is a slot only when all of these hold, so that its value text changes the
 * request in the field's bytes of the key alone:
 *   - its attribute is ipv4(), tcp(), udp() or sctp() and it is an address (src, dst: a
 *     dotted quad, 4 bytes big-endian) or a port (src, dst: decimal, 2 bytes big-endian).
 *     The flow check (src/ovs/flow-check.ts) reads none of these: of ipv4 it reads the
 *     protocol and fragment type, of the L4 attributes only their masks;
 *   - it is matched exactly (no `/mask`): its mask is then the field's one exact mask
 *     (keyStructFields' exactMaskFixed), whatever the value;
 *   - its value is written in the one form read here (decimal parts without leading
 *     zeros, in range), which the key parser reads as that number (a leading zero would
 *     be octal to ovs-dpctl's %i, a part over 255 wraps);
 *   - the field is given once in its attribute (a second value would override the first).
 * Every other part of a line is compared as text: an attribute's parse reads its own text
 * alone (KeyAttrMemo relies on it too), so equal text is an equal attribute.
 */
import { formatIPv4 } from '../../nl/repr.js';
import { type MemoAttr, keyStructFields, skipDelimiters } from './keys.js';
import { Scanner } from './scanner.js';

export type SlotKind = 'ipv4' | 'port';

/** A field value in a line that a line shape may vary. */
export interface ValueSlot {
  /** Where its text is in the line: [start, end). */
  start: number;
  end: number;
  kind: SlotKind;
  /** The key attribute (schema name) and the struct member the value fills. */
  attr: string;
  field: string;
  value: number;
}

/** The attributes whose address and port fields may be slots (see above). */
const SLOT_ATTRS = new Set(['ipv4', 'tcp', 'udp', 'sctp']);
/** A slot's kind by its field's kind in the flow syntax (keyStructFields). */
const SLOT_KINDS: Readonly<Record<string, SlotKind>> = { ipv4: 'ipv4', be16: 'port' };

/**
 * How many of lines[start], lines[start + 1], ... up to lines[end - 1] are, one after
 * another, `literals` with a value of `kinds` between each two (literals has one more):
 * each such line's values go into `values`, line after line. A value is taken only in the
 * one form a slot takes (decimal parts without leading zeros, in range). One function,
 * the values read in its loop: in a short process V8 compiles it once, where a reader of
 * one value called per slot was compiled on its own and again inlined in its caller.
 * `values` is a Float64Array: an address above 2^30 turned a fresh array of small
 * integers into one of doubles, another map, which deoptimized the reader and its callers
 * for every shape made after V8 had optimized them.
 */
export function matchSlotLines(
  literals: readonly string[], kinds: readonly SlotKind[], lines: readonly string[], start: number, end: number, values: Float64Array,
): number {
  const slots = kinds.length;
  const last = literals[slots]!;
  let n = start;
  lines: for (; n < end; n++) {
    const line = lines[n]!;
    let pos = 0;
    for (let i = 0; i < slots; i++) {
      // A slice compared with === (V8 compares the characters at once): startsWith at a
      // position took several times longer on a line cut from a read block.
      const literal = literals[i]!;
      const at = pos + literal.length;
      if (line.slice(pos, at) !== literal) break lines;
      pos = at;
      const port = kinds[i] === 'port';
      const parts = port ? 1 : 4;
      const partMax = port ? 65535 : 255;
      let v = 0;
      for (let part = 1; ; part++) {
        const first = pos;
        let x = 0;
        for (; pos < line.length; pos++) {
          const d = line.charCodeAt(pos) - 48;
          if (d < 0 || d > 9) break;
          x = x * 10 + d;
          if (x > partMax) break lines;
        }
        if (pos === first || (pos - first > 1 && line.charCodeAt(first) === 48)) break lines;
        v = v * (partMax + 1) + x;
        if (part === parts) break;
        if (line.charCodeAt(pos) !== 46 /* . */) break lines;
        pos++;
      }
      values[(n - start) * slots + i] = v;
    }
    if (line.length !== pos + last.length || line.slice(pos) !== last) break;
  }
  return n - start;
}

/** The value of `kind` that `text` is whole (in matchSlotLines' one form), or undefined. */
export function slotValue(kind: SlotKind, text: string): number | undefined {
  const values = new Float64Array(1);
  return matchSlotLines(['', ''], [kind], [text], 0, 1, values) === 1 ? values[0] : undefined;
}

/** A slot's value as the text matchSlotLines reads. */
export function slotText(kind: SlotKind, v: number): string {
  return kind === 'port' ? String(v) : formatIPv4(v);
}

/** A value of `kind` unlike `v` in every byte (to prove a shape: src/client/flow-shapes.ts). */
export function otherSlotValue(kind: SlotKind, v: number): number {
  return kind === 'port' ? v ^ 0xa5a5 : (v ^ 0xa5a5a5a5) >>> 0;
}

/**
 * The slots of a line whose FLOW, at `flowStart`, is the key attributes `attrs` (a
 * KeyAttrMemo's list for it, in order: parseKeyEntries'), in line order; undefined when
 * the attributes are not found one after another there.
 */
export function lineSlots(line: string, flowStart: number, attrs: readonly MemoAttr[]): ValueSlot[] | undefined {
  const slots: ValueSlot[] = [];
  const sc = new Scanner(line);
  sc.pos = flowStart;
  for (const m of attrs) {
    skipDelimiters(sc);
    if (!line.startsWith(m.text, sc.pos)) return undefined;
    attrSlots(m.text, sc.pos, slots);
    sc.pos += m.text.length;
  }
  return slots;
}

/** The slots of one key attribute whose text (name to ')') is at `at` in its line, onto `out`. */
function attrSlots(text: string, at: number, out: ValueSlot[]): void {
  const open = text.indexOf('(');
  const name = text.slice(0, open);
  const struct = SLOT_ATTRS.has(name) ? keyStructFields(name) : undefined;
  if (!struct) return;
  const found: ValueSlot[] = [];
  const seen = new Set<string>();
  // A parsed attribute's fields are `label=value[/mask]`, ','-separated (a trailing ','
  // allowed), no blanks: scanFieldList's syntax.
  let i = open + 1;
  while (i < text.length - 1) {
    const eq = text.indexOf('=', i);
    if (eq < 0) return;
    let end = eq + 1;
    while (end < text.length && text.charCodeAt(end) !== 44 && text.charCodeAt(end) !== 41) end++;
    const label = text.slice(i, eq);
    if (seen.has(label)) return;
    seen.add(label);
    const f = struct.fields.find((x) => x.label === label);
    const kind = f?.exactMaskFixed ? SLOT_KINDS[f.kind] : undefined;
    if (f && kind) {
      const value = slotValue(kind, text.slice(eq + 1, end));
      if (value !== undefined) found.push({ start: at + eq + 1, end: at + end, kind, attr: struct.attr, field: f.field, value });
    }
    i = end + 1;
  }
  if (i !== text.length || text.charCodeAt(text.length - 1) !== 41) return;
  out.push(...found);
}
