// Upcall listeners against the real kernel, in both dispatch modes: misses of real traffic
// between two namespaces, port ids and features put back on close, ports added while
// open, floods that overflow a small receive buffer, garbage packets. One datapath and
// pair of namespaces serve every test (each costs seconds to build under emulation);
// each listener is closed before the next opens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RawNetlinkSocket } from 'netlink/dist/raw.js';
import type { OvsConnection } from '../../src/client/connection.js';
import type { Datapath } from '../../src/client/datapaths.js';
import { getDatapath, setDatapath } from '../../src/client/datapaths.js';
import { packetFamily } from '../../src/ovs/packet.js';
import { executeMany } from '../../src/client/packets.js';
import { type Upcall, UpcallListener, UpcallsTakenError } from '../../src/client/upcalls.js';
import { addVport, listVports } from '../../src/client/vports.js';
import { type Host, type TwoHosts, sendUdp, sh, withTwoHosts } from './two-hosts.js';

const ovsdp = fileURLToPath(new URL('../../../bin/ovsdp', import.meta.url));

/** Waits until someone's handler sockets are registered with the datapath (per-CPU ids or port ids). */
async function waitListening(conn: OvsConnection, dp: Datapath): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const now = await getDatapath(conn, dp.name);
    if (now.perCpuPids?.some((p) => p !== 0)) return;
    if (!now.features.includes('dispatch_upcall_per_cpu') && (await listVports(conn, dp)).every((p) => p.upcallPids[0] !== 0)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('nobody started listening');
}

/** Runs `ovsdp ARGS` in the background; `lines` fills as it prints. */
function ovsdpBackground(args: string[]): { pid: number; lines: string[]; stderr: () => string; kill: (sig: NodeJS.Signals) => void; exit: Promise<number | null> } {
  const child = spawn(ovsdp, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    const parts = out.split('\n');
    out = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { pid: child.pid!, lines, stderr: () => err, kill: (sig) => child.kill(sig), exit };
}

async function until(what: string, cond: () => boolean, ms = 30000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Collects upcalls until `done` says so (or `ms` is up: then what came is returned). */
async function collect(listener: UpcallListener, done: (all: Upcall[]) => boolean, ms = 30000): Promise<Upcall[]> {
  const all: Upcall[] = [];
  const it = listener.batches();
  const deadline = Date.now() + ms;
  while (!done(all)) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    let timer: NodeJS.Timeout | undefined;
    const next = await Promise.race([it.next(), new Promise<undefined>((r) => { timer = setTimeout(() => r(undefined), left); })]);
    clearTimeout(timer);
    if (!next || next.done) break;
    all.push(...next.value);
  }
  // Not awaited: after a timeout a next() is still pending, and return() would wait for it.
  void it.return(undefined);
  return all;
}

function isUdpTo(u: Upcall, to: Host, dport: number): boolean {
  const ipv4 = u.key['ipv4'] as { ipv4_dst: string } | undefined;
  const udp = u.key['udp'] as { udp_dst: number } | undefined;
  return u.cmd === 'miss' && ipv4?.ipv4_dst === to.ip && udp?.udp_dst === dport;
}

async function sawMiss({ conn, dp, a, b }: TwoHosts, mode: 'per-cpu' | 'per-vport', dport: number): Promise<void> {
  const before = await getDatapath(conn, dp.name);
  const listener = await UpcallListener.open({ datapath: dp.name, mode, handlers: 2 });
  try {
    assert.equal(listener.mode, mode);
    const got = collect(listener, (all) => all.some((u) => isUdpTo(u, b, dport)));
    await sendUdp(a, b, dport);
    const up = (await got).find((u) => isUdpTo(u, b, dport));
    assert.ok(up, 'the miss arrived');
    assert.equal(up.inPort, a.portNo);
    assert.equal(up.datapath.name, dp.name);
    assert.equal(up.datapath.ifindex, dp.ifindex);
    assert.deepEqual(up.key['ethernet'], { eth_src: a.mac, eth_dst: b.mac });
    assert.equal((up.key['ipv4'] as { ipv4_src: string }).ipv4_src, a.ip);
    assert.ok(listener.pids.includes(up.handlerPid));
    assert.equal(up.packet.subarray(0, 12).toString('hex'), (b.mac + a.mac).replace(/:/g, ''));
    const stats = listener.stats();
    assert.ok(stats.misses >= 1 && stats.malformed === 0 && stats.overruns === 0, JSON.stringify(stats));
  } finally {
    await listener.close();
  }
  // Everything is as it was.
  const after = await getDatapath(conn, dp.name);
  assert.deepEqual(after.features, before.features);
  if (before.perCpuPids) assert.deepEqual(after.perCpuPids?.every((p) => p === 0), true, 'per-CPU ids of nobody stay nobody\'s');
  for (const p of await listVports(conn, dp)) assert.deepEqual(p.upcallPids, [0], `port ${p.name}`);
}

test('upcall listener', async (t) => {
  await withTwoHosts('upc', async (lab) => {
    const { conn, dp } = lab;
    const perCpu = dp.features.includes('dispatch_upcall_per_cpu');

    await t.test('mode auto follows the datapath and changes nothing', async () => {
      const auto = await UpcallListener.open({ datapath: dp.name });
      await auto.close();
      assert.equal(auto.mode, perCpu ? 'per-cpu' : 'per-vport');
      assert.equal(auto.featureChange, undefined);
    });

    await t.test('per-cpu: a UDP packet between two namespaces comes up as a MISS with its in_port and key', { skip: !perCpu && 'the kernel has no per-CPU dispatch' }, async () => {
      await sawMiss(lab, 'per-cpu', 5001);
    });

    await t.test('per-vport: the same, on a per-cpu datapath: the feature goes off while listening, and back on close', async () => {
      if (perCpu) {
        const listener = await UpcallListener.open({ datapath: dp.name, mode: 'per-vport' });
        try {
          assert.deepEqual(listener.featureChange?.before, dp.features);
          assert.ok(!listener.featureChange?.after.includes('dispatch_upcall_per_cpu'));
          assert.ok(!(await getDatapath(conn, dp.name)).features.includes('dispatch_upcall_per_cpu'));
        } finally {
          await listener.close();
        }
        assert.deepEqual((await getDatapath(conn, dp.name)).features, dp.features);
      }
      await sawMiss(lab, 'per-vport', 5002);
    });

    await t.test('per-vport: a port added while listening gets the handler sockets, and its own ids back on close', async () => {
      const listener = await UpcallListener.open({ datapath: dp.name, mode: 'per-vport', handlers: 2 });
      let portNo = -1;
      try {
        await sh('ip link add upc-x0 type veth peer name upc-x1');
        portNo = (await addVport(conn, dp, 'upc-x0')).portNo;
        let pids: number[] = [];
        for (let i = 0; i < 100 && pids[0] !== listener.pids[0]; i++) {
          await new Promise((r) => setTimeout(r, 100));
          pids = (await listVports(conn, dp)).find((p) => p.portNo === portNo)!.upcallPids;
        }
        assert.equal(pids[0], listener.pids[0]);
      } finally {
        await listener.close();
      }
      for (const p of await listVports(conn, dp)) assert.deepEqual(p.upcallPids, [0], `port ${p.name}`);
      await sh('ip link del upc-x0');
    });

    await t.test('a second listener is refused while the first is open; taking over hands the upcalls back on close', async () => {
      const first = await UpcallListener.open({ datapath: dp.name, handlers: 1 });
      try {
        await assert.rejects(UpcallListener.open({ datapath: dp.name }), (err) => err instanceof UpcallsTakenError && err.portIds.includes(first.pids[0]!)
          // The holder is named: this very process (the first listener).
          && err.holders.some((h) => h.pid === process.pid) && err.message.includes(`pid ${process.pid} (`));
        const second = await UpcallListener.open({ datapath: dp.name, handlers: 1, takeOver: true });
        try {
          const got = collect(second, (all) => all.some((u) => isUdpTo(u, lab.b, 5005)));
          await sendUdp(lab.a, lab.b, 5005);
          assert.ok((await got).some((u) => isUdpTo(u, lab.b, 5005)), 'the second listener got the miss');
        } finally {
          await second.close();
        }
        const got = collect(first, (all) => all.some((u) => isUdpTo(u, lab.b, 5006)));
        await sendUdp(lab.a, lab.b, 5006);
        assert.ok((await got).some((u) => isUdpTo(u, lab.b, 5006)), 'the first listener has the upcalls again');
      } finally {
        await first.close();
      }
      // Port ids of sockets that are gone (a listener killed before close) stop nobody.
      if (perCpu) {
        const cpus = (await getDatapath(conn, dp.name)).perCpuPids!.length;
        await setDatapath(conn, dp.name, { features: dp.featureBits, perCpuPids: Array(cpus).fill(12345) });
        await (await UpcallListener.open({ datapath: dp.name })).close();
        assert.deepEqual((await getDatapath(conn, dp.name)).perCpuPids, Array(cpus).fill(12345));
        await setDatapath(conn, dp.name, { features: dp.featureBits, perCpuPids: Array(cpus).fill(0) });
      }
    });

    await t.test('a flood of upcalls into a small receive buffer, and garbage: overruns counted exactly, the listener keeps going', async () => {
      const listener = await UpcallListener.open({ datapath: dp.name, handlers: 1, recvBufferSize: 16384 });
      try {
        let lostEvents = 0;
        listener.on('overrun', (lost) => { lostEvents += lost; });
        const pid = listener.pids[0]!;
        const packet = Buffer.alloc(200, 0xab);
        const n = 2000;
        const flood = await executeMany(conn, dp, Array.from({ length: n }, () => ({ packet, actions: [{ userspace: { pid } }] })));
        assert.equal(flood.failed, 0, String(flood.errors[0]?.error));
        // Garbage: random bytes of every length from 14 (an Ethernet header) up.
        const garbage = Array.from({ length: 300 }, (_, i) => ({
          packet: Buffer.from(Array.from({ length: 14 + (i % 100) }, () => Math.floor(Math.random() * 256))),
          actions: [{ userspace: { pid, userdata: Buffer.from([i >> 8, i & 0xff]) } }],
        }));
        const g = await executeMany(conn, dp, garbage);
        // Every upcall either comes or is counted lost.
        const total = n + g.executed;
        const flooded = await collect(listener, () => {
          const st = listener.stats();
          return st.actions + st.overruns >= total;
        });
        const stats = listener.stats();
        t.diagnostic(`flood: ${n} + ${g.executed} garbage executed (${g.failed} refused), ${flooded.length} received: ${JSON.stringify(stats)}`);
        assert.equal(stats.actions + stats.overruns, total);
        assert.equal(flooded.length, stats.actions);
        assert.ok(stats.overruns >= 1, `overruns counted: ${JSON.stringify(stats)}`);
        assert.equal(lostEvents, stats.overruns);
        // Most read by recvmmsg behind the binding's read (the packets compared below went that way).
        assert.ok(stats.batched > 0 && stats.batched <= stats.upcalls + stats.malformed, `read in batches: ${JSON.stringify(stats)}`);
        // The garbage came up as it went down.
        const sent = new Map(garbage.map((x) => [x.actions[0]!.userspace.userdata.readUInt16BE(), x.packet]));
        for (const u of flooded) if (u.userdata) assert.deepEqual(u.packet, sent.get(u.userdata.readUInt16BE()));
        // Messages that are not upcalls (sent by a process, as root may): counted, skipped.
        const rogue = new RawNetlinkSocket(16, { recvBufferSize: 65536, sendBufferSize: 65536 });
        const junk = (type: number, payload: Buffer): Buffer => {
          const h = Buffer.alloc(16);
          h.writeUInt32LE(16 + payload.length);
          h.writeUInt16LE(type, 4);
          return Buffer.concat([h, payload]);
        };
        const packetFamilyId = (await conn.family(packetFamily)).id;
        for (const m of [junk(0x7777, Buffer.alloc(8)), junk(packetFamilyId, Buffer.from([1, 1, 0, 0, 7, 0, 0, 0, 0xff, 0xff, 1, 0])), junk(packetFamilyId, Buffer.from([9, 1, 0, 0, 7, 0, 0, 0]))]) {
          await new Promise<void>((resolve, reject) => rogue.send(m, { port: pid }, (err) => (err ? reject(err) : resolve())));
        }
        rogue.close();
        await until('the rogue messages', () => listener.stats().malformed === 3);
        // After the flood, the listener still receives.
        const got = collect(listener, (all) => all.some((u) => u.userdata?.toString() === 'after'));
        await executeMany(conn, dp, [{ packet, actions: [{ userspace: { pid, userdata: Buffer.from('after') } }] }]);
        assert.ok((await got).some((u) => u.userdata?.toString() === 'after'), 'an upcall after the flood arrived');
        assert.equal(stats.malformed, 0);
        assert.equal(stats.dropped, 0);
        assert.equal(listener.stats().malformed, 3);
      } finally {
        await listener.close();
      }
    });

    await t.test('ovsdp upcalls: the misses of unmatched traffic, --json and --count; Ctrl-C prints the counters and restores', async () => {
      const before = await getDatapath(conn, dp.name);
      const json = ovsdpBackground(['upcalls', dp.name, '--json', '--count', '1']);
      await waitListening(conn, dp);
      await sendUdp(lab.a, lab.b, 5003);
      assert.equal(await json.exit, 0, json.stderr());
      const obj = JSON.parse(json.lines[0]!) as Record<string, unknown>;
      assert.equal(obj['cmd'], 'miss');
      assert.equal(obj['inPort'], lab.a.portNo);
      assert.equal(obj['port'], lab.a.port);
      assert.match(obj['summary'] as string, new RegExp(`ipv4 ${lab.a.ip}->${lab.b.ip} udp \\d+->5003$`));
      assert.match(json.stderr(), /1 upcall \(1 miss, 0 actions\), 0 lost/);

      const text = ovsdpBackground(['upcalls', 'system@upc', '--mode', 'per-vport']);
      await waitListening(conn, dp);
      await sendUdp(lab.a, lab.b, 5004);
      await until('a line', () => text.lines.length > 0);
      text.kill('SIGINT');
      assert.equal(await text.exit, 0, text.stderr());
      assert.match(text.lines[0]!, new RegExp(`^miss port ${lab.a.portNo} \\(${lab.a.port}\\) \\d+ bytes: eth ${lab.a.mac}->${lab.b.mac} ipv4 ${lab.a.ip}->${lab.b.ip} udp \\d+->5004; key recirc_id\\(0\\),.*in_port\\(${lab.a.port}\\)`));
      if (perCpu) assert.match(text.stderr(), /switched upc to per-vport upcall dispatch while listening/);
      assert.match(text.stderr(), /upcalls? \(\d+ miss/);
      assert.deepEqual((await getDatapath(conn, dp.name)).features, before.features);
      for (const p of await listVports(conn, dp)) assert.deepEqual(p.upcallPids, [0], `port ${p.name}`);
    });

    await t.test('ovsdp controller runs in a child node without the #! line\'s flags: misses answered, SIGTERM passed on, the datapath restored', async () => {
      const before = await getDatapath(conn, dp.name);
      const dir = mkdtempSync(join(tmpdir(), 'ovsdp-ctl-'));
      const rules = join(dir, 'rules');
      writeFileSync(rules, `udp,actions=output:${lab.b.portNo}\n`);
      const ctl = ovsdpBackground(['controller', dp.name, rules, '--idle-timeout', '60']);
      await waitListening(conn, dp);
      // The process that answers: bin/ovsdp's only child, a node without --single-threaded.
      const children = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
        try {
          const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
          return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ctl.pid;
        } catch {
          return false;
        }
      });
      assert.equal(children.length, 1, `children of ${ctl.pid}: ${children.join(' ')}`);
      const argv = readFileSync(`/proc/${children[0]}/cmdline`, 'utf8').split('\0');
      assert.ok(argv.some((a) => a.endsWith('bin/ovsdp')) && argv.includes('controller') && !argv.includes('--single-threaded'), argv.join(' '));
      await sendUdp(lab.a, lab.b, 5005);
      await until('an installed flow', () => ctl.lines.some((l) => l.startsWith('installed ')));
      // SIGHUP (a closed terminal) ends it as SIGINT and SIGTERM do: the datapath restored.
      ctl.kill('SIGHUP');
      assert.equal(await ctl.exit, 0, ctl.stderr());
      assert.match(ctl.lines.at(-1)!, /^stats: misses [1-9]\d*, flows installed [1-9]/);
      assert.deepEqual((await getDatapath(conn, dp.name)).features, before.features);
      for (const p of await listVports(conn, dp)) assert.deepEqual(p.upcallPids, [0], `port ${p.name}`);
    });
  });
});
