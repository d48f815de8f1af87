// Ports against the real kernel: every kind with its options, upcall port ids, the errors
// a person meets (each one line that says what to do), notifications of ports ovs-dpctl
// adds, and the command line's exit codes. Each test has its own datapath and devices.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { OvsConnection } from '../../src/client/connection.js';
import { createDatapath, deleteDatapath, getDatapath, setDatapath } from '../../src/client/datapaths.js';
import { Monitor, type MonitorEvent } from '../../src/client/monitor.js';
import { addVport, deleteVport, getVport, listVports, setVport } from '../../src/client/vports.js';
import { NetlinkError } from '../../src/nl/errors.js';
import { datapathFamily } from '../../src/ovs/datapath.js';
import { VportOptionError } from '../../src/ovs/vport.js';

const execFileP = promisify(execFile);
const ovsdp = fileURLToPath(new URL('../../../bin/ovsdp', import.meta.url));
const tag = String(process.pid % 100000);

async function run(cmd: string, ...args: string[]): Promise<string> {
  return (await execFileP(cmd, args)).stdout;
}

/** The CLI's exit code and output. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [ovsdp, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function withDatapath(name: string, fn: (conn: OvsConnection) => Promise<void>, cleanup: () => Promise<void> = async () => {}): Promise<void> {
  const conn = new OvsConnection();
  try {
    await createDatapath(conn, name);
    await fn(conn);
  } finally {
    await deleteDatapath(conn, name).catch(() => undefined);
    await cleanup();
    conn.close();
  }
}

test('ports of every kind: add with options and numbers, get, list, change upcall pids, delete', async () => {
  const dp = `kvl${tag}`;
  const veth = `kvv${tag}`;
  const udp = 30000 + (process.pid % 10000) * 2;
  await withDatapath(dp, async (conn) => {
    await run('ip', 'link', 'add', veth, 'type', 'veth', 'peer', 'name', `${veth}p`);
    const sys = await addVport(conn, dp, veth, { portNo: 7, upcallPids: [11], up: true });
    assert.deepEqual([sys.portNo, sys.type, sys.name, sys.upcallPids], [7, 'netdev', veth, [11]]);
    const internal = await addVport(conn, dp, `kvi${tag}`, { type: 'internal' });
    const vxlan = await addVport(conn, dp, `kvx${tag}`, { type: 'vxlan', options: { dstPort: udp, exts: ['gbp'] } });
    const geneve = await addVport(conn, dp, `kvg${tag}`, { type: 'geneve' });
    const gre = await addVport(conn, dp, `kvr${tag}`, { type: 'gre' });
    assert.deepEqual(vxlan.options, { dstPort: udp, exts: ['gbp'] });
    assert.deepEqual(geneve.options, { dstPort: 6081 }, 'OVS\'s default Geneve port');
    assert.equal(gre.options, undefined);

    const ports = await listVports(conn, dp);
    assert.deepEqual(ports.map((p) => [p.portNo, p.name, p.type]).sort((a, b) => (a[0] as number) - (b[0] as number)), [
      [0, dp, 'internal'], [1, internal.name, 'internal'], [2, vxlan.name, 'vxlan'], [3, geneve.name, 'geneve'], [4, gre.name, 'gre'], [7, veth, 'netdev'],
    ]);
    const byName = await getVport(conn, dp, veth);
    assert.equal(byName.portNo, 7);
    assert.ok(byName.stats, 'stats');
    assert.ok(byName.ifindex! > 0, 'the netdev\'s ifindex');
    assert.equal((await getVport(conn, dp, 2)).name, vxlan.name);
    assert.equal((await getDatapath(conn, dp)).name, dp);
    assert.match(await run('ip', '-d', 'link', 'show', vxlan.name), new RegExp(`dstport ${udp} .*gbp`));

    // The kernel keeps every pid but reports only the first unless the datapath has vport_pids.
    assert.deepEqual((await setVport(conn, dp, veth, { upcallPids: [21, 22] })).upcallPids, [21]);
    await setDatapath(conn, dp, { addFeatures: ['vport_pids'] });
    assert.deepEqual((await getVport(conn, dp, veth)).upcallPids, [21, 22]);
    // Same options as now: nothing to change, no error.
    assert.deepEqual((await setVport(conn, dp, vxlan.name, { options: { dstPort: udp, exts: ['gbp'] } })).options?.dstPort, udp);

    const gone = await deleteVport(conn, dp, vxlan.name);
    assert.equal(gone.portNo, 2);
    assert.ok(!existsSync(`/sys/class/net/${vxlan.name}`), 'the kernel removed its vxlan device');
    await deleteVport(conn, dp, 4);
    assert.deepEqual((await listVports(conn, dp)).map((p) => p.portNo).sort((a, b) => a - b), [0, 1, 3, 7]);
  }, async () => { await run('ip', 'link', 'del', veth).catch(() => undefined); });
});

test('errors: one sentence each that says what is wrong', async () => {
  const dp = `kve${tag}`;
  const veth = `kve${tag}v`;
  const udp = 40000 + (process.pid % 10000);
  await withDatapath(dp, async (conn) => {
    await run('ip', 'link', 'add', veth, 'type', 'veth', 'peer', 'name', `${veth}p`);
    await addVport(conn, dp, veth);
    const fails = async (p: Promise<unknown>, re: RegExp, code?: string) => {
      await assert.rejects(p, (e: unknown) => {
        assert.match((e as Error).message, re);
        if (code) assert.equal((e as NetlinkError).code, code);
        return true;
      });
    };
    await fails(getDatapath(conn, `kno${tag}`), new RegExp(`^no datapath named kno${tag}$`), 'ENODEV');
    await fails(createDatapath(conn, dp), new RegExp(`^a datapath named ${dp} already exists$`), 'EEXIST');
    await fails(createDatapath(conn, veth), new RegExp(`^a network device named ${veth} already exists`), 'EEXIST');
    await fails(addVport(conn, `kno${tag}`, veth), new RegExp(`^no datapath named kno${tag}$`));
    await fails(addVport(conn, dp, `kno${tag}`), new RegExp(`^no network device named kno${tag} \\(create it first`), 'ENODEV');
    await fails(addVport(conn, dp, veth), new RegExp(`^${veth} is already a port of datapath ${dp}$`));
    await fails(addVport(conn, dp, `${veth}p`, { portNo: 1 }), new RegExp(`^port number 1 is already in use in datapath ${dp} by ${veth}$`), 'EBUSY');
    await fails(addVport(conn, dp, `kvi${tag}`, { type: 'internal', portNo: 70000 }), /^port number 70000 is too large/);
    await fails(addVport(conn, dp, veth, { type: 'internal' }), new RegExp(`^a network device named ${veth} already exists`));
    await assert.rejects(addVport(conn, dp, `kvr${tag}`, { type: 'gre', options: { dstPort: 5 } }), VportOptionError);
    await fails(getVport(conn, dp, 'nosuchport'), new RegExp(`^no port named nosuchport in datapath ${dp}$`));
    await fails(deleteVport(conn, dp, 77), new RegExp(`^no port 77 in datapath ${dp}$`));
    await fails(deleteVport(conn, dp, 0), /^port 0 is the datapath's own port: delete the datapath instead/);
    const vx = await addVport(conn, dp, `kvx${tag}`, { type: 'vxlan', options: { dstPort: udp } });
    await fails(setVport(conn, dp, vx.name, { options: { dstPort: udp + 1 } }), /^the kernel cannot change the options of an existing vxlan port: delete/, 'EOPNOTSUPP');
    await fails(addVport(conn, dp, `kvy${tag}`, { type: 'vxlan', options: { dstPort: udp } }), /already exists \(or a vxlan port already uses that UDP port\)/);
  }, async () => { await run('ip', 'link', 'del', veth).catch(() => undefined); });
});

test('monitor: datapaths and ports that ovs-dpctl adds and deletes', async () => {
  const dp = `kmo${tag}`;
  const veth = `kmo${tag}v`;
  const monitor = await Monitor.open();
  const events: MonitorEvent[] = [];
  const seen = (async () => {
    for await (const e of monitor) {
      if (e.kind !== 'overrun' && e.datapath === dp) events.push(e);
      if (e.kind === 'vport' && e.command === 'del' && e.object.name === veth) return;
    }
  })();
  try {
    await run('ip', 'link', 'add', veth, 'type', 'veth', 'peer', 'name', `${veth}p`);
    await run('ovs-dpctl', 'add-dp', dp);
    await run('ovs-dpctl', 'add-if', dp, veth);
    await run('ovs-dpctl', 'del-if', dp, veth);
    await Promise.race([seen, new Promise((_, reject) => setTimeout(() => reject(new Error(`events so far: ${JSON.stringify(events.map((e) => `${e.kind} ${'command' in e ? e.command : ''}`))}`)), 10_000))]);
    const lines = events.map((e) => (e.kind === 'overrun' ? 'overrun' : `${e.kind} ${e.command} ${e.kind === 'vport' ? `${e.object.portNo}:${e.object.name}:${e.object.type}` : e.object && 'name' in e.object ? e.object.name : ''}`));
    assert.equal(lines[0], `datapath new ${dp}`);
    assert.ok(lines.includes(`vport new 1:${veth}:netdev`), lines.join('\n'));
    assert.equal(lines.at(-1), `vport del 1:${veth}:netdev`);
  } finally {
    monitor.close();
    await run('ovs-dpctl', 'del-dp', dp).catch(() => undefined);
    await run('ip', 'link', 'del', veth).catch(() => undefined);
  }
});

test('the command line: monitor until Ctrl-C; bad syntax exits 2 naming the token; refusals exit 1 in one line', async () => {
  const dp = `kcl${tag}`;
  const veth = `kcl${tag}v`;
  await withDatapath(dp, async (conn) => {
    await run('ip', 'link', 'add', veth, 'type', 'veth', 'peer', 'name', `${veth}p`);
    const child = spawn(process.execPath, [ovsdp, 'monitor', dp], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      // Poke the datapath until the monitor, starting up, reports it: then it listens.
      for (let i = 0; i < 40 && !out.includes('datapath set'); i++) {
        await conn.request(datapathFamily, 'set', {
          attrs: { name: dp, user_features: (await getDatapath(conn, dp)).featureBits },
        });
        await new Promise((r) => setTimeout(r, 250));
      }
      await run('ovs-dpctl', 'add-if', dp, veth);
      for (let i = 0; i < 40 && !out.includes('vport new'); i++) await new Promise((r) => setTimeout(r, 250));
      child.kill('SIGINT');
      assert.equal(await exited, 0, `monitor exits cleanly on Ctrl-C (stderr: ${err})`);
      assert.match(out, new RegExp(`^vport new system@${dp}: port 1: ${veth}$`, 'm'));
      assert.equal(err, '');
    } finally {
      child.kill('SIGKILL');
    }

    const usage = await cli('add-if', dp, `${veth},port_no=x`);
    assert.equal(usage.code, 2);
    assert.equal(usage.stderr, `ovsdp: bad port number "x" in "${veth},port_no=x" (want 0-4294967295)\n`);
    const refused = await cli('add-if', dp, `kno${tag}`, `kgr${tag},type=gre,dst_port=5`);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr,
      `ovsdp: no network device named kno${tag} (create it first, e.g. ip link add kno${tag} type veth peer name kno${tag}-peer)\n`
      + `ovsdp: kgr${tag}: a gre port has no option dst_port (it takes no options)\n`);

    // add-dp with a port that cannot be added: the datapath stays, and the message says so.
    const leftDp = `kcm${tag}`;
    try {
      const partial = await cli('add-dp', leftDp, `kno${tag}`);
      assert.equal(partial.code, 1);
      assert.match(partial.stderr, new RegExp(`^ovsdp: no network device named kno${tag} .*\novsdp: datapath ${leftDp} was created without kno${tag}: add it with add-if, or remove it with del-dp ${leftDp}\n$`));
      assert.equal((await getDatapath(conn, leftDp)).name, leftDp);
    } finally {
      await deleteDatapath(conn, leftDp).catch(() => undefined);
    }
  }, async () => { await run('ip', 'link', 'del', veth).catch(() => undefined); });
});
