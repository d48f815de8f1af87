/**
 * The OVS flow and packet schemas: ids and struct layouts against the installed uapi
 * header, golden bytes worked out by hand from the uapi layouts, and round trips of a
 * realistic flow put. Golden bytes assume a little-endian host (netlink headers and
 * u16/u32 are host order).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { decodeAttrs, decodeList, encodeAttrs, encodeList } from '../../../src/nl/codec.js';
import { type AttrSet, type StructSpec, resolveSet, structSize } from '../../../src/nl/schema.js';
import {
  HASH_ALGS, actionAttrs, checkPktLenAttrs, ctAttrs, decTtlAttrs, natAttrs, psampleAttrs, sampleAttrs,
  userspaceAttrs,
} from '../../../src/ovs/actions.js';
import { UFID_FLAGS, flowAttrs, flowFamily } from '../../../src/ovs/flow.js';
import { CT_STATE_FLAGS, FRAG_TYPES, flowKeyAttrs, nshKeyAttrs, tunnelKeyAttrs, vxlanExtAttrs } from '../../../src/ovs/keys.js';
import { packetAttrs, packetFamily } from '../../../src/ovs/packet.js';
import { DEFAULT_ZONE, ctLimitAttrs, ctLimitFamily } from '../../../src/ovs/ct-limit.js';

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

// ---------------------------------------------------------------- the uapi header

const HEADER = '/usr/include/linux/openvswitch.h';
const ETHER_HEADER = '/usr/include/linux/if_ether.h';
const headerSkip = existsSync(HEADER) ? false : `${HEADER} is missing (install linux-libc-dev): ids and layouts not compared`;

interface CEnum { entries: { name: string; value: number }[] }
interface CStruct { name: string; members: { type: string; dim: number }[] }

/** The parts of a uapi header the comparison needs: enums, structs, #defines. */
function parseHeader(text: string, macros: Map<string, number | string>) {
  // Comments out, and the lines a userspace build never sees (#ifdef __KERNEL__).
  const lines: string[] = [];
  const live: boolean[] = [];
  for (const line of text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/.*$/gm, '').split('\n')) {
    const pp = /^\s*#\s*(\w+)\s*(.*)$/.exec(line);
    const on = live.every(Boolean);
    if (pp) {
      const [, kw, rest] = pp;
      if (kw === 'ifdef' || kw === 'ifndef') live.push(rest!.trim() === '__KERNEL__' ? kw === 'ifndef' : true);
      else if (kw === 'if') live.push(true);
      else if (kw === 'else') live.push(!live.pop());
      else if (kw === 'endif') live.pop();
      else if (kw === 'define' && on) {
        const d = /^(\w+)\s+(.+)$/.exec(rest!.trim());
        if (d) {
          const v = d[2]!.trim();
          if (/^(0x[0-9a-fA-F]+|\d+)$/.test(v)) macros.set(d[1]!, Number(v));
          else if (/^\(1 << \d+\)$/.test(v)) macros.set(d[1]!, 1 << Number(/\d+/.exec(v.slice(5))![0]));
          else if (/^"[^"]*"$/.test(v)) macros.set(d[1]!, v.slice(1, -1));
        }
      }
      continue;
    }
    if (live.every(Boolean)) lines.push(line);
  }
  const code = lines.join('\n');

  const enums: CEnum[] = [];
  for (const m of code.matchAll(/enum\s*\w*\s*\{([^}]*)\}/g)) {
    const entries: CEnum['entries'] = [];
    let next = 0;
    for (const part of m[1]!.split(',')) {
      const e = /^\s*(\w+)\s*(?:=\s*(.+?))?\s*$/.exec(part);
      if (!e) continue;
      const value = e[2] === undefined ? next : Number(e[2]);
      entries.push({ name: e[1]!, value });
      next = value + 1;
    }
    enums.push({ entries });
  }

  const structs = new Map<string, CStruct>();
  // Structs with a union or other nested braces (ovs_key_ct_labels) do not match.
  for (const m of code.matchAll(/struct\s+(\w+)\s*\{([^{}]*)\}\s*;/g)) {
    const members: CStruct['members'] = [];
    for (const decl of m[2]!.split(';')) {
      const d = /^\s*((?:struct\s+)?\w+)\s+\w+\s*(?:\[\s*(\w+)\s*\])?\s*$/.exec(decl);
      if (!d) continue;
      const dim = d[2] === undefined ? 1 : /^\d+$/.test(d[2]) ? Number(d[2]) : macros.get(d[2]);
      if (typeof dim !== 'number') throw new Error(`struct ${m[1]}: unknown array size ${d[2]}`);
      members.push({ type: d[1]!.replace(/\s+/g, ' '), dim });
    }
    structs.set(m[1]!, { name: m[1]!, members });
  }
  return { enums, structs };
}

const scalarSize: Record<string, number> = {
  __u8: 1, __s8: 1, __u16: 2, __s16: 2, __be16: 2, __u32: 4, __s32: 4, __be32: 4, int: 4, __u64: 8, __s64: 8, __be64: 8,
};

/** sizeof, alignof and the bytes of members (padding excluded) of a C struct, x86-64 ABI. */
function cLayout(name: string, structs: Map<string, CStruct>): { size: number; align: number; data: number } {
  const s = structs.get(name);
  if (!s) throw new Error(`struct ${name} not in the header`);
  let off = 0;
  let align = 1;
  let data = 0;
  for (const m of s.members) {
    let size: number;
    let a: number;
    let d: number;
    if (m.type.startsWith('struct ')) ({ size, align: a, data: d } = cLayout(m.type.slice(7), structs));
    else {
      size = scalarSize[m.type] ?? NaN;
      if (Number.isNaN(size)) throw new Error(`struct ${name}: unknown type ${m.type}`);
      a = size;
      d = size;
    }
    off = Math.ceil(off / a) * a + size * m.dim;
    data += d * m.dim;
    align = Math.max(align, a);
  }
  return { size: Math.ceil(off / align) * align, align, data };
}

/** Every struct the schemas use, reached by walking the families' sets. */
function schemaStructs(roots: AttrSet[]): Map<string, StructSpec> {
  const out = new Map<string, StructSpec>();
  const seen = new Set<AttrSet>();
  const walk = (set: AttrSet): void => {
    if (seen.has(set)) return;
    seen.add(set);
    for (const a of set.attrs) {
      if (a.type === 'struct') out.set(a.struct.name, a.struct);
      else if (a.type === 'array' && typeof a.of !== 'string') out.set(a.of.name, a.of);
      else if (a.type === 'nested') walk(resolveSet(a.set));
    }
  };
  roots.forEach(walk);
  return out;
}

function schemaDataBytes(s: StructSpec): number {
  return s.fields.reduce((n, f) => n + (f.type === 'pad' ? 0 : structSize({ name: '', fields: [f] })), 0);
}

/** Enum entry prefix -> the set (or table) whose names and ids must match the header. */
const setsByPrefix: [string, AttrSet][] = [
  ['OVS_KEY_ATTR_', flowKeyAttrs],
  ['OVS_TUNNEL_KEY_ATTR_', tunnelKeyAttrs],
  ['OVS_VXLAN_EXT_', vxlanExtAttrs],
  ['OVS_NSH_KEY_ATTR_', nshKeyAttrs],
  ['OVS_FLOW_ATTR_', flowAttrs],
  ['OVS_PACKET_ATTR_', packetAttrs],
  ['OVS_ACTION_ATTR_', actionAttrs],
  ['OVS_USERSPACE_ATTR_', userspaceAttrs],
  ['OVS_SAMPLE_ATTR_', sampleAttrs],
  ['OVS_CT_ATTR_', ctAttrs],
  ['OVS_NAT_ATTR_', natAttrs],
  ['OVS_CHECK_PKT_LEN_ATTR_', checkPktLenAttrs],
  ['OVS_DEC_TTL_ATTR_', decTtlAttrs],
  ['OVS_PSAMPLE_ATTR_', psampleAttrs],
  ['OVS_CT_LIMIT_ATTR_', ctLimitAttrs],
];

const tablesByPrefix: [string, Readonly<Record<string, number>>][] = [
  ['OVS_FLOW_CMD_', flowFamily.commands],
  ['OVS_PACKET_CMD_', packetFamily.commands],
  ['OVS_CT_LIMIT_CMD_', ctLimitFamily.commands],
  ['OVS_FRAG_TYPE_', FRAG_TYPES],
  ['OVS_HASH_ALG_', HASH_ALGS],
];

/** Ids newer than the 6.1 header: kernel 6.12's. Checked against the header when it has them. */
const newerThanHeader: Record<string, string[]> = {
  ovs_action: ['drop', 'psample'],
  ovs_psample: ['group', 'cookie'],
};

function loadHeader() {
  const macros = new Map<string, number | string>();
  if (existsSync(ETHER_HEADER)) parseHeader(readFileSync(ETHER_HEADER, 'utf8'), macros);
  if (!macros.has('ETH_ALEN')) macros.set('ETH_ALEN', 6);
  return { ...parseHeader(readFileSync(HEADER, 'utf8'), macros), macros };
}

test('every OVS enum in the uapi header matches the schemas, id for id and name for name', { skip: headerSkip }, () => {
  const { enums } = loadHeader();
  const checked = new Set<AttrSet>();
  const inHeader = new Map<AttrSet, Set<number>>();
  for (const e of enums) {
    for (const { name, value } of e.entries) {
      if (name.startsWith('__') || name.endsWith('_UNSPEC')) continue;
      const byPrefix = setsByPrefix.find(([p]) => name.startsWith(p));
      if (byPrefix) {
        const [prefix, set] = byPrefix;
        const spec = set.get(value);
        assert.ok(spec, `${name} = ${value}: ${set.name} has no attribute ${value}`);
        assert.equal(spec.name, name.slice(prefix.length).toLowerCase(), `${name} = ${value}`);
        checked.add(set);
        if (!inHeader.has(set)) inHeader.set(set, new Set());
        inHeader.get(set)!.add(value);
        continue;
      }
      const table = tablesByPrefix.find(([p]) => name.startsWith(p));
      if (table) assert.equal(table[1][name.slice(table[0].length).toLowerCase()], value, name);
    }
  }
  // The other way round: every id the schemas define is in the header, or known newer.
  for (const [, set] of setsByPrefix) {
    const ids = inHeader.get(set) ?? new Set<number>();
    for (const a of set.attrs) {
      if (ids.has(a.id)) continue;
      assert.ok(newerThanHeader[set.name]?.includes(a.name), `${set.name}.${a.name} (${a.id}) is in no header enum`);
    }
  }
  // Everything except the 6.12-only psample set was found in the 6.1 header.
  assert.ok(checked.size >= setsByPrefix.length - 1, `only ${checked.size} sets were compared`);
});

test('#defines: CT state bits, UFID flags, family names and versions', { skip: headerSkip }, () => {
  const { macros } = loadHeader();
  const csNames: Record<string, keyof typeof CT_STATE_FLAGS> = {
    OVS_CS_F_NEW: 'new', OVS_CS_F_ESTABLISHED: 'est', OVS_CS_F_RELATED: 'rel', OVS_CS_F_REPLY_DIR: 'rpl',
    OVS_CS_F_INVALID: 'inv', OVS_CS_F_TRACKED: 'trk', OVS_CS_F_SRC_NAT: 'snat', OVS_CS_F_DST_NAT: 'dnat',
  };
  for (const [macro, name] of Object.entries(csNames)) assert.equal(CT_STATE_FLAGS[name], macros.get(macro), macro);
  for (const [name, bit] of Object.entries(UFID_FLAGS)) assert.equal(macros.get(`OVS_UFID_F_${name.toUpperCase()}`), bit, name);
  assert.equal(macros.get('OVS_FLOW_FAMILY'), flowFamily.name);
  assert.equal(macros.get('OVS_FLOW_VERSION'), flowFamily.version);
  assert.deepEqual([macros.get('OVS_FLOW_MCGROUP')], flowFamily.mcastGroups);
  assert.equal(macros.get('OVS_PACKET_FAMILY'), packetFamily.name);
  assert.equal(macros.get('OVS_PACKET_VERSION'), packetFamily.version);
  assert.equal(macros.get('OVS_CT_LIMIT_FAMILY'), ctLimitFamily.name);
  assert.equal(macros.get('OVS_CT_LIMIT_VERSION'), ctLimitFamily.version);
  assert.deepEqual([macros.get('OVS_CT_LIMIT_MCGROUP')], ctLimitFamily.mcastGroups);
  // A negative #define, which the macro reader leaves out.
  assert.match(readFileSync(HEADER, 'utf8'), new RegExp(`#define OVS_ZONE_LIMIT_DEFAULT_ZONE\\s+${DEFAULT_ZONE}\\s`));
});

test('every struct the schemas use has the uapi struct\'s size and member bytes', { skip: headerSkip }, () => {
  const { structs } = loadHeader();
  const used = schemaStructs([flowFamily.attrs, packetFamily.attrs, ctLimitFamily.attrs]);
  const compared: string[] = [];
  for (const [name, spec] of used) {
    if (!structs.has(name)) continue;
    const c = cLayout(name, structs);
    assert.equal(structSize(spec), c.size, `sizeof(struct ${name})`);
    assert.equal(schemaDataBytes(spec), c.data, `struct ${name}: bytes outside padding`);
    compared.push(name);
  }
  // Not in the kernel's uapi: ovs_key_nd_extensions (OVS userspace's header), and the
  // ct action's mark/labels value+mask pairs (the uapi describes them in prose only).
  const notInUapi = ['ovs_key_nd_extensions', 'ovs_ct_mark', 'ovs_ct_labels'];
  assert.deepEqual([...used.keys()].filter((n) => !compared.includes(n)).sort(), notInUapi.sort());
  for (const must of ['ovs_key_ipv4', 'ovs_key_ipv6', 'ovs_key_arp', 'ovs_key_ct_tuple_ipv4', 'ovs_key_ct_tuple_ipv6',
    'ovs_action_push_mpls', 'ovs_action_push_eth', 'ovs_nsh_key_md1', 'ovs_flow_stats', 'ovs_zone_limit']) {
    assert.ok(compared.includes(must), `${must} was not compared`);
  }
});

// ---------------------------------------------------------------- golden bytes

test('golden: OVS_KEY_ATTR_IPV4 10.0.0.1 -> 10.0.0.2 proto 6', () => {
  const value = { ipv4: { ipv4_src: '10.0.0.1', ipv4_dst: '10.0.0.2', ipv4_proto: 6, ipv4_tos: 0, ipv4_ttl: 64, ipv4_frag: 0 } };
  // nla_len 16, nla_type 7; src, dst (network order); proto, tos, ttl, frag.
  const bytes = hex('1000 0700  0a000001  0a000002  06 00 40 00');
  assert.deepEqual(encodeAttrs(flowKeyAttrs, value), bytes);
  assert.deepEqual(decodeAttrs(flowKeyAttrs, bytes), value);
});

test('golden: OVS_ACTION_ATTR_CT commit, zone=1, nat(src=10.1.1.240-10.1.1.255)', () => {
  const ct = { commit: true, zone: 1, nat: { src: true, ip_min: '10.1.1.240', ip_max: '10.1.1.255' } };
  const bytes = hex(
    '2800 0c00' + //                  ct, nla_len 4 + 36
    '0400 0100' + //                  commit
    '0600 0200 0100 0000' + //        zone u16 = 1, then two bytes of padding
    '1800 0600' + //                  nat, nla_len 4 + 20
    '0400 0100' + //                  src
    '0800 0300 0a0101f0' + //         ip_min 10.1.1.240
    '0800 0400 0a0101ff', //          ip_max 10.1.1.255
  );
  assert.deepEqual(encodeList(actionAttrs, [{ ct }]), bytes);
  assert.deepEqual(decodeList(actionAttrs, bytes), [{ ct }]);
});

test('golden: IPv6 NAT range, tunnel key, MPLS stack, psample, set_masked and empty actions', () => {
  const cases: [AttrSet, 'list' | 'attrs', unknown, string][] = [
    [natAttrs, 'attrs', { dst: true, ip_min: 'fd00::1', proto_min: 8080 },
      '0400 0200  1400 0300 fd000000000000000000000000000001  0600 0500 901f 0000'],
    [tunnelKeyAttrs, 'attrs', { id: 42n, ipv4_dst: '192.168.0.2', dont_fragment: true, tp_dst: 4789 },
      '0c00 0000 000000000000002a  0800 0200 c0a80002  0400 0500  0600 0a00 12b5 0000'],
    [flowKeyAttrs, 'attrs', { mpls: [{ mpls_lse: 0x00014140 }, { mpls_lse: 0x000141ff }], ct_state: 0x21 },
      '0c00 1500 00014140 000141ff  0800 1600 21000000'],
    // psample is the one nest sent with NLA_F_NESTED (0x8000 | 25 = 0x8019).
    [actionAttrs, 'list', [{ psample: { group: 3, cookie: Buffer.from('cafe', 'hex') } }],
      '1400 1980  0800 0100 03000000  0600 0200 cafe 0000'],
    [actionAttrs, 'list', [{ set_masked: { ipv4: {
      value: { ipv4_src: '10.0.0.9', ipv4_dst: '0.0.0.0', ipv4_proto: 0, ipv4_tos: 0, ipv4_ttl: 0, ipv4_frag: 0 },
      mask: { ipv4_src: '255.255.255.255', ipv4_dst: '0.0.0.0', ipv4_proto: 0, ipv4_tos: 0, ipv4_ttl: 0, ipv4_frag: 0 },
    } } }, { pop_vlan: true }, { ct_clear: true }, { output: 2 }],
      '2000 0b00  1c00 0700 0a000009 00000000 00000000 ffffffff 00000000 00000000' +
      '  0400 0500  0400 1000  0800 0100 02000000'],
  ];
  for (const [set, kind, value, h] of cases) {
    const bytes = hex(h);
    if (kind === 'list') {
      assert.deepEqual(encodeList(set, value as Record<string, unknown>[]), bytes, set.name);
      assert.deepEqual(decodeList(set, bytes), value, set.name);
    } else {
      assert.deepEqual(encodeAttrs(set, value as Record<string, unknown>), bytes, set.name);
      assert.deepEqual(decodeAttrs(set, bytes), value, set.name);
    }
  }
});

// ---------------------------------------------------------------- round trips

/**
 * What `ovs-dpctl add-flow "in_port(1),eth(...),eth_type(0x0800),ipv4(src=10.0.0.1,
 * proto=6,frag=no),tcp(dst=80)" "ct(commit,zone=1,nat(src=10.1.1.240-10.1.1.255)),2"`
 * puts into OVS_FLOW_CMD_NEW, as values.
 */
const flowPut = {
  key: {
    priority: 0,
    in_port: 1,
    skb_mark: 0,
    ct_state: 0,
    ct_zone: 0,
    ct_mark: 0,
    ct_labels: Buffer.alloc(16),
    recirc_id: 0,
    dp_hash: 0,
    ethernet: { eth_src: '00:00:00:00:00:01', eth_dst: '00:00:00:00:00:02' },
    ethertype: 0x0800,
    ipv4: { ipv4_src: '10.0.0.1', ipv4_dst: '10.0.0.2', ipv4_proto: 6, ipv4_tos: 0, ipv4_ttl: 64, ipv4_frag: FRAG_TYPES.none },
    tcp: { tcp_src: 40000, tcp_dst: 80 },
  },
  mask: {
    in_port: 0xffffffff,
    recirc_id: 0xffffffff,
    ethernet: { eth_src: '00:00:00:00:00:00', eth_dst: '00:00:00:00:00:00' },
    ethertype: 0xffff,
    ipv4: { ipv4_src: '255.255.255.255', ipv4_dst: '0.0.0.0', ipv4_proto: 0xff, ipv4_tos: 0, ipv4_ttl: 0, ipv4_frag: 0xff },
    tcp: { tcp_src: 0, tcp_dst: 0xffff },
  },
  actions: [
    { ct: { commit: true, zone: 1, nat: { src: true, ip_min: '10.1.1.240', ip_max: '10.1.1.255' } } },
    { output: 2 },
  ],
  ufid: Buffer.from('5d8bf8e8b2a84e4c9d7ab4b6f0d0c1a2', 'hex'),
};

test('a realistic flow put round-trips through the ovs_flow attributes', () => {
  const bytes = encodeAttrs(flowAttrs, flowPut);
  assert.deepEqual(decodeAttrs(flowAttrs, bytes), flowPut);
  assert.deepEqual(encodeAttrs(flowAttrs, decodeAttrs(flowAttrs, bytes)), bytes);
  // Nothing sets NLA_F_NESTED: the top-level key, mask and actions nests are plain types 1, 7, 2.
  const types: number[] = [];
  for (let off = 0; off < bytes.length; off += (bytes.readUInt16LE(off) + 3) & ~3) types.push(bytes.readUInt16LE(off + 2));
  assert.deepEqual(types, [1, 7, 2, 9]);
});

test('nested action lists, VLAN encap, NSH and a flow reply round-trip', () => {
  const actions = [
    { push_vlan: { vlan_tpid: 0x8100, vlan_tci: 0x1064 } },
    { sample: { probability: 0xffffffff, actions: [{ userspace: { pid: 4242, userdata: Buffer.from('0102', 'hex'), actions: true } }] } },
    { clone: [{ set: { tunnel: { id: 7n, ipv6_dst: 'fd00::2', ttl: 64, vxlan_opts: { gbp: 0x10 } } } }, { output: 3 }] },
    { check_pkt_len: { pkt_len: 1500, actions_if_greater: [{ trunc: { max_len: 1500 } }, { output: 4 }], actions_if_less_equal: [{ output: 5 }] } },
    { dec_ttl: { action: [{ drop: 0 }] } },
    { hash: { hash_alg: 'l4', hash_basis: 0 } },
    { recirc: 1 },
    { push_mpls: { mpls_lse: 0x00014140, mpls_ethertype: 0x8847 } },
    { add_mpls: { mpls_lse: 0x00014140, mpls_ethertype: 0x8847, tun_flags: 1 } },
    { pop_mpls: 0x0800 },
    { push_eth: { eth_src: '00:00:00:00:00:01', eth_dst: '00:00:00:00:00:02' } },
    { pop_eth: true },
    { push_nsh: { nsh: { base: { flags: 0, ttl: 63, mdtype: 1, np: 3, path_hdr: 0x00010aff }, md1: { c1: 1, c2: 2, c3: 3, c4: 4 } } } },
    { pop_nsh: true },
    { meter: 3 },
    { ct: { zone: 2, mark: { value: 1, mask: 0xff }, labels: { value: Buffer.alloc(16, 1), mask: Buffer.alloc(16, 0xff) },
      helper: 'ftp', force_commit: true, eventmask: 5, timeout: 'tp1',
      nat: { dst: true, ip_min: 'fd00::10', ip_max: 'fd00::20', proto_min: 1000, proto_max: 2000, persistent: true, proto_hash: true, proto_random: true } } },
    { psample: { group: 1, cookie: Buffer.from('cafe', 'hex') } },
  ];
  const back = decodeList(actionAttrs, encodeList(actionAttrs, actions));
  assert.deepEqual(back, actions);

  const reply = {
    key: {
      in_port: 1, ethertype: 0x8100, vlan: 0x1064,
      encap: { ethertype: 0x86dd, ipv6: { ipv6_src: 'fe80::1', ipv6_dst: 'ff02::1', ipv6_label: 0x12345, ipv6_proto: 58, ipv6_tclass: 0, ipv6_hlimit: 255, ipv6_frag: 0 }, icmpv6: { icmpv6_type: 135, icmpv6_code: 0 },
        nd: { nd_target: 'fe80::2', nd_sll: '00:00:00:00:00:01', nd_tll: '00:00:00:00:00:00' } },
      ct_orig_tuple_ipv4: { ipv4_src: '10.0.0.1', ipv4_dst: '10.0.0.2', src_port: 1, dst_port: 2, ipv4_proto: 17 },
      ct_orig_tuple_ipv6: { ipv6_src: '::1', ipv6_dst: '::2', src_port: 1, dst_port: 2, ipv6_proto: 6 },
      arp: { arp_sip: '10.0.0.1', arp_tip: '10.0.0.2', arp_op: 1, arp_sha: '00:00:00:00:00:01', arp_tha: '00:00:00:00:00:00' },
      nsh: { base: { flags: 0, ttl: 63, mdtype: 2, np: 3, path_hdr: 0x100 }, md2: Buffer.from('00000000', 'hex') },
      packet_type: 0x10800, nd_extensions: { nd_reserved: 0, nd_options_type: 1 }, ipv6_exthdrs: { hdrs: 0x40 },
      tcp_flags: 0x02, sctp: { sctp_src: 1, sctp_dst: 2 }, udp: { udp_src: 53, udp_dst: 53 }, icmp: { icmp_type: 8, icmp_code: 0 },
      tunnel: { id: 1n, ipv4_src: '1.1.1.1', tos: 0, csum: true, oam: true, geneve_opts: Buffer.from('0102030400000000', 'hex'),
        tp_src: 1, erspan_opts: Buffer.from('01', 'hex'), ipv6_src: 'fd00::1', ipv4_info_bridge: true },
    },
    actions: [],
    stats: { n_packets: 3n, n_bytes: 294n },
    tcp_flags: 0x12,
    used: 123456789n,
    ufid_flags: UFID_FLAGS.omit_actions,
  };
  assert.deepEqual(decodeAttrs(flowAttrs, encodeAttrs(flowAttrs, reply)), reply);
});

test('an upcall (OVS_PACKET_CMD_ACTION) round-trips through the ovs_packet attributes', () => {
  const upcall = {
    packet: Buffer.from('000000000002000000000001080045000014', 'hex'),
    key: { in_port: 2, recirc_id: 0, ethertype: 0x0800 },
    userdata: Buffer.from('00000000', 'hex'),
    egress_tun_key: { id: 5n, ipv4_dst: '10.0.0.9', tp_dst: 6081 },
    mru: 1500,
    len: 2000,
    hash: (1n << 32n) | 0xdeadbeefn,
  };
  assert.deepEqual(decodeAttrs(packetAttrs, encodeAttrs(packetAttrs, upcall)), upcall);
  assert.deepEqual(packetFamily.commands, { miss: 1, action: 2, execute: 3 });
});

test('the kernel-internal tunnel_info and unknown key attributes are kept as bytes', () => {
  const bytes = hex('0800 1f00 01020304  0800 3f00 05060708');
  const decoded = decodeAttrs(flowKeyAttrs, bytes);
  assert.deepEqual(decoded, { tunnel_info: hex('01020304'), '#63': { type: 63, raw: hex('05060708') } });
  assert.deepEqual(encodeAttrs(flowKeyAttrs, decoded), bytes);
});
