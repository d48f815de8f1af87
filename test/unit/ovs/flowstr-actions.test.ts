// The datapath action language: what strings parse to, how values print, what errors
// say, and property tests that printing and parsing are inverse on generated lists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeList, encodeList, encodeStruct } from '../../../src/nl/codec.js';
import { formatIPv6 } from '../../../src/nl/repr.js';
import type { AttrValues } from '../../../src/nl/schema.js';
import { actionAttrs } from '../../../src/ovs/actions.js';
import { formatActions, parseActions } from '../../../src/ovs/flowstr/actions.js';
import { FlowParseError } from '../../../src/ovs/flowstr/scanner.js';
import { COOKIE_STRUCTS, OFPP_NONE } from '../../../src/ovs/userspace-cookie.js';

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');
const labelBytes = (beHex: string) => hex(beHex.padStart(32, '0')).reverse();
const ONES16 = Buffer.alloc(16, 0xff);

test('parsing: output, drop, ct and nat in ovs-dpctl\'s shapes', () => {
  const cases: Array<[string, AttrValues[]]> = [
    ['2', [{ output: 2 }]],
    [' 1 ,2  3,', [{ output: 1 }, { output: 2 }, { output: 3 }]],
    ['0x10,010', [{ output: 16 }, { output: 8 }]],
    ['drop', []],
    [' DROP ', []],
    ['drop(3)', [{ drop: 3 }]],
    ['ct', [{ ct: {} }]],
    ['ct()', [{ ct: {} }]],
    ['ct(zone=0)', [{ ct: {} }]],
    ['ct(commit,zone=1,nat(src=10.1.1.240-10.1.1.255)),2', [
      { ct: { commit: true, zone: 1, nat: { src: true, ip_min: '10.1.1.240', ip_max: '10.1.1.255' } } }, { output: 2 },
    ]],
    // Any order in, ovs-dpctl's attribute order out.
    ['ct(nat(dst=10.0.0.1:80),timeout=t,eventmask=0x5,helper=ftp,label=0x1,mark=5,zone=3,force_commit)', [{
      ct: {
        force_commit: true, zone: 3, mark: { value: 5, mask: 0xffffffff }, labels: { value: labelBytes('01'), mask: ONES16 },
        helper: 'ftp', eventmask: 5, timeout: 't', nat: { dst: true, ip_min: '10.0.0.1', proto_min: 80 },
      },
    }]],
    // mark is hex with or without 0x; no mask means all ones; a zero mask sends nothing.
    ['ct(mark=10/ff)', [{ ct: { mark: { value: 0x10, mask: 0xff } } }]],
    ['ct(mark=5/0,label=3/0)', [{ ct: {} }]],
    ['ct(label=0x1234567890abcdef1122334455667788/0xffff)', [{
      ct: { labels: { value: labelBytes('1234567890abcdef1122334455667788'), mask: labelBytes('ffff') } },
    }]],
    // 16-bit zone wraps as in C, as ovs-dpctl sends it.
    ['ct(zone=70000)', [{ ct: { zone: 4464 } }]],
    ['ct(nat)', [{ ct: { nat: {} } }]],
    ['ct(commit,nat(src))', [{ ct: { commit: true, nat: { src: true } } }]],
    // Flags go only with an address; an equal max and port max are not sent.
    ['ct(commit,nat(src,persistent))', [{ ct: { commit: true, nat: { src: true } } }]],
    ['ct(commit,nat(dst=10.1.1.1-10.1.1.1:80-80,persistent,random))', [{
      ct: { commit: true, nat: { dst: true, ip_min: '10.1.1.1', proto_min: 80, persistent: true, proto_random: true } },
    }]],
    ['ct(commit,nat(src=10.1.1.240-10.1.1.255:32768-65535,persistent,hash))', [{
      ct: {
        commit: true,
        nat: {
          src: true, ip_min: '10.1.1.240', ip_max: '10.1.1.255', proto_min: 32768, proto_max: 65535,
          persistent: true, proto_hash: true,
        },
      },
    }]],
    ['ct(commit,nat(dst=[fe80::1]-[fe80::2]:80))', [{
      ct: { commit: true, nat: { dst: true, ip_min: 'fe80::1', ip_max: 'fe80::2', proto_min: 80 } },
    }]],
    ['ct(commit,nat(dst=FE80:0::1-fe80::2))', [{ ct: { commit: true, nat: { dst: true, ip_min: 'fe80::1', ip_max: 'fe80::2' } } }]],
    ['ct(nat(persistent))', [{ ct: { nat: {} } }]],
  ];
  for (const [text, want] of cases) assert.deepEqual(parseActions(text), want, text);
});

test('parsing: the other actions', () => {
  const zeros = Buffer.alloc(48);
  const cases: Array<[string, AttrValues[]]> = [
    ['ct_clear,pop_vlan,pop_eth,pop_nsh(),pop_nsh', [{ ct_clear: true }, { pop_vlan: true }, { pop_eth: true }, { pop_nsh: true }, { pop_nsh: true }]],
    ['recirc(5),recirc(0x5),recirc(010)', [{ recirc: 5 }, { recirc: 5 }, { recirc: 10 }]],
    ['meter(3),trunc(100)', [{ meter: 3 }, { trunc: { max_len: 100 } }]],
    ['hash(l4(0)),hash(sym_l4(7))', [{ hash: { hash_alg: 'l4', hash_basis: 0 } }, { hash: { hash_alg: 'sym_l4', hash_basis: 7 } }]],
    ['push_vlan(vid=10,pcp=3)', [{ push_vlan: { vlan_tpid: 0x8100, vlan_tci: 0x700a } }]],
    ['push_vlan(tpid=0x88a8,vid=10,pcp=0,cfi=0)', [{ push_vlan: { vlan_tpid: 0x88a8, vlan_tci: 0x000a } }]],
    ['push_mpls(label=10,tc=0,ttl=64,bos=1,eth_type=0x8847)', [{ push_mpls: { mpls_lse: 0xa140, mpls_ethertype: 0x8847 } }]],
    ['add_mpls(label=10,tc=1,ttl=64,bos=1,eth_type=0x8847,tun_flags=0x1)', [{ add_mpls: { mpls_lse: 0xa340, mpls_ethertype: 0x8847, tun_flags: 1 } }]],
    ['pop_mpls(eth_type=0x800)', [{ pop_mpls: 0x0800 }]],
    ['push_eth(src=00:00:00:00:00:01,dst=0:0:0:0:0:A)', [{ push_eth: { eth_src: '00:00:00:00:00:01', eth_dst: '00:00:00:00:00:0a' } }]],
    ['sample(sample=50.0%,actions(2))', [{ sample: { probability: 0x80000000, actions: [{ output: 2 }] } }]],
    ['sample(sample=100%,actions(drop))', [{ sample: { probability: 0xffffffff, actions: [] } }]],
    ['clone(clone(2),ct_clear)', [{ clone: [{ clone: [{ output: 2 }] }, { ct_clear: true }] }]],
    ['check_pkt_len(size=200,gt(drop),le(3))', [{ check_pkt_len: { pkt_len: 200, actions_if_greater: [], actions_if_less_equal: [{ output: 3 }] } }]],
    ['dec_ttl(le_1(drop)),dec_ttl(le_1(userspace(pid=1,userdata(00000000000000ff))))', [
      { dec_ttl: { action: [] } },
      { dec_ttl: { action: [{ userspace: { pid: 1, userdata: hex('00000000000000ff') } }] } },
    ]],
    ['psample(group=5,cookie=0xcafe),psample(group=1)', [{ psample: { group: 5, cookie: hex('cafe') } }, { psample: { group: 1 } }]],
    ['psample(group=5,cookie=0xafe)', [{ psample: { group: 5, cookie: hex('0afe') } }]],
    // ovs-dpctl sends a 48-byte zero cookie when none is given, and at least 8 bytes.
    ['userspace(pid=1)', [{ userspace: { pid: 1, userdata: zeros } }]],
    ['userspace(pid=1,userdata(01),actions,tunnel_out_port=3)', [{
      userspace: { pid: 1, userdata: hex('0100000000000000'), egress_tun_port: 3, actions: true },
    }]],
    ['userspace(pid=7,slow_path(cfm,match|lacp))', [{
      userspace: { pid: 7, userdata: encodeStruct(COOKIE_STRUCTS.slow_path, { type: 'slow_path', ofp_in_port: OFPP_NONE, reason: 0x45 }) },
    }]],
    ['set(skb_mark(5))', [{ set: { skb_mark: 5 } }]],
    ['set(ipv4(ttl=9))', [{
      set_masked: {
        ipv4: {
          value: { ipv4_src: '0.0.0.0', ipv4_dst: '0.0.0.0', ipv4_proto: 0, ipv4_tos: 0, ipv4_ttl: 9, ipv4_frag: 0 },
          mask: { ipv4_src: '0.0.0.0', ipv4_dst: '0.0.0.0', ipv4_proto: 0, ipv4_tos: 0, ipv4_ttl: 255, ipv4_frag: 0 },
        },
      },
    }]],
    ['push_nsh(spi=0x100,c1=0x1)', [{
      push_nsh: { nsh: { base: { flags: 0, ttl: 63, mdtype: 1, np: 3, path_hdr: 0x100ff }, md1: { c1: 1, c2: 0, c3: 0, c4: 0 } } },
    }]],
    ['push_nsh(mdtype=2,md2=0x0001020304,np=1)', [{
      push_nsh: { nsh: { base: { flags: 0, ttl: 63, mdtype: 2, np: 1, path_hdr: 0xff }, md2: hex('0001020304000000') } },
    }]],
    ['action30(01 02),action30', [{ '#30': { type: 30, raw: hex('0102') } }, { '#30': { type: 30, raw: Buffer.alloc(0) } }]],
    // A known type by number reads as its named form.
    ['action1(02 00 00 00)', [{ output: 2 }]],
  ];
  for (const [text, want] of cases) assert.deepEqual(parseActions(text), want, text);
});

test('printing: ovs-dpctl\'s text for decoded values', () => {
  const cookie = (name: keyof typeof COOKIE_STRUCTS, fields: Record<string, unknown>) =>
    encodeStruct(COOKIE_STRUCTS[name], { type: name, ofp_in_port: 5, ofproto_uuid: Buffer.alloc(16, 7), ...fields });
  const cases: Array<[AttrValues[], string]> = [
    [[], 'drop'],
    [[{ output: 1 }, { output: 2 }], '1,2'],
    [[{ ct: {} }, { ct: { zone: 0 } }], 'ct,ct'],
    [[{ ct: { mark: { value: 0, mask: 0xff } } }], 'ct(mark=0/0xff)'],
    [[{ ct: { labels: { value: labelBytes('01'), mask: Buffer.alloc(16) } } }], 'ct(label=0x1/0)'],
    [[{ ct: { eventmask: 0 } }], 'ct(eventmask=0x0)'],
    // ip_max equal to ip_min, or zero, is not shown; brackets only before a port.
    [[{ ct: { nat: { src: true, ip_min: '10.0.0.1', ip_max: '10.0.0.1' } } }], 'ct(nat(src=10.0.0.1))'],
    [[{ ct: { nat: { src: true, ip_min: 'fe80::1', ip_max: '::', proto_min: 5, proto_max: 5 } } }], 'ct(nat(src=[fe80::1]:5))'],
    [[{ ct: { nat: { dst: true, ip_min: 'fe80::1', ip_max: 'fe80::2' } } }], 'ct(nat(dst=fe80::1-fe80::2))'],
    [[{ ct: { nat: { dst: true, persistent: true } } }], 'ct(nat(dst,persistent))'],
    [[{ sample: { probability: 12345, actions: [] } }], 'sample(sample=0.0%,actions(drop))'],
    [[{ recirc: 0 }, { recirc: 255 }], 'recirc(0),recirc(0xff)'],
    [[{ hash: { hash_alg: 9, hash_basis: 1 } }], 'hash(Unknown hash algorithm(9))'],
    [[{ push_vlan: { vlan_tpid: 0x8100, vlan_tci: 0 } }], 'push_vlan(vid=0,pcp=0,cfi=0)'],
    [[{ userspace: { pid: 3 } }], 'userspace(pid=3)'],
    // The cookies print without their in_port and UUID, as ovs-dpctl prints them.
    [[{ userspace: { pid: 3, userdata: cookie('sflow', { vlan_tci: 0x5001, output: 3 }) } }], 'userspace(pid=3,sFlow(vid=1,pcp=2,output=3))'],
    [[{ userspace: { pid: 3, userdata: cookie('slow_path', { reason: 0x341 }) } }], 'userspace(pid=3,slow_path(cfm,match,0x300))'],
    [[{ userspace: { pid: 3, userdata: cookie('flow_sample', { probability: 9, output_odp_port: 4, direction: 'egress' }) } }],
      'userspace(pid=3,flow_sample(probability=9,collector_set_id=0,obs_domain_id=0,obs_point_id=0,output_port=eth4,egress))'],
    [[{ userspace: { pid: 3, userdata: cookie('controller', { dont_send: 5, rule_cookie: 0n }) } }],
      'userspace(pid=3,controller(reason=0,dont_send=1,continuation=0,recirc_id=0,rule_cookie=0,controller_id=0,max_len=0))'],
    [[{ userspace: { pid: 3, userdata: Buffer.alloc(48) } }], `userspace(pid=3,userdata(${'00'.repeat(48)}))`],
    [[{ dec_ttl: { action: [{ drop: 0 }] } }], 'dec_ttl(le_1(drop(0)))'],
    [[{ psample: { group: 1, cookie: hex('00ff') } }], 'psample(group=1,cookie=0x00ff)'],
    [[{ '#40': { type: 40, raw: hex('0a0b') } }, { '#41': { type: 41, raw: Buffer.alloc(0) } }], 'action40(0a 0b),action41'],
    [[{ output: 4 }, { clone: [{ output: 5 }] }], 'eth4,clone(5)'],
  ];
  const portName = (no: number) => (no === 4 ? 'eth4' : undefined);
  for (const [list, want] of cases) assert.equal(formatActions(list, { portName }), want, want);
});

test('port names: resolved when parsing, printed when a name is known', () => {
  const ports = new Map([['eth0', 1], ['br-int', 2]]);
  const portNames = (name: string) => ports.get(name);
  assert.deepEqual(parseActions('eth0,br-int,3,clone(eth0)', { portNames }), [{ output: 1 }, { output: 2 }, { output: 3 }, { clone: [{ output: 1 }] }]);
  assert.deepEqual(
    parseActions('userspace(pid=1,ipfix(output_port=br-int),tunnel_out_port=eth0)', { portNames }),
    parseActions('userspace(pid=1,ipfix(output_port=2),tunnel_out_port=1)'),
  );
  assert.throws(() => parseActions('eth1', { portNames }), /unknown action or port name "eth1"/);
});

function parseError(text: string): FlowParseError {
  try {
    parseActions(text);
  } catch (e) {
    if (e instanceof FlowParseError) return e;
    throw e;
  }
  assert.fail(`${text} parsed`);
}

test('errors say what was expected and point at the spot', () => {
  const cases: Array<[string, RegExp, number]> = [
    ['ct(comit)', /expected commit, force_commit, zone=, .* or "\)" in ct\(\.\.\.\), found "comit" \(did you mean commit\?\)/, 3],
    ['ct_clar', /unknown action "ct_clar" \(did you mean ct_clear\?\)/, 0],
    ['2,pop_vlan,trunk(3)', /unknown action "trunk" \(did you mean trunc\?\)/, 11],
    ['output:2', /unknown action "output": that is OpenFlow's; a datapath output is the port number alone, e\.g\. 2/, 0],
    ['2,mod_tp_src:5000', /"mod_tp_src": that is OpenFlow's; write set\(tcp\(src=\.\.\.\)\) or set\(udp\(src=\.\.\.\)\)/, 2],
    ['ct(commit', /expected "," or "\)" to close ct\(\.\.\.\), found the end of the input/, 9],
    ['clone(2', /expected "," after an action or "\)" to close clone\(\.\.\.\), found the end of the input/, 7],
    ['clone(2,', /expected an action or "\)" to close clone\(\.\.\.\), found the end of the input/, 8],
    ['2 3x', /expected "," after an action, found "x"/, 3],
    ['ct(zone=)', /expected a zone number, found "\)"/, 8],
    ['ct(commit,force_commit)', /commit or force_commit, not both/, 2],
    ['ct(nat(src=10.0.0.5-10.0.0.1))', /ends \(10\.0\.0\.1\) below where it starts \(10\.0\.0\.5\)/, 11],
    ['ct(nat(src=1.1.1.1:90-80))', /port range ends \(80\) below where it starts \(90\)/, 11],
    ['ct(nat(src,dst))', /src or dst, not both/, 3],
    ['ct(nat(src=1.1.1.1,hash,random))', /hash or random, not both/, 3],
    ['ct(helper=abcdefghijklmnop)', /a helper name is 1 to 15 characters/, 10],
    ['push_vlan(vid=4096)', /vid=4096 does not fit in 12 bits/, 0],
    ['2,drop', /"drop" alone means no actions/, 2],
    ['clone(drop(1),2)', /nothing can follow drop\(N\)/, 14],
    ['tnl_pop(1)', /userspace datapath/, 0],
    ['sample(sample=101%,actions(1))', /percentage is 0 to 100, not 101/, 14],
    ['userspace(actions)', /needs pid=/, 0],
    ['userspace(pid=1,ipfix(output_port=1),userdata(01))', /takes one of .*, not ipfix and userdata/, 0],
    ['userspace(pid=1,userdata(012))', /even number of hex digits/, 25],
    ['set(ipv4(src=1.2.3.4/255.255.255.0))', /bits outside its mask/, 4],
    ['set(skb_mark(1)', /expected "\)" to close set\(\.\.\.\)/, 15],
    ['push_nsh(mdtype=3)', /mdtype is 1 or 2, not 3/, 8],
    ['psample(cookie=0x01)', /psample\(\.\.\.\) needs group=/, 0],
    ['action1(02 00)', /action1\(\.\.\.\) is not a valid output/, 0],
  ];
  for (const [text, message, column] of cases) {
    const e = parseError(text);
    assert.match(e.message, message, text);
    assert.equal(e.position, column, `${text}: ${e.message}`);
    assert.equal(e.caret().split('\n')[1], `${' '.repeat(column)}^`);
  }
});

test('nesting deeper than ovs-dpctl allows is refused', () => {
  assert.equal(parseActions(`${'clone('.repeat(31)}1${')'.repeat(31)}`).length, 1);
  assert.match(parseError(`${'clone('.repeat(32)}1${')'.repeat(32)}`).message, /nest more than 32 levels/);
});

// ---------------------------------------------------------------- properties

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
/** fc.record with ordinary objects (deepEqual compares prototypes). */
const rec = <T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }) => fc.record(model, { noNullPrototype: true });
const buf = (minLength: number, maxLength: number) => fc.uint8Array({ minLength, maxLength }).map((b) => Buffer.from(b));
const mac = buf(6, 6).map((b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':'));

/** Drops undefined members, keeping the order of the rest (ovs-dpctl's attribute order). */
function compact(o: Record<string, unknown>): AttrValues {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** A nat as ovs-dpctl would build it: ranges only widen, flags only with an address. */
const natArb: fc.Arbitrary<AttrValues> = fc.oneof(
  fc.constant({}),
  rec({
    side: fc.constantFrom('src', 'dst'),
    range: fc.option(rec({
      v6: fc.boolean(),
      a: buf(16, 16), b: buf(16, 16),
      wide: fc.boolean(),
      ports: fc.option(fc.tuple(fc.integer({ min: 1, max: 0xffff }), fc.integer({ min: 1, max: 0xffff }))),
      persistent: fc.boolean(),
      proto: fc.constantFrom(undefined, 'proto_hash', 'proto_random'),
    }), { nil: undefined }),
  }).map(({ side, range }) => {
    if (!range) return { [side]: true };
    const len = range.v6 ? 16 : 4;
    const [lo, hi] = [range.a.subarray(0, len), range.b.subarray(0, len)].sort(Buffer.compare) as [Buffer, Buffer];
    const text = (b: Buffer) => (range.v6 ? formatIPv6(b) : [...b].join('.'));
    const [p1, p2] = range.ports ? [...range.ports].sort((x, y) => x - y) as [number, number] : [undefined, undefined];
    return compact({
      [side]: true,
      ip_min: text(lo),
      ip_max: range.wide && Buffer.compare(hi, lo) > 0 ? text(hi) : undefined,
      proto_min: p1,
      proto_max: p2 !== undefined && p2 > p1! ? p2 : undefined,
      persistent: range.persistent || undefined,
      [range.proto ?? 'none']: range.proto ? true : undefined,
    });
  }),
);

const nameArb = (max: number) => fc.stringMatching(new RegExp(`^[a-z0-9_.-]{1,${max}}$`));

const ctArb: fc.Arbitrary<AttrValues> = rec({
  commit: fc.constantFrom(undefined, 'commit', 'force_commit'),
  zone: fc.option(fc.integer({ min: 1, max: 0xffff }), { nil: undefined }),
  mark: fc.option(rec({ value: u32, mask: fc.integer({ min: 1, max: 0xffffffff }) }), { nil: undefined }),
  labels: fc.option(rec({ value: buf(16, 16), mask: fc.oneof(fc.constant(ONES16), buf(16, 16).filter((b) => b.some((x) => x !== 0))) }), { nil: undefined }),
  helper: fc.option(nameArb(15), { nil: undefined }),
  eventmask: fc.option(u32, { nil: undefined }),
  timeout: fc.option(nameArb(31), { nil: undefined }),
  nat: fc.option(natArb, { nil: undefined }),
}).map((c) => ({
  ct: compact({
    [c.commit ?? 'none']: c.commit ? true : undefined,
    zone: c.zone, mark: c.mark, labels: c.labels, helper: c.helper, eventmask: c.eventmask, timeout: c.timeout, nat: c.nat,
  }),
}));

/** Userdata as ovs-dpctl reads it back: a cookie it builds, or raw bytes (at least 8, not a known cookie). */
const userdataArb: fc.Arbitrary<Buffer> = fc.oneof(
  buf(8, 40),
  rec({ vid: fc.integer({ min: 0, max: 0xfff }), pcp: fc.integer({ min: 0, max: 7 }), output: u32 }).map(({ vid, pcp, output }) => {
    const tci = vid | (pcp << 13);
    return encodeStruct(COOKIE_STRUCTS.sflow, { type: 'sflow', ofp_in_port: OFPP_NONE, vlan_tci: tci ? tci | 0x1000 : 0, output });
  }),
  fc.integer({ min: 0, max: 0x7f }).map((reason) => encodeStruct(COOKIE_STRUCTS.slow_path, { type: 'slow_path', ofp_in_port: OFPP_NONE, reason })),
  rec({ probability: u16, collector_set_id: u32, obs_domain_id: u32, obs_point_id: u32, output_odp_port: u32, direction: fc.constantFrom('default', 'ingress', 'egress') })
    .map((f) => encodeStruct(COOKIE_STRUCTS.flow_sample, { type: 'flow_sample', ofp_in_port: OFPP_NONE, ...f })),
  u32.map((p) => encodeStruct(COOKIE_STRUCTS.ipfix, { type: 'ipfix', ofp_in_port: OFPP_NONE, output_odp_port: p })),
  rec({ dont_send: fc.constantFrom(0, 1), continuation: fc.constantFrom(0, 1), reason: u16, recirc_id: u32, rule_cookie: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), controller_id: u16, max_len: u16 })
    .map((f) => encodeStruct(COOKIE_STRUCTS.controller, { type: 'controller', ofp_in_port: OFPP_NONE, ...f })),
);

const userspaceArb = rec({
  pid: u32, userdata: userdataArb, egress_tun_port: fc.option(u32, { nil: undefined }), actions: fc.option(fc.constant(true), { nil: undefined }),
}).map((u) => ({ userspace: compact(u) }));

const setArb: fc.Arbitrary<AttrValues> = fc.oneof(
  u32.map((m) => ({ set: { skb_mark: m } })),
  rec({ eth_src: mac, eth_dst: mac }).map((e) => ({ set: { ethernet: e } })),
  rec({ src: u16, dst: u16, msrc: u16, mdst: u16 })
    .filter((t) => t.msrc !== 0xffff || t.mdst !== 0xffff)
    .map((t) => ({
      set_masked: { tcp: { value: { tcp_src: t.src & t.msrc, tcp_dst: t.dst & t.mdst }, mask: { tcp_src: t.msrc, tcp_dst: t.mdst } } },
    })),
);

const pushNshArb: fc.Arbitrary<AttrValues> = rec({
  flags: u8, ttl: u8, np: u8, path_hdr: u32, md2: fc.boolean(),
  md1: rec({ c1: u32, c2: u32, c3: u32, c4: u32 }),
  md2bytes: buf(0, 16).map((b) => Buffer.concat([b, Buffer.alloc(-b.length & 3)])),
}).map((n) => {
  const base = { flags: n.flags, ttl: n.ttl, mdtype: n.md2 ? 2 : 1, np: n.np, path_hdr: n.path_hdr };
  if (!n.md2) return { push_nsh: { nsh: { base, md1: n.md1 } } };
  return { push_nsh: { nsh: n.md2bytes.length ? { base, md2: n.md2bytes } : { base } } };
});

/** Sampling probabilities at the 0.1% steps that "%.1f" prints exactly. */
const probabilityArb = fc.integer({ min: 0, max: 1000 }).map((k) => {
  const pct = Number((k / 10).toFixed(1));
  return Math.min(0xffffffff, Math.floor(0xffffffff * (pct / 100) + 0.5));
});

const leafArb: fc.Arbitrary<AttrValues> = fc.oneof(
  u32.map((n) => ({ output: n })),
  u32.map((n) => ({ drop: n })),
  ctArb,
  fc.constantFrom({ ct_clear: true }, { pop_vlan: true }, { pop_eth: true }, { pop_nsh: true }),
  u32.map((n) => ({ recirc: n })),
  u32.map((n) => ({ meter: n })),
  u32.map((n) => ({ trunc: { max_len: n } })),
  rec({ hash_alg: fc.constantFrom('l4', 'sym_l4'), hash_basis: u32 }).map((h) => ({ hash: h })),
  rec({ tpid: u16, vid: fc.integer({ min: 0, max: 0xfff }), pcp: fc.integer({ min: 0, max: 7 }), cfi: fc.boolean() })
    .map((v) => ({ push_vlan: { vlan_tpid: v.tpid, vlan_tci: v.vid | (v.pcp << 13) | (v.cfi ? 0x1000 : 0) } })),
  rec({ mpls_lse: u32, mpls_ethertype: u16 }).map((m) => ({ push_mpls: m })),
  rec({ mpls_lse: u32, mpls_ethertype: u16, tun_flags: u16 }).map((m) => ({ add_mpls: m })),
  u16.map((t) => ({ pop_mpls: t })),
  rec({ eth_src: mac, eth_dst: mac }).map((e) => ({ push_eth: e })),
  pushNshArb,
  userspaceArb,
  setArb,
  rec({ group: u32, cookie: fc.option(buf(1, 16), { nil: undefined }) }).map((p) => ({ psample: compact(p) })),
  rec({ type: fc.integer({ min: 26, max: 200 }), raw: buf(0, 12) }).map((u) => ({ [`#${u.type}`]: u })),
);

const { list: actionListArb } = fc.letrec<{ list: AttrValues[]; action: AttrValues }>((tie) => ({
  // The kernel takes drop(N) only as the last action of a list.
  list: fc.array(tie('action'), { maxLength: 4 }).map((l) => l.filter((a, i) => !('drop' in a) || i === l.length - 1)),
  action: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leafArb,
    tie('list').map((l) => ({ clone: l })),
    rec({ probability: probabilityArb, actions: tie('list') }).map((s) => ({ sample: s })),
    rec({ pkt_len: u16, actions_if_greater: tie('list'), actions_if_less_equal: tie('list') }).map((c) => ({ check_pkt_len: c })),
    tie('list').map((l) => ({ dec_ttl: { action: l } })),
  ),
}));

test('property: parseActions(formatActions(a)) gives a back', () => {
  fc.assert(fc.property(actionListArb, (list) => {
    const text = formatActions(list);
    assert.deepEqual(parseActions(text), list, text);
  }), { numRuns: 400 });
});

test('property: printing is stable, and decoded bytes print as the value they came from', () => {
  fc.assert(fc.property(actionListArb, (list) => {
    const text = formatActions(list);
    assert.equal(formatActions(parseActions(text)), text);
    assert.equal(formatActions(decodeList(actionAttrs, encodeList(actionAttrs, list))), text);
  }), { numRuns: 200 });
});

test('property: separators and white space between actions do not matter', () => {
  fc.assert(fc.property(actionListArb.filter((l) => l.length > 0), fc.constantFrom(',', ', ', ' ', ',\n', ' ,, '), (list, sep) => {
    const spaced = list.map((a) => formatActions([a])).join(sep);
    assert.deepEqual(parseActions(` ${spaced} `), list);
  }), { numRuns: 100 });
});
