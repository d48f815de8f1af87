// Datapaths against the real kernel, side by side with ovs-dpctl 3.1: feature negotiation,
// `show` / `show -s` text for datapaths and ports made by either tool, statistics after
// real traffic between two network namespaces. Each test makes its own datapaths,
// namespaces and devices, and removes them. The library runs in-process; the CLI is
// spawned once, where its own output is under test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { OvsConnection } from '../../src/client/connection.js';
import { createDatapath, deleteDatapath, getDatapath, listDatapaths, setDatapath } from '../../src/client/datapaths.js';
import { addVport, deleteVport, listVports, setLinkUp } from '../../src/client/vports.js';
import { showData } from '../../src/cli/show.js';
import { renderShow } from '../../src/cli/render/show.js';
import { datapathFamily } from '../../src/ovs/datapath.js';
import { flowFamily } from '../../src/ovs/flow.js';

const execFileP = promisify(execFile);
const ovsdp = fileURLToPath(new URL('../../../bin/ovsdp', import.meta.url));
/** Names unique to this run: tests of other files may run at the same time in the VM. */
const tag = String(process.pid % 100000);

async function run(cmd: string, ...args: string[]): Promise<string> {
  return (await execFileP(cmd, args)).stdout;
}

/** Turns IPv6 off on a device, so that it sends nothing of its own (router solicitations...). */
function quietIPv6(dev: string): void {
  writeFileSync(`/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`, '1');
}

async function ourShow(conn: OvsConnection, names: readonly string[], statistics: boolean): Promise<string> {
  const entries = [];
  for (const name of names) entries.push(await showData(conn, await getDatapath(conn, name), statistics));
  return renderShow(entries, { statistics });
}

/**
 * Asserts that ovs-dpctl (and `more`, e.g. our CLI) print what the library-side renderer
 * prints. Counters only grow, so when two snapshots of ours taken around theirs agree,
 * nothing moved in between and theirs must agree too; a packet in between means another try.
 */
async function assertSameShow(conn: OvsConnection, names: readonly string[], statistics: boolean, more?: () => Promise<string>): Promise<void> {
  const args = ['show', ...(statistics ? ['-s'] : []), ...names];
  for (let attempt = 1; ; attempt++) {
    const before = await ourShow(conn, names, statistics);
    const theirs = await run('ovs-dpctl', ...args);
    const extra = more ? await more() : undefined;
    const after = await ourShow(conn, names, statistics);
    if (before === after || attempt === 6) {
      assert.equal(before, theirs, `ovs-dpctl ${args.join(' ')}`);
      if (extra !== undefined) assert.equal(extra, before, `ovsdp ${args.join(' ')}`);
      return;
    }
  }
}

test('add-dp negotiates features like ovs-dpctl; opening a datapath never changes them; set-dp keeps them', async () => {
  const ours = `kfo${tag}`;
  const theirs = `kft${tag}`;
  const conn = new OvsConnection();
  try {
    const created = await createDatapath(conn, ours);
    await run('ovs-dpctl', 'add-dp', theirs);
    const reference = await getDatapath(conn, theirs);
    assert.deepEqual(created.features, reference.features, 'the same features as ovs-dpctl add-dp');
    assert.ok(created.features.includes('unaligned'));

    // A daemon's choice (per-vport upcalls): reading, listing and adding ports leave it alone.
    await setDatapath(conn, ours, { features: ['unaligned', 'vport_pids'] });
    await ourShow(conn, [ours], true);
    await listDatapaths(conn);
    await addVport(conn, ours, `kfi${tag}`, { type: 'internal' });
    assert.deepEqual((await getDatapath(conn, ours)).features, ['unaligned', 'vport_pids']);
    // ovs-dpctl show does change it: it re-negotiates on every open (a quirk this library avoids).
    await run('ovs-dpctl', 'show', ours);
    assert.notDeepEqual((await getDatapath(conn, ours)).features, ['unaligned', 'vport_pids'], 'ovs-dpctl show re-negotiated the features');

    // The kernel resets features a SET leaves out; setDatapath always sends them.
    await setDatapath(conn, ours, { features: ['unaligned', 'vport_pids'] });
    await conn.request(datapathFamily, 'set', { attrs: { name: ours, masks_cache_size: 512 } });
    assert.deepEqual((await getDatapath(conn, ours)).features, [], 'a bare SET cleared the features');
    await setDatapath(conn, ours, { features: ['unaligned', 'vport_pids'] });
    const changed = await setDatapath(conn, ours, { masksCacheSize: 1024 });
    assert.equal(changed.masksCacheSize, 1024);
    assert.deepEqual(changed.features, ['unaligned', 'vport_pids']);
    assert.deepEqual((await setDatapath(conn, ours, { addFeatures: ['dispatch_upcall_per_cpu'], removeFeatures: ['vport_pids'] })).features,
      ['unaligned', 'dispatch_upcall_per_cpu']);
  } finally {
    await deleteDatapath(conn, ours).catch(() => undefined);
    await deleteDatapath(conn, theirs).catch(() => undefined);
    conn.close();
  }
});

test('cache-get-size and cache-set-size print what ovs-dpctl prints; a size the kernel refuses is explained', async () => {
  const ours = `kco${tag}`;
  const conn = new OvsConnection();
  /** ovsdp's exit code and stderr, for a command that fails. */
  const fails = (...args: string[]) => execFileP(ovsdp, args).then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => e);
  try {
    const created = await createDatapath(conn, ours);
    assert.equal((await execFileP(ovsdp, ['cache-get-size', ours])).stdout, await run('ovs-dpctl', 'cache-get-size', ours));
    assert.equal((await execFileP(ovsdp, ['cache-get-size', `system@${ours}`])).stdout, `system@${ours}:\n  caches:\n    masks-cache: size:256\n`);
    // Both round 300 up to 512 and say so.
    const set = (await execFileP(ovsdp, ['cache-set-size', ours, 'masks-cache', '300'])).stdout;
    assert.equal(set, 'Setting cache size successful, new size 512\n');
    assert.deepEqual(JSON.parse((await execFileP(ovsdp, ['cache-get-size', '--json', ours])).stdout), [{ name: ours, masksCacheSize: 512 }]);
    assert.deepEqual((await getDatapath(conn, ours)).features, created.features, 'the features are kept');
    assert.equal(await run('ovs-dpctl', 'cache-set-size', ours, 'masks-cache', '300'), set);
    assert.equal((await execFileP(ovsdp, ['cache-get-size', ours])).stdout, await run('ovs-dpctl', 'cache-get-size', ours));
    assert.deepEqual(JSON.parse((await execFileP(ovsdp, ['cache-set-size', '--json', ours, 'masks-cache', '0'])).stdout), { name: ours, masksCacheSize: 0 });

    // What the kernel refuses: above 4096 (ERANGE, its netlink policy), no power of two (EINVAL).
    const explained = /the kernel refused masks cache size (8192|300) \(it takes a power of two up to 4096 on most machines, or 0 to turn the cache off\)/;
    const tooLarge = await fails('set-dp', ours, '--masks-cache-size', '8192');
    assert.equal(tooLarge.code, 1);
    assert.match(tooLarge.stderr, explained);
    const rounded = await fails('cache-set-size', ours, 'masks-cache', '5000');
    assert.equal(rounded.code, 1);
    assert.match(rounded.stderr, /refused masks cache size 8192 .*; 5000 was rounded up to 8192, as ovs-dpctl rounds it/);
    const notPower = await fails('set-dp', ours, '--masks-cache-size', '300');
    assert.equal(notPower.code, 1);
    assert.match(notPower.stderr, explained);
    await assert.rejects(createDatapath(conn, `kcx${tag}`, { masksCacheSize: 8192 }), explained);
    await assert.rejects(getDatapath(conn, `kcx${tag}`), /no datapath named/, 'nothing made');
    assert.equal((await getDatapath(conn, ours)).masksCacheSize, 0, 'unchanged by the refusals');
    const missing = await fails('cache-get-size', `nosuch${tag}`);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no datapath named nosuch/);
  } finally {
    await deleteDatapath(conn, ours).catch(() => undefined);
    await deleteDatapath(conn, `kcx${tag}`).catch(() => undefined);
    conn.close();
  }
});

test('show and show -s print what ovs-dpctl prints, for datapaths and ports made by either tool', async () => {
  const ours = `kso${tag}`;
  const theirs = `kst${tag}`;
  const udp = 20000 + (process.pid % 10000) * 4;
  const devs = [`ksa${tag}`, `ksb${tag}`];
  const conn = new OvsConnection();
  try {
    for (const d of devs) {
      await run('ip', 'link', 'add', d, 'type', 'veth', 'peer', 'name', `${d}p`);
      quietIPv6(d);
      quietIPv6(`${d}p`);
    }
    // ovsdp: a datapath with one port of each kind.
    await createDatapath(conn, ours);
    await addVport(conn, ours, devs[0]!, { up: true });
    await addVport(conn, ours, `ksi${tag}`, { type: 'internal' });
    quietIPv6(`ksi${tag}`);
    await setLinkUp(`ksi${tag}`);
    await addVport(conn, ours, `ksx${tag}`, { type: 'vxlan', options: { dstPort: udp, exts: ['gbp'] } });
    await addVport(conn, ours, `ksg${tag}`, { type: 'geneve', options: { dstPort: udp + 1 } });
    await addVport(conn, ours, `ksr${tag}`, { type: 'gre', portNo: 9 });
    // ovs-dpctl: its own datapath, with a tunnel it makes through rtnetlink (genev_sys_PORT).
    await run('ovs-dpctl', 'add-dp', theirs, devs[1]!, `kgeneve,type=geneve,remote_ip=10.1.1.1,dst_port=${udp + 2}`);
    assert.deepEqual((await listVports(conn, theirs)).map((p) => [p.portNo, p.name, p.type]),
      [[0, theirs, 'internal'], [1, devs[1], 'netdev'], [2, `genev_sys_${udp + 2}`, 'netdev']]);

    await assertSameShow(conn, [ours, theirs], false);
    await assertSameShow(conn, [ours, theirs], true, () => run(process.execPath, ovsdp, 'show', '-s', ours, theirs));
    assert.match(await ourShow(conn, [theirs], false), new RegExp(`port 2: genev_sys_${udp + 2} \\(geneve: dst_port=${udp + 2}, packet_type=ptap\\)`));
    // Like ovs-dpctl del-if, deleting that port deletes the device ovs-dpctl made for it.
    await deleteVport(conn, theirs, `genev_sys_${udp + 2}`);
    assert.ok(!existsSync(`/sys/class/net/genev_sys_${udp + 2}`), 'the rtnetlink tunnel device is gone');
  } finally {
    await deleteDatapath(conn, ours).catch(() => undefined);
    await run('ovs-dpctl', 'del-if', theirs, `genev_sys_${udp + 2}`).catch(() => undefined);
    await deleteDatapath(conn, theirs).catch(() => undefined);
    for (const d of devs) await run('ip', 'link', 'del', d).catch(() => undefined);
    conn.close();
  }
});

test('statistics move after real traffic: ping between two namespaces through the datapath', async () => {
  const dp = `ktr${tag}`;
  const ns = [`kna${tag}`, `knb${tag}`];
  const inner = ['kta1', 'ktb1'];
  const outer = [`kta${tag}`, `ktb${tag}`];
  const ips = ['10.77.0.1', '10.77.0.2'];
  const conn = new OvsConnection();
  try {
    await createDatapath(conn, dp);
    const ports: number[] = [];
    for (let i = 0; i < 2; i++) {
      await run('ip', 'netns', 'add', ns[i]!);
      await run('ip', 'link', 'add', outer[i]!, 'type', 'veth', 'peer', 'name', inner[i]!, 'netns', ns[i]!);
      quietIPv6(outer[i]!);
      await run('ip', 'netns', 'exec', ns[i]!, 'sh', '-c',
        `sysctl -qw net.ipv6.conf.all.disable_ipv6=1 && ip addr add ${ips[i]}/24 dev ${inner[i]} && ip link set ${inner[i]} up`);
      ports.push((await addVport(conn, dp, outer[i]!, { up: true })).portNo);
    }
    const { ifindex } = await getDatapath(conn, dp);
    // Forward ARP and IPv4 each way, everything else wildcarded.
    for (const [from, to] of [[ports[0]!, ports[1]!], [ports[1]!, ports[0]!]]) {
      for (const l3 of [{ ethertype: 0x0806, arp: {} }, { ethertype: 0x0800, ipv4: {} }]) {
        await conn.request(flowFamily, 'new', {
          header: { dp_ifindex: ifindex },
          attrs: {
            key: { in_port: from, ethernet: {}, ...l3 },
            mask: { in_port: 0xffffffff, ethernet: {}, ethertype: 0xffff, ...(l3.arp ? { arp: {} } : { ipv4: {} }) },
            actions: [{ output: to }],
          },
        });
      }
    }
    const before = await listVports(conn, dp);
    await run('ip', 'netns', 'exec', ns[0]!, 'busybox', 'ping', '-c', '3', '-W', '2', ips[1]!);

    const after = await listVports(conn, dp);
    const rx = (list: typeof after, port: number) => list.find((p) => p.portNo === port)!.stats!.rxPackets;
    const tx = (list: typeof after, port: number) => list.find((p) => p.portNo === port)!.stats!.txPackets;
    assert.ok(rx(after, ports[0]!) - rx(before, ports[0]!) >= 3n, 'echo requests (and ARP) came in on the first port');
    assert.ok(tx(after, ports[1]!) - tx(before, ports[1]!) >= 3n, 'and went out of the second');
    assert.ok(rx(after, ports[1]!) - rx(before, ports[1]!) >= 3n, 'echo replies came back');
    const stats = await getDatapath(conn, dp);
    assert.ok(stats.stats!.hit >= 6n, `flow hits: ${stats.stats!.hit}`);
    assert.ok(stats.megaflowStats!.cacheHit > 0n, 'the masks cache hit, so show prints a cache: line');
    assert.match(await ourShow(conn, [dp], true), /\n {2}cache: hit:\d+ hit-rate:\d+\.\d\d%\n/);
    await assertSameShow(conn, [dp], true);
  } finally {
    await deleteDatapath(conn, dp).catch(() => undefined);
    for (const n of ns) await run('ip', 'netns', 'del', n).catch(() => undefined);
    for (const d of outer) await run('ip', 'link', 'del', d).catch(() => undefined);
    conn.close();
  }
});
