/** One-line frame summaries: every header kind, truncation at every byte, random bytes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { summarizePacket } from '../../../src/ovs/packet-summary.js';
import { arp, ethernet, icmp, ipv4Packet, ipv6Packet, tcp, udp, udpFrame } from '../../frames.js';

const A = '02:00:00:00:00:01';
const B = '02:00:00:00:00:02';
const ETH = `eth ${A}->${B}`;

const CASES: [string, Buffer, string][] = [
  ['icmp echo', ethernet(A, B, 0x0800, ipv4Packet('10.1.1.1', '10.1.1.2', 1, icmp(8))), `${ETH} ipv4 10.1.1.1->10.1.1.2 icmp echo-request`],
  ['icmp reply', ethernet(A, B, 0x0800, ipv4Packet('10.1.1.2', '10.1.1.1', 1, icmp(0))), `${ETH} ipv4 10.1.1.2->10.1.1.1 icmp echo-reply`],
  ['icmp unreachable code', ethernet(A, B, 0x0800, ipv4Packet('10.1.1.2', '10.1.1.1', 1, icmp(3, 3))), `${ETH} ipv4 10.1.1.2->10.1.1.1 icmp dest-unreachable code 3`],
  ['icmp unknown type', ethernet(A, B, 0x0800, ipv4Packet('10.1.1.2', '10.1.1.1', 1, icmp(42))), `${ETH} ipv4 10.1.1.2->10.1.1.1 icmp type 42 code 0`],
  ['tcp syn', ethernet(A, B, 0x0800, ipv4Packet('10.1.1.1', '10.1.1.2', 6, tcp(1234, 80, 0x02))), `${ETH} ipv4 10.1.1.1->10.1.1.2 tcp 1234->80 [S]`],
  ['tcp syn-ack', ethernet(A, B, 0x0800, ipv4Packet('10.1.1.2', '10.1.1.1', 6, tcp(80, 1234, 0x12))), `${ETH} ipv4 10.1.1.2->10.1.1.1 tcp 80->1234 [S.]`],
  ['tcp no flags', ethernet(A, B, 0x0800, ipv4Packet('10.1.1.2', '10.1.1.1', 6, tcp(80, 1234, 0))), `${ETH} ipv4 10.1.1.2->10.1.1.1 tcp 80->1234 [none]`],
  ['udp', udpFrame(A, B, '10.1.1.1', '10.1.1.2', 40000, 53), `${ETH} ipv4 10.1.1.1->10.1.1.2 udp 40000->53`],
  ['sctp', ethernet(A, B, 0x0800, ipv4Packet('10.1.1.1', '10.1.1.2', 132, udp(5000, 6000))), `${ETH} ipv4 10.1.1.1->10.1.1.2 sctp 5000->6000`],
  ['other protocol', ethernet(A, B, 0x0800, ipv4Packet('10.1.1.1', '10.1.1.2', 47, Buffer.alloc(4))), `${ETH} ipv4 10.1.1.1->10.1.1.2 proto 47`],
  ['first fragment', ethernet(A, B, 0x0800, ipv4Packet('10.1.1.1', '10.1.1.2', 17, udp(1, 2), { moreFragments: true })), `${ETH} ipv4 10.1.1.1->10.1.1.2 frag first udp 1->2`],
  ['later fragment', ethernet(A, B, 0x0800, ipv4Packet('10.1.1.1', '10.1.1.2', 17, Buffer.alloc(8), { fragOffset: 1480 })), `${ETH} ipv4 10.1.1.1->10.1.1.2 frag off 1480 proto 17`],
  ['vlan', ethernet(A, B, 0x0800, ipv4Packet('10.1.1.1', '10.1.1.2', 17, udp(1, 2)), [10]), `${ETH} vlan 10 ipv4 10.1.1.1->10.1.1.2 udp 1->2`],
  ['vlan with pcp, two tags', ethernet(A, B, 0x0806, arp(1, A, '10.0.0.1', '00:00:00:00:00:00', '10.0.0.2'), [(5 << 13) | 100, 200]), `${ETH} vlan 100 pcp 5 vlan 200 arp who-has 10.0.0.2 tell 10.0.0.1`],
  ['arp request', ethernet(A, 'ff:ff:ff:ff:ff:ff', 0x0806, arp(1, A, '10.0.0.1', '00:00:00:00:00:00', '10.0.0.2')), `eth ${A}->ff:ff:ff:ff:ff:ff arp who-has 10.0.0.2 tell 10.0.0.1`],
  ['arp reply', ethernet(B, A, 0x0806, arp(2, B, '10.0.0.2', A, '10.0.0.1')), `eth ${B}->${A} arp reply 10.0.0.2 is-at ${B}`],
  ['arp other op', ethernet(B, A, 0x0806, arp(3, B, '10.0.0.2', A, '10.0.0.1')), `eth ${B}->${A} arp op 3 10.0.0.2->10.0.0.1`],
  ['ipv6 udp', ethernet(A, B, 0x86dd, ipv6Packet('fe80::1', 'fe80::2', 17, udp(546, 547))), `${ETH} ipv6 fe80::1->fe80::2 udp 546->547`],
  ['icmpv6 echo', ethernet(A, B, 0x86dd, ipv6Packet('2001:db8::1', '2001:db8::2', 58, icmp(128))), `${ETH} ipv6 2001:db8::1->2001:db8::2 icmpv6 echo-request`],
  ['neighbor solicitation', ethernet(A, B, 0x86dd, ipv6Packet('fe80::1', 'ff02::1:ff00:2', 58, Buffer.concat([icmp(135), Buffer.from('fe800000000000000000000000000002', 'hex')]))), `${ETH} ipv6 fe80::1->ff02::1:ff00:2 icmpv6 neighbor-solicitation fe80::2`],
  ['hop-by-hop then icmpv6', ethernet(A, B, 0x86dd, ipv6Packet('fe80::1', 'ff02::16', 0, Buffer.concat([Buffer.from([58, 0, 5, 2, 0, 0, 1, 0]), icmp(143)]))), `${ETH} ipv6 fe80::1->ff02::16 icmpv6 mld2-report`],
  ['ipv6 later fragment', ethernet(A, B, 0x86dd, ipv6Packet('fe80::1', 'fe80::2', 44, Buffer.from([17, 0, 0x05, 0xc8, 0, 0, 0, 1]))), `${ETH} ipv6 fe80::1->fe80::2 frag off 1480 proto 17`],
  ['mpls', ethernet(A, B, 0x8847, Buffer.from([0x00, 0x06, 0x41, 0x40])), `${ETH} mpls label 100`],
  ['lldp', ethernet(A, B, 0x88cc, Buffer.alloc(10)), `${ETH} eth_type 0x88cc`],
  ['802.3 length', ethernet(A, B, 0x0040, Buffer.alloc(10)), `${ETH} llc len 64`],
  ['bad ip header', ethernet(A, B, 0x0800, Buffer.alloc(20)), `eth ${A}->${B} ipv4 0.0.0.0->0.0.0.0 bad header (version 0, ihl 0)`],
];

test('summaries of every header kind', () => {
  for (const [what, frame, want] of CASES) assert.equal(summarizePacket(frame), want, what);
});

test('a frame cut anywhere ends in "(truncated)" and never throws', () => {
  for (const [what, frame] of CASES) {
    for (let len = 0; len < frame.length; len++) {
      const s = summarizePacket(frame.subarray(0, len));
      assert.ok(typeof s === 'string', what);
    }
  }
  assert.equal(summarizePacket(Buffer.alloc(0)), 'eth (truncated)');
  assert.equal(summarizePacket(Buffer.alloc(13)), 'eth 00:00:00:00:00:00->00:00:00:00:00:00 (truncated)');
  const udpCut = udpFrame(A, B, '10.1.1.1', '10.1.1.2', 1, 2).subarray(0, 14 + 20 + 3);
  assert.equal(summarizePacket(udpCut), `${ETH} ipv4 10.1.1.1->10.1.1.2 udp (truncated)`);
});

test('random bytes never throw', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => typeof summarizePacket(Buffer.from(bytes)) === 'string'), { numRuns: 2000 });
});
