// The netlink layer against the real kernel: family resolution, errors, dumps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { OvsConnection } from '../../src/client/connection.js';
import { NetlinkError } from '../../src/nl/errors.js';
import { resolveFamily } from '../../src/nl/family.js';
import { datapathFamily } from '../../src/ovs/datapath.js';

const execFileP = promisify(execFile);
const ovsdp = fileURLToPath(new URL('../../../bin/ovsdp', import.meta.url));

test('the four OVS families resolve, with ids, versions and multicast groups', async () => {
  const conn = new OvsConnection();
  try {
    for (const name of ['ovs_datapath', 'ovs_vport', 'ovs_flow', 'ovs_packet']) {
      const info = await resolveFamily(conn.socket, name);
      assert.equal(info.name, name);
      assert.ok(info.id > 0x10, `${name} has a dynamic id`);
      assert.ok(info.version >= 1);
      if (name !== 'ovs_packet') assert.deepEqual(info.groups.map((g) => g.name), [name]);
    }
    // Cached: the same promise answers the second time.
    assert.equal(resolveFamily(conn.socket, 'ovs_flow'), resolveFamily(conn.socket, 'ovs_flow'));
  } finally {
    conn.close();
  }
});

test('a missing OVS family says the module is not loaded', async () => {
  const conn = new OvsConnection();
  try {
    await assert.rejects(
      conn.family({ ...datapathFamily, name: 'ovs_nosuchfam' }),
      (err: unknown) => err instanceof NetlinkError && err.code === 'ENOENT' && /openvswitch kernel module is not loaded \(try: modprobe openvswitch\)/.test(err.message),
    );
  } finally {
    conn.close();
  }
});

test('a family dump spans many messages', async () => {
  const conn = new OvsConnection();
  try {
    const families = await conn.families();
    assert.ok(families.length >= 6, `got ${families.length} families`);
    for (const n of ['nlctrl', 'ovs_datapath', 'ovs_vport', 'ovs_flow', 'ovs_packet']) assert.ok(families.some((f) => f.name === n), n);
  } finally {
    conn.close();
  }
});

test('a datapath dump spans several messages', async () => {
  const conn = new OvsConnection();
  const names = Array.from({ length: 5 }, (_, i) => `fdump${i}`);
  try {
    for (const name of names) {
      await conn.request(datapathFamily, 'new', { attrs: { name, upcall_pid: 0 }, context: { datapath: name } });
    }
    const seen: string[] = [];
    for await (const dp of conn.dump(datapathFamily, 'get')) seen.push(dp.attrs['name'] as string);
    for (const name of names) assert.ok(seen.includes(name), `${name} in ${seen.join(',')}`);
  } finally {
    for (const name of names) await conn.request(datapathFamily, 'del', { attrs: { name } }).catch(() => undefined);
    conn.close();
  }
});

test('an unknown datapath gets a message naming it', async () => {
  const conn = new OvsConnection();
  try {
    await assert.rejects(
      conn.request(datapathFamily, 'get', { attrs: { name: 'nosuchdp' }, context: { datapath: 'nosuchdp' } }),
      (err: unknown) => err instanceof NetlinkError && err.message === 'no datapath named nosuchdp',
    );
  } finally {
    conn.close();
  }
});

test('an unprivileged user is told it needs CAP_NET_ADMIN', async () => {
  const script = `
    import { OvsConnection } from ${JSON.stringify(new URL('../../src/client/connection.js', import.meta.url).href)};
    import { datapathFamily } from ${JSON.stringify(new URL('../../src/ovs/datapath.js', import.meta.url).href)};
    const conn = new OvsConnection();
    try { await conn.request(datapathFamily, 'new', { attrs: { name: 'eperm0', upcall_pid: 0 } }); console.log('created'); }
    catch (e) { console.log(e.code, e.message); }
    finally { conn.close(); }`;
  const { stdout } = await execFileP('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, '--input-type=module', '-e', script]);
  assert.match(stdout, /^EPERM .*needs CAP_NET_ADMIN \(run as root\)/);
});

test('ovsdp families lists the OVS families, as text and as JSON', async () => {
  const text = (await execFileP(ovsdp, ['families'])).stdout;
  for (const n of ['ovs_datapath', 'ovs_vport', 'ovs_flow', 'ovs_packet']) assert.match(text, new RegExp(`^${n}\\s+\\d+\\s+\\d+`, 'm'));
  const json = JSON.parse((await execFileP(ovsdp, ['families', '--json'])).stdout) as { name: string; id: number; version: number; groups: unknown[] }[];
  assert.deepEqual(json.map((f) => f.name).filter((n) => n.startsWith('ovs_')).sort(), ['ovs_ct_limit', 'ovs_datapath', 'ovs_flow', 'ovs_meter', 'ovs_packet', 'ovs_vport']);
});
