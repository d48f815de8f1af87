/**
 * `show` and `dump-dps` text against what ovs-dpctl 3.1 printed in the VM for the same
 * kernel state, ovs-dpctl's datapath order, C's %.Nf, and the IFACE argument syntax.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Datapath } from '../../../src/client/datapaths.js';
import type { Vport, VportStats } from '../../../src/client/vports.js';
import { UsageError } from '../../../src/cli/context.js';
import { datapathArg, featureList, parseIfaceSpec } from '../../../src/cli/dp-args.js';
import {
  type ShowPort, cacheSizesJSON, datapathTable, dpctlOrder, formatFixed, inDpctlOrder, kernelOptions, portTable, renderCacheSizes, renderShow,
  renderShowDatapath, showJSON,
} from '../../../src/cli/render/show.js';
import { VportOptionError } from '../../../src/ovs/vport.js';

function datapath(over: Partial<Datapath> = {}): Datapath {
  return {
    name: 'dp0', ifindex: 5,
    stats: { hit: 0n, missed: 7n, lost: 7n, flows: 0n },
    megaflowStats: { maskHit: 0n, masks: 0, cacheHit: 0n },
    features: ['unaligned', 'dispatch_upcall_per_cpu'], featureBits: 9,
    masksCacheSize: 256, perCpuPids: undefined,
    ...over,
  };
}

const zero: VportStats = { rxPackets: 0n, txPackets: 0n, rxBytes: 0n, txBytes: 0n, rxErrors: 0n, txErrors: 0n, rxDropped: 0n, txDropped: 0n };

function port(portNo: number, name: string, type: Vport['type'], over: Partial<Vport> = {}): ShowPort {
  return {
    vport: {
      datapathIfindex: 5, portNo, type, name, options: undefined, upcallPids: [0], stats: zero,
      ifindex: undefined, netnsid: undefined, upcallStats: undefined, ...over,
    },
  };
}

// The ports of the VM session (ovsdp add-if ... then ovs-dpctl add-if gn3,type=geneve,...,dst_port=7000).
const ports: ShowPort[] = [
  port(8, 'genev_sys_7000', 'netdev'),
  port(0, 'dp0', 'internal'),
  { ...port(1, 'v0', 'netdev'), link: { collisions: 0n, rxOverErrors: 0n, rxFrameErrors: 0n, txAbortedErrors: 0n, txCarrierErrors: 0n } },
  port(2, 'i0', 'internal', { stats: { ...zero, txPackets: 7n, txBytes: 586n } }),
  port(3, 'vx0', 'vxlan', { options: { dstPort: 4790 } }),
  port(4, 'gnv0', 'geneve', { options: { dstPort: 6081 } }),
  port(5, 'gr0', 'gre'),
  port(6, 'vxg', 'vxlan', { options: { dstPort: 4791, exts: ['gbp'] } }),
  port(7, 'vx5', 'vxlan', { options: { dstPort: 4789 } }),
];

const tunnelStats = `    RX packets:0 errors:? dropped:? overruns:? frame:?
    TX packets:0 errors:? dropped:? aborted:? carrier:?
    collisions:?
    RX bytes:0  TX bytes:0
`;
const zeroStats = `    RX packets:0 errors:0 dropped:0 overruns:0 frame:0
    TX packets:0 errors:0 dropped:0 aborted:0 carrier:0
    collisions:0
    RX bytes:0  TX bytes:0
`;

test('show: what ovs-dpctl printed for the same datapath', () => {
  assert.equal(renderShowDatapath({ datapath: datapath(), ports }), `system@dp0:
  lookups: hit:0 missed:7 lost:7
  flows: 0
  masks: hit:0 total:0 hit/pkt:0.00
  caches:
    masks-cache: size:256
  port 0: dp0 (internal)
  port 1: v0
  port 2: i0 (internal)
  port 3: vx0 (vxlan: packet_type=ptap)
  port 4: gnv0 (geneve: packet_type=ptap)
  port 5: gr0 (gre: packet_type=ptap)
  port 6: vxg (vxlan: packet_type=ptap)
  port 7: vx5 (vxlan: packet_type=ptap)
  port 8: genev_sys_7000 (geneve: dst_port=7000, packet_type=ptap)
`);
});

test('show -s: internal ports count from the switch\'s side, tunnels show only zero packets and "?"', () => {
  const text = renderShowDatapath({ datapath: datapath(), ports: ports.slice(0, 5) }, { statistics: true });
  assert.equal(text, `system@dp0:
  lookups: hit:0 missed:7 lost:7
  flows: 0
  masks: hit:0 total:0 hit/pkt:0.00
  caches:
    masks-cache: size:256
  port 0: dp0 (internal)
${zeroStats}  port 1: v0
${zeroStats}  port 2: i0 (internal)
    RX packets:0 errors:0 dropped:0 overruns:0 frame:0
    TX packets:7 errors:0 dropped:0 aborted:0 carrier:0
    collisions:0
    RX bytes:0  TX bytes:586
  port 3: vx0 (vxlan: packet_type=ptap)
${tunnelStats}  port 8: genev_sys_7000 (geneve: dst_port=7000, packet_type=ptap)
${tunnelStats}`);
});

test('show -s: human sizes, device error counters, counters the kernel marks unknown', () => {
  const big: ShowPort = {
    vport: { ...port(1, 'v0', 'netdev').vport, stats: { ...zero, rxPackets: 3n, rxBytes: 1280n, txBytes: 3n * 1024n ** 3n + 1n, rxErrors: 0xffffffffffffffffn } },
    link: { collisions: 1n, rxOverErrors: 2n, rxFrameErrors: 3n, txAbortedErrors: 4n, txCarrierErrors: 5n },
  };
  const text = renderShowDatapath({ datapath: datapath(), ports: [big] }, { statistics: true });
  assert.match(text, /\n {4}RX packets:3 errors:\? dropped:0 overruns:2 frame:3\n {4}TX packets:0 errors:0 dropped:0 aborted:4 carrier:5\n {4}collisions:1\n/);
  // 1280 / 1024 = 1.25 exactly: C rounds the tie to even.
  assert.match(text, /\n {4}RX bytes:1280 \(1\.2 KiB\) {2}TX bytes:3221225473 \(3\.0 GiB\)\n$/);
});

test('show: masks per packet, the cache line once the cache has hit, no masks line without megaflow stats', () => {
  const dp = datapath({ stats: { hit: 6n, missed: 2n, lost: 0n, flows: 3n }, megaflowStats: { maskHit: 1n, masks: 2, cacheHit: 5n } });
  assert.equal(renderShowDatapath({ datapath: dp, ports: [] }), `system@dp0:
  lookups: hit:6 missed:2 lost:0
  flows: 3
  masks: hit:1 total:2 hit/pkt:0.12
  cache: hit:5 hit-rate:62.50%
  caches:
    masks-cache: size:256
`);
  const old = datapath({ megaflowStats: undefined, masksCacheSize: undefined });
  assert.equal(renderShowDatapath({ datapath: old, ports: [] }), 'system@dp0:\n  lookups: hit:0 missed:7 lost:7\n  flows: 0\n');
  assert.match(renderShowDatapath({ datapath: dp, ports: [] }, { features: true }), /^system@dp0:\n {2}features: unaligned,dispatch_upcall_per_cpu\n/);
});

test('show: a port type the kernel has and ovs-dpctl does not know', () => {
  const text = renderShow([{ datapath: datapath({ megaflowStats: undefined, masksCacheSize: undefined }), ports: [port(1, 'x', 9), port(2, 'y', 'netdev')] }], { statistics: true });
  assert.equal(text, `system@dp0:
  lookups: hit:0 missed:7 lost:7
  flows: 0
  port 1: x (unknown: open failed (Address family not supported by protocol))
, open failed (Address family not supported by protocol)  port 2: y
${zeroStats}`);
});

test('show --json and --format table carry the kernel\'s truth (options, features)', () => {
  const json = showJSON([{ datapath: datapath(), ports: ports.slice(4, 6) }]) as { ports: Vport[]; features: string[] }[];
  assert.deepEqual(json[0]!.ports.map((p) => p.options), [{ dstPort: 4790 }, { dstPort: 6081 }]);
  assert.deepEqual(json[0]!.features, ['unaligned', 'dispatch_upcall_per_cpu']);
  assert.equal(kernelOptions(ports[7]!.vport), 'dst_port=4791,exts=gbp');
  const table = portTable([{ datapath: datapath(), ports: ports.slice(3, 5) }], true);
  assert.deepEqual(table.rows.map((r) => r.slice(0, 5)), [['system@dp0', '2', 'i0', 'internal', ''], ['system@dp0', '3', 'vx0', 'vxlan', 'dst_port=4790']]);
  assert.equal(table.rows[0]![table.head.indexOf('tx bytes')], '586');
  assert.deepEqual(datapathTable([datapath()]).rows[0], ['system@dp0', '5', '0', '7', '7', '0', '0', '256', 'unaligned,dispatch_upcall_per_cpu']);
});

test('datapaths come in ovs-dpctl\'s hash-set order (seen in the VM)', () => {
  assert.deepEqual(dpctlOrder(['dp0', 'dpa', 'dpb', 'dpc', 'dpd', 'dpe', 'dpf', 'dpg', 'dph']),
    ['dpb', 'dpe', 'dpg', 'dp0', 'dpa', 'dpc', 'dpd', 'dph', 'dpf']);
  assert.deepEqual(dpctlOrder(['dpa', 'dpb', 'dpc', 'dpd', 'dpe', 'dpf', 'dpg', 'dph']),
    ['dpb', 'dpe', 'dpg', 'dpa', 'dpc', 'dpd', 'dpf', 'dph']);
  assert.deepEqual(dpctlOrder([]), []);
  assert.deepEqual(dpctlOrder(['only']), ['only']);
});

test('cache-get-size prints what ovs-dpctl printed in the VM, in its datapath order; --json', () => {
  // ovs-dpctl cache-get-size with dp1 and dp2 (kernel order) printed dp2 first.
  assert.equal(renderCacheSizes(inDpctlOrder([datapath({ name: 'dp1' }), datapath({ name: 'dp2', masksCacheSize: 0 })])),
    'system@dp2:\n  caches:\n    masks-cache: size:0\nsystem@dp1:\n  caches:\n    masks-cache: size:256\n');
  // A kernel before 5.9 has no masks cache: ovs-dpctl prints the name alone.
  assert.equal(renderCacheSizes([datapath({ name: 'old', masksCacheSize: undefined })]), 'system@old:\n');
  assert.equal(renderCacheSizes([]), '');
  assert.deepEqual(cacheSizesJSON(datapath({ masksCacheSize: undefined })), { name: 'dp0', masksCacheSize: null });
  assert.deepEqual(cacheSizesJSON(datapath()), { name: 'dp0', masksCacheSize: 256 });
});

test('formatFixed is C\'s %.Nf: exact binary value, ties to even', () => {
  const cases: [number, number, string][] = [
    [0, 2, '0.00'], [0.125, 2, '0.12'], [0.375, 2, '0.38'], [1.25, 1, '1.2'], [1.75, 1, '1.8'], [2.5, 0, '2'],
    [1.35, 1, '1.4'], [0.005, 2, '0.01'], [2.675, 2, '2.67'], [62.5, 2, '62.50'], [100, 2, '100.00'],
    [1 / 3, 2, '0.33'], [-1.25, 1, '-1.2'], [1e21, 1, '1000000000000000000000.0'], [5e-324, 2, '0.00'],
  ];
  for (const [x, d, want] of cases) assert.equal(formatFixed(x, d), want, `${x} %.${d}f`);
});

test('IFACE arguments: ovs-dpctl\'s NAME[,key=value...] syntax', () => {
  assert.deepEqual(parseIfaceSpec('v0'), { arg: 'v0', name: 'v0', options: {}, userspaceOnly: [], unknown: [] });
  assert.deepEqual(parseIfaceSpec('vx0,type=vxlan,,dst_port=4790,exts=gbp,port_no=7,upcall_pid=1:2,remote_ip=1.2.3.4,zz=1'), {
    arg: 'vx0,type=vxlan,,dst_port=4790,exts=gbp,port_no=7,upcall_pid=1:2,remote_ip=1.2.3.4,zz=1',
    name: 'vx0', type: 'vxlan', portNo: 7, upcallPids: [1, 2], options: { dstPort: 4790, exts: ['gbp'] },
    userspaceOnly: ['remote_ip'], unknown: ['zz'],
  });
  assert.equal(parseIfaceSpec('e,type=system').type, 'netdev');
  const usage = (arg: string, re: RegExp) => assert.throws(() => parseIfaceSpec(arg), (e: unknown) => e instanceof UsageError && re.test(e.message), arg);
  usage('v0,port_no=x', /bad port number "x" in "v0,port_no=x"/);
  usage('v0,type=bogus', /unknown port type "bogus" in "v0,type=bogus"/);
  usage('v0,dst_port=0', /bad UDP port "0"/);
  usage('v0,dst_port=65536', /bad UDP port "65536"/);
  usage('v0,flag', /"flag" in "v0,flag" is not KEY=VALUE/);
  usage('v0,type=gre,type=vxlan', /duplicate "type" option/);
  usage(',type=gre', /does not start with a network device name/);
  usage('a-very-long-name-here', /longer than 15 bytes/);
  assert.throws(() => parseIfaceSpec('vx,type=vxlan,exts=gpe'), VportOptionError);
  assert.equal(datapathArg('system@dp0'), 'dp0');
  assert.equal(datapathArg('dp0'), 'dp0');
  assert.throws(() => datapathArg('netdev@dp0'), UsageError);
  assert.deepEqual(featureList('unaligned,dispatch-upcall-per-cpu'), ['unaligned', 'dispatch_upcall_per_cpu']);
  assert.deepEqual(featureList('none'), []);
  assert.throws(() => featureList('fast'), /unknown datapath feature "fast"/);
});
