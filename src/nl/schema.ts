/**
 * Attribute sets described as data. One description drives the encoder, the decoder,
 * validation, JSON and the default pretty-printer (see codec.ts); nothing else in the
 * project hand-writes attribute bytes.
 *
 * Values as the library sees them:
 *   u8/u16/u32/s8/s16/s32/be16/be32  -> number      (repr ipv4: "10.0.0.1"; enum: name)
 *   u64/s64/be64                     -> bigint
 *   flag -> true, string -> string, binary -> Buffer (repr ipv6/ip/mac: text)
 *   struct -> { field: value }       (pad fields are not shown)
 *   nested -> { name: value }        (list: [{ name: value }, ...], order and repeats kept;
 *                                     indexed: [{ name: value }, ...], one object per index)
 *   array  -> value[]                (elements packed back to back)
 * An attribute the schema does not know decodes to { type, raw } under the key "#<type>"
 * and is encoded back unchanged.
 */

export type IntType =
  | 'u8' | 'u16' | 'u32' | 'u64'
  | 's8' | 's16' | 's32' | 's64'
  | 'be16' | 'be32' | 'be64';

/**
 * How a number or byte string is shown and accepted: "10.0.0.1", "::1", "00:11:..".
 * 'ip' is for byte strings that hold either family, told apart by length: 4 bytes are
 * dotted IPv4, 16 bytes IPv6 text.
 */
export type Repr = 'ipv4' | 'ipv6' | 'ip' | 'mac' | 'hex';

export interface IntField {
  name: string;
  type: IntType;
  repr?: Repr;
  /** Symbolic names for values; decoded values are the names where known. */
  enum?: Readonly<Record<string, number>>;
  /** Bit names, for printing. */
  flags?: Readonly<Record<string, number>>;
}

export interface BytesField {
  name: string;
  type: 'bytes';
  len: number;
  repr?: Repr;
}

/** Bytes the C struct has for alignment: written as zeros, not shown. */
export interface PadField {
  name: string;
  type: 'pad';
  len: number;
}

export type StructField = IntField | BytesField | PadField;

export interface StructSpec {
  name: string;
  fields: readonly StructField[];
}

interface AttrBase {
  id: number;
  name: string;
  doc?: string;
}

export type AttrSpec = AttrBase &
  (
    | { type: 'flag' }
    | { type: 'pad' }
    | (Omit<IntField, 'name'> & { type: IntType })
    | { type: 'string'; maxLen?: number; /** no trailing NUL on the wire */ raw?: boolean }
    | { type: 'binary'; len?: number; maxLen?: number; repr?: Repr }
    | { type: 'struct'; struct: StructSpec; /** accept shorter payloads from older kernels */ minLen?: number }
    | { type: 'array'; of: IntType | StructSpec }
    | {
        type: 'nested';
        set: AttrSet | (() => AttrSet);
        /** decode to a list of single-key objects, keeping order and repeats */
        list?: boolean;
        /** an array of nests whose attribute types are indexes 1..n (ctrl's ops, groups) */
        indexed?: boolean;
        /** each inner attribute carries value then mask of the same length (set_masked) */
        masked?: boolean;
        /** override the set's NLA_F_NESTED default */
        nestedFlag?: boolean;
      }
  );

export interface AttrSetOptions {
  /** Set NLA_F_NESTED on nested attributes of this set (default false: what OVS sends). */
  nestedFlag?: boolean;
}

/** A compiled attribute set: the specs plus lookup tables. */
export class AttrSet {
  readonly name: string;
  readonly attrs: readonly AttrSpec[];
  readonly nestedFlag: boolean;
  private readonly byId = new Map<number, AttrSpec>();
  private readonly byName = new Map<string, AttrSpec>();

  constructor(name: string, attrs: readonly AttrSpec[], options: AttrSetOptions = {}) {
    this.name = name;
    this.attrs = attrs;
    this.nestedFlag = options.nestedFlag ?? false;
    for (const a of attrs) {
      if (this.byId.has(a.id)) throw new Error(`${name}: attribute id ${a.id} defined twice`);
      if (this.byName.has(a.name)) throw new Error(`${name}: attribute ${a.name} defined twice`);
      this.byId.set(a.id, a);
      this.byName.set(a.name, a);
    }
  }

  get(id: number): AttrSpec | undefined {
    return this.byId.get(id);
  }

  byNameOf(name: string): AttrSpec | undefined {
    return this.byName.get(name);
  }

  /** The id of a named attribute; throws for a name the set does not have. */
  id(name: string): number {
    const a = this.byName.get(name);
    if (!a) throw new Error(`${this.name} has no attribute ${name}`);
    return a.id;
  }
}

export function defineSet(name: string, attrs: readonly AttrSpec[], options?: AttrSetOptions): AttrSet {
  return new AttrSet(name, attrs, options);
}

export function defineStruct(name: string, fields: readonly StructField[]): StructSpec {
  return { name, fields };
}

/** An attribute kept as bytes because the schema does not know its type. */
export interface UnknownAttr {
  type: number;
  /** NLA_F_NESTED was set on the wire */
  nested?: boolean;
  raw: Buffer;
}

export const UNKNOWN_PREFIX = '#';

export function unknownKey(type: number): string {
  return `${UNKNOWN_PREFIX}${type}`;
}

export function resolveSet(set: AttrSet | (() => AttrSet)): AttrSet {
  return typeof set === 'function' ? set() : set;
}

export function intSize(t: IntType): number {
  switch (t) {
    case 'u8': case 's8': return 1;
    case 'u16': case 's16': case 'be16': return 2;
    case 'u32': case 's32': case 'be32': return 4;
    default: return 8;
  }
}

/** The bytes a struct field takes. */
export function fieldSize(f: StructField): number {
  return f.type === 'bytes' || f.type === 'pad' ? f.len : intSize(f.type);
}

export function structSize(s: StructSpec): number {
  let n = 0;
  for (const f of s.fields) n += fieldSize(f);
  return n;
}

/** Where `field` starts in struct `s`, and its size; undefined when `s` has no such field. */
export function fieldAt(s: StructSpec, field: string): { offset: number; size: number } | undefined {
  let offset = 0;
  for (const f of s.fields) {
    if (f.name === field) return { offset, size: fieldSize(f) };
    offset += fieldSize(f);
  }
  return undefined;
}

export type AttrValues = Record<string, unknown>;

/** Whether an attribute's value is an object of named values (a nested set's or a struct's): not a list, bytes or a scalar. */
export function isAttrValues(v: unknown): v is AttrValues {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}
