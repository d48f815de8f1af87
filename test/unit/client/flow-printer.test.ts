/**
 * FlowLinePrinter (dump-flows lines from reply bytes) against the ordinary way (decode,
 * flowFromMessage, formatFlowLine): the same line for every golden ovs_flow fixture's
 * key, mask and actions, with and without statistics, for each set of print options,
 * from one printer in sequence and again (memo hits), and for odd replies.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlowLinePrinter } from '../../../src/client/flow-printer.js';
import { type FlowFormatOptions, formatFlowLine } from '../../../src/client/flow-text.js';
import { flowFromMessage } from '../../../src/client/flows.js';
import { encodeStruct, littleEndianHost } from '../../../src/nl/codec.js';
import { decodeGenlMessage } from '../../../src/nl/family.js';
import { NLMSG_HDRLEN, type NetlinkMessage, genlRequestLength, parseMessages, writeGenlRequest } from '../../../src/nl/message.js';
import type { AttrValues } from '../../../src/nl/schema.js';
import { flowAttrs, flowFamily } from '../../../src/ovs/flow.js';
import { ovsHeader } from '../../../src/ovs/header.js';
import { flowKeyAttrs } from '../../../src/ovs/keys.js';
import { loadFixtures } from '../golden/fixtures.js';

const NOW = 5_000_000n;
const OPTIONS: FlowFormatOptions[] = [{}, { verbose: true, portNames: new Map([[1, 'v0'], [0, 'dpf']]) }, { portNames: new Map([[1, 'v0']]) }];

function ordinary(msg: NetlinkMessage, options: FlowFormatOptions): string {
  try {
    return formatFlowLine(flowFromMessage(decodeGenlMessage(flowFamily, msg)), NOW, options);
  } catch (err) {
    return `error: ${(err as Error).message}`;
  }
}

/** The reply laid out as in a datagram, its payload at the same alignment in memory as the message's. */
function datagramOf(msg: NetlinkMessage): Buffer {
  const shift = msg.payload.byteOffset & 3;
  const b = Buffer.alloc(shift + NLMSG_HDRLEN + msg.payload.length).subarray(shift);
  const header = new DataView(b.buffer, b.byteOffset, NLMSG_HDRLEN);
  header.setUint32(0, b.length, littleEndianHost);
  header.setUint16(4, msg.type, littleEndianHost);
  header.setUint16(6, msg.flags, littleEndianHost);
  header.setUint32(8, msg.seq, littleEndianHost);
  header.setUint32(12, msg.pid, littleEndianHost);
  msg.payload.copy(b, NLMSG_HDRLEN);
  return b;
}

/** The dump-flows line the printer gives for one reply, as dump-flows prints it (from its datagram). */
function printed(printer: FlowLinePrinter, msg: NetlinkMessage): string {
  try {
    return printer.printReplies([datagramOf(msg)]).slice(0, -1);
  } catch (err) {
    return `error: ${(err as Error).message}`;
  }
}

/** A raw netlink attribute (host order header, padded). */
function attr(type: number, payload: Buffer): Buffer {
  const b = Buffer.alloc((4 + payload.length + 3) & ~3);
  b.writeUInt16LE(4 + payload.length, 0);
  b.writeUInt16LE(type, 2);
  payload.copy(b, 4);
  return b;
}

function withPayload(msg: NetlinkMessage, payload: Buffer): NetlinkMessage {
  return { ...msg, payload };
}

/** The reply with `extra` put into its key (the reply's first attribute) after the key's attribute of type `after`. */
function withKeyAttrAfter(m: NetlinkMessage, after: number, extra: Buffer): NetlinkMessage {
  const p = m.payload;
  const keyLen = p.readUInt16LE(8);
  const parts: Buffer[] = [];
  for (let off = 12; off < 8 + keyLen;) {
    const len = (p.readUInt16LE(off) + 3) & ~3;
    parts.push(p.subarray(off, off + len));
    if (p.readUInt16LE(off + 2) === after) parts.push(extra);
    off += len;
  }
  const key = attr(p.readUInt16LE(10), Buffer.concat(parts));
  return withPayload(m, Buffer.concat([p.subarray(0, 8), key, p.subarray(8 + ((keyLen + 3) & ~3))]));
}

/** A flow reply with these attributes (the codec's values). */
function reply(attrs: AttrValues): NetlinkMessage {
  const req = {
    family: 0x20, cmd: flowFamily.commands['get']!, version: flowFamily.version, flags: 2,
    fixedHeader: encodeStruct(ovsHeader, { dp_ifindex: 3 }), set: flowAttrs, attrs,
  };
  const b = Buffer.alloc(genlRequestLength(req));
  writeGenlRequest(b, 0, req, 1);
  return parseMessages(b)[0]!;
}

/** Every ovs_flow fixture message, as sent and with statistics, last use and TCP flags added. */
function fixtureMessages(): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  const stats = Buffer.alloc(16);
  stats.writeBigUInt64LE(7n, 0);
  stats.writeBigUInt64LE(0x1_0000_0005n, 8);
  const used = Buffer.alloc(8);
  used.writeBigUInt64LE(NOW - 1234n);
  const extra = Buffer.concat([attr(flowAttrs.id('stats'), stats), attr(flowAttrs.id('used'), used), attr(flowAttrs.id('tcp_flags'), Buffer.from([0x13]))]);
  for (const f of loadFixtures()) {
    if (f.family !== 'ovs_flow') continue;
    for (const m of f.messages) {
      out.push(m, withPayload(m, Buffer.concat([m.payload, extra])));
    }
  }
  return out;
}

test('the printer prints every fixture flow as formatFlowLine does, memo or not', () => {
  const msgs = fixtureMessages();
  assert.ok(msgs.length > 300, `${msgs.length} fixture messages`);
  for (const options of OPTIONS) {
    const printer = new FlowLinePrinter(NOW, options);
    for (let round = 0; round < 2; round++) {
      for (const [i, m] of msgs.entries()) {
        assert.equal(printed(printer, m), ordinary(m, options), `message ${i}, round ${round}, options ${JSON.stringify({ ...options, portNames: undefined })}`);
      }
    }
    // A fresh printer for each message: no memo at all.
    for (const [i, m] of msgs.entries()) assert.equal(printed(new FlowLinePrinter(NOW, options), m), ordinary(m, options), `message ${i} alone`);
  }
});

test('odd replies print as formatFlowLine prints them', () => {
  const key = { in_port: 1, ethernet: { eth_src: '00:00:00:00:00:01', eth_dst: '00:00:00:00:00:02' }, ethertype: 0x0800 };
  const mask = { in_port: 0xffffffff, ethernet: { eth_src: '00:00:00:00:00:00', eth_dst: '00:00:00:00:00:00' }, ethertype: 0xffff };
  const cases: NetlinkMessage[] = [
    reply({ key }),
    reply({ key, mask: {} }),
    reply({ key: {}, mask }),
    reply({ key: { in_port: 1 }, mask: { in_port: 0xffffffff, ethertype: 0x0800 } }),
    reply({ key, mask: { in_port: 0x0000ffff } }),
    reply({ key, mask, actions: [] }),
    reply({ key, mask, actions: [{ output: 1 }], stats: { n_packets: 0xffff_ffff_ffffn, n_bytes: 1n << 63n }, used: 1n }),
    reply({ key, mask, used: NOW + 5000n, tcp_flags: 0xff, ufid: Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex') }),
    reply({ key, mask, ufid: Buffer.from('0102', 'hex') }),
    reply({ key: { ...key, '#60': { type: 60, raw: Buffer.from([1, 2, 3]) } }, mask: { ...mask, '#60': { type: 60, raw: Buffer.from([0xff, 0, 0]) } } }),
    reply({ key: { encap: { ethertype: 0x0800 }, in_port: 2 }, mask: { encap: { ethertype: 0xffff }, in_port: 0xffffffff } }),
    reply({ key: { tunnel: { id: 5n, ipv4_dst: '10.0.0.9', ttl: 64 }, in_port: 2 }, mask: { tunnel: { id: 0xffffffffffffffffn, ipv4_dst: '255.255.255.255' }, in_port: 0xffffffff } }),
  ];
  // The same attribute twice, a cut attribute, a cut message.
  const base = reply({ key, mask, used: 10n });
  const used = base.payload.subarray(base.payload.length - 12);
  cases.push(withPayload(base, Buffer.concat([base.payload, used])));
  cases.push(withPayload(base, base.payload.subarray(0, base.payload.length - 2)));
  const cut = Buffer.from(base.payload);
  cut.writeUInt16LE(0xfff0, 8);
  cases.push(withPayload(base, cut));
  cases.push(withPayload(base, base.payload.subarray(0, 6)));
  for (const options of OPTIONS) {
    const printer = new FlowLinePrinter(NOW, options);
    for (let round = 0; round < 2; round++) {
      for (const [i, m] of cases.entries()) assert.equal(printed(printer, m), ordinary(m, options), `case ${i}, round ${round}`);
    }
  }
});

test('a key attribute that changes every flow is still printed right after the memo rests', () => {
  const printer = new FlowLinePrinter(NOW, {});
  for (let i = 0; i < 3000; i++) {
    const m = reply({
      key: { in_port: 1, ethertype: 0x0800, ipv4: { ipv4_src: `10.0.${(i >> 8) & 255}.${i & 255}`, ipv4_dst: '10.1.0.1', ipv4_proto: 6, ipv4_tos: 0, ipv4_ttl: 64, ipv4_frag: 0 } },
      mask: { in_port: 0xffffffff, ethertype: 0xffff, ipv4: { ipv4_src: i % 2 ? '255.255.255.255' : '255.255.0.0', ipv4_dst: '0.0.0.0', ipv4_proto: 0xff, ipv4_tos: 0, ipv4_ttl: 0, ipv4_frag: 0xff } },
    });
    assert.equal(printed(printer, m), ordinary(m, {}), `flow ${i}`);
  }
});

test('an attribute that repeats only after its memo rested several times, under a mask that changes between long runs', () => {
  const printer = new FlowLinePrinter(NOW, {});
  for (let i = 0; i < 6000; i++) {
    // New sources for 4,500 flows (trials that find no repeat: longer rests), then four that repeat.
    const src = i < 4500 ? `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` : `10.9.9.${i & 3}`;
    // The ipv4 mask (its print plan) changes for a run in the middle and back.
    const dst = i >= 3000 && i < 3100 ? '255.255.0.0' : '0.0.0.0';
    const m = reply({
      key: { in_port: 1, ethertype: 0x0800, ipv4: { ipv4_src: src, ipv4_dst: '10.1.0.1', ipv4_proto: 6, ipv4_tos: 0, ipv4_ttl: 64, ipv4_frag: 0 }, tcp: { tcp_src: 1024 + i, tcp_dst: 80 } },
      mask: { in_port: 0xffffffff, ethertype: 0xffff, ipv4: { ipv4_src: '255.255.255.255', ipv4_dst: dst, ipv4_proto: 0xff, ipv4_tos: 0, ipv4_ttl: 0, ipv4_frag: 0xff }, tcp: { tcp_src: 0xffff, tcp_dst: 0xffff } },
      actions: [{ output: 2 }],
      // No packets, packets, bytes alone, a count past 32 bits.
      stats: { n_packets: BigInt(i % 4 === 1 ? i : i % 4 === 3 ? 1 : 0) << BigInt(i % 8 === 3 ? 32 : 0), n_bytes: BigInt(i % 4 === 2 ? 60 : 0) },
      ...(i % 3 ? { used: NOW - BigInt(i) } : {}),
    });
    assert.equal(printed(printer, m), ordinary(m, {}), `flow ${i}`);
  }
});

test('keys that share runs of attributes with the key before, moved or not, under changing masks', () => {
  const eth = { eth_src: '00:00:00:00:00:01', eth_dst: '00:00:00:00:00:02' };
  const ethMask = { eth_src: 'ff:ff:ff:ff:ff:ff', eth_dst: '00:00:00:00:00:00' };
  for (const options of OPTIONS) {
    const printer = new FlowLinePrinter(NOW, options);
    for (let i = 0; i < 400; i++) {
      const head = i % 7 === 3 ? { recirc_id: i % 3 } : {};
      const key = {
        ...head, in_port: 1 + (i % 11 === 5 ? 1 : 0), ethernet: eth, ethertype: 0x0800,
        ipv4: { ipv4_src: `10.0.0.${i & 255}`, ipv4_dst: '10.1.0.1', ipv4_proto: 17, ipv4_tos: 0, ipv4_ttl: 64, ipv4_frag: 0 },
        udp: { udp_src: 1000 + (i % 3), udp_dst: 53 },
        ...(i % 5 === 0 ? { ct_mark: 7 } : {}),
      };
      const mask = {
        ...(i % 7 === 3 ? { recirc_id: 0xffffffff } : {}), in_port: 0xffffffff, ethernet: i % 13 === 0 ? eth : ethMask, ethertype: 0xffff,
        ipv4: { ipv4_src: '255.255.255.255', ipv4_dst: '0.0.0.0', ipv4_proto: 0xff, ipv4_tos: 0, ipv4_ttl: 0, ipv4_frag: 0xff },
        udp: { udp_src: i % 17 === 0 ? 0xff00 : 0, udp_dst: 0xffff },
        ...(i % 5 === 0 ? { ct_mark: 0xffffffff } : {}),
      };
      const m = reply({ key, ...(i % 19 === 0 ? {} : { mask }), actions: [{ output: 1 + (i % 2) }] });
      assert.equal(printed(printer, m), ordinary(m, options), `flow ${i}`);
    }
  }
});

test('keys that end as the key before did, after attributes that vary in bytes, number and type', () => {
  const eth = { eth_src: '00:00:00:00:00:01', eth_dst: '00:00:00:00:00:02' };
  const ethMask = { eth_src: 'ff:ff:ff:ff:ff:ff', eth_dst: 'ff:ff:ff:ff:ff:ff' };
  for (const options of OPTIONS) {
    const printer = new FlowLinePrinter(NOW, options);
    for (let i = 0; i < 300; i++) {
      // The middle: an address that changes, at times an attribute more (with no mask) or
      // one fewer; the tail: the same attributes but now and then.
      const middle = {
        ipv4: { ipv4_src: `10.0.${i >> 8}.${i & 255}`, ipv4_dst: '10.1.0.1', ipv4_proto: 6, ipv4_tos: 0, ipv4_ttl: 64, ipv4_frag: 0 },
        ...(i % 5 === 1 ? { skb_mark: i } : {}),
        // (i % 19 === 9: tcp's place taken by an attribute of a type in the tail, below.)
        ...(i % 7 === 3 || i % 19 === 9 ? {} : { tcp: { tcp_src: 1000 + i, tcp_dst: 80 } }),
      };
      const tail = { tcp_flags: i % 11 === 4 ? 2 : 0, ct_zone: 3, ...(i % 13 === 6 ? { skb_mark: 9 } : {}), ct_mark: i % 17 === 8 ? 1 : 5 };
      const key = { in_port: 1, ethernet: eth, ethertype: 0x0800, ...middle, ...tail };
      const mask = {
        in_port: 0xffffffff, ethernet: ethMask, ethertype: 0xffff,
        ipv4: { ipv4_src: '255.255.255.255', ipv4_dst: '0.0.0.0', ipv4_proto: 0xff, ipv4_tos: 0, ipv4_ttl: 0, ipv4_frag: 0xff },
        ...(i % 7 === 3 ? {} : { tcp: { tcp_src: 0xffff, tcp_dst: 0xffff } }),
        tcp_flags: 0xfff, ct_zone: 0xffff, ...(i % 13 === 6 ? { skb_mark: 0xffffffff } : {}), ct_mark: 0xffffffff,
      };
      let m = reply({ key, ...(i % 23 === 0 ? {} : { mask }), actions: [{ output: 1 }] });
      // A key with a tail attribute's type in its middle too (after ipv4): the ordinary way,
      // though its tail is the key before's.
      if (i % 19 === 9) m = withKeyAttrAfter(m, flowKeyAttrs.id('ipv4'), attr(flowKeyAttrs.id('ct_mark'), Buffer.from([5, 0, 0, 0])));
      assert.equal(printed(printer, m), ordinary(m, options), `flow ${i}`);
    }
  }
});

test('idle flows and flows with statistics, a last use or TCP flags alone, under actions that change now and then', () => {
  for (const options of OPTIONS) {
    const printer = new FlowLinePrinter(NOW, options);
    for (let i = 0; i < 60; i++) {
      const key = { in_port: 1, ethertype: 0x0800, ipv4: { ipv4_src: `10.0.0.${i}`, ipv4_dst: '10.1.0.1', ipv4_proto: 6, ipv4_tos: 0, ipv4_ttl: 64, ipv4_frag: 0 } };
      const actions = i % 9 === 4 ? undefined : [{ output: 1 + (i >> 4) }];
      const more = i % 5 === 1 ? { tcp_flags: 0x12 } : i % 5 === 2 ? { used: NOW - 20n } : i % 5 === 3 ? { stats: { n_packets: 1n, n_bytes: 60n } } : {};
      const m = reply({ key, ...(actions ? { actions } : {}), ...more });
      assert.equal(printed(printer, m), ordinary(m, options), `flow ${i}`);
    }
  }
});

test('an attribute in the key before\'s place with its length and payload but another type prints as its own', () => {
  for (const options of OPTIONS) {
    const printer = new FlowLinePrinter(NOW, options);
    for (let i = 0; i < 60; i++) {
      // After ipv4, which varies, skb_mark(7) or priority(7): the same 8 bytes but the type.
      const last = i % 3 === 0 ? { priority: 7 } : { skb_mark: 7 };
      const key = { in_port: 1, ethertype: 0x0800, ipv4: { ipv4_src: `10.0.0.${i}`, ipv4_dst: '10.1.0.1', ipv4_proto: 6, ipv4_tos: 0, ipv4_ttl: 64, ipv4_frag: 0 }, ...last };
      const m = reply({ key, actions: [{ output: 1 }] });
      assert.equal(printed(printer, m), ordinary(m, options), `flow ${i}`);
    }
  }
});

test('replies at any byte alignment in memory, and with non-zero padding, print as formatFlowLine prints them', () => {
  const msgs = fixtureMessages();
  for (const options of OPTIONS) {
    const printer = new FlowLinePrinter(NOW, options);
    for (let round = 0; round < 2; round++) {
      for (const [i, m] of msgs.entries()) {
        // Payloads copied to offsets 0-3 of a buffer: compared by words, then by bytes, entries shared.
        const shift = (i + round) & 3;
        const room = Buffer.alloc(m.payload.length + 8, 0x5a);
        m.payload.copy(room, shift);
        const moved = withPayload(m, room.subarray(shift, shift + m.payload.length));
        assert.equal(printed(printer, moved), ordinary(m, options), `message ${i}, shift ${shift}`);
      }
    }
  }
  // A 2-byte attribute (ct_zone) whose padding is not zero still matches its text.
  const printer = new FlowLinePrinter(NOW, {});
  for (let i = 0; i < 40; i++) {
    const m = reply({ key: { in_port: 1, ct_zone: i % 3 }, mask: { in_port: 0xffffffff, ct_zone: 0xffff } });
    const p = Buffer.from(m.payload);
    // Dirty the padding after every 2-byte payload (attribute length 6).
    for (let off = 0; off + 8 <= p.length; off += 4) if (p.readUInt16LE(off) === 6 && i % 2) p.writeUInt16LE(0xbeef, off + 6);
    if (i % 2) assert.ok(!p.equals(m.payload), 'padding dirtied');
    assert.equal(ordinary(withPayload(m, p), {}), ordinary(m, {}));
    assert.equal(printed(printer, withPayload(m, p)), ordinary(m, {}), `flow ${i}`);
  }
});

test('keys that start as the key before did, between replies that go the ordinary way partway through', () => {
  // Runs of keys alike up to tcp; the ones that go the ordinary way differ from their neighbours from ipv4 on.
  const keyOf = (i: number) => ({
    recirc_id: 0, in_port: 1, ethernet: { eth_src: '00:00:00:00:00:01', eth_dst: '00:00:00:00:00:02' }, ethertype: 0x0800,
    ipv4: { ipv4_src: i % 4 === 2 ? '10.9.9.9' : `10.0.0.${(i >> 3) & 255}`, ipv4_dst: '10.1.0.1', ipv4_proto: 6, ipv4_tos: 0, ipv4_ttl: 64, ipv4_frag: 0 },
    tcp: { tcp_src: 1000 + (i % 5), tcp_dst: 80 },
  });
  const maskOf = (i: number) => ({
    recirc_id: 0xffffffff, in_port: 0xffffffff, ethernet: { eth_src: 'ff:ff:ff:ff:ff:ff', eth_dst: 'ff:ff:ff:ff:ff:ff' }, ethertype: 0xffff,
    ipv4: { ipv4_src: '255.255.255.255', ipv4_dst: i % 9 === 4 ? '255.255.0.0' : '0.0.0.0', ipv4_proto: 0xff, ipv4_tos: 0, ipv4_ttl: 0, ipv4_frag: 0xff },
    tcp: { tcp_src: 0xffff, tcp_dst: 0xffff },
  });
  /** The reply with its key's attribute `extra` appended at the key's end (a type the key has: the ordinary way). */
  const withKeyExtra = (m: NetlinkMessage, extra: Buffer): NetlinkMessage => {
    const p = m.payload;
    const len = p.readUInt16LE(8);
    const key = attr(p.readUInt16LE(10), Buffer.concat([p.subarray(12, 8 + len), extra]));
    return withPayload(m, Buffer.concat([p.subarray(0, 8), key, p.subarray(8 + ((len + 3) & ~3))]));
  };
  const inPort = Buffer.alloc(4);
  inPort.writeUInt32LE(2);
  for (const options of OPTIONS) {
    const printer = new FlowLinePrinter(NOW, options);
    for (let i = 0; i < 120; i++) {
      // Runs without a mask, and with an empty one.
      const mask = i % 13 === 6 || i % 13 === 7 ? {} : i % 13 === 9 || i % 13 === 10 ? { mask: {} } : { mask: maskOf(i) };
      let m = reply({ key: keyOf(i), ...mask, actions: [{ output: 1 }] });
      if (i % 4 === 2) m = withKeyExtra(m, attr(flowKeyAttrs.id('in_port'), inPort));
      if (i % 7 === 5) m = withKeyExtra(m, attr(flowKeyAttrs.id('ethertype'), Buffer.from([8, 6])));
      assert.equal(printed(printer, m), ordinary(m, options), `flow ${i}`);
    }
  }
});

test('printReplies prints datagrams of whole replies (headers included) as line() prints each', () => {
  const msgs = fixtureMessages();
  /** The messages with their netlink headers, each at a 4-byte boundary, as the kernel packs a datagram. */
  const datagram = (group: readonly NetlinkMessage[]): Buffer => Buffer.concat(group.map((m) => {
    const b = Buffer.alloc((16 + m.payload.length + 3) & ~3);
    b.writeUInt32LE(16 + m.payload.length, 0);
    b.writeUInt16LE(m.type, 4);
    b.writeUInt16LE(m.flags, 6);
    b.writeUInt32LE(m.seq, 8);
    m.payload.copy(b, 16);
    return b;
  }));
  for (const options of OPTIONS) {
    const printer = new FlowLinePrinter(NOW, options);
    for (let round = 0; round < 2; round++) {
      // Datagrams of 1 to 7 replies, two or three of them a batch.
      const bufs: Buffer[] = [];
      for (let i = 0, n = 1; i < msgs.length; i += n, n = (n % 7) + 1) bufs.push(datagram(msgs.slice(i, i + n)));
      for (let i = 0; i < bufs.length; i += 2 + (i % 2)) {
        const batch = bufs.slice(i, i + 2 + (i % 2));
        const expected = batch.flatMap((b) => parseMessages(b)).map((m) => `${ordinary(m, options)}\n`).join('');
        let got: string;
        try {
          got = printer.printReplies(batch);
        } catch (err) {
          // A batch with a reply the decoder rejects: each reply on its own says which.
          got = batch.flatMap((b) => parseMessages(b)).map((m) => `${printed(printer, m)}\n`).join('');
          assert.match(expected, /error: /, (err as Error).message);
        }
        assert.equal(got, expected, `batch at ${i}, round ${round}`);
      }
    }
  }
});

test('struct attributes printed from their bytes (u8 fields, ports, IPv4 addresses) under every kind of mask, as formatFlowLine prints them', () => {
  const addrs = ['0.0.0.0', '255.255.255.255', '10.0.0.1', '128.1.2.255', '1.128.0.7'];
  const ports = [0, 1, 80, 255, 256, 32768, 65535];
  // Masks: exact, partial, wildcarded, a field's mask alone (the others wildcarded).
  const ip4Masks = ['255.255.255.255', '255.255.0.0', '0.0.0.0', '0.255.0.1'];
  const portMasks = [0xffff, 0xff00, 0, 0x8001];
  const u8Masks = [0xff, 0xf0, 0, 0x01];
  const flows: { key: AttrValues; mask?: AttrValues }[] = [];
  for (let i = 0; i < 2400; i++) {
    const a = (k: number): string => addrs[(i + k) % addrs.length]!;
    const port = (k: number): number => ports[(i * 3 + k) % ports.length]!;
    const m = (i >> 8) % 4;
    const u8 = i & 255;
    const key: AttrValues = {
      in_port: 1, ethertype: 0x0800,
      ipv4: { ipv4_src: a(0), ipv4_dst: a(1), ipv4_proto: u8, ipv4_tos: (u8 * 7) & 255, ipv4_ttl: 255 - u8, ipv4_frag: u8 % 5 },
      [['tcp', 'udp', 'sctp', 'icmp'][i % 4]!]: i % 4 === 3 ? { icmp_type: u8, icmp_code: 255 - u8 } : Object.fromEntries(
        [`${['tcp', 'udp', 'sctp'][i % 4]}_src`, `${['tcp', 'udp', 'sctp'][i % 4]}_dst`].map((f, k) => [f, port(k)])),
      ct_orig_tuple_ipv4: { ipv4_src: a(2), ipv4_dst: a(3), src_port: port(2), dst_port: port(3), ipv4_proto: u8 },
    };
    const proto = Object.keys(key)[3]!;
    const mask: AttrValues = {
      in_port: 0xffffffff, ethertype: 0xffff,
      ipv4: { ipv4_src: ip4Masks[m], ipv4_dst: ip4Masks[(m + 1) % 4], ipv4_proto: u8Masks[m], ipv4_tos: u8Masks[(m + 2) % 4], ipv4_ttl: u8Masks[(m + 3) % 4], ipv4_frag: [0xff, 0, 0xff, 0x0f][m] },
      [proto]: proto === 'icmp' ? { icmp_type: u8Masks[m], icmp_code: u8Masks[(m + 1) % 4] } : Object.fromEntries(
        Object.keys(key[proto] as object).map((f, k) => [f, portMasks[(m + k) % 4]])),
      ct_orig_tuple_ipv4: { ipv4_src: ip4Masks[(m + 2) % 4], ipv4_dst: ip4Masks[m], src_port: portMasks[m], dst_port: portMasks[(m + 3) % 4], ipv4_proto: u8Masks[(m + 1) % 4] },
    };
    // Now and then a key without a mask, and a mask without the transport attribute.
    if (i % 97 === 5) flows.push({ key });
    else if (i % 89 === 7) flows.push({ key, mask: { ...mask, [proto]: undefined } });
    else flows.push({ key, mask });
  }
  // An ARP key: its op (a be16) and addresses from bytes, its MACs the decoded way.
  for (let i = 0; i < 300; i++) {
    flows.push({
      key: { in_port: 1, ethertype: 0x0806, arp: { arp_sip: addrs[i % 5], arp_tip: addrs[(i + 2) % 5], arp_op: ports[i % 7], arp_sha: '00:00:00:00:00:01', arp_tha: '00:00:00:00:00:02' } },
      mask: { in_port: 0xffffffff, ethertype: 0xffff, arp: { arp_sip: ip4Masks[i % 4], arp_tip: '255.255.255.255', arp_op: portMasks[(i >> 2) % 4], arp_sha: '00:00:00:00:00:00', arp_tha: 'ff:ff:ff:ff:ff:ff' } },
    });
  }
  for (const options of OPTIONS) {
    const printer = new FlowLinePrinter(NOW, options);
    for (const [i, f] of flows.entries()) {
      const m = reply(f.mask ? { key: f.key, mask: Object.fromEntries(Object.entries(f.mask).filter(([, v]) => v !== undefined)) } : { key: f.key });
      assert.equal(printed(printer, m), ordinary(m, options), `flow ${i}, options ${JSON.stringify({ ...options, portNames: undefined })}`);
    }
  }
});

test('actions that start as the last flow\'s, or have its length but other words, aligned or not, print as formatFlowLine prints them', () => {
  const key = { in_port: 1, ethertype: 0x0800 };
  const mask = { in_port: 0xffffffff, ethertype: 0xffff };
  // Each set follows the one before it: a prefix of it, or the same length with other words.
  const sets = [[{ output: 1 }, { output: 2 }], [{ output: 1 }], [{ output: 2 }], [{ output: 2 }, { output: 1 }], [{ output: 2 }, { output: 2 }], [{ recirc: 1 }]];
  for (const options of OPTIONS) {
    const printer = new FlowLinePrinter(NOW, options);
    for (let i = 0; i < 60; i++) {
      const m = reply({ key, mask, actions: sets[i % sets.length] });
      // Every third reply moved off a 4-byte boundary (compared by bytes).
      const shift = i % 3 === 2 ? 1 : 0;
      const room = Buffer.alloc(m.payload.length + 4);
      m.payload.copy(room, shift);
      assert.equal(printed(printer, withPayload(m, room.subarray(shift, shift + m.payload.length))), ordinary(m, options), `flow ${i}`);
    }
  }
});
