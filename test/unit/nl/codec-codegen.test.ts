/**
 * What the generated code keeps between calls must never change a result: the address
 * text memos of the encoders (two texts per schema place, the one used less recently
 * replaced by a new one), the address text caches of the
 * decoders (direct-mapped, so different addresses share slots), and the dispatch on a
 * key's length (names of one length told apart by comparison). And a set or struct is
 * generic for its first calls, generated after: both ways give the same results.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { MessageBuilder, decodeAttrs, decodeList, encodeAttrs, encodeList } from '../../../src/nl/codec.js';
import { SchemaError } from '../../../src/nl/errors.js';
import { formatIPv4, formatMac } from '../../../src/nl/repr.js';
import { type AttrSet, defineSet, defineStruct } from '../../../src/nl/schema.js';
import { attrValues } from './arbitraries.js';
import { allSet, endpoint, flaggedSet, hex } from './schemas.js';

/** The bytes of a be32 attribute of type 18 (allSet's ipv4) holding `n`. */
function ipv4Attr(n: number): Buffer {
  const b = Buffer.from([8, 0, 18, 0, 0, 0, 0, 0]);
  b.writeUInt32BE(n >>> 0, 4);
  return b;
}

test('IPv4 text memos: texts cycling through one place encode each to its own bytes', () => {
  const texts = ['10.0.0.1', '255.255.255.255', '10.0.0.2', '10.0.0.1', '10.0.0.1', '255.255.255.255', '0.0.0.0'];
  for (let round = 0; round < 3; round++) {
    for (const text of texts) {
      const n = text.split('.').reduce((acc, p) => acc * 256 + Number(p), 0);
      assert.deepEqual(encodeAttrs(allSet, { ipv4: text }), ipv4Attr(n), text);
      // Built afresh: equal text that is not the same string.
      assert.deepEqual(encodeAttrs(allSet, { ipv4: [...text].join('') }), ipv4Attr(n), text);
    }
  }
});

test('IPv4 text memos: bad text after good is still refused, and "" never matches a memo', () => {
  encodeAttrs(allSet, { ipv4: '10.1.1.1' });
  for (const bad of ['10.1.1', '', '10.1.1.1 ', '10.01.1.1']) {
    assert.throws(() => encodeAttrs(allSet, { ipv4: bad }), (e: unknown) => e instanceof SchemaError && e.path === 'ipv4', bad);
  }
  assert.throws(() => encodeAttrs(allSet, { endpoint: { ip: '' } }), (e: unknown) => e instanceof SchemaError && e.path === 'endpoint.ip');
  assert.deepEqual(encodeAttrs(allSet, { ipv4: '10.1.1.1' }), ipv4Attr(0x0a010101));
});

test('IPv4 text memos: numbers and text mix in one struct field', () => {
  const value = (ip: string | number) => ({ proto: 6, port: 80, ip, mac: '00:11:22:33:44:55' });
  const byText = encodeAttrs(allSet, { endpoint: value('192.168.1.2') });
  assert.deepEqual(encodeAttrs(allSet, { endpoint: value(0xc0a80102) }), byText);
  assert.deepEqual(encodeAttrs(allSet, { endpoint: value('192.168.1.2') }), byText);
  assert.notDeepEqual(encodeAttrs(allSet, { endpoint: value('192.168.1.3') }), byText);
});

test('MAC text memos: texts and bytes cycling through one place encode each to its own bytes; bad text is refused', () => {
  const macs = ['00:00:00:00:00:01', 'ff:ff:ff:ff:ff:ff', '00:00:00:00:00:02', 'ff:ff:ff:ff:ff:ff', '0:1:2:3:4:5'];
  for (let round = 0; round < 3; round++) {
    for (const text of macs) {
      const bytes = Buffer.from(text.split(':').map((h) => parseInt(h, 16)));
      const expected = Buffer.concat([Buffer.from([10, 0, 20, 0]), bytes, Buffer.alloc(2)]);
      // A slice of a longer text, as the flow parser makes them.
      const sliced = `eth(src=${text}),`.slice(8, 8 + text.length);
      assert.deepEqual(encodeAttrs(allSet, { mac: text }), expected, text);
      assert.deepEqual(encodeAttrs(allSet, { mac: sliced }), expected, text);
      assert.deepEqual(encodeAttrs(allSet, { mac: bytes }), expected, text);
    }
  }
  for (const bad of ['00:00:00:00:00', '', '00:00:00:00:00:01:02', 'gg:00:00:00:00:00']) {
    assert.throws(() => encodeAttrs(allSet, { mac: bad }), (e: unknown) => e instanceof SchemaError && e.path === 'mac', bad);
  }
});

test('text memos: a changing address and a repeated one through one place, in every order, each encode to their own bytes', () => {
  // A key's address that changes from flow to flow between its mask's, then runs of
  // repeats, misses after hits of either entry, and text equal to a kept one.
  const ips = ['255.255.255.255', '10.0.0.1', '10.0.0.2', '172.16.0.1', '10.0.0.3'];
  const macs = ['ff:ff:ff:ff:ff:ff', '00:00:00:00:00:01', '00:00:00:00:00:02', '80:00:00:00:fe:01', '00:00:00:00:00:03'];
  let seed = 7;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16;
  const order = [0, 1, 0, 2, 0, 3, 0, 4, 1, 1, 2, 2, 1, 0, 0, 3, 4, 3, 4];
  const scalars = withScalars();
  for (let i = 0; i < 400; i++) order.push(next() % 5);
  for (const i of order) {
    const ip = ips[i]!;
    const n = ip.split('.').reduce((acc, p) => acc * 256 + Number(p), 0);
    const fresh = [...ip].join('');
    assert.deepEqual(encodeAttrs(allSet, { ipv4: next() & 1 ? ip : fresh }), ipv4Attr(n), ip);
    // A struct's fields (read by name in its fast lane).
    const s = { u8: 1, port: 80, ip: next() & 1 ? ip : fresh, mac: next() & 1 ? macs[i]! : [...macs[i]!].join(''), n: 5 };
    const bytes = Buffer.from(macs[i]!.split(':').map((h) => parseInt(h, 16)));
    assert.deepEqual(decodeAttrs(scalars, encodeAttrs(scalars, { s })), { s: { ...s, ip, mac: formatMac(bytes) } }, ip);
    const mac = macs[i]!;
    assert.deepEqual(encodeAttrs(allSet, { mac: next() & 1 ? mac : [...mac].join('') }), Buffer.concat([Buffer.from([10, 0, 20, 0]), bytes, Buffer.alloc(2)]), mac);
  }
});

test('decoded address text: many different addresses (sharing cache slots) each read back as themselves', () => {
  let seed = 12345;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  for (let i = 0; i < 5000; i++) {
    const n = next();
    const mac = Buffer.from([next() & 255, next() & 255, next() & 255, next() & 255, next() & 255, next() & 255]);
    const bytes = encodeAttrs(allSet, { ipv4: n, mac });
    const decoded = decodeAttrs(allSet, bytes);
    assert.equal(decoded['ipv4'], formatIPv4(n));
    assert.equal(decoded['mac'], formatMac(mac));
    // And again, now from the caches.
    assert.deepEqual(decodeAttrs(allSet, bytes), decoded);
  }
});

test('a struct of the same layout decodes addresses in place, fields in order', () => {
  const bytes = encodeAttrs(allSet, { endpoint: { proto: 'udp', port: 53, ip: '8.8.4.4', mac: 'aa:bb:cc:dd:ee:ff' } });
  assert.equal(endpoint.fields.length, 6);
  assert.deepEqual(Object.keys(decodeAttrs(allSet, bytes)['endpoint'] as object), ['proto', 'port', 'ip', 'mac']);
  assert.deepEqual(decodeAttrs(allSet, bytes), { endpoint: { proto: 'udp', port: 53, ip: '8.8.4.4', mac: 'aa:bb:cc:dd:ee:ff' } });
});

test('names of one length: each goes to its own attribute, in the value\'s order; others are errors', () => {
  const set = defineSet('same_length', [
    { id: 1, name: 'aa', type: 'u8' },
    { id: 2, name: 'ab', type: 'u16' },
    { id: 3, name: 'ba', type: 'u32' },
    { id: 4, name: 'abc', type: 'u8' },
  ]);
  const bytes = encodeAttrs(set, { ba: 3, abc: 4, aa: 1, ab: 2 });
  assert.deepEqual(bytes, Buffer.from([
    8, 0, 3, 0, 3, 0, 0, 0,
    5, 0, 4, 0, 4, 0, 0, 0,
    5, 0, 1, 0, 1, 0, 0, 0,
    6, 0, 2, 0, 2, 0, 0, 0,
  ]));
  assert.deepEqual(Object.keys(decodeAttrs(set, bytes)), ['ba', 'abc', 'aa', 'ab']);
  assert.throws(() => encodeAttrs(set, { aa: 1, bb: 2 }), { message: 'bb: same_length has no attribute "bb"' });
  assert.throws(() => encodeAttrs(set, { aa: 1, abcd: 2 }), { message: 'abcd: same_length has no attribute "abcd"' });
});

test('schema names are data in the generated code, never code', () => {
  const odd = defineSet('odd "set"\n// */', [
    { id: 1, name: 'quote"s', type: 'u8' },
    { id: 2, name: 'back\\slash', type: 'flag' },
    { id: 3, name: 'new\nline', type: 'be16' },
  ]);
  const values = { 'quote"s': 7, 'back\\slash': true, 'new\nline': 0x1234 };
  assert.deepEqual(decodeAttrs(odd, encodeAttrs(odd, values)), values);
  assert.throws(() => encodeAttrs(odd, [] as unknown as Record<string, unknown>), { message: 'expected an object of odd "set"\n// */ attributes, got an array' });
});

test('a pad attribute: skipped in a set, kept as an entry of a list (as every entry is)', () => {
  const set = defineSet('with_pad', [
    { id: 1, name: 'n', type: 'u32' },
    { id: 2, name: 'pad', type: 'pad' },
  ]);
  const bytes = Buffer.from([8, 0, 1, 0, 5, 0, 0, 0, 4, 0, 2, 0, 8, 0, 1, 0, 6, 0, 0, 0]);
  assert.deepEqual(decodeAttrs(set, bytes), { n: 6 });
  assert.deepEqual(decodeList(set, bytes), [{ n: 5 }, { pad: true }, { n: 6 }]);
  assert.deepEqual(encodeList(set, [{ n: 5 }, { pad: true }, { n: 6 }]), bytes);
});

test('generic first, generated after: the same bytes, values and errors across the switch', () => {
  // Fresh sets and structs (each starts generic), used far more often than it takes.
  fc.assert(fc.property(attrValues(allSet), (values) => {
    const fresh = defineSet('fresh', allSet.attrs);
    const bytes = encodeAttrs(allSet, values);
    const decoded = decodeAttrs(allSet, bytes);
    for (let i = 0; i < 80; i++) {
      assert.deepEqual(encodeAttrs(fresh, values), bytes);
      assert.deepEqual(decodeAttrs(fresh, bytes), decoded);
      assert.deepEqual(decodeList(fresh, bytes), decodeList(allSet, bytes));
      assert.deepEqual(encodeList(fresh, decodeList(fresh, bytes)), bytes);
      assert.throws(() => encodeAttrs(fresh, { ...values, endpoint: { port: 70000 } }), { message: 'endpoint.port: 70000 does not fit in be16' });
      assert.throws(() => decodeAttrs(fresh, Buffer.concat([bytes, Buffer.from([5, 0])])), SchemaError);
    }
  }), { numRuns: 20 });
});

test('key orders: once a set writer has compiled the key order it keeps seeing, every value gives what the key loop gives', () => {
  // What encoding `v` gives the generic way: a set's first call.
  const outcome = (set: AttrSet, v: unknown): unknown => {
    try {
      return encodeAttrs(set, v as Record<string, unknown>);
    } catch (err) {
      return err instanceof SchemaError ? `SchemaError: ${err.message}` : err;
    }
  };
  const generic = (v: unknown): unknown => outcome(defineSet('generic', allSet.attrs), v);
  fc.assert(fc.property(attrValues(allSet), attrValues(allSet), (a, b) => {
    // Far past the calls it takes to generate the set's code, then a writer for a's key order.
    const ordered = defineSet('ordered', allSet.attrs);
    for (let i = 0; i < 100; i++) encodeAttrs(ordered, a);
    const keys = Object.keys(a);
    const variants: unknown[] = [
      a,
      // a's keys in a's order, with b's values where b has them: the key order's writer
      Object.fromEntries(keys.map((k) => [k, k in b ? b[k] : a[k]])),
      // ... and with values to refuse, under one key after another
      ...keys.map((k) => ({ ...a, [k]: 'not a value' })),
      ...keys.map((k) => ({ ...a, [k]: { endpoint: { port: 70000 } } })),
      // The same keys otherwise: one left undefined, another order, one more, one fewer, inherited
      ...keys.map((k) => ({ ...a, [k]: undefined })),
      Object.fromEntries([...keys].reverse().map((k) => [k, a[k]])),
      { ...a, endpoint: { port: 80 } },
      Object.fromEntries(keys.slice(1).map((k) => [k, a[k]])),
      Object.assign(Object.create({ u8: 1 }) as object, a),
    ];
    for (const v of variants) assert.deepEqual(outcome(ordered, v), generic(v), inspect(v));
  }), { numRuns: 60 });
});

test('key orders: values that take turns in many key orders (more than a set makes writers for) each give their own bytes', () => {
  // Five keys, each order a rotation or reversal: twenty orders, cycled through a few at a
  // time, so that orders are made, replaced and finally no longer made.
  const names = ['u8', 'u16', 'ipv4', 'mac', 'be32'];
  const value = { u8: 1, u16: 2, ipv4: '10.0.0.1', mac: '00:11:22:33:44:55', be32: 7 };
  const orders: string[][] = [];
  for (let r = 0; r < 5; r++) {
    const rotated = [...names.slice(r), ...names.slice(0, r)];
    orders.push(rotated, [...rotated].reverse(), [rotated[1]!, rotated[0]!, ...rotated.slice(2)], [...rotated.slice(0, 3), rotated[4]!, rotated[3]!]);
  }
  const values = orders.map((order) => Object.fromEntries(order.map((k) => [k, value[k as keyof typeof value]])));
  const expected = values.map((v) => encodeAttrs(defineSet('generic', allSet.attrs), v));
  const set = defineSet('turns', allSet.attrs);
  for (let round = 0; round < 40; round++) {
    // A run of one order (long enough to get a writer of its own), then a mix of them all.
    const run = round % orders.length;
    for (let i = 0; i < 24; i++) assert.deepEqual(encodeAttrs(set, values[run]!), expected[run], `round ${round}, order ${orders[run]!.join(',')}`);
    for (let i = 0; i < orders.length; i++) assert.deepEqual(encodeAttrs(set, values[i]!), expected[i], `round ${round}, mixed, order ${orders[i]!.join(',')}`);
  }
});

/**
 * What `run` gives (a value, or the error's message) for a fresh set (and fresh structs)
 * from `makeSet`: on its first call (the generic way) and once it has been used enough to
 * be generated.
 */
function bothWays(makeSet: () => AttrSet, run: (set: AttrSet) => unknown): { generic: unknown; generated: unknown } {
  const outcome = (set: AttrSet): unknown => {
    try {
      return run(set);
    } catch (err) {
      return err instanceof SchemaError ? `SchemaError: ${err.message}` : err;
    }
  };
  const set = makeSet();
  const generic = outcome(set);
  for (let i = 0; i < 40; i++) outcome(set);
  return { generic, generated: outcome(set) };
}

/** A set holding a struct of scalars only: generated writers read its fields by name when they can. */
const withScalars = (): AttrSet => defineSet('with_scalars', [{
  id: 1, name: 's', type: 'struct', struct: defineStruct('scalars', [
    { name: 'u8', type: 'u8' },
    { name: 'pad', type: 'pad', len: 1 },
    { name: 'port', type: 'be16' },
    { name: 'ip', type: 'be32', repr: 'ipv4' },
    { name: 'mac', type: 'bytes', len: 6, repr: 'mac' },
    { name: 'n', type: 'u32' },
  ]),
}]);

/** `values` as attributes of `set` appended to a builder of `size` bytes after `before` bytes. */
function builtIn(set: AttrSet, values: Record<string, unknown>, size: number, before: number): Buffer {
  const b = new MessageBuilder(size);
  b.reserve(before);
  b.attrs(set, values);
  return Buffer.from(b.bytes().subarray(before));
}

test('a writer that runs out of room anywhere: the same bytes, generic and generated, from builders of every size', () => {
  // An object's generated writer makes room once for the inline attributes of all its
  // set's names, again after anything written another way (a closure, a nest, an unknown
  // attribute): a builder that grows at any attribute must give what a large one gives.
  const others: [string, unknown][] = [
    ['u64', 4n], ['str', 'hello'], ['ipv6', '::1'], ['inner', { a: 1, b: 'x', leaf: { x: 2, on: true, tag: 't' }, big: 5n }],
    ['list', [{ a: 1 }, { leaf: { x: 3, on: true } }, { b: 'yy' }, { a: 2 }]],
    ['groups', [{ name: 'g', id: 1 }]], ['masked', { src: { value: '10.0.0.1', mask: '255.0.0.0' } }],
    ['kind', 'vxlan'], ['#99', { type: 99, raw: Buffer.from([1, 2, 3]) }],
  ];
  // Every attribute written inline, after the others: together they take all the room made for them.
  const inline = {
    u8: 1, u16: 2, u32: 3, s8: -1, s16: -2, s32: -3, be16: 5, be32: 6, flag: true, ipv4: '10.0.0.1', mac: '00:11:22:33:44:55',
    endpoint: { proto: 6, port: 80, ip: '10.0.0.2', mac: '00:11:22:33:44:66' }, endpoint_old: { port: 81 },
  };
  // One set used from its first call (generic, then generated), one generated from the start.
  const fresh = defineSet('all', allSet.attrs);
  const generated = defineSet('all', allSet.attrs);
  for (const [last] of others) {
    // Each of the others, in turn, right before the inline ones.
    const values = { ...Object.fromEntries(others.filter(([k]) => k !== last)), ...Object.fromEntries(others.filter(([k]) => k === last)), ...inline };
    const expected = encodeAttrs(allSet, values);
    for (let i = 0; i < 40; i++) encodeAttrs(generated, values);
    for (let size = 1; size <= expected.length + 8; size++) {
      for (const before of [0, 1, 3]) {
        assert.deepEqual(builtIn(fresh, values, size, before), expected, `fresh, ${last} last, size ${size}, ${before} before`);
        assert.deepEqual(builtIn(generated, values, size, before), expected, `generated, ${last} last, size ${size}, ${before} before`);
      }
    }
  }
  fc.assert(fc.property(attrValues(allSet), fc.integer({ min: 1, max: 200 }), (v, size) => {
    assert.deepEqual(builtIn(generated, v, size, 0), encodeAttrs(allSet, v));
  }), { numRuns: 200 });
});

test('a struct of scalars read by name: the same bytes and errors as in the key order, whatever the value holds', () => {
  const full = { u8: 1, port: 80, ip: '10.0.0.1', mac: '00:11:22:33:44:55', n: 7 };
  const bytes = hex('16 00 01 00  01 00 00 50  0a 00 00 01  00 11 22 33 44 55  07 00 00 00  00 00');
  const cases: unknown[] = [
    full,
    { n: 7, mac: '00:11:22:33:44:55', ip: '10.0.0.1', port: 80, u8: 1 },
    { port: 80 },
    {},
    { ...full, n: undefined },
    { ...full, ip: 0x0a000001, mac: hex('001122334455') },
    // Values to convert (numeric text), or to refuse: each named as the key order meets it.
    { ...full, n: '0x10' },
    { ...full, port: 70000 },
    { ...full, u8: -1, port: 'x' },
    { ...full, ip: '10.0.0' },
    { ...full, mac: 'zz:11:22:33:44:55' },
    { ...full, extra: 1 },
    { extra: 1, ...full, n: 'bad' },
    { ...full, pad: 0 },
    Object.create({ u8: 9 }) as object,
    [1, 2],
    null,
  ];
  for (const value of cases) {
    const { generic, generated } = bothWays(withScalars, (set) => encodeAttrs(set, { s: value }));
    assert.deepEqual(generated, generic, inspect(value));
  }
  assert.deepEqual(bothWays(withScalars, (set) => encodeAttrs(set, { s: full })).generated, bytes);
  assert.deepEqual(bothWays(withScalars, (set) => encodeAttrs(set, { s: { ...full, extra: 1 } })).generated, 'SchemaError: s: struct scalars has no field "extra"');
});

test('a struct of scalars read by name: padding and left-out fields are zero, whatever the buffer held', () => {
  const scalars = withScalars();
  const ones = { u8: 255, port: 65535, ip: '255.255.255.255', mac: 'ff:ff:ff:ff:ff:ff', n: 0xffffffff };
  const b = new MessageBuilder(256);
  for (let i = 0; i < 40; i++) {
    for (const [s, expected] of [
      [{ u8: 1 }, '16 00 01 00  01 00 00 00  00 00 00 00  00 00 00 00 00 00  00 00 00 00  00 00'],
      [{ mac: '00:11:22:33:44:55', port: 80 }, '16 00 01 00  00 00 00 50  00 00 00 00  00 11 22 33 44 55  00 00 00 00  00 00'],
      [{}, '16 00 01 00  00 00 00 00  00 00 00 00  00 00 00 00 00 00  00 00 00 00  00 00'],
    ] as const) {
      // A full value first (the lane's memos hold its texts), then every byte as 0xff.
      b.truncate();
      b.attrs(scalars, { s: ones });
      b.truncate();
      b.append(Buffer.alloc(32, 0xff));
      b.truncate();
      b.attrs(scalars, { s });
      assert.deepEqual(b.bytes(), hex(expected), inspect(s));
    }
  }
});

test('a list entry needs exactly one own key: the same bytes and errors generic and generated', () => {
  const entries = (): AttrSet => defineSet('entries', [{ id: 1, name: 'n', type: 'u32' }, { id: 2, name: 'on', type: 'flag' }]);
  const cases: unknown[] = [
    [{ n: 1 }, { on: true }, { n: 2 }],
    [{ n: 1, on: true }],
    [{}],
    [null],
    [[5]],
    ['n'],
    [Object.create({ n: 1 }) as object],
    [Object.assign(Object.create({ on: true }) as object, { n: 3 })],
    [Object.assign(Object.create({ n: 1 }) as object, { on: true }), { n: 4 }],
    [{ n: undefined }],
    [{ m: 1 }],
    [{ n: 'x' }],
  ];
  for (const list of cases) {
    const { generic, generated } = bothWays(entries, (set) => encodeList(set, list as Record<string, unknown>[]));
    assert.deepEqual(generated, generic, inspect(list));
  }
});

test('a nest\'s header written after its content: lengths, NLA_F_NESTED, and nests too long for 16 bits', () => {
  const values = { inner: { a: 1, leaf: { x: 2 } }, inner_plain: { a: 3 }, list: [{ a: 4 }] };
  let bytes: Buffer = Buffer.alloc(0);
  for (let i = 0; i < 40; i++) bytes = encodeAttrs(flaggedSet, values);
  assert.deepEqual(bytes, hex(`
    18 00 01 80  08 00 01 00 01 00 00 00  0c 00 03 00  06 00 01 00 02 00 00 00
    0c 00 02 00  08 00 01 00 03 00 00 00
    0c 00 03 80  08 00 01 00 04 00 00 00`));
  const long = { inner: { b: 'x'.repeat(70000) } };
  const { generic, generated } = bothWays(() => defineSet('flagged', flaggedSet.attrs, { nestedFlag: true }), (set) => encodeAttrs(set, long));
  assert.equal(generated, generic);
  assert.match(String(generated), /exceeds netlink's 65535/);
});

test('decoded objects are plain objects: their prototype, keys in wire order, printed without a class name', () => {
  const bytes = encodeAttrs(allSet, { u32: 5, u8: 1, inner: { leaf: { on: true, x: 3 }, a: 2 } });
  for (let i = 0; i < 40; i++) {
    const decoded = decodeAttrs(allSet, bytes);
    assert.equal(Object.getPrototypeOf(decoded), Object.prototype);
    assert.equal(Object.getPrototypeOf(decoded['inner']), Object.prototype);
    assert.deepEqual(Object.keys(decoded), ['u32', 'u8', 'inner']);
    assert.deepEqual(Object.keys(decoded['inner'] as object), ['leaf', 'a']);
    assert.deepStrictEqual(decoded, { u32: 5, u8: 1, inner: { leaf: { on: true, x: 3 }, a: 2 } });
    assert.equal(inspect(decoded, { depth: 5 }), '{ u32: 5, u8: 1, inner: { leaf: { on: true, x: 3 }, a: 2 } }');
    assert.equal(JSON.stringify(decoded), '{"u32":5,"u8":1,"inner":{"leaf":{"on":true,"x":3},"a":2}}');
  }
});

test('decoded byte strings are Buffers of their own: zero bytes, others, each length up to and past 64', () => {
  const set = defineSet('bytes_only', [{ id: 1, name: 'bin', type: 'binary' }]);
  for (let len = 1; len <= 70; len++) {
    for (const fill of ['zero', 'mixed'] as const) {
      const value = Buffer.from(Array.from({ length: len }, (_, i) => (fill === 'zero' || i % 3 === 0 ? 0 : 200 + (i % 50))));
      const reply = encodeAttrs(set, { bin: value });
      // Generic first, then generated: both copy.
      for (let i = 0; i < 40; i++) {
        const decoded = decodeAttrs(set, reply)['bin'] as Buffer;
        assert.equal(Object.getPrototypeOf(decoded), Buffer.prototype);
        assert.deepEqual(decoded, value);
        const again = decodeAttrs(set, reply)['bin'] as Buffer;
        // Neither the reply (a receive buffer callers reuse) nor another decode of it shares its bytes.
        reply.fill(0xff, 4);
        again[0] = 0xee;
        assert.deepEqual(decoded, value, `length ${len}, ${fill}`);
        reply.set(encodeAttrs(set, { bin: value }));
      }
    }
  }
});

test('bytes where a set, a struct or a list entry goes are refused as bytes (the generated code\'s fast check lets them by), warm or cold', () => {
  const inner = defineStruct('pair', [{ name: 'a', type: 'u16' }, { name: 'b', type: 'u16' }]);
  const set = defineSet('holder', [{ id: 1, name: 'pair', type: 'struct', struct: inner }, { id: 2, name: 'n', type: 'u32' }]);
  // Compiled writers and key orders come after some values: the same messages before and after.
  for (let i = 0; i < 100; i++) {
    encodeAttrs(set, { pair: { a: i, b: 1 }, n: i });
    assert.throws(() => encodeAttrs(set, { pair: Buffer.alloc(4), n: 1 }), { message: 'pair: expected an object for struct pair, got a Buffer' });
    assert.throws(() => encodeAttrs(set, new Uint8Array(4) as unknown as Record<string, unknown>), { message: 'expected an object of holder attributes, got a Uint8Array' });
    assert.throws(() => encodeList(set, [Buffer.from('n')] as unknown as Record<string, unknown>[]), { message: '[0]: expected {name: value} for holder, got a Buffer' });
  }
});
