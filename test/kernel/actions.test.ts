// Action lists against the real kernel: what parseActions() builds is accepted, comes
// back unchanged, prints as ovs-dpctl prints it; and the actions ovs-dpctl 3.1 does not
// know (kernel 6.12's drop and psample, dec_ttl, ct eventmask) work through us.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { release } from 'node:os';
import { promisify } from 'node:util';
import { OvsConnection } from '../../src/client/connection.js';
import { createDatapath, deleteDatapath } from '../../src/client/datapaths.js';
import { FlowTable } from '../../src/client/flows.js';
import { formatActions, parseActions } from '../../src/ovs/flowstr/actions.js';
import { parseKey } from '../../src/ovs/flowstr/keys.js';

const execFileP = promisify(execFile);

/** An IPv4/TCP flow key; the TCP source port tells the flows apart. */
function keyText(n: number): string {
  return 'in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),'
    + `ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no),tcp(src=${n},dst=2),tcp_flags(0)`;
}

/** Installs each action list on its own flow; returns what the kernel gives back and what ovs-dpctl prints. */
async function roundTrip(dpName: string, lists: readonly string[]): Promise<Array<{ ours: string; dpctl: string }>> {
  const conn = new OvsConnection();
  await deleteDatapath(conn, dpName).catch(() => undefined);
  const table = new FlowTable(conn, await createDatapath(conn, dpName));
  try {
    const out: Array<{ ours: string; dpctl: string }> = [];
    for (const [i, text] of lists.entries()) {
      const { key, mask } = parseKey(keyText(i + 1));
      await table.put({ key, mask, actions: parseActions(text) });
      out.push({ ours: formatActions((await table.get({ key })).actions ?? []), dpctl: '' });
    }
    const { stdout } = await execFileP('ovs-dpctl', ['dump-flows', `system@${dpName}`]);
    for (const line of stdout.split('\n')) {
      const n = /tcp\(src=(\d+)/.exec(line);
      if (n) out[Number(n[1]) - 1]!.dpctl = line.slice(line.indexOf('actions:') + 'actions:'.length);
    }
    return out;
  } finally {
    table.close();
    await deleteDatapath(conn, dpName).catch(() => undefined);
    conn.close();
  }
}

test('action lists come back from the kernel as sent and print as ovs-dpctl prints them', async () => {
  const lists = [
    'drop',
    '1,2,3',
    'ct(commit,zone=1,nat(src=10.1.1.240-10.1.1.255)),2',
    'ct(commit,nat(src=10.1.1.240-10.1.1.255:32768-65535,persistent,hash))',
    'ct(commit,mark=0x5/0xff,label=0x1234567890abcdef1122334455667788/0xffff,timeout=t1)',
    'ct(force_commit,zone=5),recirc(0x1)',
    'ct_clear,push_vlan(vid=10,pcp=3),pop_vlan,trunc(100),2',
    'meter(3),sample(sample=50.0%,actions(2,ct_clear))',
    'clone(clone(2)),check_pkt_len(size=200,gt(drop),le(3))',
    'userspace(pid=1,userdata(0102030400000000),actions,tunnel_out_port=3)',
    'userspace(pid=1,flow_sample(probability=100,collector_set_id=1,obs_domain_id=2,obs_point_id=3,output_port=4,ingress))',
    'userspace(pid=1,controller(reason=1,dont_send=0,continuation=0,recirc_id=2,rule_cookie=0x3,controller_id=4,max_len=5))',
    'set(ipv4(src=1.2.3.4,dst=5.6.7.8,proto=6,tos=0,ttl=64,frag=no)),set(ipv4(ttl=9)),set(tcp(src=80))',
    'set(eth(src=00:00:00:00:00:05)),set(skb_mark(0x5))',
    'push_nsh(flags=0,ttl=63,mdtype=1,np=3,spi=0x100,si=255,c1=0x1,c2=0x2,c3=0x3,c4=0x4)',
    'hash(l4(0)),recirc(0x1)',
    'push_mpls(label=10,tc=0,ttl=64,bos=1,eth_type=0x8847)',
    'add_mpls(label=10,tc=1,ttl=64,bos=1,eth_type=0x8847)',
    'pop_eth',
  ];
  for (const [i, got] of (await roundTrip('act-same', lists)).entries()) {
    assert.equal(got.ours, lists[i], lists[i]);
    assert.equal(got.dpctl, lists[i], lists[i]);
  }
});

test('kernel 6.12 actions ovs-dpctl 3.1 misreads: drop(N), psample, dec_ttl, ct eventmask', { skip: !/^6\.(1[2-9]|[2-9][0-9])/.test(release()) }, async () => {
  const lists = [
    '2,drop(7)',
    'clone(drop(0))',
    'psample(group=1,cookie=0x0102)',
    'dec_ttl(le_1(2))',
    'ct(commit,eventmask=0x1)',
    'add_mpls(label=10,tc=1,ttl=64,bos=1,eth_type=0x8847,tun_flags=0x1)',
  ];
  const got = await roundTrip('act-new', lists);
  assert.deepEqual(got.map((g) => g.ours), lists);
  // ovs-dpctl 3.1 numbers its userspace-only actions 23..26 over the kernel's: it takes
  // drop (24) for its tnl_pop and psample (25) for its own 4-byte drop, and drops
  // what it does not know of ct and add_mpls.
  assert.equal(got[0]!.dpctl, '2,tnl_pop(7)');
  assert.equal(got[1]!.dpctl, 'clone(tnl_pop(0))');
  assert.equal(got[2]!.dpctl, 'bad length 16, expected 4 for: action25(08 00 01 00 01 00 00 00 06 00 02 00 01 02 00 00)');
  assert.match(got[3]!.dpctl, /^tnl_push\(/); // dec_ttl (23) read as its tunnel push header: garbage
  assert.equal(got[4]!.dpctl, 'ct(commit)');
  assert.equal(got[5]!.dpctl, 'add_mpls(label=10,tc=1,ttl=64,bos=1,eth_type=0x8847)');
});
