/**
 * Line shapes of a bulk flow file (add-flows, del-flows FILE): a line that went the whole
 * way (split, parsed, checked, laid out: BulkRequests) leaves its text cut into literal
 * parts and value slots (src/ovs/flowstr/slots.ts) and its request as the netlink message
 * a bulk batch carries, with where each slot's value sits in it. A later line whose text
 * is the same but for the slots' values (generated files: other addresses, ports) is
 * appended to its batch as that message with its values written in: no scan, no codec,
 * no check, no request object (a run of such lines is one WrittenOp: src/cli/bulk.ts). A shape is proved once, when made, against
 * the whole way (LineShapes.learn in src/cli/bulk.ts; the unit tests run files both ways).
 */
import { MessageBuilder, NLA_HDRLEN, NLA_TYPE_MASK, align4, attrLength, attrTypeField, littleEndianHost } from '../nl/codec.js';
import { type GenlRequest, NLM_F_REQUEST, appendGenlRequest } from '../nl/message.js';
import { fieldAt, structSize } from '../nl/schema.js';
import { flowAttrs } from '../ovs/flow.js';
import { type SlotKind, type ValueSlot, matchSlotLines, otherSlotValue, slotText } from '../ovs/flowstr/slots.js';
import { ovsHeader } from '../ovs/header.js';
import { flowKeyAttrs } from '../ovs/keys.js';

const KEY_ID = flowAttrs.id('key');
const OVS_HEADER_SIZE = structSize(ovsHeader);

/** The bytes a slot's value takes (big-endian). */
function slotSize(kind: SlotKind): number {
  return kind === 'port' ? 2 : 4;
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

/** Writes sequence number `seq` (u32, host order) into the netlink header at buf[at]. */
function putSeq(buf: Buffer, at: number, seq: number): void {
  if (littleEndianHost) {
    buf[at + 8] = seq;
    buf[at + 9] = seq >>> 8;
    buf[at + 10] = seq >>> 16;
    buf[at + 11] = seq >>> 24;
  } else {
    buf[at + 8] = seq >>> 24;
    buf[at + 9] = seq >>> 16;
    buf[at + 10] = seq >>> 8;
    buf[at + 11] = seq;
  }
}

/** The big-endian number of `size` bytes at buf[off]. */
function readBE(buf: Buffer, off: number, size: number): number {
  let v = 0;
  for (let i = 0; i < size; i++) v = v * 256 + buf[off + i]!;
  return v;
}

/** A request as FlowTable's bulk runs lay it out: a whole netlink message, sequence number 0. */
function messageOf(req: GenlRequest): Buffer {
  const b = new MessageBuilder();
  appendGenlRequest(b, req, 0, NLM_F_REQUEST);
  return Buffer.from(b.bytes());
}

/** A line's text but for its value slots, and its request message with where the values go. */
export class LineShape {
  /** The text before each slot, then the text after the last: one more than the slots. */
  private readonly literals: readonly string[];
  private readonly kinds: readonly SlotKind[];
  /** Where each slot's value goes in `template`. */
  private readonly offsets: readonly number[];
  private readonly template: Buffer;

  private constructor(literals: string[], kinds: SlotKind[], offsets: number[], template: Buffer) {
    this.literals = literals;
    this.kinds = kinds;
    this.offsets = offsets;
    this.template = template;
  }

  /** The values a line of this shape has (what matchLines reads of each line). */
  get slotCount(): number {
    return this.kinds.length;
  }

  /**
   * The shape of `line`, whose request is `req` and whose slots are `slots` (lineSlots');
   * undefined when a slot's value is not where the key's schema puts it.
   */
  static of(line: string, slots: readonly ValueSlot[], req: GenlRequest): LineShape | undefined {
    const fixedHeader = req.fixedHeader;
    if (!fixedHeader) return undefined;
    // Padded to a multiple of 4, as appendGenlRequest leaves it: the next message of the batch follows.
    const template = messageOf(req);
    const headers = template.length - fixedHeader.length;
    const literals: string[] = [];
    const kinds: SlotKind[] = [];
    const offsets: number[] = [];
    let at = 0;
    for (const slot of slots) {
      const spec = flowKeyAttrs.byNameOf(slot.attr);
      const field = spec?.type === 'struct' ? fieldAt(spec.struct, slot.field) : undefined;
      const payload = keyAttrPayload(fixedHeader, slot.attr);
      const size = slotSize(slot.kind);
      if (!field || field.size !== size || payload < 0) return undefined;
      const offset = headers + payload + field.offset;
      if (offset + size > template.length || readBE(template, offset, size) !== slot.value) return undefined;
      literals.push(line.slice(at, slot.start));
      kinds.push(slot.kind);
      offsets.push(offset);
      at = slot.end;
    }
    literals.push(line.slice(at));
    return new LineShape(literals, kinds, offsets, template);
  }

  /**
   * How many lines from lines[start] on, up to lines[end - 1], have this shape one after
   * another: their text this one's but for the slots, which hold values (each line's
   * slotCount of them into `values`, line after line: matchSlotLines).
   */
  matchLines(lines: readonly string[], start: number, end: number, values: Float64Array): number {
    return matchSlotLines(this.literals, this.kinds, lines, start, end, values);
  }

  /**
   * Appends the request messages of `count` lines of this shape, whose values matchLines
   * read into `values`, to `out`: the template with each line's values written in, numbered
   * `seq`, `seq` + 1, ... (u32). Returns where the last one starts.
   */
  appendLines(values: Float64Array, count: number, out: MessageBuilder, seq: number): number {
    const kinds = this.kinds;
    const offsets = this.offsets;
    const template = this.template;
    const slots = kinds.length;
    let at = 0;
    for (let n = 0; n < count; n++) {
      at = out.reserve(template.length);
      const buf = out.buffer;
      buf.set(template, at);
      putSeq(buf, at, (seq + n) >>> 0);
      for (let i = 0; i < slots; i++) putSlot(buf, at + offsets[i]!, kinds[i]!, values[n * slots + i]!);
    }
    return at;
  }

  /**
   * Whether the shape holds: its message for its probe line (every slot's value changed in
   * every byte) is `probeRequest`'s, the request the whole way made of that line.
   */
  proves(probeRequest: GenlRequest): boolean {
    const values = new Float64Array(this.kinds.length);
    if (this.matchLines([this.probe()], 0, 1, values) !== 1) return false;
    const out = new MessageBuilder();
    this.appendLines(values, 1, out, 0);
    return out.bytes().equals(messageOf(probeRequest));
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
