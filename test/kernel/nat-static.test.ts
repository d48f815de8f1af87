// Real traffic through statically installed conntrack/NAT flows (no controller): the
// seed's SNAT with its reply path, DNAT to a TCP server, a related ICMP error on +rel and
// an invalid packet dropped on +inv. Flows are written in ovs-dpctl's flow language with
// explicit wildcards (`eth()`, `ipv4()` match any Ethernet/IPv4 header) and installed with
// FlowTable.put.
//
// The hosts are two-hosts.ts's 10.9.9.1 (a) and 10.9.9.2 (b). The NAT addresses live in
// 10.1.1.0/24, reached by an on-link route; nobody answers ARP for them, so the hosts have
// static neighbour entries: b sends to the SNAT pool 10.1.1.240-254 with a's MAC, a sends
// to the virtual IP 10.1.1.100 with b's MAC.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatFlowMatch, parseActionsText, parseFlowText } from '../../src/client/flow-text.js';
import { type Flow, FlowTable } from '../../src/client/flows.js';
import { execute } from '../../src/client/packets.js';
import { ethernet, ipv4Packet, tcp } from '../frames.js';
import { type Host, type TwoHosts, rxPackets, sh, withTwoHosts } from './two-hosts.js';

const SNAT = 'ct(commit,zone=1,nat(src=10.1.1.240-10.1.1.254:32768-65535))';
const VIP = '10.1.1.100';

interface NatLab extends TwoHosts {
  table: FlowTable;
  /** installs `FLOW ACTIONS` lines, `$a`/`$b` standing for the hosts' port numbers */
  install(lines: string[]): Promise<void>;
}

/** two-hosts.ts's lab plus the NAT addresses' routes and neighbours, and a flow table. */
async function withNatLab(prefix: string, fn: (lab: NatLab) => Promise<void>): Promise<void> {
  await withTwoHosts(prefix, async (lab) => {
    const { a, b } = lab;
    const batch = (h: Host, lines: string[]): string => `printf '%s\\n' ${lines.map((l) => `'${l}'`).join(' ')} | ip -n ${h.ns} -batch -`;
    await sh([
      batch(a, [`route add 10.1.1.0/24 dev ${a.dev}`, `neigh replace ${VIP} lladdr ${b.mac} dev ${a.dev}`]),
      batch(b, [`route add 10.1.1.0/24 dev ${b.dev}`, ...Array.from({ length: 15 }, (_, i) => `neigh replace 10.1.1.${240 + i} lladdr ${a.mac} dev ${b.dev}`)]),
    ].join('\n'));
    const table = new FlowTable(lab.conn, lab.dp);
    const install = async (lines: string[]): Promise<void> => {
      for (const line of lines) {
        const text = line.replaceAll('$a', String(a.portNo)).replaceAll('$b', String(b.portNo));
        const space = text.indexOf(' ');
        await table.put(parseFlowText(text.slice(0, space), text.slice(space + 1)));
      }
    };
    try {
      await fn({ ...lab, table, install });
    } finally {
      table.close();
    }
  });
}

/** ARP both ways (the static neighbours make it unneeded, but a real setup has it). */
const ARP = [
  'recirc_id(0),in_port($a),eth(),eth_type(0x0806),arp() $b',
  'recirc_id(0),in_port($b),eth(),eth_type(0x0806),arp() $a',
];

/** The seed's SNAT: a's IPv4 committed to zone 1 with its source rewritten; b's replies un-NATed, then +est to a. */
const SNAT_FLOWS = [
  ...ARP,
  `recirc_id(0),in_port($a),eth(),eth_type(0x0800),ipv4() ${SNAT},$b`,
  'recirc_id(0),in_port($b),ct_state(-trk),eth(),eth_type(0x0800),ipv4() ct(zone=1,nat),recirc(0x1)',
  'recirc_id(0x1),in_port($b),ct_state(+trk+est),eth(),eth_type(0x0800),ipv4() $a',
];

/**
 * Starts a TCP server (busybox nc) in `server`'s namespace on `port`, waits until it
 * listens, connects from `client`'s to ip:dport and sends a line; resolves with what the
 * server received.
 */
function tcpExchange(client: Host, server: Host, port: number, ip: string, dport: number): Promise<string> {
  return sh(`
    out=$(mktemp)
    ip netns exec ${server.ns} busybox nc -l -p ${port} > $out & srv=$!
    for i in $(seq 100); do ip netns exec ${server.ns} ss -Hltn "sport = :${port}" | grep -q . && break; sleep 0.1; done
    if ! ip netns exec ${client.ns} timeout 8 bash --norc -c 'exec 3<>/dev/tcp/${ip}/${dport}; echo hello >&3' </dev/null; then kill $srv; exit 1; fi
    wait $srv
    cat $out`);
}

function packets(flows: Flow[], re: RegExp): bigint {
  const matching = flows.filter((f) => re.test(formatFlowMatch(f.key ?? {}, f.mask, f.actions)));
  assert.ok(matching.length, `no flow matches ${re}`);
  return matching.reduce((n, f) => n + f.stats.packets, 0n);
}

const NAT_IP = /10\.1\.1\.(?:24\d|25[0-4])/;

test('SNAT: ping and TCP from a pass with the source rewritten to 10.1.1.240-254 in zone 1, replies via ct(zone=1,nat) -> recirc -> +est', async () => {
  await withNatLab('nats', async ({ a, b, table, install }) => {
    await install(SNAT_FLOWS);
    await sh(`ip netns exec ${a.ns} busybox ping -c 3 -i 0.2 -W 3 ${b.ip}`);
    assert.equal((await tcpExchange(a, b, 8080, b.ip, 8080)).trim(), 'hello');

    const ct = (await sh('conntrack -L 2>/dev/null')).split('\n').filter((l) => l.includes(`src=${a.ip} `));
    const icmp = ct.find((l) => l.startsWith('icmp'));
    const tcpLine = ct.find((l) => l.startsWith('tcp'));
    assert.ok(icmp && tcpLine, ct.join('\n'));
    assert.match(icmp, new RegExp(`src=${b.ip} dst=${NAT_IP.source} .*zone=1`), icmp);
    const m = new RegExp(`dport=8080 src=${b.ip} dst=(${NAT_IP.source}) sport=8080 dport=(\\d+) .*zone=1`).exec(tcpLine);
    assert.ok(m, tcpLine);
    assert.ok(Number(m[2]) >= 32768 && Number(m[2]) <= 65535, `translated port ${m[2]}`);

    // The later packets went through the kernel flows both ways: nothing is listening for
    // upcalls, so a miss would have been dropped.
    const flows = await table.list();
    assert.ok(packets(flows, /in_port\(1\).*0x0800.*actions:ct\(commit/) >= 3n);
    assert.ok(packets(flows, /ct_state\(-trk\)/) >= 3n);
    assert.ok(packets(flows, /ct_state\(\+est\+trk\)/) >= 3n);
  });
});

test('DNAT: a connects to the virtual IP 10.1.1.100:80, the data arrives at b\'s 10.9.9.2:8080', async () => {
  await withNatLab('natd', async ({ a, b, table, install }) => {
    await install([
      ...ARP,
      `recirc_id(0),in_port($a),eth(),eth_type(0x0800),ipv4(dst=${VIP},proto=6),tcp(dst=80),tcp_flags(0/0) ct(commit,zone=2,nat(dst=${b.ip}:8080)),$b`,
      'recirc_id(0),in_port($b),ct_state(-trk),eth(),eth_type(0x0800),ipv4() ct(zone=2,nat),recirc(0x2)',
      'recirc_id(0x2),in_port($b),ct_state(+trk+est),eth(),eth_type(0x0800),ipv4() $a',
    ]);
    assert.equal((await tcpExchange(a, b, 8080, VIP, 80)).trim(), 'hello');
    const ct = await sh('conntrack -L 2>/dev/null');
    assert.match(ct, new RegExp(`tcp .*src=${a.ip} dst=${VIP} sport=\\d+ dport=80 src=${b.ip} dst=${a.ip} sport=8080 .*zone=2`), ct);
    const flows = await table.list();
    assert.ok(packets(flows, /ct\(commit,zone=2/) >= 3n);
    assert.ok(packets(flows, /recirc_id\(0x2\).*ct_state\(\+est\+trk\)/) >= 2n);
  });
});

test('+rel passes an ICMP port unreachable back through the SNAT; +inv is dropped', async () => {
  await withNatLab('natr', async ({ conn, dp, a, b, table, install }) => {
    await install([
      ...SNAT_FLOWS,
      'recirc_id(0x1),in_port($b),ct_state(+trk+rel),eth(),eth_type(0x0800),ipv4() $a',
      'recirc_id(0x1),in_port($b),ct_state(+trk+inv),eth(),eth_type(0x0800),ipv4() drop',
    ]);

    // bash's /dev/udp connects the socket: the ICMP error makes the second write fail.
    const err = await sh(`ip netns exec ${a.ns} bash --norc -c 'exec 3<>/dev/udp/${b.ip}/9; echo one >&3; sleep 1; echo two >&3' </dev/null`).then(
      () => 'no error', (e: Error) => e.message);
    assert.match(err, /Connection refused/);
    let flows = await table.list();
    assert.ok(packets(flows, /ct_state\(\+rel\+trk\)/) >= 1n);
    assert.ok((await sh('conntrack -L 2>/dev/null')).split('\n').some((l) => l.startsWith('udp') && NAT_IP.test(l) && l.includes('zone=1')));

    // A TCP segment with SYN and FIN together is invalid for conntrack: injected as if it
    // came from b, it goes through ct(zone=1,nat), is looked up again as +trk+inv and dropped.
    const before = await rxPackets(a);
    const bad = ethernet(b.mac, a.mac, 0x0800, ipv4Packet(b.ip, '10.1.1.240', 6, tcp(8080, 40000, 0x03)));
    await execute(conn, { datapath: dp, packet: bad, key: { in_port: b.portNo }, actions: parseActionsText('ct(zone=1,nat),recirc(0x1)') });
    flows = await table.list();
    assert.equal(packets(flows, /ct_state\(\+inv\+trk\)/), 1n);
    assert.equal(await rxPackets(a), before, 'nothing delivered to a');
  });
});
