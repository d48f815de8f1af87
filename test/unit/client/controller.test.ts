/**
 * The controller's megaflow UFIDs without a kernel: one per megaflow, whatever else the
 * keys under it carry.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { megaflowUfid } from '../../../src/client/controller.js';
import type { AttrValues } from '../../../src/nl/schema.js';

function key(sport: number, src = '10.0.0.1', inPort = 1): AttrValues {
  return {
    recirc_id: 0, dp_hash: 0, priority: 0, in_port: inPort, skb_mark: 0, ct_state: 0, ct_zone: 0, ct_mark: 0,
    ct_labels: Buffer.alloc(16), ethernet: { eth_src: '02:00:00:00:00:01', eth_dst: '02:00:00:00:00:02' }, ethertype: 0x0800,
    ipv4: { ipv4_src: src, ipv4_dst: '10.0.0.2', ipv4_proto: 17, ipv4_tos: 0, ipv4_ttl: 64, ipv4_frag: 0 },
    udp: { udp_src: sport, udp_dst: 53 },
  };
}

const mask: AttrValues = {
  recirc_id: 0xffffffff, in_port: 0xffffffff, ethertype: 0xffff,
  ipv4: { ipv4_src: '0.0.0.0', ipv4_dst: '0.0.0.0', ipv4_proto: 0xff, ipv4_tos: 0, ipv4_ttl: 0, ipv4_frag: 0xff },
  udp: { udp_src: 0xffff, udp_dst: 0 },
};

test('megaflowUfid: keys of one megaflow share it; a masked bit or the mask itself tells megaflows apart', () => {
  const u = megaflowUfid(key(1000), mask);
  assert.equal(u.length, 16);
  assert.deepEqual(megaflowUfid(key(1000, '10.9.9.9'), mask), u, 'ipv4_src is not under the mask');
  assert.notDeepEqual(megaflowUfid(key(1001), mask), u, 'udp_src is');
  assert.notDeepEqual(megaflowUfid(key(1000, '10.0.0.1', 2), mask), u, 'in_port is');
  const wider: AttrValues = { ...mask, udp: { udp_src: 0xfff0, udp_dst: 0 } };
  assert.notDeepEqual(megaflowUfid(key(1000), wider), u, 'another mask, another megaflow');
  assert.deepEqual(megaflowUfid(key(1001), wider), megaflowUfid(key(1002), wider));
});
