/**
 * Code generation for the generic codec: each attribute set and struct of a schema is
 * turned, once and on first use, into specialised JavaScript (new Function), the way
 * protobuf code generators do it, but at run time from the same declarative schema.
 *
 * Why generate: an interpreter over the schema pays, per attribute, for a name or id
 * lookup, a dispatch on the attribute's kind, calls through closures and keyed property
 * stores into objects of unpredictable shape. Generated code has the schema folded in:
 *   - encoding: one `switch` over the value's keys (constant strings), each case writing
 *     its header as one constant 32-bit store and its value with an inlined range check
 *     and a DataView store; fixed sizes are constants, so room is checked once per
 *     attribute and padding is known; a struct of scalars is written in the set's own
 *     code, its fields loaded by name; and a set writer that keeps seeing one key order
 *     compiles a writer for it, with no switch at all (see compileKeyOrder);
 *   - decoding: one `switch` over the type id (a jump table), each case storing a named
 *     property (so every decoded object of a set gets the same hidden class) read with
 *     an inlined DataView load; structs are object literals built in one go.
 * Anything the fast paths do not take (enum names, numeric text, 64-bit writes, strings,
 * other byte strings, arrays, masked and indexed nests, bad values) goes to the
 * attribute's compiled closures in codec.ts, which convert it or say what is wrong: so
 * there is still one codec, and the generated code is only its fast lane.
 *
 * Generated functions see nothing but their arguments (the plans and a runtime object of
 * codec helpers); no value from a message or a caller is ever placed in generated
 * source, only schema names (as JSON string literals), ids and sizes.
 */
import type { AttrSet, AttrSpec, StructSpec } from './schema.js';

/**
 * Whether this host is little-endian: netlink headers are in host order. Told by a word's
 * first byte, not node:os's endianness(): node:os is left for the first error that needs
 * it (nl/errors.ts).
 */
export const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------- plans (what codec.ts compiles)

/*
 * Scalar kinds: the fixed-size values that make up most of a flow (integers of 1, 2 and
 * 4 bytes in either byte order, dotted IPv4, MAC text). Each field and attribute of such
 * a kind gets its number once, at compile time. Anything else (enums, 64-bit values,
 * other byte strings) has kind OTHER and goes through its compiled closures.
 */
export const OTHER = 0;
export const U8 = 1;
export const S8 = 2;
export const LE16 = 3;
export const SLE16 = 4;
export const LE32 = 5;
export const SLE32 = 6;
export const BE16 = 7;
export const SBE16 = 8;
export const BE32 = 9;
export const SBE32 = 10;
/** be32 shown as dotted IPv4 text */
export const IPV4 = 11;
/** 6 bytes shown as MAC text */
export const MAC = 12;

/** Writer state generated code writes through (codec.ts's Writer). */
export interface WriterLike {
  buf: Buffer;
  view: DataView;
  off: number;
  room(n: number): void;
}

export interface FieldPlan {
  name: string;
  /** Where the field starts in the struct. */
  offset: number;
  size: number;
  /** Its position in the struct's fields. */
  index: number;
  /** A scalar kind, or OTHER: then put and get do the work. */
  kind: number;
  /** 64-bit integer fields without enum or repr: read inline as bigints. */
  bigType: 'u64' | 's64' | 'be64' | undefined;
  /** Undefined for padding. */
  put: ((buf: Buffer, off: number, value: unknown) => void) | undefined;
  get: ((buf: Buffer, off: number) => unknown) | undefined;
}

export interface StructPlan {
  spec: StructSpec;
  size: number;
  fields: FieldPlan[];
  /** The fields a value may name (all but padding). */
  byName: ReadonlyMap<string, FieldPlan>;
  /** Writes a whole struct value at `at`, where `size` bytes fit (generated). */
  write(value: unknown, buf: Buffer, d: DataView, at: number): void;
  /** Reads a whole (full-size) struct at `at` (generated). */
  read(buf: Buffer, at: number): Record<string, unknown>;
}

/** How generated code treats an attribute: inline, or through its closures. */
export const VIA_CLOSURES = 0;
export const SCALAR_ATTR = 1;
export const STRUCT_ATTR = 2;
export const NESTED_ATTR = 3;
export const LIST_ATTR = 4;
export const FLAG_ATTR = 5;
/** binary with repr 'ip': IPv4 text inline, the rest (IPv6) through the closures */
export const IP_ATTR = 6;
/** u64/s64/be64 without enum or repr: read inline, written through the closures */
export const BIG_ATTR = 7;
export const PAD_ATTR = 8;

/** One attribute of a set, compiled. */
export interface AttrPlan {
  id: number;
  name: string;
  spec: AttrSpec;
  /** The header's type field: the id, with NLA_F_NESTED where the schema says so. */
  headerType: number;
  /** One of the *_ATTR kinds above. */
  kind: number;
  /** SCALAR_ATTR: the scalar kind and its size. */
  scalar: number;
  size: number;
  /** STRUCT_ATTR: the struct. */
  struct: StructPlan | undefined;
  /** NESTED_ATTR, LIST_ATTR: the nested set. */
  child: (() => SetPlan) | undefined;
  /** Writes the whole attribute (header, payload, padding) at w.off. */
  write(w: WriterLike, value: unknown): void;
  /** Writes just the payload at w.off (set_masked writes value and mask back to back). */
  payload(w: WriterLike, value: unknown): void;
  /** The library's value of a payload. */
  read(buf: Buffer, start: number, len: number): unknown;
}

export interface SetPlan {
  set: AttrSet;
  byName: Map<string, AttrPlan>;
  /** By attribute type; holes are unknown types. */
  byId: (AttrPlan | undefined)[];
  /** Writes an object of attribute values at w.off, in the object's key order. */
  write(values: unknown, w: WriterLike): void;
  /** Writes a list of single-key objects at w.off, in list order. */
  writeList(list: unknown, w: WriterLike): void;
  /** Writes one named attribute at w.off (nothing for an undefined value). */
  writeEntry(key: string, value: unknown, w: WriterLike): void;
  /** Reads buf[start, end) as an object of attribute values. */
  read(buf: Buffer, start: number, end: number): Record<string, unknown>;
  /** Reads buf[start, end) as a list of single-key objects. */
  readList(buf: Buffer, start: number, end: number): Record<string, unknown>[];
}

/** A place's two most recent IPv4 texts and values (see Memos). */
export interface IPv4Memo { textA: string | null; valueA: number; textB: string | null; valueB: number; newerA: number }
/** A place's two most recent MAC texts and their bytes as a u16 and a u32 (see Memos). */
export interface MacMemo { textA: string | null; highA: number; lowA: number; textB: string | null; highB: number; lowB: number; newerA: number }

/** The codec helpers generated code calls (slow paths, errors, address text). */
export interface Runtime {
  fail(detail: string): never;
  under(name: string, err: unknown): unknown;
  describe(v: unknown): string;
  isRecord(v: unknown): v is Record<string, unknown>;
  /** Address text (remembered: dumps repeat addresses). */
  ipv4Text(n: number): string;
  macText(buf: Buffer, at: number): string;
  /** The bigint of a 64-bit integer's two unsigned 32-bit halves. */
  u64(hi: number, lo: number): bigint;
  /** A memo's miss: IPv4 text parsed (and remembered), or undefined. */
  ipv4Miss(memo: IPv4Memo, v: string): number | undefined;
  /** A memo's miss: MAC text or 6 bytes written at `at` (MAC text remembered); false for anything else. */
  macMiss(memo: MacMemo, v: unknown, buf: Buffer, d: DataView, at: number): boolean;
  /** A named entry that is not a known attribute: an unknown one kept as bytes, or an error. */
  writeEntry(plan: SetPlan, key: string, value: unknown, w: WriterLike): void;
  singleKey(plan: SetPlan, item: unknown): string;
  closeAttribute(w: WriterLike, start: number, type: number): void;
  unknownAttr(buf: Buffer, type: number, nested: boolean, at: number, len: number): unknown;
  unknownKey(type: number): string;
  /** Why a struct value failed: a field it does not have first, else the field's error. */
  structFailure(plan: StructPlan, value: Record<string, unknown>, field: string, err: unknown): unknown;
  /** Nesting depth of the decode under way (checked against maxDepth). */
  depth: { n: number };
  maxDepth: number;
}

// ---------------------------------------------------------------- scalar snippets

/** A schema name as a string literal of the generated code. */
const lit = (s: string): string => JSON.stringify(s);

/** A schema name in a comment (or the source's name): nothing that could end the comment. */
const note = (s: string): string => s.replace(/[^\w .,:()-]/g, '?');

/*
 * Decoding reads bytes by index rather than through a DataView: a decode starts from any
 * Buffer, and a DataView of it (with the .buffer it needs) costs more to make than the
 * few multi-byte reads of a message save.
 */
const byte = (at: string, k: number): string => (k === 0 ? `buf[${at}]` : `buf[${at} + ${k}]`);
const le16 = (at: string): string => `(${byte(at, 0)} | ${byte(at, 1)} << 8)`;
const be16 = (at: string): string => `(${byte(at, 0)} << 8 | ${byte(at, 1)})`;
const le32 = (at: string): string => `(${byte(at, 0)} | ${byte(at, 1)} << 8 | ${byte(at, 2)} << 16 | ${byte(at, 3)} << 24)`;
const be32 = (at: string): string => `(${byte(at, 0)} << 24 | ${byte(at, 1)} << 16 | ${byte(at, 2)} << 8 | ${byte(at, 3)})`;

/** A read of a scalar of `kind` at `at` (an expression in the generated code, over `buf`). */
function scalarGet(kind: number, at: string): string {
  switch (kind) {
    case U8: return byte(at, 0);
    case S8: return `(${byte(at, 0)} << 24 >> 24)`;
    case LE16: return le16(at);
    case SLE16: return `(${le16(at)} << 16 >> 16)`;
    case LE32: return `(${le32(at)} >>> 0)`;
    case SLE32: return le32(at);
    case BE16: return be16(at);
    case SBE16: return `(${be16(at)} << 16 >> 16)`;
    case BE32: return `(${be32(at)} >>> 0)`;
    case SBE32: return be32(at);
    case IPV4: return `rt.ipv4Text(${be32(at)} >>> 0)`;
    case MAC: return `rt.macText(buf, ${at})`;
    default: throw new Error(`scalar kind ${kind} has no inline read`);
  }
}

/** A 64-bit integer at `at` as a bigint, from its two 32-bit halves. */
function bigGet(type: 'u64' | 's64' | 'be64', at: string): string {
  const half = type === 'be64' || !littleEndianHost ? be32 : le32;
  const [hi, lo] = type === 'be64' || !littleEndianHost ? [at, `${at} + 4`] : [`${at} + 4`, at];
  const u = `rt.u64(${half(hi)} >>> 0, ${half(lo)} >>> 0)`;
  return type === 's64' ? `BigInt.asIntN(64, ${u})` : u;
}

/**
 * Address text memos: two texts one place of the schema encoded, and their values (two: a
 * flow's key and mask go through the same places one after the other). A bulk load
 * repeats most addresses from one flow to the next (masks, servers, NAT ranges, the MACs
 * of a few hosts): a repeat then costs a string comparison (a pointer comparison when it
 * is the very same string, as the flow parser's texts of a repeated address are) instead
 * of a parse. Only text that parsed is kept. A new text replaces the one used less
 * recently (newerA says which): a key's address that changes from flow to flow then
 * takes one entry and its mask keeps the other, where replacing the older one evicted the
 * mask every other flow. A hit is written inline; a miss (parse, then the replacement) is
 * a call (rt.ipv4Miss, rt.macMiss): the writers' machine code is smaller for it (a key's
 * order writer ~14.6 -> ~11.7 KB), and a flow put took ~25 ns less (median of 36
 * processes, the spread narrower), which the inlined misses' code had cost every write.
 */
class Memos {
  private count = 0;
  readonly declarations: string[] = [];

  /**
   * Statements setting `x` to the be32 of v as IPv4 text (or, with `numbers`, as a number),
   * undefined when it is neither.
   */
  ipv4(numbers: boolean): string {
    const k = this.count++;
    this.declarations.push(`const ipMemo${k} = { textA: null, valueA: 0, textB: null, valueB: 0, newerA: 1 };`);
    return `let x;
        if (typeof v === "string") {
          if (v === ipMemo${k}.textA) { x = ipMemo${k}.valueA; ipMemo${k}.newerA = 1; }
          else if (v === ipMemo${k}.textB) { x = ipMemo${k}.valueB; ipMemo${k}.newerA = 0; }
          else x = rt.ipv4Miss(ipMemo${k}, v);
        }${numbers ? ' else if (typeof v === "number" && v >>> 0 === v) x = v;' : ''}`;
  }

  /** Statements writing MAC text (or 6 bytes) at `at`, then `done`; else `fallback`. */
  mac(at: string, done: string, fallback: string): string {
    const k = this.count++;
    this.declarations.push(`const macMemo${k} = { textA: null, highA: 0, lowA: 0, textB: null, highB: 0, lowB: 0, newerA: 1 };`);
    return `if (typeof v === "string" && v === macMemo${k}.textA) {
          d.setUint16(${at}, macMemo${k}.highA); d.setUint32(${at} + 2, macMemo${k}.lowA); macMemo${k}.newerA = 1; ${done}
        } else if (typeof v === "string" && v === macMemo${k}.textB) {
          d.setUint16(${at}, macMemo${k}.highB); d.setUint32(${at} + 2, macMemo${k}.lowB); macMemo${k}.newerA = 0; ${done}
        } else if (rt.macMiss(macMemo${k}, v, buf, d, ${at})) { ${done}
        } else { ${fallback} }`;
  }
}

/**
 * Statements that write `v` as a scalar of `kind` at `at` when it is one as it stands (an
 * in-range integer, valid address text, 6 bytes for a MAC), then run `done`; otherwise
 * `fallback` (which converts what else the type accepts, or throws).
 * Bit operations truncate to 32 bits: a number that survives the round trip is an
 * integer in range (NaN, fractions and out-of-range values do not).
 */
function scalarPut(memos: Memos, kind: number, at: string, done: string, fallback: string): string {
  const num = (fits: string, store: string): string =>
    `if (typeof v === "number" && ${fits}) { ${store}; ${done} } else { ${fallback} }`;
  switch (kind) {
    case U8: return num('(v & 0xff) === v', `d.setUint8(${at}, v)`);
    case S8: return num('((v << 24) >> 24) === v', `d.setInt8(${at}, v)`);
    case LE16: return num('(v & 0xffff) === v', `d.setUint16(${at}, v, true)`);
    case SLE16: return num('((v << 16) >> 16) === v', `d.setInt16(${at}, v, true)`);
    case LE32: return num('v >>> 0 === v', `d.setUint32(${at}, v, true)`);
    case SLE32: return num('(v | 0) === v', `d.setInt32(${at}, v, true)`);
    case BE16: return num('(v & 0xffff) === v', `d.setUint16(${at}, v)`);
    case SBE16: return num('((v << 16) >> 16) === v', `d.setInt16(${at}, v)`);
    case BE32: return num('v >>> 0 === v', `d.setUint32(${at}, v)`);
    case SBE32: return num('(v | 0) === v', `d.setInt32(${at}, v)`);
    case IPV4:
      return `${memos.ipv4(true)}
        if (x !== undefined) { d.setUint32(${at}, x); ${done} } else { ${fallback} }`;
    case MAC: return memos.mac(at, done, fallback);
    default: throw new Error(`scalar kind ${kind} has no inline write`);
  }
}

/** Statements zeroing `count` bytes from `from` (padding, or a small struct). */
function zeroBytes(from: string, count: number): string {
  const out: string[] = [];
  let i = 0;
  for (; i + 4 <= count; i += 4) out.push(`d.setUint32(${from} + ${i}, 0);`);
  for (; i + 2 <= count; i += 2) out.push(`d.setUint16(${from} + ${i}, 0);`);
  for (; i < count; i++) out.push(`d.setUint8(${from} + ${i}, 0);`);
  return out.join(' ');
}

/** An attribute header (length, then type, each 16 bits in host order) as one 32-bit store in host order. */
function headerStore(at: string, len: number, type: number): string {
  return `d.setUint32(${at}, ${headerWord(len, type)}, ${littleEndianHost});`;
}

/** The 32-bit word (host order) of an attribute header. */
function headerWord(len: number, type: number): number {
  return (littleEndianHost ? (type << 16) | len : (len << 16) | type) >>> 0;
}

const align4 = (n: number): number => (n + 3) & ~3;

/**
 * Builds functions from generated source; `names` and `args` are what they may see. The
 * source is named after the set or struct, so profiles and stack traces say which.
 */
function build<T>(what: string, names: string[], args: unknown[], source: string): T {
  return new Function(...names, `${source}\n//# sourceURL=codegen/${note(what)}.js`)(...args) as T;
}

// ---------------------------------------------------------------- structs

/**
 * A struct writer's fast lane, for structs whose fields are all scalars (others, IPv6
 * text and byte strings, always convert): when the value has only fields of the struct,
 * none undefined, each a scalar that needs no conversion, the fields are read by name
 * (plain loads from one hidden class, where the loop below dispatches on every key) and
 * stored, with zeros for padding and for the fields the value leaves out (each byte is
 * stored once). Anything else (other keys, undefined values, values to convert or refuse)
 * leaves the lane, and the loop does it all again in the value's key order, errors included.
 * The lane is a block labelled `label` over `value` (a record) at `at`, ending in `done`;
 * the struct's writer has it, and so has each set writer with the struct as an attribute.
 */
function structLane(plan: StructPlan, memos: Memos, label: string, done: string): string {
  const fields = plan.fields.filter((f) => f.put !== undefined);
  if (fields.length === 0 || fields.some((f) => f.kind === OTHER)) return '';
  const v = (f: FieldPlan): string => `v${f.index}`;
  const padding = plan.fields.filter((f) => f.put === undefined).map((f) => zeroBytes(`at + ${f.offset}`, f.size));
  return `// Fast lane: the value's fields by name (see structLane).
      ${label}: {
        const ${fields.map((f) => `${v(f)} = value[${lit(f.name)}]`).join(', ')};
        // Counted after the loads: measured ~30 ns less per flow put than counting first.
        // (Not by making the for-in inline: Node 20's V8 calls its ForInEnumerate builtin
        // either way, 2-3 ns a value, ~6% of a flow put with the sets' key-order checks.)
        let keys = 0;
        for (const key in value) keys++;
        if (keys !== ${fields.map((f) => `(${v(f)} !== undefined ? 1 : 0)`).join(' + ')}) break ${label};
        ${padding.join(' ')}
        ${fields.map((f) => `if (${v(f)} !== undefined) { const v = ${v(f)}; ${scalarPut(memos, f.kind, `at + ${f.offset}`, '', `break ${label};`)} } else { ${zeroBytes(`at + ${f.offset}`, f.size)} }`).join('\n        ')}
        ${done}
      }`;
}

/** Generates write(value, buf, d, at) and read(buf, d, at) for a struct. */
export function compileStruct(plan: StructPlan, rt: Runtime): Pick<StructPlan, 'write' | 'read'> {
  const { name } = plan.spec;
  const F = plan.fields;
  const cases: string[] = [];
  const fields: string[] = [];
  const memos = new Memos();
  const lane = structLane(plan, memos, 'fast', 'return;');
  for (const f of F) {
    if (f.put === undefined) continue;
    const at = `at + ${f.offset}`;
    const slow = `F[${f.index}].put(buf, ${at}, v);`;
    const write = f.kind === OTHER ? slow : scalarPut(memos, f.kind, at, '', slow);
    cases.push(`case ${lit(f.name)}: field = ${lit(f.name)}; if (v !== undefined) { ${write} } break;`);
    const read = f.kind !== OTHER ? scalarGet(f.kind, at)
      : f.bigType !== undefined ? bigGet(f.bigType, at)
        : `F[${f.index}].get(buf, ${at})`;
    fields.push(`${lit(f.name)}: ${read}`);
  }
  const source = `
    // struct ${note(name)}, ${plan.size} bytes
    const STRUCT = ${lit(name)};
    ${memos.declarations.join('\n    ')}
    function write(value, buf, d, at) {
      if (!rt.isRecord(value)) rt.fail("expected an object for struct " + STRUCT + ", got " + rt.describe(value));
      ${lane}
      // Bytes pass rt.isRecord: refused here (after the lane), not read as fields "0", "1", ...
      if (ArrayBuffer.isView(value)) rt.fail("expected an object for struct " + STRUCT + ", got " + rt.describe(value));
      // Fields the value leaves out (and padding) are zero (what a lane wrote before it
      // left too: the loop writes it again).
      ${plan.size <= 32 ? zeroBytes('at', plan.size) : `for (let i = 0; i < ${plan.size}; i++) buf[at + i] = 0;`}
      let field = "";
      try {
        // The value's own key order: each key is one of the fields, or an error.
        for (const key in value) {
          const v = value[key];
          switch (key) {
            ${cases.join('\n            ')}
            default: field = ""; rt.fail("struct " + STRUCT + " has no field \\"" + key + "\\"");
          }
        }
      } catch (err) {
        throw rt.structFailure(plan, value, field, err);
      }
    }
    // A full-size struct as one object literal: every value of it gets one hidden class.
    function read(buf, at) {
      return { ${fields.join(', ')} };
    }
    return { write, read };`;
  return build(`struct-${name}`, ['rt', 'plan', 'F'], [rt, plan, F], source);
}

// ---------------------------------------------------------------- attribute sets

/** Statements making room for `n` bytes at w.off (none for 0). */
const room = (n: number): string => (n ? `if (w.off + ${n} > w.buf.length) w.room(${n});` : '');

/** Bytes an attribute written inline takes (0: it is written through its closures or a nested writer). */
function inlineSize(a: AttrPlan): number {
  switch (a.kind) {
    case SCALAR_ATTR: return align4(4 + a.size);
    case IP_ATTR: return 8;
    case STRUCT_ATTR: return align4(4 + a.struct!.size);
    case FLAG_ATTR: return 4;
    default: return 0;
  }
}

/**
 * The encoder's statements for attribute `a` (value `v`, writer `w`). `fixedRoom`: what
 * they may count on, room for that many bytes at w.off (an object's attributes: each name
 * comes once, so room for the inline attributes of all the set's names is room for all
 * of any object's, made again after anything else is written), or 0 (list entries,
 * which may repeat): then each attribute makes its own.
 */
function writeCase(a: AttrPlan, i: number, memos: Memos, fixedRoom: number): string {
  const again = ` ${room(fixedRoom)}`;
  const slow = `{ A${i}.write(w, v);${again} }`;
  const roomFor = (n: number): string => (fixedRoom ? '' : room(n));
  const head = `// ${a.id}: ${a.spec.type}${a.kind === SCALAR_ATTR && a.spec.type === 'binary' ? ` (${a.spec.repr ?? ''})` : ''}`;
  let body: string;
  switch (a.kind) {
    case SCALAR_ATTR:
    case IP_ATTR: {
      const size = a.kind === IP_ATTR ? 4 : a.size;
      const total = align4(4 + size);
      const pad = total - 4 - size;
      const put = a.kind === IP_ATTR
        ? (done: string, fallback: string) => `${memos.ipv4(false)}
          if (x !== undefined) { d.setUint32(o + 4, x); ${done} } else { ${fallback} }`
        : (done: string, fallback: string) => scalarPut(memos, a.scalar, 'o + 4', done, fallback);
      body = `${roomFor(total)}
          const o = w.off, d = w.view, buf = w.buf;
          ${put(`${headerStore('o', 4 + size, a.headerType)} ${pad ? zeroBytes(`o + ${4 + size}`, pad) : ''} w.off = o + ${total};`, slow)}`;
      break;
    }
    case STRUCT_ATTR: {
      const size = a.struct!.size;
      const total = align4(4 + size);
      // The struct's lane is written here, in the set's own code: TurboFan does not inline
      // struct writers into a set's writer (too big for its budget), and the call per
      // struct cost ~50 ns of a ~400 ns flow put (key and mask: six structs). A value
      // that leaves the lane goes to the struct's writer, which does it all again.
      body = `${roomFor(total)}
          const o = w.off, d = w.view, buf = w.buf;
          written${i}: {
            const value = v, at = o + 4;
            if (rt.isRecord(value)) {
              ${structLane(a.struct!, memos, `lane${i}`, `break written${i};`)}
            }
            S${i}.write(v, buf, d, at);
          }
          ${headerStore('o', 4 + size, a.headerType)} ${total > 4 + size ? zeroBytes(`o + ${4 + size}`, total - 4 - size) : ''}
          w.off = o + ${total};`;
      break;
    }
    case NESTED_ATTR:
    case LIST_ATTR:
      // The header first, its length once the nest is written.
      body = `${room(4)}
          const o = w.off;
          w.off = o + 4;
          C${i}.${a.kind === NESTED_ATTR ? 'write' : 'writeList'}(v, w);
          // Every attribute inside ends padded: the nest needs no padding, only its header.
          const n = w.off - o;
          if (n <= 0xffff && (n & 3) === 0) w.view.setUint32(o, ${littleEndianHost ? `${headerWord(0, a.headerType)} | n` : `n << 16 | ${a.headerType}`}, ${littleEndianHost});
          else rt.closeAttribute(w, o, ${a.headerType});${again}`;
      break;
    case FLAG_ATTR:
      body = `if (v === true) {
            ${roomFor(4)}
            const d = w.view;
            ${headerStore('w.off', 4, a.headerType)}
            w.off += 4;
          } else if (v !== false) ${slow}`;
      break;
    default:
      body = slow;
  }
  return `${head}
          ${body}`;
}

/** The decoder's statements for attribute `a`: `store(expr)` stores its value. */
function readCase(a: AttrPlan, i: number, store: (expr: string) => string, inList: boolean): string {
  const slow = `A${i}.read(buf, at, n)`;
  switch (a.kind) {
    case SCALAR_ATTR: return store(`n === ${a.size} ? ${scalarGet(a.scalar, 'at')} : ${slow}`);
    case IP_ATTR: return store(`n === 4 ? ${scalarGet(IPV4, 'at')} : ${slow}`);
    case BIG_ATTR: return store(`n === 8 ? ${bigGet(a.spec.type as 'u64', 'at')} : ${slow}`);
    // Shorter payloads (older kernels) and bad lengths go the long way.
    case STRUCT_ATTR: return store(`n >= ${a.struct!.size} ? S${i}.read(buf, at) : ${slow}`);
    case FLAG_ATTR: return store('true');
    // Padding is no value of a set; a list keeps every entry, as it came.
    case PAD_ATTR: return inList ? store('true') : '';
    case NESTED_ATTR:
    case LIST_ATTR:
      return `if (depth.n >= maxDepth) rt.fail("nested more than " + maxDepth + " levels deep");
          depth.n++;
          const value = C${i}.${a.kind === NESTED_ATTR ? 'read' : 'readList'}(buf, at, at + n);
          depth.n--;
          ${store('value')}`;
    default: return store(slow);
  }
}

/** The attribute-header walk both decoders share: checks every length, then `body`. */
function attributeLoop(body: string): string {
  return `let off = start;
    while (off < end) {
      if (end - off < 4) rt.fail((end - off) + " stray bytes at offset " + off + ", too short for an attribute header");
      const len = ${littleEndianHost ? le16('off') : be16('off')};
      const rawType = ${littleEndianHost ? le16('off + 2') : be16('off + 2')};
      const type = rawType & 0x3fff;
      if (len < 4) rt.fail("attribute type " + type + " at offset " + off + " has length " + len + " (< 4)");
      if (off + len > end) rt.fail("attribute type " + type + " at offset " + off + " runs " + (off + len - end) + " bytes past its container");
      const at = off + 4, n = len - 4;
      ${body}
      off += (len + 3) & ~3;
    }`;
}

/**
 * The names generated code gives attribute `a` (index i of its set): A<i> its plan, S<i>
 * its struct's, C<i> its child set's, looked up here (`childNow`) or assigned on the
 * first call (link()).
 */
function attrRefs(a: AttrPlan, i: number, childNow: boolean): string {
  const refs = [`const A${i} = A[${i}];`];
  if (a.struct) refs.push(`const S${i} = A[${i}].struct;`);
  if (a.child) refs.push(childNow ? `const C${i} = A[${i}].child();` : `let C${i};`);
  return refs.join(' ');
}

export type SetFunction = 'write' | 'writeList' | 'writeEntry' | 'read' | 'readList';

/** Generates one of a set's functions. */
export function compileSet<K extends SetFunction>(plan: SetPlan, rt: Runtime, which: K): SetPlan[K] {
  const attrs = plan.set.attrs.map((spec) => plan.byName.get(spec.name)!);
  const setName = plan.set.name;
  // Child plans are looked up on the first call: sets may nest themselves (actions).
  const consts = attrs.map((a, i) => attrRefs(a, i, false));
  const children = attrs.map((a, i) => (a.child ? `C${i} = A[${i}].child();` : '')).join(' ');
  const memos = new Memos();
  const fixedRoom = which === 'write' ? attrs.reduce((sum, a) => sum + inlineSize(a), 0) : 0;
  // Names grouped by length: one switch on the key's length, then a comparison or two
  // (property keys are internalized strings: comparing them is comparing pointers), where
  // one switch over all names would compare against every name before the one it is.
  const byLength = new Map<number, string[]>();
  attrs.forEach((a, i) => {
    if (a.kind === PAD_ATTR) return;
    const group = byLength.get(a.name.length) ?? [];
    group.push(`if (key === ${lit(a.name)}) { ${writeCase(a, i, memos, fixedRoom)}
          }`);
    byLength.set(a.name.length, group);
  });
  const otherEntry = `{
            // An unknown attribute kept as bytes ("#<type>"), or a name the set does not have.
            current = "";
            rt.writeEntry(plan, key, v, w); ${room(fixedRoom)}
          }`;
  const readCases = (store: (name: string) => (expr: string) => string, inList: boolean): string => attrs.map((a, i) =>
    `case ${a.id}: { // ${note(a.name)}
          ${readCase(a, i, store(a.name), inList)}
          break;
        }`).join('\n        ');
  const switchWrite = `switch (key.length) {
        ${[...byLength].map(([len, group]) => `case ${len}:
          ${group.join(' else ')} else ${otherEntry}
          break;`).join('\n        ')}
        default: ${otherEntry}
      }`;
  // Decoded objects are made by a constructor that names every attribute of the set
  // (assignments never run): V8 sizes its objects for that many in-object properties,
  // trimmed to what the first objects use, so an object that gets a dozen attributes
  // grows no out-of-object property array (reallocated every few properties). Its
  // prototype is Object.prototype: the objects are plain objects as before.
  const named = attrs.filter((a) => a.kind !== PAD_ATTR).map((a) => `this[${lit(a.name)}] = undefined;`);
  const prelude = `
    ${consts.join('\n    ')}
    const SET = ${lit(setName)};
    function Values() { if (false) { ${named.join(' ')} } }
    Values.prototype = Object.prototype;
    ${memos.declarations.join('\n    ')}
    const depth = rt.depth, maxDepth = rt.maxDepth;
    let linked = false;
    function link() { ${children} linked = true; }`;
  // Each function is made on its own first call: a set is mostly used one way (a key
  // as a set, actions as a list), and compiling what is never called costs start-up time.
  const functions: Record<SetFunction, string> = {
    write: `
    // The key-order lane (see compileKeyOrder): the key order of values seen lately, and its writer.
    let orderKeys = null, orderWrite = null, byKey = 0, ordersMade = 0;
    // ${note(setName)}: the value's attributes, in the value's own key order.
    function write(values, w) {
      if (!linked) link();
      if (!rt.isRecord(values)) rt.fail("expected an object of " + SET + " attributes, got " + rt.describe(values));
      if (orderKeys !== null) {
        // The value's keys, compared with the order's (names: pointer comparisons).
        const keys = orderKeys;
        let n = 0;
        for (const key in values) {
          if (keys[n] !== key) { n = -1; break; }
          n++;
        }
        if (n === keys.length && orderWrite(values, w)) return;
      }
      writeByKey(values, w);
    }
    // Kept out of write, so that write is small enough for TurboFan to inline into its
    // callers (with the key order's writer).
    function writeByKey(values, w) {
      // Bytes pass write's check (rt.isRecord): refused here, not read as attributes "0", "1", ...
      if (ArrayBuffer.isView(values)) rt.fail("expected an object of " + SET + " attributes, got " + rt.describe(values));
      if (++byKey === ${ORDER_AFTER} && ordersMade < ${MAX_ORDERS}) {
        byKey = 0;
        const made = makeKeyOrder(values);
        if (made !== undefined) { ordersMade++; orderKeys = made.keys; orderWrite = made.write; }
      }
      // The key being written, for the error path (one try around the loop, not one per key).
      let current = "";
      ${room(fixedRoom)}
      try {
        for (const key in values) {
          const v = values[key];
          if (v === undefined) continue;
          current = key;
          ${switchWrite}
        }
      } catch (err) {
        throw current === "" ? err : rt.under(current, err);
      }
    }
`,
    writeList: `
    // Called on a for-in's own object and key, V8 makes hasOwnProperty a check of the
    // object's map (Object.hasOwn after the loop was a call per entry).
    const hasOwn = Object.prototype.hasOwnProperty;
    // ${note(setName)} as a list of single-key objects: order and repeats kept.
    function writeList(list, w) {
      if (!linked) link();
      if (!Array.isArray(list)) rt.fail("expected a list of " + SET + " entries, got " + rt.describe(list));
      for (let i = 0; i < list.length; i++) {
        const item = list[i];
        let current = "";
        try {
          // The one key (and its value, read the way for-in reads fast); anything but
          // one own key (an inherited one counts as two) goes to singleKey, which names
          // what is wrong.
          let key = "", v, keys = 0;
          for (const k in item) { key = k; v = item[k]; keys += hasOwn.call(item, k) ? 1 : 2; }
          if (keys !== 1 || !rt.isRecord(item)) v = item[key = rt.singleKey(plan, item)];
          if (v === undefined) continue;
          current = key;
          ${switchWrite}
        } catch (err) {
          throw rt.under("[" + i + "]", current === "" ? err : rt.under(current, err));
        }
      }
    }
`,
    writeEntry: `
    // One attribute of ${note(setName)} by name (a bulk load encodes a key's attributes one by one).
    function writeEntry(key, v, w) {
      if (!linked) link();
      if (v === undefined) return;
      let current = key;
      try {
        ${switchWrite}
      } catch (err) {
        throw current === "" ? err : rt.under(current, err);
      }
    }
`,
    read: `
    function read(buf, start, end) {
      if (!linked) link();
      const out = new Values();
      // The attribute being read (-1: a header), for the error path.
      let current = -1;
      try {
        ${attributeLoop(`current = type;
        switch (type) {
        ${readCases((name) => (expr) => `out[${lit(name)}] = ${expr};`, false)}
        default: out[rt.unknownKey(type)] = rt.unknownAttr(buf, type, (rawType & 0x8000) !== 0, at, n);
        }
        current = -1;`)}
      } catch (err) {
        const a = current < 0 ? undefined : plan.byId[current];
        throw a === undefined ? err : rt.under(a.name, err);
      }
      return out;
    }
`,
    readList: `
    function readList(buf, start, end) {
      if (!linked) link();
      const out = [];
      let current = -1;
      try {
        ${attributeLoop(`current = type;
        switch (type) {
        ${readCases((name) => (expr) => `out.push({ ${lit(name)}: ${expr} });`, true)}
        default: out.push({ [rt.unknownKey(type)]: rt.unknownAttr(buf, type, (rawType & 0x8000) !== 0, at, n) });
        }
        current = -1;`)}
      } catch (err) {
        // A bad header is the run's problem, not one entry's.
        if (current < 0) throw err;
        const a = plan.byId[current];
        throw rt.under("[" + out.length + "]", a === undefined ? err : rt.under(a.name, err));
      }
      return out;
    }
`,
  };
  const makeKeyOrder = (values: Record<string, unknown>) => compileKeyOrder(plan, rt, attrs, values);
  return build(`${setName}-${which}`, ['rt', 'plan', 'A', 'makeKeyOrder'], [rt, plan, attrs, makeKeyOrder], `${prelude}\n${functions[which]}\n    return ${which};`);
}

/*
 * Key orders. Most objects a set writer sees in a run have the same keys in the same
 * order (a bulk load's keys, masks and actions), and TurboFan turns a load by a name it
 * knows into a check of the object's hidden class and one load. Once a set's writer has
 * written ORDER_AFTER values by key (the loop), it compiles a writer for the key order
 * of the value in hand: its attributes' statements one after the other, each value
 * loaded by name, with no dispatch on the key. A value whose keys are those, in that
 * order (for-in: name comparisons), takes it. At most MAX_ORDERS are made per set, so
 * values that never repeat a key order stop costing compilations. Measured on a ct/nat
 * flow put: ~350 -> ~265 ns (with the dispatch kept small enough to inline).
 */
const ORDER_AFTER = 16;
const MAX_ORDERS = 8;

/**
 * A writer for values with exactly `values`' keys in its order (undefined when one is no
 * attribute of the set: the generic loop keeps unknown ones). It returns false, having
 * written nothing that counts (w.off back where it was), for anything but a clean write:
 * conversions that fail, nested errors. The set's loop then writes the value again and
 * throws with the attribute's path, as it would have.
 */
function compileKeyOrder(plan: SetPlan, rt: Runtime, attrs: AttrPlan[], values: Record<string, unknown>): { keys: string[]; write: (values: unknown, w: WriterLike) => boolean } | undefined {
  const keys: string[] = [];
  for (const key in values) keys.push(key);
  const used = keys.map((key) => attrs.findIndex((a) => a.name === key && a.kind !== PAD_ATTR));
  if (keys.length === 0 || used.includes(-1)) return undefined;
  const memos = new Memos();
  const fixedRoom = used.reduce((sum, i) => sum + inlineSize(attrs[i]!), 0);
  const statements = used.map((i) => `v = values[${lit(attrs[i]!.name)}];
        if (v !== undefined) {
          ${writeCase(attrs[i]!, i, memos, fixedRoom)}
        }`);
  // Made once the set's own writer runs: its children's plans are there to look up.
  const consts = used.map((i) => attrRefs(attrs[i]!, i, true));
  const source = `
    ${consts.join('\n    ')}
    ${memos.declarations.join('\n    ')}
    // ${note(plan.set.name)}: ${used.map((i) => note(attrs[i]!.name)).join(', ')}
    function write(values, w) {
      const start = w.off;
      try {
        ${room(fixedRoom)}
        let v;
        ${statements.join('\n        ')}
        return true;
      } catch {
        w.off = start;
        return false;
      }
    }
    return write;`;
  const write = build<(values: unknown, w: WriterLike) => boolean>(`${plan.set.name}-order`, ['rt', 'plan', 'A'], [rt, plan, attrs], source);
  return { keys, write };
}
