/** Address text as glibc's inet_ntop/inet_pton write and read it (tables checked against glibc). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatIPv4, formatIPv6, formatMac, parseIPv4, parseIPv6, parseMac } from '../../../src/nl/repr.js';

const runs = { seed: 0x6e6c, numRuns: 500 };

const words = (text: string): Buffer => {
  const buf = Buffer.alloc(16);
  text.split(':').forEach((w, i) => buf.writeUInt16BE(parseInt(w, 16), 2 * i));
  return buf;
};

const ipv6Format: [string, string][] = [
  ['0:0:0:0:0:0:0:0', '::'],
  ['0:0:0:0:0:0:0:1', '::1'],
  ['1:0:0:0:0:0:0:0', '1::'],
  ['0:0:0:0:0:ffff:102:304', '::ffff:1.2.3.4'],
  ['0:0:0:0:0:ffff:0:0', '::ffff:0.0.0.0'],
  ['0:0:0:0:0:0:102:304', '::1.2.3.4'],
  // glibc shows the last 32 bits dotted whenever the first 96 are zero, except "::" and "::x"
  ['0:0:0:0:0:0:1:0', '::0.1.0.0'],
  ['0:0:0:0:0:0:0:2', '::2'],
  ['0:0:0:0:ffff:0:102:304', '::ffff:0:102:304'],
  ['0:0:0:0:0:1:0:0', '::1:0:0'],
  ['fe80:0:0:0:1:0:0:1', 'fe80::1:0:0:1'],
  ['2001:db8:0:0:0:ff00:42:8329', '2001:db8::ff00:42:8329'],
  ['1:0:0:2:0:0:3:4', '1::2:0:0:3:4'], // the first of two equal runs
  ['1:0:0:2:0:0:0:3', '1:0:0:2::3'], // the longest run
  ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'], // a single zero word stays
  ['0:1:0:1:0:1:0:1', '0:1:0:1:0:1:0:1'],
  ['1:2:3:4:5:6:0:0', '1:2:3:4:5:6::'],
  ['0:0:1:2:3:4:5:6', '::1:2:3:4:5:6'],
  ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
];

for (const [w, text] of ipv6Format) {
  test(`formatIPv6 ${w} -> ${text}`, () => {
    assert.equal(formatIPv6(words(w)), text);
  });
  test(`parseIPv6 ${text}`, () => {
    assert.deepEqual(parseIPv6(text), words(w));
  });
}

test('formatIPv6 at an offset', () => {
  assert.equal(formatIPv6(Buffer.concat([Buffer.from([0xff]), words('0:0:0:0:0:0:0:1')]), 1), '::1');
});

const ipv6Parse: [string, string | undefined][] = [
  ['::FFFF:1.2.3.4', '0:0:0:0:0:ffff:102:304'],
  ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
  ['0000:0:0:0:0:0:0:1', '0:0:0:0:0:0:0:1'],
  ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
  ['::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8'],
  ['1:2:3:4:5:6:7:8::', undefined],
  ['1:2:3:4:5:6:7', undefined],
  ['1:2:3:4:5:6:7:8:9', undefined],
  ['1::2::3', undefined],
  [':1::', undefined],
  [':::', undefined],
  ['00000::', undefined],
  ['g::', undefined],
  ['::1.2.3', undefined],
  ['::256.1.1.1', undefined],
  ['::01.2.3.4', undefined],
  ['1:2:3:4:5:6:7:1.2.3.4', undefined],
  ['::1.2.3.4:5', undefined],
  ['1.2.3.4', undefined],
  ['fe80::1%eth0', undefined],
  ['', undefined],
];

for (const [text, w] of ipv6Parse) {
  test(`parseIPv6 ${JSON.stringify(text)} -> ${w ?? 'invalid'}`, () => {
    assert.deepEqual(parseIPv6(text), w === undefined ? undefined : words(w));
  });
}

const ipv4Parse: [string, number | undefined][] = [
  ['10.1.1.240', 0x0a0101f0],
  ['0.0.0.0', 0],
  ['255.255.255.255', 0xffffffff],
  ['256.0.0.0', undefined],
  ['1.2.3', undefined],
  ['1.2.3.4.5', undefined],
  ['01.2.3.4', undefined], // inet_pton refuses leading zeros
  ['1.2.3.00', undefined],
  [' 1.2.3.4', undefined],
  ['1..2.3', undefined],
  ['0x1.2.3.4', undefined],
];

for (const [text, n] of ipv4Parse) {
  test(`parseIPv4 ${JSON.stringify(text)} -> ${n ?? 'invalid'}`, () => {
    assert.equal(parseIPv4(text), n);
  });
}

test('formatIPv4', () => {
  assert.equal(formatIPv4(0x0a0101f0), '10.1.1.240');
  assert.equal(formatIPv4(0xffffffff), '255.255.255.255');
});

test('mac text', () => {
  assert.equal(formatMac(Buffer.from([0, 0x11, 0x22, 0xaa, 0xbb, 0xcc])), '00:11:22:aa:bb:cc');
  assert.deepEqual(parseMac('0:11:22:AA:bb:c'), Buffer.from([0, 0x11, 0x22, 0xaa, 0xbb, 0xc]));
  for (const bad of ['00:11:22:33:44', '00:11:22:33:44:55:66', '000:11:22:33:44:55', '00-11-22-33-44-55', 'gg:11:22:33:44:55']) {
    assert.equal(parseMac(bad), undefined, bad);
  }
});

// ---------------------------------------------------------------- properties

/** 16 bytes with many zero and 0xffff words, so every compression case comes up. */
const ipv6Bytes = fc
  .array(fc.oneof(fc.constant(0), fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 })
  .map((ws) => {
    const buf = Buffer.alloc(16);
    ws.forEach((w, i) => buf.writeUInt16BE(w, 2 * i));
    return buf;
  });

test('parseIPv6(formatIPv6(b)) is b', () => {
  fc.assert(fc.property(ipv6Bytes, (b) => assert.deepEqual(parseIPv6(formatIPv6(b)), b)), runs);
  fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
    assert.deepEqual(parseIPv6(formatIPv6(b)), Buffer.from(b));
  }), runs);
});

test('any IPv6 text parses, and formats to text that parses the same', () => {
  fc.assert(fc.property(fc.ipV6(), (text) => {
    const b = parseIPv6(text);
    assert.ok(b, text);
    assert.deepEqual(parseIPv6(formatIPv6(b)), b);
  }), runs);
});

test('IPv4 text round trips', () => {
  fc.assert(fc.property(fc.ipV4(), (text) => assert.equal(formatIPv4(parseIPv4(text)!), text)), runs);
  fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => assert.equal(parseIPv4(formatIPv4(n)), n)), runs);
});

test('MAC text round trips', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), (b) => {
    assert.deepEqual(parseMac(formatMac(b)), Buffer.from(b));
  }), runs);
});
