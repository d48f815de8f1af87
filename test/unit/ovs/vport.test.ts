/**
 * The ovs_vport and ovs_datapath families: hand-worked request and reply bytes, the tunnel
 * option rules, ovs-dpctl's view of port types and tunnel config, feature names, and the
 * golden fixtures captured from ovs-dpctl (fixtures/ovs_datapath, fixtures/ovs_vport).
 * Bytes assume a little-endian host (netlink headers and u16/u32/u64 are host order).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { datapathFromMessage } from '../../../src/client/datapaths.js';
import { vportFromMessage } from '../../../src/client/vports.js';
import { decodeAttrs, encodeAttrs, toJSONValue } from '../../../src/nl/codec.js';
import { decodeGenlMessage, type GenlFamilySpec, genlRequest } from '../../../src/nl/family.js';
import { encodeGenlRequest, NLM_F_ECHO, NLM_F_REQUEST, parseMessages } from '../../../src/nl/message.js';
import { DP_FEATURES, datapathAttrs, datapathFamily, featureBits, featureNames } from '../../../src/ovs/datapath.js';
import {
  VportOptionError, dpctlPortType, dpctlTunnelConfig, isDpctlTunnelType, tunnelOptionsFromAttr, vportAttrs, vportFamily,
  vportOptionsAttr, vportStats,
} from '../../../src/ovs/vport.js';
import { structSize } from '../../../src/nl/schema.js';

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

// ---------------------------------------------------------------- the schema against the uapi header

const HEADER = '/usr/include/linux/openvswitch.h';

test('vport and datapath attribute ids follow linux/openvswitch.h', { skip: !existsSync(HEADER) && `${HEADER} missing` }, () => {
  const text = readFileSync(HEADER, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  const enumOf = (first: string): string[] => {
    const m = new RegExp(`enum\\s+\\w+\\s*{\\s*(${first}[\\s\\S]*?)}`).exec(text);
    assert.ok(m, `enum starting with ${first}`);
    return m[1]!.split(',').map((s) => s.trim().split(/\s/)[0]!).filter((s) => s && !s.startsWith('__'));
  };
  const check = (names: string[], prefix: string, set: typeof vportAttrs, skip: string[] = []) => {
    names.forEach((name, id) => {
      if (name.endsWith('_UNSPEC') || skip.includes(name)) return;
      assert.equal(set.get(id)?.name, name.slice(prefix.length).toLowerCase(), `${name} = ${id}`);
    });
  };
  check(enumOf('OVS_VPORT_ATTR_UNSPEC'), 'OVS_VPORT_ATTR_', vportAttrs);
  check(enumOf('OVS_DP_ATTR_UNSPEC'), 'OVS_DP_ATTR_', datapathAttrs);
  assert.deepEqual(enumOf('OVS_VPORT_TYPE_UNSPEC').slice(1).map((n) => n.slice('OVS_VPORT_TYPE_'.length).toLowerCase()),
    ['netdev', 'internal', 'gre', 'vxlan', 'geneve']);
  assert.equal(structSize(vportStats), 64);
});

// ---------------------------------------------------------------- requests

test('a vxlan vport NEW is the request ovs-dpctl sends (options: dst_port, then the gbp extension)', () => {
  const attrs = { type: 'vxlan', name: 'vx0', upcall_pid: [0], options: vportOptionsAttr('vxlan', { dstPort: 4790, exts: ['gbp'] }) };
  const wire = hex(`
    08000200 04000000
    08000300 76783000
    08000500 00000000
    14000400 06000100 b6120000 08000200 04000100`);
  assert.deepEqual(encodeAttrs(vportAttrs, attrs), wire);
  const req = genlRequest(vportFamily, 0x25, 'new', { flags: NLM_F_ECHO, header: { dp_ifindex: 5 }, attrs });
  const msg = encodeGenlRequest({ ...req, flags: req.flags | NLM_F_REQUEST }, 7);
  assert.deepEqual(msg, Buffer.concat([hex('44000000 2500 0900 07000000 00000000 01010000 05000000'), wire]));
  // ...and reads back as the library's objects.
  const port = vportFromMessage(decodeGenlMessage(vportFamily, parseMessages(msg)[0]!));
  assert.equal(port.type, 'vxlan');
  assert.deepEqual(port.options, { dstPort: 4790, exts: ['gbp'] });
  assert.deepEqual(port.upcallPids, [0]);
  assert.equal(port.datapathIfindex, 5);
});

test('tunnel options: OVS defaults fill the UDP port; an option a type does not take is refused', () => {
  assert.deepEqual(vportOptionsAttr('vxlan'), { dst_port: 4789 });
  assert.deepEqual(vportOptionsAttr('geneve', { dstPort: 7000 }), { dst_port: 7000 });
  assert.equal(vportOptionsAttr('gre'), undefined);
  assert.equal(vportOptionsAttr('netdev'), undefined);
  assert.equal(vportOptionsAttr('internal', {}), undefined);
  assert.throws(() => vportOptionsAttr('gre', { dstPort: 5 }), (e: unknown) => e instanceof VportOptionError && /gre port does not take the option dst_port \(it takes no options\)/.test(e.message));
  assert.throws(() => vportOptionsAttr('geneve', { exts: ['gbp'] }), /geneve port does not take the option exts \(it takes dst_port\)/);
  assert.throws(() => vportOptionsAttr('netdev', { dstPort: 1 }), /system \(netdev\) port does not take the option dst_port/);
  assert.throws(() => vportOptionsAttr('vxlan', { dstPort: 70000 }), /70000 is not a UDP port/);
  assert.deepEqual(tunnelOptionsFromAttr({ dst_port: 4789 }), { dstPort: 4789 });
  assert.deepEqual(tunnelOptionsFromAttr({ dst_port: 4789, extension: {} }), { dstPort: 4789, exts: [] });
  assert.equal(tunnelOptionsFromAttr(undefined), undefined);
});

// ---------------------------------------------------------------- replies

test('a vport reply: stats, upcall stats (ids from 0), ifindex, netnsid; unknown attributes kept', () => {
  const payload = hex(`
    03010000 05000000
    08000100 01000000
    08000200 01000000
    07000300 76300000
    0c000500 00000000 2a000000
    44000600 0a000000 00000000 0b000000 00000000 0c000000 00000000 0d000000 00000000
             01000000 00000000 02000000 00000000 03000000 00000000 04000000 00000000
    08000800 07000000
    08000900 ffffffff
    1c000a00 0c000000 03000000 00000000 0c000100 01000000 00000000
    08002a00 deadbeef`);
  const msg = decodeGenlMessage(vportFamily, { type: 0x25, flags: 0, seq: 1, pid: 0, payload });
  assert.equal(msg.cmd, 'get');
  const port = vportFromMessage(msg);
  assert.deepEqual({ ...port, unknown: undefined }, {
    datapathIfindex: 5, portNo: 1, type: 'netdev', name: 'v0', options: undefined, upcallPids: [0, 42],
    stats: { rxPackets: 10n, txPackets: 11n, rxBytes: 12n, txBytes: 13n, rxErrors: 1n, txErrors: 2n, rxDropped: 3n, txDropped: 4n },
    ifindex: 7, netnsid: -1, upcallStats: { success: 3n, fail: 1n }, unknown: undefined,
  });
  assert.deepEqual(port.unknown, { '#42': { type: 42, raw: hex('deadbeef') } });
  // Everything, unknowns included, encodes back to the same bytes.
  assert.deepEqual(encodeAttrs(vportAttrs, msg.attrs), payload.subarray(8));
});

test('a datapath reply: counters, megaflow stats, features, masks cache, per-cpu pids', () => {
  const payload = hex(`
    03020000 05000000
    08000100 64703000
    24000300 01000000 00000000 02000000 00000000 03000000 00000000 04000000 00000000
    24000400 05000000 00000000 02000000 00000000 06000000 00000000 00000000 00000000
    08000500 0d000000
    08000700 00010000
    0c000800 10000000 11000000`);
  const dp = datapathFromMessage(decodeGenlMessage(datapathFamily, { type: 0x24, flags: 0, seq: 1, pid: 0, payload }));
  assert.deepEqual(dp, {
    name: 'dp0', ifindex: 5,
    stats: { hit: 1n, missed: 2n, lost: 3n, flows: 4n },
    megaflowStats: { maskHit: 5n, masks: 2, cacheHit: 6n },
    features: ['unaligned', 'tc_recirc_sharing', 'dispatch_upcall_per_cpu'], featureBits: 13,
    masksCacheSize: 256, perCpuPids: [16, 17],
  });
});

test('the datapath NEW ovs-dpctl 3.1 sends first: name, upcall pid 0, features with the probe bit', () => {
  const attrs = { name: 'dp0', upcall_pid: 0, user_features: (DP_FEATURES.unaligned | DP_FEATURES.vport_pids | 0x80000000) >>> 0 };
  assert.deepEqual(encodeAttrs(datapathAttrs, attrs), hex('08000100 64703000 08000200 00000000 08000500 03000080'));
  assert.deepEqual(decodeAttrs(datapathAttrs, encodeAttrs(datapathAttrs, attrs)), attrs);
});

test('feature names and bits', () => {
  assert.deepEqual(featureNames(13), ['unaligned', 'tc_recirc_sharing', 'dispatch_upcall_per_cpu']);
  assert.deepEqual(featureNames(0x80000002), ['vport_pids', '0x80000000']);
  assert.deepEqual(featureNames(0), []);
  assert.equal(featureBits(['dispatch_upcall_per_cpu', 'unaligned']), 9);
  assert.equal(featureBits(['vport_pids', '0x80000000']), 0x80000002);
  assert.throws(() => featureBits(['fast']), /unknown datapath feature "fast"/);
  assert.throws(() => featureBits(['0x3']), /unknown datapath feature "0x3"/);
});

// ---------------------------------------------------------------- ovs-dpctl's view

test('ovs-dpctl port types: netdev ports named like OVS tunnels are tunnels', () => {
  assert.equal(dpctlPortType('netdev', 'v0'), 'system');
  assert.equal(dpctlPortType('internal', 'dp0'), 'internal');
  assert.equal(dpctlPortType('vxlan', 'vx0'), 'vxlan');
  assert.equal(dpctlPortType('netdev', 'vxlan_sys_4789'), 'vxlan');
  assert.equal(dpctlPortType('netdev', 'genev_sys_6081'), 'geneve');
  assert.equal(dpctlPortType('netdev', 'gre_sys'), 'gre');
  assert.equal(dpctlPortType('netdev', 'ip6gre_sys'), 'ip6gre');
  assert.equal(dpctlPortType('netdev', 'udp_sys_6635'), 'bareudp');
  assert.equal(dpctlPortType(9, 'x'), 'unknown');
  assert.ok(isDpctlTunnelType('vxlan'));
  assert.ok(!isDpctlTunnelType('internal'));
});

test('ovs-dpctl tunnel config comes from the port name (as seen in the VM: vxlan_sys_4792 -> dst_port=4792)', () => {
  const text = (type: string, name: string) => dpctlTunnelConfig(type, name).map(([k, v]) => `${k}=${v}`).join(', ');
  assert.equal(text('vxlan', 'vxlan_sys_4792'), 'dst_port=4792, packet_type=ptap');
  assert.equal(text('vxlan', 'vxlan_sys_4789'), 'packet_type=ptap');
  assert.equal(text('vxlan', 'vx0'), 'packet_type=ptap');
  assert.equal(text('geneve', 'genev_sys_7000'), 'dst_port=7000, packet_type=ptap');
  assert.equal(text('geneve', 'gnv0'), 'packet_type=ptap');
  assert.equal(text('gre', 'gre_sys'), 'packet_type=ptap');
  assert.equal(text('erspan', 'erspan_sys'), 'erspan_ver=0, packet_type=ptap');
  assert.equal(text('bareudp', 'udp_sys_6635'), 'dst_port=6635, packet_type=ptap');
  assert.equal(text('bareudp', 'udp_sys'), 'packet_type=ptap');
  // atoi() after skipping one separator character, whatever it is; the port is 16 bits.
  assert.equal(text('vxlan', 'vxlan_sysX4790x'), 'dst_port=4790, packet_type=ptap');
  assert.equal(text('vxlan', 'vxlan_sys_70000'), 'dst_port=4464, packet_type=ptap');
  assert.deepEqual(dpctlTunnelConfig('internal', 'i0'), []);
});

// ---------------------------------------------------------------- golden fixtures from ovs-dpctl

const FIXTURES = new URL('../../../../fixtures/', import.meta.url);
/** Netlink message types below this are the protocol's own (NOOP, ERROR, DONE, OVERRUN). */
const GENL_MIN_TYPE = 0x10;

/** The bytes of a .hex fixture: hex digits, whitespace and #-comments ignored. */
function readHex(path: URL): Buffer {
  return hex(readFileSync(path, 'utf8').replace(/#.*$/gm, ''));
}

/** The attributes (JSON form) a fixture's .json says the message decodes to, if it says. */
function expectedAttrs(json: Record<string, unknown>, index: number): unknown {
  for (const key of ['decoded', 'expected', 'messages']) {
    const v = json[key];
    const item = Array.isArray(v) ? v[index] : index === 0 ? v : undefined;
    if (item && typeof item === 'object') return (item as Record<string, unknown>)['attrs'] ?? item;
  }
  return undefined;
}

for (const [dir, spec] of [['ovs_datapath', datapathFamily], ['ovs_vport', vportFamily]] as [string, GenlFamilySpec][]) {
  const folder = new URL(`${dir}/`, FIXTURES);
  const cases = existsSync(folder) ? readdirSync(folder).filter((f) => f.endsWith('.hex')).sort() : [];
  test(`golden ${dir} fixtures from ovs-dpctl: decode, then encode back to the same bytes`, { skip: cases.length === 0 && `no fixtures in fixtures/${dir} yet` }, () => {
    for (const file of cases) {
      const bytes = readHex(new URL(file, folder));
      const jsonPath = new URL(file.replace(/\.hex$/, '.json'), folder);
      const json = existsSync(jsonPath) ? JSON.parse(readFileSync(jsonPath, 'utf8')) as Record<string, unknown> : {};
      // Control messages (ACKs, errors, the end of a dump: types below 16) carry no attributes.
      const messages = parseMessages(bytes).filter((m) => m.type >= GENL_MIN_TYPE);
      assert.ok(messages.length > 0, `${file}: no ${dir} message`);
      messages.forEach((m, i) => {
        const decoded = decodeGenlMessage(spec, m);
        const again = genlRequest(spec, m.type, decoded.cmd, { flags: m.flags, header: decoded.header, attrs: decoded.attrs });
        const out = encodeGenlRequest(again, m.seq);
        out.writeUInt32LE(m.pid, 12);
        assert.deepEqual(out, bytes.subarray(m.payload.byteOffset - bytes.byteOffset - 16, m.payload.byteOffset - bytes.byteOffset + m.payload.length), `${file} message ${i}: re-encoded bytes`);
        const want = expectedAttrs(json, i);
        if (want !== undefined) assert.deepEqual(toJSONValue(decoded.attrs), want, `${file} message ${i}: decoded attributes`);
      });
    }
  });
}
