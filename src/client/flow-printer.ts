/**
 * dump-flows lines straight from the kernel's reply bytes, for big dumps.
 *
 * The flows of a dump mostly repeat each other attribute for attribute: the same in_port,
 * eth, eth_type, recirc_id, ct_* and the same masks, and usually the same actions; only
 * a few attributes (addresses, ports) change from flow to flow. An attribute's printed
 * text depends only on its own bytes, its mask's bytes, whether the key has a mask at all,
 * and the print options (formatKeyItem in src/ovs/flowstr/keys.ts), and the actions' text
 * only on their bytes and the port names. So each is decoded and printed once and its
 * text kept, keyed by those bytes; a flow then costs a walk over its attributes and byte
 * comparisons. A flow whose text depends on more than that (a packet_type, an eth_type
 * found only in the mask, an attribute twice) or whose bytes look unusual goes the
 * ordinary way (full decode, formatFlowLine), so every line is the one formatFlowLine
 * prints for the decoded flow.
 *
 * The memo keeps a few recent entries per key attribute type and for the actions, so
 * memory stays bounded however many flows stream through.
 */
import { NLA_HDRLEN, NLA_TYPE_MASK, align4, decodeAttrs, decodeList, decodeStruct, ipv4Text, littleEndianHost } from '../nl/codec.js';
import { decodeGenlMessage } from '../nl/family.js';
import { GENL_HDRLEN, NLMSG_HDRLEN, type NetlinkMessage, parseMessages } from '../nl/message.js';
import { type AttrValues, type StructSpec, fieldSize, structSize } from '../nl/schema.js';
import { actionAttrs } from '../ovs/actions.js';
import { flowAttrs, flowFamily } from '../ovs/flow.js';
import { formatActions } from '../ovs/flowstr/actions.js';
import { formatTcpFlagLetters, formatUfid } from '../ovs/flowstr/flow.js';
import { type StructItemPlan, formatKeyItem, keyAttrText, keyStructFields, structItemPlan } from '../ovs/flowstr/keys.js';
import { flowKeyAttrs } from '../ovs/keys.js';
import { type FlowFormatOptions, formatFlowLine } from './flow-text.js';
import { flowFromMessage } from './flows.js';

const le = littleEndianHost;

/** Where the attributes of an ovs_flow reply start: genl header, ovs_header. */
const ATTRS_START = GENL_HDRLEN + structSize(flowFamily.fixedHeader!);

const FLOW_KEY = flowAttrs.id('key');
const FLOW_ACTIONS = flowAttrs.id('actions');
const FLOW_STATS = flowAttrs.id('stats');
const FLOW_TCP_FLAGS = flowAttrs.id('tcp_flags');
const FLOW_USED = flowAttrs.id('used');
const FLOW_MASK = flowAttrs.id('mask');
const FLOW_UFID = flowAttrs.id('ufid');
const FLOW_PAD = flowAttrs.id('pad');
const KEY_PACKET_TYPE = flowKeyAttrs.id('packet_type');
const KEY_ETHERTYPE = flowKeyAttrs.id('ethertype');
/** A pad attribute in a key would vanish in decoding (the set has none today). */
const KEY_PAD = flowKeyAttrs.attrs.find((a) => a.type === 'pad')?.id ?? -1;

/** The struct of each struct-typed key attribute, and its size, by type. */
const STRUCTS: (StructSpec | undefined)[] = [];
const STRUCT_SIZES: number[] = [];
for (const a of flowKeyAttrs.attrs) {
  if (a.type === 'struct') {
    STRUCTS[a.id] = a.struct;
    STRUCT_SIZES[a.id] = structSize(a.struct);
  }
}

/**
 * How a shown field of a struct key attribute is printed from its bytes: a u8 through its
 * plan's show, kept per value (256 at most: the show runs a few times a dump, not per
 * flow); a be16 shown in decimal (String of the number decodeStruct gives); a be32 shown
 * as an IPv4 address (ipv4Text: the codec's remembered text, as decodeStruct's 'ipv4' repr gives).
 */
const SHOW_U8 = 0;
const SHOW_BE16 = 1;
const SHOW_IPV4 = 2;

/**
 * Per struct key type, per struct field name: where the field starts and how it is
 * shown from its bytes (SHOW_*); absent for a field shown otherwise (a MAC, an IPv6
 * address, a number in hex, an enum), whose plan decodes the struct.
 */
const FIELD_BYTES: (Map<string, { offset: number; show: number }> | undefined)[] = [];
for (const a of flowKeyAttrs.attrs) {
  if (a.type !== 'struct') continue;
  const kinds = new Map(keyStructFields(keyAttrText(a.name))?.fields.map((f) => [f.field, f.kind]));
  const fields = new Map<string, { offset: number; show: number }>();
  let offset = 0;
  for (const f of a.struct.fields) {
    const kind = kinds.get(f.name);
    if (f.type === 'u8' && !f.enum && !f.repr) fields.set(f.name, { offset, show: SHOW_U8 });
    else if (f.type === 'be16' && !f.enum && !f.repr && kind === 'be16') fields.set(f.name, { offset, show: SHOW_BE16 });
    else if (f.type === 'be32' && !f.enum && f.repr === 'ipv4' && kind === 'ipv4') fields.set(f.name, { offset, show: SHOW_IPV4 });
    offset += fieldSize(f);
  }
  FIELD_BYTES[a.id] = fields;
}

/**
 * A struct attribute's plan printed from the attribute's bytes: its parts, and per shown
 * field its offset in the struct, how it is shown (SHOW_*) and, for a u8, the texts of
 * the values seen so far.
 */
interface BytePlan {
  parts: readonly string[];
  offsets: Int32Array;
  shows: Int32Array;
  texts: (string | undefined)[][];
  plan: StructItemPlan;
}

/** The plan of a struct key attribute of type `type` printed from bytes; undefined when a shown field has no byte form. */
function bytePlan(type: number, plan: StructItemPlan): BytePlan | undefined {
  const fields = FIELD_BYTES[type]!;
  const n = plan.fields.length;
  const offsets = new Int32Array(n), shows = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const f = fields.get(plan.fields[i]!);
    if (!f) return undefined;
    offsets[i] = f.offset;
    shows[i] = f.show;
  }
  return { parts: plan.parts, offsets, shows, texts: plan.fields.map(() => []), plan };
}

/** formatTcpFlagLetters() of every flags byte, made when first needed (a dump has few). */
const TCP_FLAG_TEXTS: (string | undefined)[] = [];

/** Recent texts kept per key attribute type, and for actions. */
const ITEMS_PER_TYPE = 4;
const ACTION_TEXTS = 8;
/**
 * A type whose last MISSES_TO_REST texts were all new (addresses, ports that change from
 * flow to flow) is printed without the memo for the next REST flows, then tried again;
 * each trial that finds no repeat doubles its next rest, up to MAX_REST (a trial costs
 * MISSES_TO_REST copies into the memo and comparisons with it).
 */
const MISSES_TO_REST = 16;
const REST = 1024;
const MAX_REST = 1 << 20;
/** Attributes longer than this (payload bytes) are printed each time, not kept. */
const MEMO_MAX_BYTES = 1024;

/**
 * A printed key attribute: its key payload, then from word keyWords on its mask payload
 * (maskLen -1: no mask attribute), each zero-padded to whole 32-bit words; `bytes` views
 * the same memory.
 */
interface ItemText {
  words: Int32Array;
  bytes: Buffer;
  keyLen: number;
  keyWords: number;
  maskLen: number;
  masked: boolean;
  text: string;
}

interface ActionsText {
  words: Int32Array;
  bytes: Buffer;
  len: number;
  text: string;
}

/**
 * Copies of byte ranges of p, each zero-padded to whole 32-bit words (a netlink
 * attribute's padding is zeros, so it compares equal to a copy's).
 */
function wordCopy(p: Buffer, ranges: readonly [start: number, len: number][]): { words: Int32Array; bytes: Buffer } {
  let n = 0;
  for (const [, len] of ranges) n += (len + 3) >> 2;
  const words = new Int32Array(n);
  const bytes = Buffer.from(words.buffer);
  let at = 0;
  for (const [start, len] of ranges) {
    p.copy(bytes, at, start, start + len);
    at += ((len + 3) >> 2) << 2;
  }
  return { words, bytes };
}

/** Whether words w[i, i + n) equal saved[from, from + n). */
function sameWords(w: Int32Array, i: number, saved: Int32Array, from: number, n: number): boolean {
  for (let j = 0; j < n; j++) if (w[i + j] !== saved[from + j]) return false;
  return true;
}

/** A host-order u64 as decimal text, from its first and second 32-bit words in memory. */
function u64Text(first: number, second: number): string {
  const lo = le ? first : second;
  const hi = le ? second : first;
  if (hi === 0) return String(lo);
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

/** The statistics and use of a flow that has had no packet (most of a dump, often). */
const NO_PACKETS = ', packets:0, bytes:0';
const NEVER_USED = ', used:never';

/**
 * s made one flat string in memory (V8 flattens a string built by concatenation when a
 * character of it is read), for a text that many lines share: writing the dump's text
 * then copies it whole per line, not piece by piece through its concatenations again.
 */
function flat(s: string): string {
  s.charCodeAt(0);
  return s;
}

/** Whether buf[at, at + len) holds the same bytes as saved[from, from + len). */
function sameBytes(buf: Buffer, at: number, saved: Buffer, from: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (buf[at + i] !== saved[from + i]) return false;
  return true;
}

/** The length of the attribute at off (header included), checked against end. */
function attrLen(p: Buffer, off: number, end: number): number {
  if (end - off < NLA_HDRLEN) throw ORDINARY;
  const len = le ? p[off]! | (p[off + 1]! << 8) : (p[off]! << 8) | p[off + 1]!;
  if (len < NLA_HDRLEN || off + len > end) throw ORDINARY;
  return len;
}

/** Thrown inside repliesText() when a flow has to go the ordinary way. */
const ORDINARY = Symbol('ordinary');

/**
 * Prints dumped ovs_flow replies as dump-flows lines, equal to formatFlowLine() of the
 * decoded flows. One printer serves one dump (one clock reading, one set of options).
 */
export class FlowLinePrinter {
  private readonly items: (ItemText[] | undefined)[] = [];
  private readonly actions: ActionsText[] = [];
  /** Per key type: the last mask attribute decoded (read-only: formatting does not change values). */
  private readonly masks: ({ bytes: Buffer; value: AttrValues } | undefined)[] = [];
  /**
   * Per struct key type: the print plan of the last mask seen, and the last maskEpoch it
   * served (within one, the mask's bytes are the same: no need to compare them again).
   */
  private readonly plans: ({ bytes: Buffer; maskLen: number; masked: boolean; plan: StructItemPlan; fromBytes: BytePlan | undefined; epoch: number } | undefined)[] = [];
  private actionsNext = 0;
  /** The entry of `actions` that printed the last flow's actions. */
  private lastActions: ActionsText | undefined;
  /**
   * The current reply's memory as 32-bit words, and where the reply starts in them (-1:
   * not 4-byte aligned, so bytes are compared). Attributes start at multiples of 4 in a
   * reply: their payloads are compared a word, not a byte, at a time.
   */
  private words: Int32Array<ArrayBufferLike> = new Int32Array(0);
  private wordsOf: ArrayBufferLike | undefined;
  private wordBase = -1;
  private readonly itemsNext: number[] = [];
  /** Per key type: the entry of `items` that matched last. */
  private readonly lastHit: (ItemText | undefined)[] = [];
  /** Per key type: new texts in a row, or (negative) flows left to print without the memo. */
  private readonly misses = new Int32Array(NLA_TYPE_MASK + 1);
  /** Per key type: how many flows its next rest lasts (REST until a trial fails). */
  private readonly rests = new Int32Array(NLA_TYPE_MASK + 1).fill(REST);
  /**
   * Where each key type's mask attribute is from the mask's start (valid when maskStamp
   * is maskEpoch). A mask is walked only when its bytes differ from the last one walked
   * (lastMask, lastMaskLen: -1 for no mask attribute, -2 for none to compare with).
   */
  private readonly maskAt = new Int32Array(NLA_TYPE_MASK + 1);
  private readonly maskStamp = new Uint32Array(NLA_TYPE_MASK + 1);
  private maskEpoch = 0;
  private lastMask = new Int32Array(64);
  private lastMaskLen = -2;
  private lastMasked = false;
  private readonly keyStamp = new Uint32Array(NLA_TYPE_MASK + 1);
  private stamp = 0;
  /**
   * The last key printed under the current mask (lastKeyCount attributes; none when 0): its
   * words, and per attribute its type, its end from the key's start, its text and the text
   * so far. The attributes a key starts with that are the same bytes as the last key's have
   * the same text: their text is taken whole (for a big dump, all but the few that vary);
   * after them, an attribute that is the same bytes as the last key's in its place (tcp_flags
   * after tcp) takes that one's text.
   */
  private lastKey = new Int32Array(64);
  private lastKeyLen = 0;
  private lastKeyCount = 0;
  private readonly lastTypes: number[] = [];
  private readonly lastEnds: number[] = [];
  private readonly lastOuts: string[] = [];
  private readonly lastTexts: string[] = [];
  private readonly verbose: boolean;
  private readonly nowMs: number | bigint;
  private readonly nowBig: bigint;
  private readonly portName: ((no: number) => string | undefined) | undefined;
  private readonly emptyActions: string;
  /**
   * The end of an idle flow's line (no packets, never used, no TCP flags: most of a big
   * dump) after its key, for the actions text idleActions: one flat string, not five
   * concatenated per line.
   */
  private idleActions: string | undefined;
  private idleEnd = '';

  constructor(nowMs: bigint, private readonly options: FlowFormatOptions = {}) {
    this.verbose = options.verbose ?? false;
    this.nowBig = nowMs;
    this.nowMs = nowMs <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(nowMs) : nowMs;
    const names = options.portNames;
    this.portName = names ? (no) => names.get(no) : undefined;
    this.emptyActions = formatActions([], this.actionOptions());
  }

  private actionOptions(): { portName?: (no: number) => string | undefined } {
    return this.portName ? { portName: this.portName } : {};
  }

  /**
   * The dump-flows lines of a batch of ovs_flow replies, each ending in a newline. Each
   * buffer holds whole netlink messages (headers included, each at a 4-byte boundary, their
   * lengths checked: GenlSocket.dumpReplyBytes); the replies are read where they are.
   */
  printReplies(bufs: readonly Buffer[]): string {
    let text = '';
    for (const buf of bufs) text += this.repliesText(buf);
    return text;
  }

  /** The line of a reply that repliesText left (threw ORDINARY) to the full decode. */
  private ordinary(err: unknown, msg: NetlinkMessage): string {
    if (err !== ORDINARY) throw err;
    return formatFlowLine(flowFromMessage(decodeGenlMessage(flowFamily, msg)), this.nowBig, this.options);
  }

  /**
   * The lines of the replies in p, each reply's attributes read in this one loop over them
   * (not by a function called per reply: in a short process both it and the loop calling
   * it would get a TurboFan compile of their own).
   */
  private repliesText(p: Buffer): string {
    if ((p.byteOffset & 3) === 0) {
      if (p.buffer !== this.wordsOf) {
        this.wordsOf = p.buffer;
        this.words = new Int32Array(p.buffer, 0, p.buffer.byteLength >> 2);
      }
      this.wordBase = p.byteOffset >> 2;
    } else this.wordBase = -1;
    let text = '';
    for (let msg = 0; msg + NLMSG_HDRLEN <= p.length;) {
      // Byte loads, not a read method (a call each in unoptimized code).
      const msgLen = le
        ? (p[msg]! | (p[msg + 1]! << 8) | (p[msg + 2]! << 16) | (p[msg + 3]! << 24)) >>> 0
        : ((p[msg]! << 24) | (p[msg + 1]! << 16) | (p[msg + 2]! << 8) | p[msg + 3]!) >>> 0;
      const start = msg + NLMSG_HDRLEN, end = msg + msgLen;
      try {
        if (end - start < ATTRS_START) throw ORDINARY;
        let key = -1, keyEnd = 0, mask = -1, maskEnd = 0, actions = -1, actionsEnd = 0;
        let stats = -1, used = -1, ufid = -1, ufidLen = 0, tcpFlags = 0;
        let seen = 0;
        for (let off = start + ATTRS_START; off < end;) {
          const len = attrLen(p, off, end);
          const type = (le ? p[off + 2]! | (p[off + 3]! << 8) : (p[off + 2]! << 8) | p[off + 3]!) & NLA_TYPE_MASK;
          const at = off + NLA_HDRLEN;
          const size = len - NLA_HDRLEN;
          // Each attribute once, of a known type and size; anything else the decoder judges.
          if (type >= 32 || seen & (1 << type)) throw ORDINARY;
          seen |= 1 << type;
          switch (type) {
            case FLOW_KEY: key = at; keyEnd = at + size; break;
            case FLOW_MASK: mask = at; maskEnd = at + size; break;
            case FLOW_ACTIONS: actions = at; actionsEnd = at + size; break;
            case FLOW_STATS: if (size !== 16) throw ORDINARY; stats = at; break;
            case FLOW_USED: if (size !== 8) throw ORDINARY; used = at; break;
            case FLOW_TCP_FLAGS: if (size !== 1) throw ORDINARY; tcpFlags = p[at]!; break;
            case FLOW_UFID: if (size > 16) throw ORDINARY; ufid = at; ufidLen = size; break;
            case FLOW_PAD: break;
            default: throw ORDINARY;
          }
          off += align4(len);
        }
        let out = '';
        if (this.verbose && ufid >= 0) out += `ufid:${formatUfid(p.subarray(ufid, ufid + ufidLen))}, `;
        out += this.keyText(p, key, keyEnd, mask, maskEnd);
        const statsOut = stats >= 0 ? this.statsText(p, stats) : NO_PACKETS;
        const usedOut = used >= 0 ? this.usedText(p, used) : NEVER_USED;
        let actionsOut = this.emptyActions;
        if (actions >= 0) {
          // The last flow's actions compared here, not in actionsText: flows mostly share their
          // actions, and actionsText, called per flow, would be one more function for V8 to compile.
          const last = this.lastActions, len = actionsEnd - actions, base = this.wordBase;
          let same = last !== undefined && last.len === len && base >= 0;
          if (same) {
            const words = this.words, saved = last!.words, w = base + (actions >> 2), n = (len + 3) >> 2;
            for (let i = 0; i < n && same; i++) same = words[w + i] === saved[i];
          }
          actionsOut = same ? last!.text : this.actionsText(p, actions, actionsEnd);
        }
        if (statsOut === NO_PACKETS && usedOut === NEVER_USED && !tcpFlags) {
          if (actionsOut !== this.idleActions) {
            this.idleActions = actionsOut;
            this.idleEnd = flat(`${NO_PACKETS}${NEVER_USED}${this.verbose ? ', dp:ovs' : ''}, actions:${actionsOut}\n`);
          }
          text += out + this.idleEnd;
        } else {
          out += statsOut + usedOut;
          if (tcpFlags) out += `, flags:${TCP_FLAG_TEXTS[tcpFlags] ??= formatTcpFlagLetters(tcpFlags)}`;
          if (this.verbose) out += ', dp:ovs';
          text += `${out}, actions:${actionsOut}\n`;
        }
      } catch (err) {
        text += `${this.ordinary(err, parseMessages(p.subarray(msg, end))[0]!)}\n`;
      }
      msg += align4(msgLen);
    }
    return text;
  }

  /**
   * The host-order u32 at p[off] (off a multiple of 4 from the reply's start): a word of
   * `words` where the reply is aligned (a read method is a call each in unoptimized code).
   */
  private u32(p: Buffer, off: number): number {
    const base = this.wordBase;
    if (base >= 0) return this.words[base + (off >> 2)]! >>> 0;
    return le ? p.readUInt32LE(off) : p.readUInt32BE(off);
  }

  /** ", packets:N, bytes:N" from struct ovs_flow_stats (two u64). */
  private statsText(p: Buffer, at: number): string {
    const a = this.u32(p, at), b = this.u32(p, at + 4), c = this.u32(p, at + 8), d = this.u32(p, at + 12);
    if ((a | b | c | d) === 0) return NO_PACKETS;
    return `, packets:${u64Text(a, b)}, bytes:${u64Text(c, d)}`;
  }

  /** ", used:" and formatUsed() from the u64's bytes. */
  private usedText(p: Buffer, at: number): string {
    const lo = this.u32(p, le ? at : at + 4);
    const hi = this.u32(p, le ? at + 4 : at);
    if (lo === 0 && hi === 0) return NEVER_USED;
    if (hi < 0x200000 && typeof this.nowMs === 'number') {
      // Whole milliseconds, well inside 2^53: the digits directly (toFixed is slow).
      const ms = this.nowMs - (hi * 0x100000000 + lo);
      const abs = ms < 0 ? -ms : ms;
      const frac = abs % 1000;
      return `, used:${ms < 0 ? '-' : ''}${(abs - frac) / 1000}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}s`;
    }
    return `, used:${(Number(this.nowBig - ((BigInt(hi) << 32n) | BigInt(lo))) / 1000).toFixed(3)}s`;
  }

  private keyText(p: Buffer, key: number, keyEnd: number, mask: number, maskEnd: number): string {
    if (key < 0 || keyEnd === key) return '<empty>';
    const stamp = this.nextStamp();
    const base = this.wordBase;
    const maskLen = mask < 0 ? -1 : maskEnd - mask;
    let masked = this.lastMasked;
    // Whether the mask is the last one walked (compared here, not in sameWords: called for
    // every flow, sameWords would be one more function for V8 to compile on its own).
    let sameMask = base >= 0 && maskLen === this.lastMaskLen;
    if (sameMask) {
      const words = this.words, last = this.lastMask, at = base + (mask >> 2), n = (maskLen + 3) >> 2;
      for (let i = 0; i < n && sameMask; i++) sameMask = words[at + i] === last[i];
    }
    if (!sameMask) {
      masked = this.walkMask(p, mask, maskEnd);
      this.lastKeyCount = 0;
    }
    let out = '';
    let from = key;
    let n = 0;
    // How many words the key starts with that are the last key's.
    let same = 0;
    const lastCount = this.lastKeyCount;
    if (lastCount) {
      const words = this.words;
      const at = base + (key >> 2);
      const last = this.lastKey;
      const limit = Math.min(keyEnd - key, this.lastKeyLen) >> 2;
      while (same < limit && words[at + same] === last[same]) same++;
      const reach = same << 2;
      while (n < lastCount && this.lastEnds[n]! <= reach) this.keyStamp[this.lastTypes[n++]!] = stamp;
      if (n) {
        // Flat once, then shared by every line that starts so.
        out = flat(this.lastOuts[n - 1]!);
        from = key + this.lastEnds[n - 1]!;
      }
    }
    // Until this key is printed whole, the lists describe no key.
    this.lastKeyCount = 0;
    // Where the last key's attribute n starts (read before the lists' entry n - 1 is
    // rewritten for this key).
    let lastStart = n ? this.lastEnds[n - 1]! : 0;
    for (let off = from; off < keyEnd;) {
      const len = attrLen(p, off, keyEnd);
      const type = (le ? p[off + 2]! | (p[off + 3]! << 8) : (p[off + 2]! << 8) | p[off + 3]!) & NLA_TYPE_MASK;
      if (this.keyStamp[type] === stamp || type === KEY_PACKET_TYPE || type === KEY_PAD) throw ORDINARY;
      this.keyStamp[type] = stamp;
      const lastEnd = n < lastCount ? this.lastEnds[n]! : -1;
      // The attribute in the last key's place n, header and all (so of the same type and
      // length), under the same mask: its text. After the few attributes that vary, a key
      // mostly ends as the last one (tcp_flags after tcp), and this spares them the memo.
      let repeat = lastEnd - lastStart === align4(len);
      if (repeat) {
        const words = this.words, last = this.lastKey, at = base + (off >> 2), from = lastStart >> 2, w = (len + 3) >> 2;
        for (let i = 0; i < w && repeat; i++) repeat = words[at + i] === last[from + i];
      }
      let text: string;
      if (repeat) text = this.lastTexts[n]!;
      else {
        const m = masked && this.maskStamp[type] === this.maskEpoch ? mask + this.maskAt[type]! : -1;
        // A type at rest (its texts keep changing) is printed without the memo, by a function
        // of its own: itemText then runs only for the types the memo serves and for trials,
        // and in a big dump of varying addresses V8 compiles the small freshText, not itemText.
        const misses = this.misses[type]!;
        if (misses < 0) {
          this.misses[type] = misses + 1;
          text = this.freshText(p, type, off, len, m, this.maskLenAt(p, m), masked);
        } else text = this.itemText(p, type, off, len, m, masked);
      }
      if (text) out += out.length ? `,${text}` : text;
      off += align4(len);
      lastStart = lastEnd;
      this.lastTypes[n] = type;
      this.lastTexts[n] = text;
      this.lastEnds[n] = off - key;
      this.lastOuts[n++] = out;
    }
    // An eth_type in the mask only is printed after the rest: the ordinary way does that.
    if (masked && this.maskStamp[KEY_ETHERTYPE] === this.maskEpoch && this.keyStamp[KEY_ETHERTYPE] !== stamp) throw ORDINARY;
    // This key is the next one's to compare with (its words as read, padding and all).
    const keyWords = (keyEnd - key + 3) >> 2;
    if (base >= 0 && base + (key >> 2) + keyWords <= this.words.length) {
      if (this.lastKey.length < keyWords) {
        this.lastKey = new Int32Array(keyWords * 2);
        same = 0;
      }
      // A loop, not set(subarray()): a typed array object per flow costs more. The words
      // the key shares with the last one are there already.
      const words = this.words, last = this.lastKey, at = base + (key >> 2);
      for (let i = same; i < keyWords; i++) last[i] = words[at + i]!;
      this.lastKeyLen = keyEnd - key;
      this.lastKeyCount = n;
    }
    return out;
  }

  /**
   * Notes where each type's mask attribute is (maskAt, maskStamp) under a new maskEpoch
   * and keeps the mask's words to compare the next flow's with. Whether the key has a
   * (non-empty) mask.
   */
  private walkMask(p: Buffer, mask: number, maskEnd: number): boolean {
    this.lastMaskLen = -2;
    this.maskEpoch = (this.maskEpoch + 1) >>> 0;
    if (this.maskEpoch === 0) {
      this.maskStamp.fill(0);
      for (const plan of this.plans) if (plan) plan.epoch = 0;
      this.maskEpoch = 1;
    }
    const epoch = this.maskEpoch;
    let masked = false;
    if (mask >= 0) {
      for (let off = mask; off < maskEnd;) {
        const len = attrLen(p, off, maskEnd);
        const type = (le ? p[off + 2]! | (p[off + 3]! << 8) : (p[off + 2]! << 8) | p[off + 3]!) & NLA_TYPE_MASK;
        if (this.maskStamp[type] === epoch) throw ORDINARY;
        this.maskStamp[type] = epoch;
        this.maskAt[type] = off - mask;
        masked = true;
        off += align4(len);
      }
    }
    this.lastMasked = masked;
    const base = this.wordBase;
    const maskLen = mask < 0 ? -1 : maskEnd - mask;
    const words = (maskLen + 3) >> 2;
    if (base >= 0 && (mask < 0 || base + (mask >> 2) + words <= this.words.length)) {
      if (this.lastMask.length < words) this.lastMask = new Int32Array(words * 2);
      this.lastMask.set(this.words.subarray(base + (mask >> 2), base + (mask >> 2) + words));
      this.lastMaskLen = maskLen;
    }
    return masked;
  }

  private nextStamp(): number {
    this.stamp = (this.stamp + 1) >>> 0;
    if (this.stamp === 0) {
      this.keyStamp.fill(0);
      this.stamp = 1;
    }
    return this.stamp;
  }

  /**
   * The text of the key attribute at `at` (length len), with the mask attribute at `m` (-1:
   * none), from the memo or made anew and kept.
   */
  private itemText(p: Buffer, type: number, at: number, len: number, m: number, masked: boolean): string {
    const keyLen = len - NLA_HDRLEN;
    const maskLen = this.maskLenAt(p, m);
    const misses = this.misses[type]!;
    const list = (this.items[type] ??= []);
    // Most flows repeat the text of the flow before: its entry first.
    const hit = this.lastHit[type];
    if (hit !== undefined && this.sameItem(hit, p, at, keyLen, m, maskLen, masked)) {
      // A repeat: the type stays in the memo, and its rests start over.
      if (misses) this.repeated(type);
      return hit.text;
    }
    for (let i = 0; i < list.length; i++) {
      const e = list[i]!;
      if (e !== hit && this.sameItem(e, p, at, keyLen, m, maskLen, masked)) {
        if (misses) this.repeated(type);
        this.lastHit[type] = e;
        return e.text;
      }
    }
    if (misses + 1 < MISSES_TO_REST) this.misses[type] = misses + 1;
    else {
      const rest = this.rests[type]!;
      this.misses[type] = -rest;
      this.rests[type] = Math.min(rest * 2, MAX_REST);
    }
    const text = this.freshText(p, type, at, len, m, maskLen, masked);
    if (keyLen + Math.max(maskLen, 0) <= MEMO_MAX_BYTES) {
      const { words, bytes } = wordCopy(p, maskLen > 0 ? [[at + NLA_HDRLEN, keyLen], [m + NLA_HDRLEN, maskLen]] : [[at + NLA_HDRLEN, keyLen]]);
      const entry: ItemText = { words, bytes, keyLen, keyWords: (keyLen + 3) >> 2, maskLen, masked, text };
      if (list.length < ITEMS_PER_TYPE) list.push(entry);
      else {
        const next = this.itemsNext[type] ?? 0;
        list[next] = entry;
        this.itemsNext[type] = (next + 1) % ITEMS_PER_TYPE;
      }
    }
    return text;
  }

  /** The mask attribute's payload length (-1: none); its length was checked in keyText's walk over the mask. */
  private maskLenAt(p: Buffer, m: number): number {
    return m < 0 ? -1 : (le ? p[m]! | (p[m + 1]! << 8) : (p[m]! << 8) | p[m + 1]!) - NLA_HDRLEN;
  }

  /** The text of the key attribute at `at` (length len) with the mask attribute at `m`, made anew. */
  private freshText(p: Buffer, type: number, at: number, len: number, m: number, maskLen: number, masked: boolean): string {
    const keyLen = len - NLA_HDRLEN;
    let text: string;
    try {
      const planned = this.structPlan(p, type, keyLen, m, maskLen, masked);
      const b = planned?.fromBytes;
      if (b) {
        // The plan's parts with the fields shown from their bytes between them: no struct
        // decoded, and no show called per flow (in a short process every function called
        // per flow gets its own TurboFan compile).
        const parts = b.parts, offsets = b.offsets, shows = b.shows, s = at + NLA_HDRLEN;
        text = parts[0]!;
        for (let i = 0; i < offsets.length; i++) {
          const o = s + offsets[i]!;
          const show = shows[i]!;
          if (show === SHOW_U8) {
            const v = p[o]!;
            text += b.texts[i]![v] ??= b.plan.shows[i]!(v);
          } else if (show === SHOW_BE16) text += String((p[o]! << 8) | p[o + 1]!);
          else text += ipv4Text(((p[o]! << 24) | (p[o + 1]! << 16) | (p[o + 2]! << 8) | p[o + 3]!) >>> 0);
          text += parts[i + 1]!;
        }
      } else if (planned) {
        // The plan's parts with the value's fields shown between them.
        const plan = planned.plan;
        const value = decodeStruct(STRUCTS[type]!, p, at + NLA_HDRLEN);
        text = plan.parts[0]!;
        for (let i = 0; i < plan.fields.length; i++) text += plan.shows[i]!(value[plan.fields[i]!]) + plan.parts[i + 1]!;
      } else {
        const value = decodeAttrs(flowKeyAttrs, p, at, at + len);
        const name = Object.keys(value)[0];
        if (name === undefined) text = '';
        else text = formatKeyItem(name, value[name], m < 0 ? undefined : this.maskValue(p, type, m, maskLen)[name], masked, false, this.options);
      }
    } catch {
      // The ordinary way reports the error as it always has.
      throw ORDINARY;
    }
    return text;
  }

  private repeated(type: number): void {
    this.misses[type] = 0;
    this.rests[type] = REST;
  }

  /** Whether entry e is the text of the key attribute at `at` with the mask attribute at `m`. */
  private sameItem(e: ItemText, p: Buffer, at: number, keyLen: number, m: number, maskLen: number, masked: boolean): boolean {
    if (e.keyLen !== keyLen || e.maskLen !== maskLen || e.masked !== masked) return false;
    const base = this.wordBase;
    if (base < 0) return sameBytes(p, at + NLA_HDRLEN, e.bytes, 0, keyLen) && (maskLen <= 0 || sameBytes(p, m + NLA_HDRLEN, e.bytes, e.keyWords << 2, maskLen));
    return sameWords(this.words, base + ((at + NLA_HDRLEN) >> 2), e.words, 0, e.keyWords) &&
      (maskLen <= 0 || sameWords(this.words, base + ((m + NLA_HDRLEN) >> 2), e.words, e.keyWords, (maskLen + 3) >> 2));
  }

  /**
   * For a struct attribute of the struct's size: its print plan for this mask (the last
   * one of each type is kept), so that only the value is read and its fields put in.
   */
  private structPlan(
    p: Buffer, type: number, keyLen: number, m: number, maskLen: number, masked: boolean,
  ): { plan: StructItemPlan; fromBytes: BytePlan | undefined } | undefined {
    if (keyLen !== STRUCT_SIZES[type]) return undefined;
    const last = this.plans[type];
    if (last && last.masked === masked && last.maskLen === maskLen &&
      (last.epoch === this.maskEpoch || maskLen <= 0 || sameBytes(p, m + NLA_HDRLEN, last.bytes, 0, maskLen))) {
      last.epoch = this.maskEpoch;
      return last;
    }
    const name = flowKeyAttrs.get(type)!.name;
    const plan = structItemPlan(name, m < 0 ? undefined : this.maskValue(p, type, m, maskLen)[name], masked, false, this.options);
    if (!plan) return undefined;
    const bytes = maskLen > 0 ? Buffer.from(p.subarray(m + NLA_HDRLEN, m + NLA_HDRLEN + maskLen)) : Buffer.alloc(0);
    const entry = { bytes, maskLen, masked, plan, fromBytes: bytePlan(type, plan), epoch: this.maskEpoch };
    this.plans[type] = entry;
    return entry;
  }

  /** The mask attribute at m decoded; the last one of each type is kept (masks repeat more than keys). */
  private maskValue(p: Buffer, type: number, m: number, maskLen: number): AttrValues {
    const last = this.masks[type];
    if (last && last.bytes.length === maskLen && sameBytes(p, m + NLA_HDRLEN, last.bytes, 0, maskLen)) return last.value;
    const value = decodeAttrs(flowKeyAttrs, p, m, m + NLA_HDRLEN + maskLen);
    if (maskLen <= MEMO_MAX_BYTES) this.masks[type] = { bytes: Buffer.from(p.subarray(m + NLA_HDRLEN, m + NLA_HDRLEN + maskLen)), value };
    return value;
  }

  private actionsText(p: Buffer, at: number, end: number): string {
    const len = end - at;
    const base = this.wordBase;
    for (let i = 0; i < this.actions.length; i++) {
      const e = this.actions[i]!;
      if (e.len !== len) continue;
      if (base < 0) {
        if (sameBytes(p, at, e.bytes, 0, len)) return (this.lastActions = e).text;
        continue;
      }
      if (sameWords(this.words, base + (at >> 2), e.words, 0, (len + 3) >> 2)) return (this.lastActions = e).text;
    }
    let text: string;
    try {
      text = formatActions(decodeList(actionAttrs, p, at, end), this.actionOptions());
    } catch {
      throw ORDINARY;
    }
    if (len <= MEMO_MAX_BYTES * 4) {
      const entry: ActionsText = { ...wordCopy(p, [[at, len]]), len, text };
      this.lastActions = entry;
      if (this.actions.length < ACTION_TEXTS) this.actions.push(entry);
      else {
        this.actions[this.actionsNext] = entry;
        this.actionsNext = (this.actionsNext + 1) % ACTION_TEXTS;
      }
    }
    return text;
  }
}
