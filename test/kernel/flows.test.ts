// Flows against the real kernel, side by side with ovs-dpctl: each test has its own
// datapath and deletes it. The library runs in-process; the CLI only where the command
// line itself is under test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { OvsConnection } from '../../src/client/connection.js';
import { createDatapath, deleteDatapath, getDatapath } from '../../src/client/datapaths.js';
import { formatFlowLine, parseFlowMatch, parseFlowText } from '../../src/client/flow-text.js';
import { type Flow, type FlowActions, FlowTable, putAttrs } from '../../src/client/flows.js';
import { flowFamily } from '../../src/ovs/flow.js';
import { formatUfid } from '../../src/ovs/flowstr/flow.js';
import { addVport } from '../../src/client/vports.js';
import { NetlinkError } from '../../src/nl/errors.js';

const execFileP = promisify(execFile);
const ovsdp = fileURLToPath(new URL('../../../bin/ovsdp', import.meta.url));

async function dpctl(...args: string[]): Promise<string> {
  return (await execFileP('ovs-dpctl', args)).stdout;
}

/** Runs `fn` with a fresh datapath (and its flow table), deleted afterwards. */
async function withDatapath(name: string, fn: (table: FlowTable, conn: OvsConnection) => Promise<void>): Promise<void> {
  const conn = new OvsConnection();
  await deleteDatapath(conn, name).catch(() => undefined);
  const dp = await createDatapath(conn, name);
  const table = new FlowTable(conn, dp);
  try {
    await fn(table, conn);
  } finally {
    table.close();
    await deleteDatapath(conn, name).catch(() => undefined);
    conn.close();
  }
}

/** Dump lines with the `used:` time (which moves) blanked. */
function stable(text: string): string[] {
  return text.split('\n').filter(Boolean).map((l) => l.replace(/used:(\d+\.\d+s|never)/, 'used:*')).sort();
}

function monotonicMs(): bigint {
  return process.hrtime.bigint() / 1_000_000n;
}

async function ourDump(table: FlowTable, verbose: boolean, portNames?: ReadonlyMap<number, string>): Promise<string[]> {
  const lines: string[] = [];
  for await (const f of table.dump()) lines.push(formatFlowLine(f, monotonicMs(), { verbose, ...(portNames ? { portNames } : {}) }));
  return stable(lines.join('\n'));
}

const FLOWS: [string, string][] = [
  ['in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0806),arp(sip=10.0.0.1,tip=10.0.0.2,op=1)', '2'],
  ['in_port(2),eth_type(0x0800),ipv4(src=10.0.0.2,dst=10.0.0.1/255.255.255.0,proto=6,frag=no),tcp(dst=80),tcp_flags(0/0)', 'ct(commit,zone=5,nat(src=192.168.0.1-192.168.0.9:1000-2000)),recirc(2)'],
  ['recirc_id(0x2),in_port(2),ct_state(+trk+est),eth_type(0x0800),ipv4(proto=17,frag=no),udp(src=53)', 'set(ipv4(ttl=9)),1'],
  ['ufid:6aa8b1b9-b3de-4a3e-9c35-5e7bc3e9ad50,in_port(1),eth_type(0x86dd),ipv6(src=fe80::1,proto=58,frag=no),icmpv6(type=128)', 'userspace(pid=7)'],
];

test('flows installed by ovsdp dump identically in ovs-dpctl and in ovsdp (default and -m)', async () => {
  await withDatapath('fl-same', async (table) => {
    for (const [flow, actions] of FLOWS) await table.put(parseFlowText(flow, actions));
    assert.deepEqual(await ourDump(table, false), stable(await dpctl('dump-flows', 'system@fl-same')));
    assert.deepEqual(await ourDump(table, true, new Map()), stable(await dpctl('-m', '--no-names', 'dump-flows', 'system@fl-same')));
  });
});

test('flows installed by ovs-dpctl are read back by ovsdp', async () => {
  await withDatapath('fl-back', async (table, conn) => {
    await addVport(conn, 'fl-back', 'fl-back-int', { type: 'internal' });
    for (const [flow, actions] of FLOWS) await dpctl('add-flow', 'system@fl-back', flow, actions);
    const names = new Map([[0, 'fl-back'], [1, 'fl-back-int']]);
    assert.deepEqual(await ourDump(table, true, names), stable(await dpctl('-m', 'dump-flows', 'system@fl-back')));
    // And through the CLI, with port names by default under -m.
    const { stdout } = await execFileP(ovsdp, ['dump-flows', '-m', 'fl-back']);
    assert.deepEqual(stable(stdout), stable(await dpctl('-m', 'dump-flows', 'system@fl-back')));
  });
});

test('get, mod and del by UFID; errors name the flow', async () => {
  await withDatapath('fl-ufid', async (table) => {
    const [flowText, actions] = FLOWS[3]!;
    const spec = parseFlowText(flowText, actions);
    await table.put(spec);
    const ufid = spec.ufid!;
    const got = await table.get({ ufid });
    assert.equal(formatUfid(got.ufid!), formatUfid(ufid));
    assert.deepEqual(got.actions, spec.actions);
    await assert.rejects(table.put(spec), (e: unknown) => e instanceof NetlinkError && e.code === 'EEXIST' && /already exists in fl-ufid/.test(e.message));
    const echoed = await table.put({ ...spec, actions: [{ output: 3 }] }, { mode: 'modify', echo: true, clear: true });
    assert.deepEqual(echoed?.stats, { packets: 0n, bytes: 0n });
    assert.deepEqual((await table.get({ ufid })).actions, [{ output: 3 }]);
    const gone = await table.del({ ufid }, { echo: true });
    assert.deepEqual(gone?.actions, [{ output: 3 }]);
    await assert.rejects(table.get({ ufid }), (e: unknown) => e instanceof NetlinkError && e.code === 'ENOENT' && /no flow with ufid:6aa8b1b9/.test(e.message));
    await assert.rejects(table.put(spec, { mode: 'modify' }), /no flow with ufid:.* to modify/);
    await table.put(spec, { mode: 'upsert' });
    assert.equal((await table.list()).length, 1);
  });
});

test('a wider flow that matches a new key: create says so (EEXIST), an upsert cannot change it (ENOENT)', async () => {
  await withDatapath('fl-wide', async (table) => {
    await table.put(parseFlowText('in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)', '2'));
    const narrow = parseFlowText('in_port(1),eth(),eth_type(0x0800),ipv4(src=10.0.0.1,frag=no)', '3');
    await assert.rejects(table.put(narrow), (e: unknown) => e instanceof NetlinkError && e.code === 'EEXIST'
      && /already exists in fl-wide, or a wider one that matches it/.test(e.message));
    await assert.rejects(table.put(narrow, { mode: 'upsert' }), (e: unknown) => e instanceof NetlinkError && e.code === 'ENOENT'
      && /a flow with another mask matches this key in fl-wide, and the kernel changes only a flow with the same key and mask/.test(e.message));
  });
});

test('the CLI: add-flow, mod-flow -s, get-flow, del-flow by key, del-flows', async () => {
  await withDatapath('fl-cli', async (table) => {
    const run = async (...args: string[]) => (await execFileP(ovsdp, args)).stdout;
    await run('add-flow', FLOWS[0]![0], FLOWS[0]![1]);
    await run('add-flow', 'fl-cli', FLOWS[3]![0], FLOWS[3]![1]);
    assert.equal(await run('mod-flow', '-s', '--clear', FLOWS[0]![0], '3'), 'packets:0, bytes:0, used:never\n');
    const ufid = `ufid:${formatUfid(parseFlowText(FLOWS[3]![0], '1').ufid!)}`;
    assert.deepEqual(stable(await run('get-flow', '-m', ufid)), stable(await dpctl('-m', 'get-flow', ufid)));
    await run('del-flow', FLOWS[0]![0]);
    assert.equal((await table.list()).length, 1);
    await assert.rejects(execFileP(ovsdp, ['del-flow', FLOWS[0]![0]]), (e: { code: number; stderr: string }) => e.code === 1 && /no flow with this key in fl-cli/.test(e.stderr));
    await run('del-flows');
    assert.equal((await table.list()).length, 0);
  });
});

test('what the kernel would refuse is explained; what it refuses anyway carries its logged reason', async () => {
  await withDatapath('fl-why', async (table) => {
    const noFlags = parseFlowText('in_port(1),eth_type(0x0800),ipv4(proto=6,frag=no),tcp(dst=80)', '2');
    await assert.rejects(table.put(noFlags), /lacks tcp_flags\(…\).*add tcp_flags\(0\/0\)/);
    // ovs-dpctl sends it and gets the bare EINVAL.
    await assert.rejects(dpctl('add-flow', 'system@fl-why', 'in_port(1),eth_type(0x0800),ipv4(proto=6,frag=no),tcp(dst=80)', '2'), /Invalid argument/);
    // An EtherType below 0x600 passes our checks; the kernel's log says why it fails.
    await assert.rejects(table.put({ key: { in_port: 1, ethertype: 0x0100 }, actions: [] }), (e: unknown) =>
      e instanceof NetlinkError && e.code === 'EINVAL' && /openvswitch: netlink: EtherType 100 is less than min 600/.test(e.reason ?? ''));
  });
});

test('ct actions the kernel refuses are explained before sending; the kernel does refuse them, and takes their fixed forms', async () => {
  await withDatapath('fl-ct', async (table, conn) => {
    const key = 'in_port(1),eth(),eth_type(0x0800),ipv4(proto=6,frag=no),tcp(),tcp_flags(0/0)';
    const base = parseFlowText(key, '2');
    const dp = await getDatapath(conn, 'fl-ct');
    /** What the kernel answers a put of these actions sent as they are (no check of ours). */
    const kernelAnswer = (actions: FlowActions) => conn.request(flowFamily, 'new', { header: { dp_ifindex: dp.ifindex }, attrs: putAttrs({ ...base, actions }) })
      .then(() => 'taken', (e: NetlinkError) => e.code);
    const cases: [FlowActions, FlowActions, RegExp, string][] = [
      [[{ ct: { zone: 1, nat: { src: true, ip_min: '10.1.1.240' } } }], [{ ct: { commit: true, zone: 1, nat: { src: true, ip_min: '10.1.1.240' } } }], /needs commit/, 'EINVAL'],
      [[{ ct: { commit: true, nat: { persistent: true } } }], [{ ct: { commit: true, nat: { src: true, persistent: true } } }], /neither src nor dst/, 'EINVAL'],
      [[{ ct: { commit: true, nat: { proto_min: 80 } } }], [{ ct: { commit: true, nat: { dst: true, ip_min: '10.0.0.1', proto_min: 80 } } }], /neither src nor dst/, 'EINVAL'],
      [[{ ct: { commit: true, nat: { src: true, dst: true } } }], [{ ct: { commit: true, nat: { src: true } } }], /both src and dst/, 'ERANGE'],
      [[{ ct: { nat: { src: true }, commit: true } }], [{ ct: { commit: true, nat: { src: true } } }], /commit after nat/, 'EINVAL'],
      [[{ ct: { mark: { value: 1, mask: 1 } } }], [{ ct: { commit: true, mark: { value: 1, mask: 1 } } }], /sets a mark without commit/, 'EINVAL'],
      [[{ ct: { labels: { value: Buffer.alloc(16, 1), mask: Buffer.alloc(16, 1) } } }], [{ ct: { commit: true, labels: { value: Buffer.alloc(16, 1), mask: Buffer.alloc(16, 1) } } }], /sets a label without commit/, 'EINVAL'],
      [[{ ct: { commit: true, mark: { value: 0, mask: 0 } } }], [{ ct: { commit: true } }], /mark has no mask, or a zero one/, 'EINVAL'],
    ];
    for (const [refused, fixed, message, errno] of cases) {
      await assert.rejects(table.put({ ...base, actions: refused }), message);
      assert.equal(await kernelAnswer(refused), errno, JSON.stringify(refused));
      assert.equal(await kernelAnswer(fixed), 'taken', JSON.stringify(fixed));
      await table.flush();
    }
    // ct(nat) alone applies committed connections' NAT: no commit needed.
    assert.equal(await kernelAnswer([{ ct: { zone: 1, nat: {} } }, { recirc: 1 }]), 'taken');
    await table.flush();
    // ovs-dpctl sends the flow string and gets the bare EINVAL; add-flow says why, and a file's line too.
    await assert.rejects(dpctl('add-flow', 'system@fl-ct', key, 'ct(zone=1,nat(src=10.1.1.240-10.1.1.255)),2'), /Invalid argument/);
    const single = await execFileP(ovsdp, ['add-flow', 'fl-ct', key, 'ct(zone=1,nat(src=10.1.1.240-10.1.1.255)),2']).then(() => undefined, (e: { code: number; stderr: string }) => e);
    assert.equal(single?.code, 1);
    assert.match(single!.stderr, /ct\(zone=1,nat\(src=10\.1\.1\.240-10\.1\.1\.255\)\) needs commit: .* write ct\(commit,zone=1,nat\(src=10\.1\.1\.240-10\.1\.1\.255\)\)/);
    const file = join(mkdtempSync(join(tmpdir(), 'flows-')), 'flows.txt');
    writeFileSync(file, `${key} ct(commit,zone=1,nat(src=10.1.1.240)),2\n${key.replace('tcp()', 'tcp(dst=80)')} ct(mark=1/1),2\n`);
    const bulk = await execFileP(ovsdp, ['add-flows', 'fl-ct', file]).then(() => undefined, (e: { code: number; stderr: string }) => e);
    assert.equal(bulk?.code, 1);
    assert.match(bulk!.stderr, /^ovsdp: line 2: .*ct\(mark=0x1\/0x1\) sets a mark without commit/m);
    assert.equal((await table.list()).length, 1);
  });
});

test('a bulk file with bad lines reports exactly those lines and installs the rest', async () => {
  await withDatapath('fl-bulk', async (table) => {
    const dir = mkdtempSync(join(tmpdir(), 'flows-'));
    const file = join(dir, 'flows.txt');
    const lines: string[] = ['# flows for fl-bulk', ''];
    for (let i = 1; i <= 300; i++) lines.push(`in_port(1),eth_type(0x0800),ipv4(src=10.0.${i >> 8}.${i & 255},proto=17,frag=no),udp(dst=53) 2`);
    lines[10] = 'in_port(1),eth_type(0x0800),ipv4(proto=6,frag=no),tcp(dst=80) 2'; // no tcp_flags
    lines[100] = 'in_port(1),eth_typo(0x0800) 2'; // does not parse
    lines[200] = lines[50]!; // a duplicate: EEXIST
    lines[250] = 'in_port(1)'; // no actions
    lines.push('delete in_port(1),eth_type(0x0800),ipv4(src=10.0.0.5,proto=17,frag=no),udp(dst=53)');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const err = await execFileP(ovsdp, ['add-flows', 'fl-bulk', file]).then(() => undefined, (e: { code: number; stderr: string }) => e);
    assert.equal(err?.code, 1);
    const reported = [...err!.stderr.matchAll(/^ovsdp: line (\d+)/gm)].map((m) => Number(m[1]));
    assert.deepEqual(reported, [11, 101, 201, 251]);
    assert.match(err!.stderr, /add-flows: 296 added, 1 deleted, 4 failed/);
    assert.equal((await table.list()).length, 295);
  });
});

test("a file refused whole, at Linux's default receive buffer cap (rmem_max): every line reported, no abort", async () => {
  // The test VM raises rmem_max to 64 MiB; a stock system keeps 212992, where 512 refused
  // puts in flight overflowed the socket and the netlink binding aborted the process.
  const rmemMax = '/proc/sys/net/core/rmem_max';
  const before = readFileSync(rmemMax, 'utf8').trim();
  writeFileSync(rmemMax, '212992');
  try {
    await withDatapath('fl-rmem', async (table) => {
      const file = join(mkdtempSync(join(tmpdir(), 'flows-')), 'flows.txt');
      const lines = Array.from({ length: 1500 }, (_, i) =>
        `in_port(1),eth_type(0x0800),ipv4(src=10.0.${i >> 8}.${i & 255},dst=172.16.0.1,proto=6,frag=no),tcp(src=${1024 + i},dst=80),tcp_flags(0/0) ct(commit,zone=1,nat(src=192.168.0.1-192.168.0.9:1024-65535)),recirc(1)`);
      writeFileSync(file, `${lines.join('\n')}\n`);
      await execFileP(ovsdp, ['add-flows', 'fl-rmem', file]);
      const err = await execFileP(ovsdp, ['add-flows', 'fl-rmem', file], { maxBuffer: 1 << 24 }).then(() => undefined, (e: { code: number; stderr: string }) => e);
      assert.equal(err?.code, 1, err?.stderr);
      assert.equal([...err!.stderr.matchAll(/^ovsdp: line \d+: a flow with this key already exists/gm)].length, 1500);
      assert.match(err!.stderr, /add-flows: nothing applied, 1500 failed/);
      assert.equal((await table.list()).length, 1500);
    });
  } finally {
    writeFileSync(rmemMax, before);
  }
});

test('a flow dumped by the library parses back to the same key and mask', async () => {
  await withDatapath('fl-round', async (table) => {
    for (const [flow, actions] of FLOWS) await table.put(parseFlowText(flow, actions));
    const flows: Flow[] = await table.list();
    assert.equal(flows.length, FLOWS.length);
    for (const f of flows) {
      const text = formatFlowLine(f, monotonicMs(), { verbose: true }).split(', packets:')[0]!;
      const back = parseFlowMatch(text);
      assert.deepEqual(back.key && Object.keys(back.key).sort(), Object.keys(f.key!).sort(), text);
    }
  });
});

test('dump-flows filter= and --json; mod-flows and del-flows FILE; a kernel refusal in a file carries its reason', async () => {
  await withDatapath('fl-files', async (table) => {
    for (const [flow, actions] of FLOWS) await table.put(parseFlowText(flow, actions));
    const run = async (...args: string[]) => (await execFileP(ovsdp, args)).stdout;
    const tcp = stable(await run('dump-flows', 'fl-files', 'filter=tcp,tp_dst=80'));
    assert.equal(tcp.length, 1);
    assert.match(tcp[0]!, /tcp\(dst=80\)/);
    assert.deepEqual(stable(await run('dump-flows', 'filter=arp')).length, 1);
    const json = JSON.parse(await run('dump-flows', '--json')) as { ufid: string | null; packets: number; actions: unknown[] }[];
    assert.equal(json.length, FLOWS.length);
    assert.ok(json.some((f) => f.ufid === '6aa8b1b9-b3de-4a3e-9c35-5e7bc3e9ad50'));

    const dir = mkdtempSync(join(tmpdir(), 'flows-'));
    const mods = join(dir, 'mods.txt');
    writeFileSync(mods, `${FLOWS[0]![0]} 3\nin_port(1),eth_type(0x0100) 2\n`);
    const err = await execFileP(ovsdp, ['mod-flows', mods]).then(() => undefined, (e: { code: number; stderr: string }) => e);
    assert.equal(err?.code, 1);
    // The kernel reads the key before it looks the flow up: EINVAL, not ENOENT.
    assert.match(err!.stderr, /^ovsdp: line 2: /m);
    assert.match(err!.stderr, /mod-flows: 1 modified, 1 failed/);
    const adds = join(dir, 'adds.txt');
    writeFileSync(adds, 'in_port(1),eth_type(0x0100) 2\n');
    const bad = await execFileP(ovsdp, ['add-flows', adds]).then(() => undefined, (e: { code: number; stderr: string }) => e);
    assert.match(bad!.stderr, /line 1: the kernel refused the flow: Invalid argument \(openvswitch: netlink: EtherType 100 is less than min 600\)/);
    const dels = join(dir, 'dels.txt');
    writeFileSync(dels, `${FLOWS[0]![0]}\n${FLOWS[3]![0].split(',')[0]}\n`);
    await run('del-flows', 'fl-files', dels);
    assert.equal((await table.list()).length, FLOWS.length - 2);
  });
});
