import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowCheckError, checkFlowMatch, isZeroValue } from '../../../src/ovs/flow-check.js';

const tcpKey = {
  in_port: 1, ethertype: 0x0800,
  ipv4: { ipv4_src: '10.0.0.1', ipv4_dst: '10.0.0.2', ipv4_proto: 6, ipv4_tos: 0, ipv4_ttl: 64, ipv4_frag: 0 },
  tcp: { tcp_src: 1000, tcp_dst: 80 },
};

function rejects(key: Record<string, unknown>, mask: Record<string, unknown> | undefined, pattern: RegExp): void {
  assert.throws(() => checkFlowMatch(key, mask), (err: unknown) => err instanceof FlowCheckError && pattern.test(err.message));
}

test('a TCP key without tcp_flags says what to add', () => {
  rejects(tcpKey, undefined, /lacks tcp_flags\(…\).*TCP flow \(ipv4\(proto=6\)\).*add tcp_flags\(0\/0\)/);
  checkFlowMatch({ ...tcpKey, tcp_flags: 0 }, undefined);
});

test('each IP protocol needs its L4 key, unless the packet is a later fragment', () => {
  const ip = (proto: number, frag = 0) => ({ ethertype: 0x0800, ipv4: { ...tcpKey.ipv4, ipv4_proto: proto, ipv4_frag: frag } });
  rejects(ip(17), undefined, /lacks udp\(…\).*add udp\(\)/);
  rejects(ip(132), undefined, /lacks sctp\(…\)/);
  rejects(ip(1), undefined, /lacks icmp\(…\)/);
  rejects(ip(6), undefined, /lacks tcp\(…\) and tcp_flags\(…\).*add tcp\(\),tcp_flags\(0\/0\)/);
  checkFlowMatch(ip(17, 2), undefined);
  checkFlowMatch(ip(47), undefined);
  const ip6 = (proto: number, extra: Record<string, unknown> = {}) => ({
    ethertype: 0x86dd, ipv6: { ipv6_src: '::1', ipv6_dst: '::2', ipv6_label: 0, ipv6_proto: proto, ipv6_tclass: 0, ipv6_hlimit: 64, ipv6_frag: 0 }, ...extra,
  });
  rejects(ip6(58), undefined, /lacks icmpv6\(…\)/);
  rejects(ip6(58, { icmpv6: { icmpv6_type: 135, icmpv6_code: 0 } }), undefined, /lacks nd\(…\).*neighbour solicitation/);
  checkFlowMatch(ip6(58, { icmpv6: { icmpv6_type: 128, icmpv6_code: 0 } }), undefined);
});

test('L3 EtherTypes need their header', () => {
  rejects({ ethertype: 0x0800 }, undefined, /lacks ipv4\(…\).*IPv4 flow \(eth_type\(0x0800\)\)/);
  rejects({ ethertype: 0x0806 }, undefined, /lacks arp\(…\)/);
  rejects({ ethertype: 0x8847 }, undefined, /lacks mpls\(…\)/);
  checkFlowMatch({ ethertype: 0x88cc }, undefined);
  checkFlowMatch({ in_port: 1 }, undefined);
});

test('VLAN flows need vlan() with CFI and encap(); the inner key is checked too', () => {
  rejects({ ethertype: 0x8100 }, undefined, /needs vlan\(…\) and encap\(…\)/);
  rejects({ ethertype: 0x8100, vlan: 10, encap: { ethertype: 0x0800 } }, undefined, /cfi=1/);
  rejects({ ethertype: 0x8100, vlan: 0x100a, encap: { ethertype: 0x0800 } }, undefined, /lacks ipv4/);
  checkFlowMatch({ ethertype: 0x8100, vlan: 0x100a, encap: { ethertype: 0x0806, arp: {} } }, undefined);
});

test('mask bits need exact matches on what they depend on', () => {
  const key = { ...tcpKey, tcp_flags: 0 };
  const exact = { in_port: 0xffffffff, ethertype: 0xffff, ipv4: { ipv4_proto: 0xff }, tcp: { tcp_dst: 0xffff } };
  checkFlowMatch(key, exact);
  rejects(key, { ...exact, ethertype: undefined }, /ipv4\(…\) bits but eth_type is not matched/);
  rejects(key, { ...exact, ipv4: { ipv4_proto: 0xf0 } }, /tcp\(…\) bits but ipv4\(proto=…\) is not matched exactly/);
  rejects(key, { ...exact, udp: { udp_dst: 1 } }, /mask has udp\(…\) bits but the key has no udp/);
  // All-zero mask attributes count as absent.
  checkFlowMatch(key, { ...exact, ipv4: { ipv4_proto: 0 }, tcp: { tcp_dst: 0 } });
  // in_port, tunnel and eth_type may be masked without being in the key.
  checkFlowMatch({ ethertype: 0x88cc }, { ethertype: 0xffff, in_port: 0xffffffff, tunnel: { id: 1n } });
});

test('zero values as the codec writes them', () => {
  for (const v of [0, 0n, '0.0.0.0', '::', '00:00:00:00:00:00', Buffer.alloc(4), { a: 0, b: '0.0.0.0' }, [0, 0], undefined, false]) {
    assert.equal(isZeroValue(v), true, String(v));
  }
  for (const v of [1, 1n, '10.0.0.1', '::1', Buffer.from([0, 1]), { a: 0, b: 1 }, true]) assert.equal(isZeroValue(v), false, String(v));
});
