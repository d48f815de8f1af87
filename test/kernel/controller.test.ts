// The controller against the real kernel: the NAT scenario of the "openvswitch: NAT
// support" patch series with zero flows preinstalled. Two network namespaces on ports 1
// and 2; every kernel flow comes from the controller. Also idle expiry and rule reload.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { OvsConnection } from '../../src/client/connection.js';
import { Controller, type ReloadResult } from '../../src/client/controller.js';
import { createDatapath, deleteDatapath } from '../../src/client/datapaths.js';
import { formatFlowMatch, parseFlowMatch } from '../../src/client/flow-text.js';
import { type Flow, FlowTable } from '../../src/client/flows.js';
import { addVport } from '../../src/client/vports.js';
import { maskedKey } from '../../src/ovs/openflow/fields.js';
import { Pipeline } from '../../src/ovs/openflow/pipeline.js';
import { parseRules } from '../../src/ovs/openflow/rules.js';
import { parseCtState, traceKey } from '../../src/ovs/openflow/trace.js';

const execFileP = promisify(execFile);
const natRules = readFileSync(fileURLToPath(new URL('../../../examples/nat.rules', import.meta.url)), 'utf8');

async function sh(script: string): Promise<string> {
  return (await execFileP('bash', ['-ec', script])).stdout;
}

/** Whether a shell command succeeds. */
async function succeeds(script: string): Promise<boolean> {
  return sh(script).then(() => true, () => false);
}

interface Lab {
  dp: string;
  table: FlowTable;
  /** namespaces of port 1's and port 2's hosts */
  ns1: string;
  ns2: string;
  rulesFile: string;
}

const MAC1 = '02:00:00:00:01:01';

/**
 * Port 1's host 10.1.1.1 and port 2's host 10.1.1.2 in namespaces, on a fresh datapath
 * with no flows. Port 2's host reaches the NAT addresses 10.1.1.240-255 by static
 * neighbour entries for port 1's host's MAC (nobody answers ARP for them).
 */
async function withLab(prefix: string, fn: (lab: Lab) => Promise<void>): Promise<void> {
  const conn = new OvsConnection();
  const ns1 = `${prefix}-1`;
  const ns2 = `${prefix}-2`;
  const teardown = `printf '%s\\n' 'netns del ${ns1}' 'netns del ${ns2}' 'link del ${prefix}-p1' 'link del ${prefix}-p2' | ip -force -batch - 2>/dev/null || true`;
  await deleteDatapath(conn, prefix).catch(() => undefined);
  await sh(teardown);
  const dp = await createDatapath(conn, prefix);
  const table = new FlowTable(conn, dp);
  try {
    const hosts = [[ns1, `${prefix}-p1`, '10.1.1.1', MAC1], [ns2, `${prefix}-p2`, '10.1.1.2', '02:00:00:00:01:02']] as const;
    // Few processes: each costs a good part of a second in the VM. ip -batch reads stdin.
    const batch = (lines: string[], ns?: string): string => `printf '%s\\n' ${lines.map((l) => `'${l}'`).join(' ')} | ip ${ns ? `-n ${ns} ` : ''}-batch -`;
    await sh([
      batch(hosts.flatMap(([ns, port]) => [`netns add ${ns}`, `link add ${port} type veth peer name eth0 netns ${ns}`])),
      `sysctl -q -w ${hosts.map(([, port]) => `net.ipv6.conf.${port}.disable_ipv6=1`).join(' ')}`,
      batch(hosts.map(([, port]) => `link set ${port} up`)),
      ...hosts.map(([ns]) => `ip netns exec ${ns} sysctl -q -w net.ipv6.conf.all.disable_ipv6=1`),
      ...hosts.map(([ns, , ip, mac]) => batch([
        `link set eth0 address ${mac}`, `addr add ${ip}/24 dev eth0`, 'link set lo up', 'link set eth0 up',
        ...(ns === ns2 ? Array.from({ length: 16 }, (_, i) => `neigh replace 10.1.1.${240 + i} lladdr ${MAC1} dev eth0`) : []),
      ], ns)),
    ].join('\n'));
    for (const [, port] of hosts) await addVport(conn, dp, port);
    const rulesFile = join(mkdtempSync(join(tmpdir(), 'ctl-')), 'nat.rules');
    writeFileSync(rulesFile, natRules);
    await fn({ dp: prefix, table, ns1, ns2, rulesFile });
  } finally {
    table.close();
    await deleteDatapath(conn, prefix).catch(() => undefined);
    await sh(teardown).catch(() => undefined);
    conn.close();
  }
}

/** The datapath's flows as `KEY, actions:ACTIONS` lines (key masked, as the kernel keeps it), sorted. */
async function flowLines(table: FlowTable): Promise<string[]> {
  return (await table.list()).map((f) => formatFlowMatch(f.key ?? {}, f.mask, f.actions)).sort();
}

/**
 * A script that starts a TCP server in namespace `to`, waits until it listens (a process
 * takes a while to start in the VM), connects from namespace `from` and sends "hello";
 * prints what the server got, fails when the connection does.
 */
function tcpExchange(from: string, to: string, ip: string, port: number, timeout = 8): string {
  return `
    out=$(mktemp)
    ip netns exec ${to} busybox nc -l -p ${port} > $out & srv=$!
    for i in $(seq 100); do ip netns exec ${to} ss -Hltn "sport = :${port}" | grep -q . && break; sleep 0.1; done
    if ! ip netns exec ${from} timeout ${timeout} bash -c 'exec 3<>/dev/tcp/${ip}/${port}; echo hello >&3'; then kill $srv; exit 1; fi
    wait $srv
    cat $out`;
}

function packets(flows: Flow[], re: RegExp): bigint {
  return flows.filter((f) => re.test(formatFlowMatch(f.key ?? {}, f.mask, f.actions))).reduce((n, f) => n + f.stats.packets, 0n);
}

test('NAT scenario: ping and TCP from port 1 pass with SNAT, replies via -trk -> recirc -> +est, port 2 cannot connect', async () => {
  await withLab('ctl-nat', async ({ dp, table, ns1, ns2 }) => {
    assert.deepEqual(await flowLines(table), [], 'the datapath starts with no flows');
    const ctl = await Controller.start({ datapath: dp, rules: natRules, source: 'nat.rules', idleTimeoutMs: 120_000 });
    const failures: string[] = [];
    ctl.on('failure', (err, what) => failures.push(`${what}: ${err.message}`));
    try {
      // Ping (ARP first, through the ARP rules), then TCP with a server on port 2's side.
      assert.ok(await succeeds(`ip netns exec ${ns1} busybox ping -c 4 -i 0.3 -W 3 10.1.1.2`), 'ping from port 1 passes');
      const tcp = await sh(tcpExchange(ns1, ns2, '10.1.1.2', 8080)).catch((err: { stdout?: string; stderr?: string }) => `failed: ${err.stdout} ${err.stderr}`);
      assert.equal(tcp.trim(), 'hello', 'TCP from port 1: connected, and the payload arrived');

      // Conntrack: the connections in zone 1, their replies to a NAT address.
      const ct = await sh('conntrack -L -w 1 2>/dev/null');
      assert.match(ct, /icmp .*src=10\.1\.1\.1 dst=10\.1\.1\.2 .*src=10\.1\.1\.2 dst=10\.1\.1\.2(4\d|5[0-5]) /, ct);
      assert.match(ct, /tcp .*src=10\.1\.1\.1 dst=10\.1\.1\.2 .*dport=8080 .*src=10\.1\.1\.2 dst=10\.1\.1\.2(4\d|5[0-5]) .*zone=1/, ct);

      // Port 2's side starting a connection: dropped after conntrack (+trk+new), so the
      // connect times out even though a server listens on port 1's side.
      const refused = await sh(tcpExchange(ns2, ns1, '10.1.1.1', 9090, 3)).catch(() => 'failed');
      assert.equal(refused, 'failed', 'port 2 cannot connect');

      const lines = await flowLines(table);
      const flows = await table.list();
      // The megaflows: as wide as the decisions allow, so no address or port is matched
      // and one flow serves every connection.
      const expected = [
        'recirc_id(0),in_port(1),eth(),eth_type(0x0800), actions:ct(commit,zone=1,nat(src=10.1.1.240-10.1.1.255)),2',
        'recirc_id(0),in_port(1),eth(),eth_type(0x0806), actions:2',
        'recirc_id(0),in_port(2),ct_state(-trk),eth(),eth_type(0x0800), actions:ct(zone=1,nat),recirc(0x1)',
        'recirc_id(0),in_port(2),eth(),eth_type(0x0806), actions:1',
        'recirc_id(0x1),in_port(2),ct_state(+est+trk),ct_zone(0x1),eth(),eth_type(0x0800), actions:1',
        'recirc_id(0x1),in_port(2),ct_state(-est+trk),eth(),eth_type(0x0800), actions:drop',
      ];
      assert.deepEqual(lines, expected);
      // `ovsdp trace` shows these megaflows for packets of each kind, without a kernel:
      // conntrack's answer to the -trk pass given as --ct-next gives it.
      const pipeline = new Pipeline(parseRules(natRules));
      const traced = (flow: string, ...ctNext: string[]): string[] =>
        traceKey(pipeline, parseFlowMatch(flow).key ?? {}, ctNext.map(parseCtState)).passes
          .map((p) => formatFlowMatch(maskedKey(p.key, p.translation.mask), p.translation.mask, p.translation.actions));
      const tcp4 = (port: number, src: string, dst: string): string => `in_port(${port}),eth(),eth_type(0x0800),ipv4(src=${src},dst=${dst},proto=6,frag=no),tcp(src=40000,dst=8080)`;
      const arp = (port: number): string => `in_port(${port}),eth(),eth_type(0x0806),arp(sip=10.1.1.${port},tip=10.1.1.${3 - port},op=1)`;
      assert.deepEqual([...new Set([
        ...traced(tcp4(1, '10.1.1.1', '10.1.1.2')), ...traced(arp(1)), ...traced(arp(2)),
        ...traced(tcp4(2, '10.1.1.2', '10.1.1.240'), 'trk,est'), ...traced(tcp4(2, '10.1.1.2', '10.1.1.1'), 'trk,new'),
      ])].sort(), expected);
      // Later packets went through the kernel flows, both ways.
      assert.ok(packets(flows, /in_port\(1\).*0x0800.*actions:ct\(commit/) > 0n);
      assert.ok(packets(flows, /ct_state\(-trk\)/) > 0n);
      assert.ok(packets(flows, /ct_state\(\+est\+trk\)/) > 0n);

      const s = ctl.stats();
      assert.equal(s.installed, expected.length);
      assert.ok(s.misses >= s.installed && s.executed >= s.installed - 1, JSON.stringify(s));
      assert.equal(s.errors, 0, failures.join('\n'));
      // Each batch of puts and executes went out in a send of its own, answered there and then.
      assert.ok((ctl.batchesSentAtOnce ?? 0) > 0, `batches sent at once: ${ctl.batchesSentAtOnce}`);
    } finally {
      await ctl.close();
    }
  });
});

test('idle flows expire; a changed rules file is reloaded and the kernel flows revalidated', async () => {
  await withLab('ctl-idle', async ({ dp, table, ns1, rulesFile }) => {
    // Puts and executes through the netlink binding here (the NAT scenario sends them at once).
    const ctl = await Controller.start({ datapath: dp, rulesFile, idleTimeoutMs: 1500, expiryIntervalMs: 250, reloadDelayMs: 100, sendsAtOnce: false });
    try {
      assert.ok(await succeeds(`ip netns exec ${ns1} busybox ping -c 4 -i 0.3 -W 3 10.1.1.2`));
      const before = await flowLines(table);
      assert.ok(before.some((l) => /in_port\(1\),eth\(\),eth_type\(0x0800\).*actions:ct\(commit/.test(l)), before.join('\n'));

      // Port 1's IPv4 now dropped: the flow that committed it is modified in place (same
      // mask), the others stay.
      const reloaded = new Promise<ReloadResult>((resolve) => ctl.once('reload', resolve));
      writeFileSync(rulesFile, natRules.replace('in_port=1,ip,actions=ct(commit,zone=1,nat(src=10.1.1.240-10.1.1.255)),2', 'in_port=1,ip,actions=drop'));
      const r = await reloaded;
      assert.equal(r.modified, 1, JSON.stringify(r));
      assert.equal(r.deleted, 0, JSON.stringify(r));
      const after = await flowLines(table);
      assert.ok(after.some((l) => /in_port\(1\),eth\(\),eth_type\(0x0800\).*actions:drop$/.test(l)), after.join('\n'));
      assert.equal(await succeeds(`ip netns exec ${ns1} busybox ping -c 1 -W 1 10.1.1.2`), false, 'port 1 is cut off');

      // A file that does not parse leaves the rules in force.
      const failed = new Promise<string>((resolve) => ctl.once('failure', (err) => resolve(err.message)));
      writeFileSync(rulesFile, 'in_port=1,ip,actoins=2\n');
      assert.match(await failed, /nat\.rules:1: unknown field "actoins"/);
      assert.equal(ctl.rules.length, 5);

      // Back to the scenario: a rule that matches on a new field (nw_dst) makes the old
      // flow too wide, so it is deleted and the next ping asks again.
      const again = new Promise<ReloadResult>((resolve) => ctl.once('reload', resolve));
      writeFileSync(rulesFile, natRules.replace('in_port=1,ip,actions=', 'in_port=1,ip,nw_dst=10.1.1.0/24,actions='));
      assert.equal((await again).deleted, 1);
      assert.ok(await succeeds(`ip netns exec ${ns1} busybox ping -c 4 -i 0.3 -W 3 10.1.1.2`));
      assert.ok((await flowLines(table)).some((l) => /in_port\(1\),.*ipv4\(dst=10\.1\.1\.0\/255\.255\.255\.0/.test(l)));

      // No traffic: after the idle timeout every flow is gone.
      const deadline = Date.now() + 10_000;
      while ((await table.list()).length && Date.now() < deadline) await sh('sleep 0.5');
      assert.deepEqual(await flowLines(table), []);
      const s = ctl.stats();
      assert.ok(s.expired >= 4, JSON.stringify(s));
      assert.equal(s.reloads, 2);
      assert.equal(ctl.batchesSentAtOnce, undefined);

      // The datapath deleted under it: the next look for idle flows finds it gone, and
      // close() has nothing to put back.
      const gone = new Promise<string>((resolve) => ctl.once('gone', resolve));
      const conn = new OvsConnection();
      try {
        await deleteDatapath(conn, dp);
      } finally {
        conn.close();
      }
      assert.equal(await gone, dp);
    } finally {
      await ctl.close();
    }
  });
});
