// A datapath with two "hosts": network namespaces, each with one end of a veth pair whose
// other end is a port of the datapath. Addresses and MACs are fixed, neighbours static
// (no ARP) and IPv6 off (no router solicitations), so the only traffic is what a test sends.
import { spawn } from 'node:child_process';
import { OvsConnection } from '../../src/client/connection.js';
import { type CreateDatapathOptions, type Datapath, createDatapath, deleteDatapath } from '../../src/client/datapaths.js';
import { addVport } from '../../src/client/vports.js';

/**
 * Runs a bash script; resolves with its stdout. stdin is /dev/null and --norc is given:
 * with a socket on stdin (Node's pipes are socketpairs) bash takes itself for an rsh
 * session and reads ~/.bashrc, which costs seconds in the VM.
 */
export function sh(script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['--norc', '-ec', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`bash exited with ${code}: ${err.trim()}\n${script}`))));
  });
}

export interface Host {
  ns: string;
  /** the namespace's interface */
  dev: string;
  /** the datapath port (in the root namespace) */
  port: string;
  portNo: number;
  ip: string;
  mac: string;
}

export interface TwoHosts {
  conn: OvsConnection;
  dp: Datapath;
  a: Host;
  b: Host;
}

type HostAddresses = Omit<Host, 'portNo'>;

function host(prefix: string, tag: 'a' | 'b'): HostAddresses {
  const n = tag === 'a' ? 1 : 2;
  return { ns: `${prefix}-${tag}`, dev: `${prefix}-${tag}1`, port: `${prefix}-${tag}0`, ip: `10.9.9.${n}`, mac: `02:00:00:00:00:0${n}` };
}

/** What runs inside a host's namespace: IPv6 off before the link is up, address, static neighbour. */
function insideScript(h: HostAddresses, peer: HostAddresses): string {
  const batch = [`addr add ${h.ip}/24 dev ${h.dev}`, 'link set lo up', `link set ${h.dev} up`, `neigh add ${peer.ip} lladdr ${peer.mac} dev ${h.dev}`];
  return `ip netns exec ${h.ns} sh -c 'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6; printf "%s\\n" ${batch.map((l) => `"${l}"`).join(' ')} | ip -batch -'`;
}

/** Builds the two hosts around a new datapath named `prefix`, runs `fn`, tears everything down. */
export async function withTwoHosts(prefix: string, fn: (lab: TwoHosts) => Promise<void>, options: CreateDatapathOptions = {}): Promise<void> {
  const conn = new OvsConnection();
  const a0 = host(prefix, 'a');
  const b0 = host(prefix, 'b');
  // Deleting a namespace deletes its veth end, and with it the pair.
  const teardown = `ip netns del ${a0.ns} 2>/dev/null || true; ip netns del ${b0.ns} 2>/dev/null || true`;
  await deleteDatapath(conn, prefix).catch(() => undefined);
  await sh(teardown);
  const dp = await createDatapath(conn, prefix, options);
  try {
    // Few processes: each costs a lot under emulation.
    const root = [
      `netns add ${a0.ns}`, `netns add ${b0.ns}`,
      `link add ${a0.port} type veth peer name ${a0.dev} address ${a0.mac} netns ${a0.ns}`,
      `link add ${b0.port} type veth peer name ${b0.dev} address ${b0.mac} netns ${b0.ns}`,
    ];
    await sh([
      `printf '%s\\n' ${root.map((l) => `'${l}'`).join(' ')} | ip -batch -`,
      `echo 1 > /proc/sys/net/ipv6/conf/${a0.port}/disable_ipv6`,
      `echo 1 > /proc/sys/net/ipv6/conf/${b0.port}/disable_ipv6`,
      insideScript(a0, b0),
      insideScript(b0, a0),
    ].join('\n'));
    const pa = await addVport(conn, dp, a0.port, { up: true });
    const pb = await addVport(conn, dp, b0.port, { up: true });
    await fn({ conn, dp, a: { ...a0, portNo: pa.portNo }, b: { ...b0, portNo: pb.portNo } });
  } finally {
    await deleteDatapath(conn, prefix).catch(() => undefined);
    await sh(teardown).catch(() => undefined);
    conn.close();
  }
}

/** Sends `count` UDP datagrams from host `from` to host `to`, port `dport`. */
export async function sendUdp(from: Host, to: Host, dport: number, count = 1): Promise<void> {
  await sh(`ip netns exec ${from.ns} bash --norc -c 'for i in $(seq ${count}); do echo hello > /dev/udp/${to.ip}/${dport}; done'`);
}

/** Packets received by a namespace's interface (from /proc/net/dev inside it). */
export async function rxPackets(h: Host): Promise<number> {
  const text = await sh(`ip netns exec ${h.ns} cat /proc/net/dev`);
  const line = text.split('\n').find((l) => l.trim().startsWith(`${h.dev}:`));
  if (!line) throw new Error(`no ${h.dev} in /proc/net/dev of ${h.ns}`);
  return Number(line.split(':')[1]!.trim().split(/\s+/)[1]);
}
