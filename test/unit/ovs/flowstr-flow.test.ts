/**
 * Whole flows (src/ovs/flowstr/flow.ts): splitting `ufid:…, KEY, actions:…` and
 * `KEY ACTIONS`, the UFID's byte order, packet_type handling, the dump-flows line, and a
 * property: a verbose line parses back to the flow it printed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  excludePacketType, formatFlow, formatTcpFlagLetters, formatUfid, formatUsed, parseFlow,
} from '../../../src/ovs/flowstr/flow.js';
import { KeyAttrMemo, formatKey } from '../../../src/ovs/flowstr/keys.js';
import { FlowParseError } from '../../../src/ovs/flowstr/scanner.js';
import { flowArb } from './flowstr-arbitraries.js';

const ZERO_ETH = { eth_src: '00:00:00:00:00:00', eth_dst: '00:00:00:00:00:00' };

test('add-flow text: KEY and ACTIONS split at white space, or at "actions:"', () => {
  const a = parseFlow('in_port(1),eth(),eth_type(0x0806),arp() 2,3');
  assert.deepEqual(Object.keys(a.key), ['in_port', 'ethernet', 'ethertype', 'arp']);
  assert.deepEqual(a.actions, [{ output: 2 }, { output: 3 }]);
  assert.deepEqual(parseFlow('in_port(1), eth() actions:drop').actions, []);
  // A key alone (del-flow, get-flow) has no actions.
  assert.equal(parseFlow('in_port(1),eth()').actions, undefined);
});

test('a UFID is OVS\'s uuid: four host-order words (bytes as ovs-dpctl sent them in the VM)', () => {
  const f = parseFlow('ufid:12345678-1234-5678-9abc-def012345678,in_port(1),eth() 1');
  assert.equal(f.ufid!.toString('hex'), '7856341278563412f0debc9a78563412');
  assert.equal(formatUfid(f.ufid!), '12345678-1234-5678-9abc-def012345678');
  assert.deepEqual(parseFlow('ufid:12345678-1234-5678-9abc-def012345678 in_port(1) 1').key, { in_port: 1 });
  assert.throws(() => parseFlow('ufid:1234-5678 in_port(1) 1'), /column 6: expected a UUID .* after "ufid:"/);
});

test('a whole dump-flows -m line parses: UFID, key, statistics skipped, actions', () => {
  const line = 'ufid:12345678-1234-5678-9abc-def012345678, recirc_id(0/0),dp_hash(0/0),skb_priority(0/0),in_port(v0),' +
    'skb_mark(0/0),ct_state(0/0),ct_zone(0/0),ct_mark(0/0),ct_label(0/0),' +
    'eth(src=00:00:00:00:00:00/00:00:00:00:00:00,dst=00:00:00:00:00:00/00:00:00:00:00:00),eth_type(0x0000/0x0000), ' +
    'packets:3, bytes:180, used:0.512s, flags:S., dp:ovs, actions:v0';
  const names = new Map([['v0', 1]]);
  const f = parseFlow(line, { portNumbers: names });
  assert.deepEqual(f.actions, [{ output: 1 }]);
  assert.equal(f.key['in_port'], 1);
  assert.deepEqual(Object.keys(f.key).slice(0, 3), ['recirc_id', 'dp_hash', 'priority']);
  // Printed again -m with the same names, the key and actions come out as ovs-dpctl had them.
  const again = formatFlow({ ...f, stats: { n_packets: 3n, n_bytes: 180n }, used: 1000n, tcp_flags: 0x12 },
    { verbose: true, now: 1512n, portNames: new Map([[1, 'v0']]) });
  assert.equal(again, line);
});

test('dump-flows line: statistics, used, TCP flag letters, dp:ovs and names only with -m', () => {
  const flow = {
    key: { in_port: 1, ethernet: ZERO_ETH, ethertype: 0x0800 },
    mask: { in_port: 0xffffffff, ethernet: ZERO_ETH, ethertype: 0xffff },
    actions: [{ output: 1 }],
    stats: { n_packets: 2n, n_bytes: 196n },
    used: 5000n,
    tcp_flags: 0x02 | 0x01 | 0x10,
    ufid: Buffer.alloc(16, 0x11),
  };
  assert.equal(formatFlow(flow, { now: 6234n }),
    'in_port(1),eth(),eth_type(0x0800), packets:2, bytes:196, used:1.234s, flags:SF., actions:1');
  assert.equal(formatFlow(flow, { now: 6234n, verbose: true, portNames: new Map([[1, 'v0']]) }),
    'ufid:11111111-1111-1111-1111-111111111111, in_port(v0),eth(src=00:00:00:00:00:00/00:00:00:00:00:00,' +
    'dst=00:00:00:00:00:00/00:00:00:00:00:00),eth_type(0x0800), packets:2, bytes:196, used:1.234s, flags:SF., ' +
    'dp:ovs, actions:v0');
  assert.equal(formatFlow({ key: { in_port: 1 } }), 'in_port(1), packets:0, bytes:0, used:never, actions:drop');
  assert.equal(formatUsed(0n, 10n), 'never');
  assert.equal(formatUsed(9999n, 10000n), '0.001s');
  assert.equal(formatTcpFlagLetters(0x1ff), 'SFPRU.ECN');
  assert.equal(formatTcpFlagLetters(0), 'none');
});

test('packet_type is not sent: dropped, and without eth() it becomes the EtherType (dpif-netlink)', () => {
  // ovs-dpctl in the VM sent in_port, eth_type(0x0800), ipv4 for this text; the mask's
  // eth_type became the packet type mask's id half (0xffff).
  const f = parseFlow('in_port(1),packet_type(ns=1,id=0x800),eth_type(0x0800),ipv4(frag=no) 1');
  assert.deepEqual(Object.keys(f.key), ['in_port', 'ethertype', 'ipv4']);
  assert.equal(f.key['ethertype'], 0x0800);
  assert.equal(f.mask['ethertype'], 0xffff);
  const g = parseFlow('in_port(1),packet_type(ns=0,id=0),eth(),eth_type(0x0800),ipv4(frag=no) 1');
  assert.deepEqual(Object.keys(g.key), ['in_port', 'ethernet', 'ethertype', 'ipv4']);
  // No eth_type at all: one is added at the end.
  assert.deepEqual(excludePacketType({ in_port: 1, packet_type: 0x10806 }), { in_port: 1, ethertype: 0x0806 });
});

test('errors point into the whole text, in the key or in the actions', () => {
  const at = (text: string): number => {
    try {
      parseFlow(text);
    } catch (e) {
      assert.ok(e instanceof FlowParseError);
      assert.equal(e.input, text);
      return e.position + 1;
    }
    return assert.fail(`${text} parsed`);
  };
  assert.equal(at('in_port(1),eht() 1'), 12);
  assert.equal(at('in_port(1),eth() output(x)'), 18);
  assert.equal(at('in_port(1),eth() 1,bogus'), 20);
});

test('a FLOW argument (keyOnly): whatever follows the key is named at its place', () => {
  const error = (text: string): string => {
    try {
      parseFlow(text, { keyOnly: true });
    } catch (e) {
      assert.ok(e instanceof FlowParseError, String(e));
      return `${e.position + 1}: ${e.detail}`;
    }
    return assert.fail(`${text} parsed`);
  };
  assert.equal(error('in_port(1),eth()junk'), '17: expected "," or the end of the flow key, found "junk"');
  assert.equal(error('in_port(1)),eth()'), '11: expected "," or the end of the flow key, found ")"');
  assert.equal(error('garbage'), '1: expected a flow key attribute, found "garbage"');
  assert.equal(error('in_port(1),junk'), '12: expected a flow key attribute, found "junk"');
  assert.equal(error('in_port(1),eth() 2'), '18: expected "," or the end of the flow key, found "2" (actions go in their own argument)');
  assert.equal(error('in_port(1'), '10: expected ")" to close in_port(, found the end of the input');
  assert.deepEqual(parseFlow('in_port(1), ', { keyOnly: true }).key, { in_port: 1 });
});

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

/** Simple action lists the actions printer and parser agree on. */
const actionsArb = fc.array(
  fc.oneof(
    fc.integer({ min: 0, max: 0xffffffff }).map((n) => ({ output: n })),
    fc.integer({ min: 0, max: 0xffffffff }).map((n) => ({ recirc: n })),
    fc.constant({ pop_vlan: true }),
  ),
  { maxLength: 4 },
);

test('property: parseFlow(formatFlow -m) gives back key, mask, actions and UFID', () => {
  // packet_type never comes from the kernel, and parseFlow drops it as dpif-netlink does.
  const kernelFlows = flowArb.filter((f) => !('packet_type' in f.key));
  fc.assert(fc.property(kernelFlows, actionsArb, fc.option(fc.uint8Array({ minLength: 16, maxLength: 16 })),
    fc.record({ n_packets: u64, n_bytes: u64 }), fc.bigInt({ min: 0n, max: 1n << 40n }), fc.integer({ min: 0, max: 0x1ff }),
    (km, actions, ufid, stats, used, tcpFlags) => {
      const flow = { ...km, actions, stats, used, tcp_flags: tcpFlags, ...(ufid ? { ufid: Buffer.from(ufid) } : {}) };
      const text = formatFlow(flow, { verbose: true, now: (1n << 40n) + 5n });
      const back = parseFlow(text);
      assert.deepEqual(back, { key: km.key, mask: km.mask, actions, ...(ufid ? { ufid: Buffer.from(ufid) } : {}) }, text);
    }), { numRuns: 300 });
});

test('a KeyAttrMemo reuses repeated attributes and changes no result', () => {
  const memo = new KeyAttrMemo();
  const lines = [
    'in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,frag=no)',
    'in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.3,dst=10.0.0.2,proto=6,frag=no)',
    // Same text up to where the earlier attribute closed, then more: not a repeat.
    'in_port(12),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02/ff:ff:ff:ff:ff:00),eth_type(0x0800)',
    'in_port(1),in_port(1)',
    'in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.3,dst=10.0.0.2,proto=6,frag=no)',
  ];
  const outcome = (text: string, options: Parameters<typeof parseFlow>[1]): unknown => {
    try {
      return parseFlow(text, options);
    } catch (err) {
      return err instanceof FlowParseError ? `${err.message}` : err;
    }
  };
  for (const text of lines) assert.deepEqual(outcome(text, { memo }), outcome(text, {}), text);
  // The repeated eth() of lines 1 and 2 is the one parse, shared (keys from a memo are read-only).
  const [a, b] = [parseFlow(lines[0]!, { memo }), parseFlow(lines[1]!, { memo })];
  assert.equal(a.key['ethernet'], b.key['ethernet']);
  assert.notEqual(a.key['ipv4'], b.key['ipv4']);
});

test('property: a KeyAttrMemo shared across keys gives what parsing each alone gives', () => {
  const memo = new KeyAttrMemo();
  fc.assert(fc.property(flowArb, (km) => {
    const text = formatKey(km.key, km.mask, { verbose: true });
    assert.deepEqual(parseFlow(text, { memo }), parseFlow(text), text);
  }), { numRuns: 300 });
});
