/**
 * Line shapes of a bulk flow file (add-flows, del-flows FILE): a line that went the whole
 * way (split, parsed, checked, laid out: BulkRequests) leaves its text cut into literal
 * parts and value slots (src/ovs/flowstr/slots.ts) and its request bytes, with where each
 * slot's value sits in them. A later line whose text is the same but for the slots'
 * values (generated files: other addresses, ports) gets those bytes with its values
 * written in: no scan, no codec, no check. A shape is proved once, when made, against
 * the whole way (see FlowShapeMaker in src/cli/bulk.ts and the unit tests).
 */
import { NLA_HDRLEN, NLA_TYPE_MASK, align4, attrLength, attrTypeField } from '../nl/codec.js';
import { type StructSpec, intSize, structSize } from '../nl/schema.js';
import { flowAttrs } from '../ovs/flow.js';
import { type SlotKind, type ValueSlot, otherSlotValue, readSlot, slotText } from '../ovs/flowstr/slots.js';
import { ovsHeader } from '../ovs/header.js';
import { flowKeyAttrs } from '../ovs/keys.js';
import { REQUEST_ROOM, requestArena, requestLaidOut, requestStart } from './request-arena.js';

const KEY_ID = flowAttrs.id('key');
const OVS_HEADER_SIZE = structSize(ovsHeader);

/** The bytes a slot's value takes (big-endian). */
function slotSize(kind: SlotKind): number {
  return kind === 'port' ? 2 : 4;
}

/** Where `field` starts in struct `s`, and its size; undefined when `s` has no such field. */
function fieldAt(s: StructSpec, field: string): { offset: number; size: number } | undefined {
  let offset = 0;
  for (const f of s.fields) {
    const size = f.type === 'bytes' || f.type === 'pad' ? f.len : intSize(f.type);
    if (f.name === field) return { offset, size };
    offset += size;
  }
  return undefined;
}

/**
 * Where the payload of key attribute `attr` starts in a request's ovs_header and
 * attributes (OVS_FLOW_ATTR_KEY's, not the mask's); -1 when the key has none.
 */
function keyAttrPayload(fixedHeader: Buffer, attr: string): number {
  const id = flowKeyAttrs.id(attr);
  for (let off = OVS_HEADER_SIZE; off + NLA_HDRLEN <= fixedHeader.length; off += align4(attrLength(fixedHeader, off))) {
    const len = attrLength(fixedHeader, off);
    if (len < NLA_HDRLEN) return -1;
    if ((attrTypeField(fixedHeader, off) & NLA_TYPE_MASK) !== KEY_ID) continue;
    const end = off + len;
    for (let k = off + NLA_HDRLEN; k + NLA_HDRLEN <= end; k += align4(attrLength(fixedHeader, k))) {
      if (attrLength(fixedHeader, k) < NLA_HDRLEN) return -1;
      if ((attrTypeField(fixedHeader, k) & NLA_TYPE_MASK) === id) return k + NLA_HDRLEN;
    }
    return -1;
  }
  return -1;
}

/**
 * Writes a slot's value big-endian at buf[off] (a Uint8Array store keeps the low 8 bits:
 * no masking needed).
 */
function putSlot(buf: Buffer, off: number, kind: SlotKind, v: number): void {
  if (kind === 'port') {
    buf[off] = v >>> 8;
    buf[off + 1] = v;
    return;
  }
  buf[off] = v >>> 24;
  buf[off + 1] = v >>> 16;
  buf[off + 2] = v >>> 8;
  buf[off + 3] = v;
}

function readBE(buf: Buffer, off: number, size: number): number {
  let v = 0;
  for (let i = 0; i < size; i++) v = v * 256 + buf[off + i]!;
  return v;
}

/** A line's text but for its value slots, and its request with where the values go. */
export class LineShape {
  /** The text before each slot, then the text after the last: one more than the slots. */
  private readonly literals: readonly string[];
  private readonly kinds: readonly SlotKind[];
  /** Where each slot's value goes in `template`. */
  private readonly offsets: readonly number[];
  private readonly template: Buffer;
  /** The values of the line last matched (readSlot's output). */
  private readonly values: number[];

  private constructor(literals: string[], kinds: SlotKind[], offsets: number[], template: Buffer, values: number[]) {
    this.literals = literals;
    this.kinds = kinds;
    this.offsets = offsets;
    this.template = template;
    this.values = values;
  }

  /**
   * The shape of `line`, whose request's ovs_header and attributes are `fixedHeader` and
   * whose slots are `slots` (lineSlots'); undefined when a slot's value is not where
   * the key's schema puts it (or the request is too large to lay out in the arena).
   */
  static of(line: string, slots: readonly ValueSlot[], fixedHeader: Buffer): LineShape | undefined {
    if (fixedHeader.length > REQUEST_ROOM) return undefined;
    const template = Buffer.from(fixedHeader);
    const literals: string[] = [];
    const kinds: SlotKind[] = [];
    const offsets: number[] = [];
    let at = 0;
    for (const slot of slots) {
      const spec = flowKeyAttrs.byNameOf(slot.attr);
      const field = spec?.type === 'struct' ? fieldAt(spec.struct, slot.field) : undefined;
      const payload = keyAttrPayload(template, slot.attr);
      const size = slotSize(slot.kind);
      if (!field || field.size !== size || payload < 0) return undefined;
      const offset = payload + field.offset;
      if (offset + size > template.length || readBE(template, offset, size) !== slot.value) return undefined;
      literals.push(line.slice(at, slot.start));
      kinds.push(slot.kind);
      offsets.push(offset);
      at = slot.end;
    }
    literals.push(line.slice(at));
    return new LineShape(literals, kinds, offsets, template, new Array<number>(kinds.length).fill(0));
  }

  /**
   * The request bytes (ovs_header and attributes) of `line` when it has this shape,
   * laid out in the request arena; undefined when it has not.
   */
  request(line: string): Buffer | undefined {
    const literals = this.literals;
    const kinds = this.kinds;
    const values = this.values;
    // A slice compared with === (V8 compares the characters at once): startsWith at a
    // position took several times longer on a line cut from a read block.
    let pos = 0;
    for (let i = 0; i < kinds.length; i++) {
      const literal = literals[i]!;
      const end = pos + literal.length;
      if (line.slice(pos, end) !== literal) return undefined;
      pos = readSlot(kinds[i]!, line, end, values, i);
      if (pos < 0) return undefined;
    }
    const last = literals[kinds.length]!;
    if (line.length !== pos + last.length || line.slice(pos) !== last) return undefined;
    const buf = requestArena();
    const start = requestStart();
    const template = this.template;
    buf.set(template, start);
    for (let i = 0; i < kinds.length; i++) putSlot(buf, start + this.offsets[i]!, kinds[i]!, values[i]!);
    return requestLaidOut(start + template.length);
  }

  /** The line with every slot's value changed in every byte: what proves a new shape. */
  probe(): string {
    let text = this.literals[0]!;
    for (let i = 0; i < this.kinds.length; i++) {
      const kind = this.kinds[i]!;
      const templateValue = readBE(this.template, this.offsets[i]!, slotSize(kind));
      text += slotText(kind, otherSlotValue(kind, templateValue)) + this.literals[i + 1]!;
    }
    return text;
  }
}
