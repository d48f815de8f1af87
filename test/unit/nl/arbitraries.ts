/**
 * fast-check generators of attribute values, derived from a set's own description, in
 * the form the decoder gives back (enum names, address text, bigints, Buffers, unknown
 * attributes), so decode(encode(v)) must deep-equal v.
 */
import fc from 'fast-check';
import { formatIPv4, formatIPv6, formatMac } from '../../../src/nl/repr.js';
import {
  type AttrSet, type AttrSpec, type AttrValues, type IntType, type Repr, type StructSpec,
  intSize, resolveSet, unknownKey,
} from '../../../src/nl/schema.js';

const bytes = (constraints: { minLength?: number; maxLength?: number }) =>
  fc.uint8Array(constraints).map((b) => Buffer.from(b));

function int(type: IntType, repr?: Repr, names?: Readonly<Record<string, number>>): fc.Arbitrary<unknown> {
  const bits = intSize(type) * 8;
  const signed = type.startsWith('s');
  const n: fc.Arbitrary<number | bigint> = bits === 64
    ? (signed ? fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }) : fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }))
    : (signed ? fc.integer({ min: -(2 ** (bits - 1)), max: 2 ** (bits - 1) - 1 }) : fc.integer({ min: 0, max: 2 ** bits - 1 }));
  if (repr === 'ipv4') return n.map((v) => formatIPv4(v as number));
  if (!names) return n;
  const values = new Set(Object.values(names).map(BigInt));
  return fc.oneof(fc.constantFrom(...Object.keys(names)), n.filter((v) => !values.has(BigInt(v))));
}

function byteString(repr: Repr | undefined, len: number | undefined, maxLen = 24): fc.Arbitrary<unknown> {
  if (repr === 'mac' && len === 6) return bytes({ minLength: 6, maxLength: 6 }).map((b) => formatMac(b));
  if (repr === 'ipv6' && len === 16) return bytes({ minLength: 16, maxLength: 16 }).map((b) => formatIPv6(b));
  return bytes(len === undefined ? { maxLength: maxLen } : { minLength: len, maxLength: len });
}

function struct(s: StructSpec): fc.Arbitrary<Record<string, unknown>> {
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of s.fields) {
    if (f.type === 'bytes') model[f.name] = byteString(f.repr, f.len);
    else if (f.type !== 'pad') model[f.name] = int(f.type, f.repr, f.enum);
  }
  return fc.record(model, { noNullPrototype: true });
}

/** Text the codec round-trips: no NUL (it ends a string), at most `maxBytes` of UTF-8. */
function text(maxBytes = 16): fc.Arbitrary<string> {
  return fc.string({ unit: 'grapheme', maxLength: 6 }).filter((s) => !s.includes('\0') && Buffer.byteLength(s) <= maxBytes);
}

/** The value of one attribute of `spec`, or undefined for kinds that are never generated. */
export function attrValue(spec: AttrSpec): fc.Arbitrary<unknown> | undefined {
  switch (spec.type) {
    case 'pad': return undefined; // dropped on decode
    case 'flag': return fc.constant(true);
    case 'string': return text(spec.maxLen === undefined ? 16 : spec.maxLen - (spec.raw ? 0 : 1));
    case 'binary': return byteString(spec.repr, spec.len, spec.maxLen);
    case 'struct': return struct(spec.struct);
    case 'array': return fc.array(typeof spec.of === 'string' ? int(spec.of) : struct(spec.of), { maxLength: 4 });
    case 'nested': {
      const set = resolveSet(spec.set);
      if (spec.masked) return maskedValues(set);
      if (spec.indexed) return fc.array(attrValues(set), { maxLength: 3 });
      if (spec.list) return fc.array(fc.oneof(singleEntry(set), unknownEntries(set, 1, 1)), { maxLength: 4 });
      return attrValues(set);
    }
    default: return int(spec.type, spec.repr, spec.enum);
  }
}

/** Zero to `max` attributes of types the set does not know, some with NLA_F_NESTED. */
function unknownEntries(set: AttrSet, min: number, max: number): fc.Arbitrary<AttrValues> {
  const unknown = fc.record({
    type: fc.integer({ min: 0, max: 0x3fff }).filter((t) => set.get(t) === undefined),
    raw: bytes({ maxLength: 9 }),
    nested: fc.boolean(),
  }, { noNullPrototype: true });
  return fc.uniqueArray(unknown, { minLength: min, maxLength: max, selector: (u) => u.type }).map((list) =>
    Object.fromEntries(list.map((u) => [unknownKey(u.type), u.nested ? u : { type: u.type, raw: u.raw }])));
}

function singleEntry(set: AttrSet): fc.Arbitrary<AttrValues> {
  const options: fc.Arbitrary<AttrValues>[] = [];
  for (const spec of set.attrs) {
    const value = attrValue(spec);
    if (value) options.push(value.map((v) => ({ [spec.name]: v })));
  }
  return fc.oneof(...options);
}

/** Any subset of the set's attributes, plus up to two unknown ones. */
export function attrValues(set: AttrSet): fc.Arbitrary<AttrValues> {
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const spec of set.attrs) {
    const value = attrValue(spec);
    if (value) model[spec.name] = value;
  }
  return fc.tuple(fc.record(model, { requiredKeys: [], noNullPrototype: true }), unknownEntries(set, 0, 2)).map(([known, unknown]) => ({ ...known, ...unknown }));
}

/** {value, mask} pairs; the set's attributes must have a fixed length. */
function maskedValues(set: AttrSet): fc.Arbitrary<AttrValues> {
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const spec of set.attrs) {
    const value = attrValue(spec);
    if (value) model[spec.name] = fc.record({ value, mask: value }, { noNullPrototype: true });
  }
  return fc.tuple(fc.record(model, { requiredKeys: [], noNullPrototype: true }), unknownEntries(set, 0, 1)).map(([known, unknown]) => ({ ...known, ...unknown }));
}
