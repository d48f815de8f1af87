// Execute against the real kernel: packets delivered to a namespace by an output action
// (counted in the namespace's /proc/net/dev), what the kernel needs in a request, the key's
// metadata as an ACTION upcall shows it, refusals with their reasons, and the CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { execute, executeMany } from '../../src/client/packets.js';
import { type Upcall, UpcallListener } from '../../src/client/upcalls.js';
import { NetlinkError } from '../../src/nl/errors.js';
import { packetFamily } from '../../src/ovs/packet.js';
import { arp, ethernet, udpFrame } from '../frames.js';
import { rxPackets, withTwoHosts } from './two-hosts.js';

const execFileP = promisify(execFile);
const ovsdp = fileURLToPath(new URL('../../../bin/ovsdp', import.meta.url));

async function nextUpcall(listener: UpcallListener, ms = 30000): Promise<Upcall | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    listener.once('upcall', (u) => {
      clearTimeout(timer);
      resolve(u);
    });
  });
}

function errno(err: unknown): string {
  return err instanceof NetlinkError ? err.code : String(err);
}

test('execute', async (t) => {
  await withTwoHosts('exe', async ({ conn, dp, a, b }) => {
    const frame = udpFrame(a.mac, b.mac, a.ip, b.ip, 40000, 7000);

    await t.test('an output action delivers the packet to the namespace behind the port', async () => {
      const before = await rxPackets(b);
      await execute(conn, { datapath: dp, packet: frame, actions: [{ output: b.portNo }] });
      await execute(conn, { datapath: dp.name, packet: frame, key: { in_port: a.portNo }, actions: [{ output: b.portNo }, { output: b.portNo }] });
      assert.equal(await rxPackets(b), before + 3);
    });

    await t.test('PACKET, KEY and ACTIONS are all required; KEY may be empty', async () => {
      const header = { dp_ifindex: dp.ifindex };
      const actions = [{ output: b.portNo }];
      for (const attrs of [{ key: {}, actions }, { packet: frame, actions }, { packet: frame, key: {} }]) {
        await assert.rejects(conn.request(packetFamily, 'execute', { header, attrs }), (err) => errno(err) === 'EINVAL', JSON.stringify(Object.keys(attrs)));
      }
      await conn.request(packetFamily, 'execute', { header, attrs: { packet: frame, key: {}, actions } });
    });

    await t.test('a packet shorter than an Ethernet header is refused; an empty action list drops', async () => {
      for (const len of [0, 1, 13]) {
        await assert.rejects(execute(conn, { datapath: dp, packet: frame.subarray(0, len), actions: [{ output: b.portNo }] }), (err) => {
          t.diagnostic(`${len}-byte packet: ${errno(err)}: ${(err as Error).message}`);
          return errno(err) === 'ERANGE' && /shorter than 14 bytes/.test((err as Error).message);
        }, `length ${len}`);
      }
      await execute(conn, { datapath: dp, packet: frame.subarray(0, 14), actions: [{ output: b.portNo }] });
      const before = await rxPackets(b);
      await execute(conn, { datapath: dp, packet: frame, actions: [] });
      assert.equal(await rxPackets(b), before);
    });

    await t.test('a userspace action comes back as an ACTION upcall with the key\'s metadata and the cookie', async () => {
      const listener = await UpcallListener.open({ datapath: dp.name, handlers: 1 });
      try {
        const got = nextUpcall(listener);
        const cookie = Buffer.from('0102030405', 'hex');
        await execute(conn, { datapath: dp, packet: frame, key: { in_port: a.portNo, skb_mark: 7, priority: 3 }, actions: [{ userspace: { pid: listener.pids[0], userdata: cookie } }] });
        const up = await got;
        assert.ok(up, 'the upcall arrived');
        assert.equal(up.cmd, 'action');
        assert.equal(up.inPort, a.portNo);
        assert.equal(up.key['skb_mark'], 7);
        assert.equal(up.key['priority'], 3);
        assert.deepEqual(up.userdata, cookie);
        assert.deepEqual(up.packet, frame);
        assert.equal((up.key['udp'] as { udp_dst: number }).udp_dst, 7000);
      } finally {
        await listener.close();
      }
    });

    await t.test('an action that does not fit the packet (set(ipv4) on ARP) is EINVAL', async () => {
      const arpFrame = ethernet(a.mac, 'ff:ff:ff:ff:ff:ff', 0x0806, arp(1, a.mac, a.ip, '00:00:00:00:00:00', b.ip));
      const setIpv4 = [{ set: { ipv4: { ipv4_src: '1.2.3.4', ipv4_dst: '5.6.7.8', ipv4_proto: 17, ipv4_tos: 0, ipv4_ttl: 64, ipv4_frag: 0 } } }, { output: b.portNo }];
      await assert.rejects(execute(conn, { datapath: dp, packet: arpFrame, actions: setIpv4 }), (err) => {
        assert.ok(err instanceof NetlinkError && err.code === 'EINVAL', String(err));
        t.diagnostic(`refusal: ${err.message} (${err.reason ?? 'no reason logged'})`);
        return /refused to execute/.test(err.message);
      });
      // The same actions on an IPv4 packet are fine.
      await execute(conn, { datapath: dp, packet: frame, actions: setIpv4 });
    });

    await t.test('ct actions the kernel would refuse are named and not sent; in a batch, the others go', async () => {
      const refused = [{ ct: { zone: 1, nat: { src: true, ip_min: '10.1.1.240' } } }, { output: b.portNo }];
      await assert.rejects(execute(conn, { datapath: dp, packet: frame, actions: refused }), /needs commit: .*write ct\(commit,zone=1,nat\(src=10\.1\.1\.240\)\)/);
      const before = await rxPackets(b);
      const good = [{ output: b.portNo }];
      const r = await executeMany(conn, dp, [good, refused, good, refused].map((actions) => ({ packet: frame, actions })));
      assert.deepEqual([r.executed, r.failed, r.errors.map((e) => e.index)], [2, 2, [1, 3]]);
      assert.match(String(r.errors[0]!.error.message), /needs commit/);
      assert.equal(await rxPackets(b), before + 2);
    });

    await t.test('ovsdp execute [DP] ACTIONS PACKET_HEX [--key]', async () => {
      const before = await rxPackets(b);
      await execFileP(ovsdp, ['execute', dp.name, b.port, frame.toString('hex')]);
      await execFileP(ovsdp, ['execute', '--key', `in_port(${a.port}),skb_mark(1)`, `${b.portNo}`, frame.toString('hex').replace(/(..)/g, '$1:').slice(0, -1)]);
      assert.equal(await rxPackets(b), before + 2);
      await assert.rejects(execFileP(ovsdp, ['execute', dp.name, '1', 'xyz']), (err: { code: number; stderr: string }) => err.code === 2 && /not a packet in hex/.test(err.stderr));
      await assert.rejects(execFileP(ovsdp, ['execute', 'nodp', '1', '00']), (err: { code: number; stderr: string }) => err.code === 1 && /no datapath named nodp/.test(err.stderr));
    });
  });
});
