import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseActionsText } from '../../../src/client/flow-text.js';
import { FlowCheckError, FlowCheckMemo, checkFlowActions, checkFlowMatch, isZeroValue } from '../../../src/ovs/flow-check.js';
import { parseFlowKey } from '../../../src/ovs/flowstr/flow.js';
import { KeyAttrMemo, formatKey, parseKeyEntries } from '../../../src/ovs/flowstr/keys.js';
import { flowArb } from './flowstr-arbitraries.js';

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
});

test('a key needs eth(…) or eth_type(…): the kernel has no EtherType for the packet otherwise', () => {
  rejects({ in_port: 1 }, undefined, /neither eth\(…\) nor eth_type\(…\).*e\.g\. eth_type\(0x0800\)/);
  rejects({ in_port: 1 }, { in_port: 0xffffffff }, /neither eth/);
  // eth(…) alone is an 802.2 frame's flow; eth_type(…) alone an L3 port's packet.
  checkFlowMatch({ in_port: 1, ethernet: { eth_src: '00:00:00:00:00:01', eth_dst: '00:00:00:00:00:02' } }, undefined);
  checkFlowMatch({ in_port: 1, ethertype: 0x88cc }, undefined);
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

/** Each flow text's verdict from checkFlowMatch and from one FlowCheckMemo, in order: they must agree. */
function sameVerdicts(texts: readonly string[]): void {
  const memo = new KeyAttrMemo();
  const checks = new FlowCheckMemo();
  const verdict = (f: () => void): string => {
    try {
      f();
      return 'pass';
    } catch (err) {
      return (err as Error).message;
    }
  };
  for (const text of texts) {
    // The keys add-flows checks through the memo: key attributes alone (parseKeyEntries).
    if (!parseKeyEntries(text, memo)) continue;
    const attrs = memo.list.slice(0, memo.listLength);
    const { key, mask } = parseFlowKey(text);
    assert.equal(verdict(() => checks.check(attrs)), verdict(() => checkFlowMatch(key, mask)), text);
  }
}

test('FlowCheckMemo: flows alike in everything but what the rules read pass unchecked; any difference they read is checked', () => {
  const eth = 'in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02)';
  const tcp = (i: number, ipv4 = 'proto=6,frag=no', l4 = `tcp(src=${i},dst=80),tcp_flags(0/0)`, ethType = 'eth_type(0x0800)') =>
    `${eth},${ethType},ipv4(src=10.0.0.${i},dst=10.0.0.2,${ipv4}),${l4}`;
  sameVerdicts([
    tcp(1), tcp(2), tcp(3, 'proto=17,frag=no'), tcp(4), tcp(5, 'proto=6,frag=later'), tcp(6), tcp(7, 'proto=6/0xf0,frag=no'), tcp(8),
    tcp(9, 'proto=6,frag=no', 'tcp(src=9,dst=80)'), tcp(10), tcp(11, 'proto=6,frag=no', 'tcp(src=0/0,dst=0/0),tcp_flags(0/0)'), tcp(12),
    tcp(13, 'proto=6,frag=no', `tcp(src=13,dst=80),tcp_flags(0/0)`, 'eth_type(0x86dd)'), tcp(14), tcp(15, 'proto=6,frag=no', 'tcp(src=1,dst=80),tcp_flags(0/0)', 'eth_type(0x0800/0)'),
    tcp(20, 'proto=6/0,frag=no', 'tcp(src=0/0,dst=0/0),tcp_flags(0/0)'), tcp(21, 'proto=6/0,frag=no', 'tcp(src=21,dst=0/0),tcp_flags(0/0)'),
    tcp(16, 'src=10.0.0.1', 'tcp(src=16,dst=80),tcp_flags(0/0)'), tcp(17), tcp(18, 'frag=no'), tcp(19, 'proto=6,frag=no', 'udp(src=1,dst=2)'),
    'eth_type(0x86dd),ipv6(src=::1,proto=58),icmpv6(type=135,code=0)', 'eth_type(0x86dd),ipv6(src=::2,proto=58),icmpv6(type=1,code=0)',
    'eth_type(0x86dd),ipv6(src=::3,proto=58),icmpv6(type=135,code=0),nd(target=::1)', 'eth_type(0x86dd),ipv6(src=::4,proto=58),icmpv6(type=135/0,code=0),nd(target=::1)',
    'eth_type(0x8100),vlan(vid=10),encap(eth_type(0x0800))', 'eth_type(0x8100),vlan(vid=10)', 'eth_type(0x0806),arp(sip=10.0.0.1)', 'eth_type(0x0800),arp(sip=10.0.0.1)',
    'in_port(1),ct_tuple6(src=::1,dst=::2,proto=6,tp_src=1,tp_dst=2)', 'in_port(1),eth_type(0x86dd),ipv6(src=::1),ct_tuple6(src=::1,dst=::2,proto=6,tp_src=1,tp_dst=2)',
    'packet_type(ns=1,id=0x800),ipv4(src=10.0.0.1)', 'packet_type(ns=1,id=0x806),ipv4(src=10.0.0.1)',
  ]);
});

test('property: FlowCheckMemo agrees with checkFlowMatch on random keys, repeated and varied', () => {
  fc.assert(fc.property(fc.array(fc.tuple(flowArb, fc.nat(2)), { minLength: 1, maxLength: 10 }), (flows) => {
    const texts: string[] = [];
    for (const [f, times] of flows) for (let i = 0; i <= times; i++) texts.push(formatKey(f.key, f.mask, { verbose: i % 2 === 1 }));
    sameVerdicts(texts);
  }), { numRuns: 300 });
});

test('ports above 65535 and ct_state flags the kernel does not know are refused, with the fix', () => {
  const ip = 'eth(),eth_type(0x0800),ipv4(frag=no)';
  const check = (text: string) => {
    const { key, mask } = parseFlowKey(text);
    checkFlowMatch(key, mask);
  };
  const refused = (text: string, pattern: RegExp) => assert.throws(() => check(text), (err: unknown) => err instanceof FlowCheckError && pattern.test(err.message), text);
  refused(`in_port(65536),${ip}`, /in_port\(65536\) is no port number: the kernel's are below 65536/);
  check(`in_port(65535),${ip}`);
  refused(`in_port(1),${ip},ct_state(trk)`, /ct_state's mask 0xffffffff .*"ct_state flags ffffffff unsupported".*ct_state\(0x20\/0xff\)/);
  refused(`in_port(1),${ip},ct_state(new|trk)`, /ct_state\(0x21\/0xff\)/);
  check(`in_port(1),${ip},ct_state(+trk-est)`);
  check(`in_port(1),${ip},ct_state(0x20/0xff)`);
  assert.throws(() => checkFlowMatch({ in_port: 1, ethernet: {}, ct_state: 0x20 }, { ct_state: 0x120 }), /ct_state's mask 0x120 has bits the kernel does not know/);
  // A flow file's memo: a line like the last one that passed is only passed when it would pass.
  const memo = new FlowCheckMemo();
  const entries = (text: string) => {
    const keyMemo = new KeyAttrMemo();
    assert.ok(parseKeyEntries(text, keyMemo));
    return keyMemo.list.slice(0, keyMemo.listLength);
  };
  memo.check(entries(`in_port(1),${ip},ct_state(+trk)`));
  assert.throws(() => memo.check(entries(`in_port(1),${ip},ct_state(trk)`)), FlowCheckError);
  memo.check(entries(`in_port(2),${ip},ct_state(+trk)`));
  assert.throws(() => memo.check(entries(`in_port(70000),${ip},ct_state(+trk)`)), FlowCheckError);
});

test('a name that is no key attribute is left to the encoder, which names it', () => {
  // eth_type is the flow syntax's word; the schema's is ethertype.
  checkFlowMatch({ in_port: 9, eth_type: 0x88cc }, undefined);
  checkFlowMatch({ in_port: 9, ethertype: 0x8100, vlan: 0x100a, encap: { eth_tpye: 0x0800 } }, undefined);
  checkFlowMatch({ in_port: 9, ethernet: {} }, { in_port: 0xffffffff, ethernet: {}, bogus: 1 });
  // Unknown attribute ids ("#N") are kept, and checked as any key is.
  assert.throws(() => checkFlowMatch({ in_port: 9, '#99': { type: 99, raw: Buffer.alloc(0) } }, undefined), FlowCheckError);
});

test('ct actions the kernel refuses (seen in the VM) are named, at any depth; the rest pass', () => {
  const refused: [unknown[], RegExp][] = [
    [[{ ct: { zone: 1, nat: { src: true, ip_min: '10.1.1.240' } } }], /^ct\(zone=1,nat\(src=10\.1\.1\.240\)\) needs commit.*write ct\(commit,zone=1,nat\(src=10\.1\.1\.240\)\)/],
    // The kernel reads ct's attributes in order: commit after nat comes too late.
    [[{ ct: { nat: { src: true }, commit: true } }], /commit after nat/],
    [[{ ct: { zone: 1, nat: { dst: true }, force_commit: true } }], /commit after nat/],
    [[{ ct: { zone: 1, nat: { dst: true } } }], /ct\(zone=1,nat\(dst\)\) needs commit/],
    [[{ ct: { commit: true, nat: { persistent: true } } }], /has persistent but neither src nor dst/],
    [[{ ct: { commit: true, nat: { proto_min: 0 } } }], /has a port but neither src nor dst/],
    [[{ ct: { commit: true, nat: { ip_min: '10.0.0.1' } } }], /has an address but neither src nor dst/],
    [[{ ct: { commit: true, nat: { src: true, dst: true } } }], /both src and dst.*ERANGE/],
    [[{ ct: { mark: { value: 1, mask: 1 } } }], /ct\(mark=0x1\/0x1\) sets a mark without commit.*write ct\(commit,mark=0x1\/0x1\)/],
    [[{ ct: { labels: { value: Buffer.alloc(16), mask: Buffer.from('00'.repeat(15) + '01', 'hex') } } }], /sets a label without commit.*write ct\(commit,label=/],
    [[{ ct: { commit: true, mark: { value: 0, mask: 0 } } }], /action's mark has no mask, or a zero one.*mark=VALUE\/MASK/],
    [[{ ct: { commit: true, labels: { value: Buffer.alloc(16, 1) } } }], /label \(labels\) has no mask, or a zero one.*label=VALUE\/MASK/],
    [[{ output: 1 }, { clone: [{ ct: { nat: { src: true } } }] }], /needs commit/],
    [[{ sample: { probability: 1, actions: [{ ct: { mark: { value: 1, mask: 1 } } }] } }], /without commit/],
    [[{ check_pkt_len: { max_len: 100, actions_if_greater: [], actions_if_less_equal: [{ ct: { nat: { dst: true } } }] } }], /needs commit/],
    [[{ dec_ttl: { action: [{ ct: { nat: { src: true } } }] } }], /needs commit/],
  ];
  for (const [actions, message] of refused) assert.throws(() => checkFlowActions(actions), (e: unknown) => e instanceof FlowCheckError && message.test(e.message), JSON.stringify(actions));
  const taken: unknown[] = [
    [{ ct: { commit: true, zone: 1, nat: { src: true, ip_min: '10.1.1.240', ip_max: '10.1.1.255' } } }, { recirc: 1 }],
    [{ ct: { force_commit: true, nat: { dst: true, ip_min: '10.0.0.1', proto_min: 80 } } }],
    [{ ct: { zone: 1, nat: {} } }],
    [{ ct: { nat: { persistent: false } } }],
    [{ ct: { commit: true, mark: { value: 1, mask: 1 }, labels: { value: Buffer.alloc(16), mask: Buffer.alloc(16, 0xff) } } }],
    // mark and labels are checked after ct's attributes are all read: their order is free.
    [{ ct: { mark: { value: 1, mask: 1 }, commit: true } }],
    [{ ct: { commit: true, zone: 1, nat: { src: true } } }, { ct: { force_commit: true, nat: { dst: true } } }],
    [{ ct: {} }, { ct_clear: true }],
    // Not an action list as the codec takes it: the encoder's to name.
    'ct', [null, 5, { ct: 'x' }],
  ];
  for (const actions of taken) assert.doesNotThrow(() => checkFlowActions(actions), JSON.stringify(actions));
  // The fix written out has commit even when the object said commit: false.
  assert.throws(() => checkFlowActions([{ ct: { commit: false, zone: 1, nat: { src: true } } }]), /write ct\(commit,zone=1,nat\(src\)\)/);
  // The flow-string language, as add-flow reads it.
  assert.throws(() => checkFlowActions(parseActionsText('ct(zone=1,nat(src=10.1.1.240-10.1.1.255))')), /needs commit/);
  assert.doesNotThrow(() => checkFlowActions(parseActionsText('ct(commit,zone=1,nat(src=10.1.1.240-10.1.1.255)),ct(zone=1,nat),recirc(0)')));
});
