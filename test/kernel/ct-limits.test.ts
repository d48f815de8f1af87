// Conntrack zone limits (ovs_ct_limit) against the real kernel, beside ovs-dpctl: the same
// text, and a zone at its limit refusing new connections. The limits belong to the VM's
// network namespace, which other test files share: this file touches only zones of its
// own, never the default limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { deleteCtLimits, getCtLimits } from '../../src/client/ct-limits.js';
import { parseFlowText } from '../../src/client/flow-text.js';
import { FlowTable } from '../../src/client/flows.js';
import { rxPackets, sendUdp, withTwoHosts } from './two-hosts.js';

const execFileP = promisify(execFile);
const ovsdp = fileURLToPath(new URL('../../../bin/ovsdp', import.meta.url));
const tag = String(process.pid % 100000);

test('zone limits: set, shown and deleted as ovs-dpctl does; a zone at its limit drops new connections', async () => {
  const zone = 40000 + (process.pid % 20000);
  await withTwoHosts(`ctl${tag}`, async ({ conn, dp, a, b }) => {
    let table: FlowTable | undefined;
    try {
      await execFileP(ovsdp, ['ct-set-limits', dp.name, `zone=${zone},limit=1`]);
      const args = [`zone=${zone},${zone + 1}`];
      const ours = (await execFileP(ovsdp, ['ct-get-limits', ...args])).stdout;
      assert.equal(ours, (await execFileP('ovs-dpctl', ['ct-get-limits', dp.name, ...args])).stdout);
      assert.match(ours, new RegExp(`^zone=${zone},limit=1,count=0\nzone=${zone + 1},limit=\\d+,count=0\n$`, 'm'));

      // Each datagram from a new socket is a new connection: the zone takes one.
      table = new FlowTable(conn, dp);
      await table.put(parseFlowText(`in_port(${a.portNo}),eth(),eth_type(0x0800),ipv4(proto=17,frag=no),udp()`, `ct(commit,zone=${zone}),${b.portNo}`));
      const before = await rxPackets(b);
      await sendUdp(a, b, 5000, 3);
      assert.equal(await rxPackets(b) - before, 1, 'one connection of three passed');
      assert.deepEqual((await getCtLimits(conn, [zone])).zones, [{ zone, limit: 1, count: 1 }]);

      // Deleted, the zone has the default limit again (none here): connections pass.
      await execFileP(ovsdp, ['ct-del-limits', `zone=${zone}`]);
      assert.ok(!(await getCtLimits(conn)).zones.some((z) => z.zone === zone), 'no limit of its own');
      const between = await rxPackets(b);
      await sendUdp(a, b, 5001, 2);
      assert.equal(await rxPackets(b) - between, 2);
    } finally {
      table?.close();
      await deleteCtLimits(conn, [zone]).catch(() => undefined);
    }
  });
});

test('zone limits: what ovsdp refuses, and a datapath that is not there', async () => {
  const fails = (...args: string[]) => execFileP(ovsdp, args).then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => e);
  const usage = await fails('ct-set-limits', 'zone=70000,limit=1');
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /bad zone "70000" in "zone=70000,limit=1" \(want 0-65535\)/);
  const missing = await fails('ct-get-limits', `nosuch${tag}`);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no datapath named nosuch/);
});
