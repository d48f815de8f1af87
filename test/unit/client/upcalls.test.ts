/**
 * Upcalls without a kernel: decoding miss and action messages as the kernel builds them,
 * refusing what is not an upcall, the CPU-id count, /proc/net/netlink drop counts, the
 * execute request's attributes, and the CLI's renderings.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { executeAttrs } from '../../../src/client/packets.js';
import { decodeUpcall, possibleCpuSlots } from '../../../src/client/upcalls.js';
import { packetArg } from '../../../src/cli/execute.js';
import { statsLine, upcallJSON, upcallLine } from '../../../src/cli/upcalls.js';
import { encodeAttrs } from '../../../src/nl/codec.js';
import { genlRequest } from '../../../src/nl/family.js';
import { encodeGenlRequest, parseMessages, type NetlinkMessage } from '../../../src/nl/message.js';
import { parseProcNetlink } from '../../../src/nl/overrun.js';
import type { AttrValues } from '../../../src/nl/schema.js';
import { flowKeyAttrs } from '../../../src/ovs/keys.js';
import { packetFamily } from '../../../src/ovs/packet.js';
import { udpFrame } from '../../frames.js';

const FAMILY_ID = 0x22;
const frame = udpFrame('02:00:00:00:00:01', '02:00:00:00:00:02', '10.0.0.1', '10.0.0.2', 1000, 53);
const key: AttrValues = {
  recirc_id: 0, dp_hash: 0, priority: 0, in_port: 3, skb_mark: 0, ct_state: 0, ct_zone: 0, ct_mark: 0,
  ct_labels: Buffer.alloc(16), ethernet: { eth_src: '02:00:00:00:00:01', eth_dst: '02:00:00:00:00:02' }, ethertype: 0x0800,
  ipv4: { ipv4_src: '10.0.0.1', ipv4_dst: '10.0.0.2', ipv4_proto: 17, ipv4_tos: 0, ipv4_ttl: 64, ipv4_frag: 0 },
  udp: { udp_src: 1000, udp_dst: 53 },
};

/** An upcall as the kernel sends it: seq 0, port id 0, ovs_header, the attributes. */
function upcallMessage(cmd: string, attrs: AttrValues, ifindex = 7): NetlinkMessage {
  const req = genlRequest(packetFamily, FAMILY_ID, cmd, { header: { dp_ifindex: ifindex }, attrs });
  const [msg] = parseMessages(encodeGenlRequest(req, 0));
  return msg!;
}

test('a miss decodes to its datapath, in_port, key and packet', () => {
  const up = decodeUpcall(upcallMessage('miss', { key, packet: frame }), 'dp0', 1234);
  assert.equal(up.cmd, 'miss');
  assert.deepEqual(up.datapath, { name: 'dp0', ifindex: 7 });
  assert.equal(up.inPort, 3);
  assert.deepEqual(up.key, key);
  assert.deepEqual(up.packet, frame);
  assert.equal(up.handlerPid, 1234);
  assert.deepEqual(up.keyBytes, encodeAttrs(flowKeyAttrs, key), 'the key as encoded in the message');
  assert.deepEqual(Object.keys(up).sort(), ['cmd', 'datapath', 'handlerPid', 'inPort', 'key', 'keyBytes', 'packet']);
});

test('an action upcall carries userdata, actions, egress tunnel, mru, len and hash', () => {
  const attrs: AttrValues = {
    key, userdata: Buffer.from('cookie'), actions: [{ output: 2 }, { userspace: { pid: 9 } }],
    egress_tun_key: { ipv4_dst: '192.168.0.1', ttl: 64 }, mru: 1400, len: 1500, hash: (1n << 32n) | 0xabcdn, packet: frame,
  };
  const up = decodeUpcall(upcallMessage('action', attrs), 'dp0', 1);
  assert.equal(up.cmd, 'action');
  assert.deepEqual(up.userdata, Buffer.from('cookie'));
  assert.deepEqual(up.actions, [{ output: 2 }, { userspace: { pid: 9 } }]);
  assert.deepEqual(up.egressTunKey, { ipv4_dst: '192.168.0.1', ttl: 64 });
  assert.equal(up.mru, 1400);
  assert.equal(up.len, 1500);
  assert.equal(up.hash, (1n << 32n) | 0xabcdn);
});

test('what is not an upcall is refused: execute, no packet, no key, bytes that do not parse', () => {
  assert.throws(() => decodeUpcall(upcallMessage('execute', { key, packet: frame, actions: [] }), 'dp0', 1), /not an upcall/);
  assert.throws(() => decodeUpcall(upcallMessage('miss', { key }), 'dp0', 1), /without a packet/);
  assert.throws(() => decodeUpcall(upcallMessage('miss', { packet: frame }), 'dp0', 1), /without a flow key/);
  const msg = upcallMessage('miss', { key, packet: frame });
  assert.throws(() => decodeUpcall({ ...msg, payload: msg.payload.subarray(0, 6) }, 'dp0', 1));
  const cut = Buffer.from(msg.payload);
  cut.writeUInt16LE(0xffff, 8); // the first attribute claims more bytes than there are
  assert.throws(() => decodeUpcall({ ...msg, payload: cut }, 'dp0', 1));
});

test('possible CPU ids: the highest id + 1, gaps included', () => {
  assert.equal(possibleCpuSlots('0\n'), 1);
  assert.equal(possibleCpuSlots('0-1\n'), 2);
  assert.equal(possibleCpuSlots('0-3,8-11\n'), 12);
  assert.equal(possibleCpuSlots('0,2,5'), 6);
  assert.ok(possibleCpuSlots('') >= 1);
  assert.ok(possibleCpuSlots() >= 1);
});

test('/proc/net/netlink rows: port id, protocol, drops, inode by the header\'s columns', () => {
  const text = [
    'sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode',
    '00000000d0a1e3c2 0   4026531    00000000 0        0        0     2        0        12345',
    '0000000088f4e2b1 16  150995137  00000000 18432    0        0     2        1690     67890',
    '',
  ].join('\n');
  assert.deepEqual(parseProcNetlink(text), [
    { protocol: 0, portId: 4026531, drops: 0, inode: 12345 },
    { protocol: 16, portId: 150995137, drops: 1690, inode: 67890 },
  ]);
  assert.deepEqual(parseProcNetlink('nonsense\n1 2 3'), []);
});

test('execute sends PACKET, KEY (empty by default), ACTIONS, then PROBE, MRU, HASH as set', () => {
  assert.deepEqual(Object.keys(executeAttrs({ packet: frame, actions: [] })), ['packet', 'key', 'actions']);
  assert.deepEqual(executeAttrs({ packet: frame, actions: [] }).key, {});
  assert.deepEqual(Object.keys(executeAttrs({ packet: frame, actions: [{ output: 1 }], key: { in_port: 1 }, probe: true, mru: 1400, hash: 5n })), ['packet', 'key', 'actions', 'probe', 'mru', 'hash']);
});

test('PACKET_HEX: hex with or without separators and 0x; anything else is a usage error', () => {
  assert.deepEqual(packetArg('0x0a0B'), Buffer.from([0x0a, 0x0b]));
  assert.deepEqual(packetArg('0a:0b 0c.0d'), Buffer.from([0x0a, 0x0b, 0x0c, 0x0d]));
  assert.throws(() => packetArg('abc'), /not a packet in hex/);
  assert.throws(() => packetArg('zz'), /not a packet in hex/);
  assert.throws(() => packetArg(''), /empty/);
});

test('ovsdp upcalls lines and JSON', () => {
  const names = new Map([[3, 'veth0']]);
  const miss = decodeUpcall(upcallMessage('miss', { key, packet: frame }), 'dp0', 77);
  const line = upcallLine(miss, names);
  assert.equal(line.split(': ')[0], `miss port 3 (veth0) ${frame.length} bytes`);
  assert.match(line, /: eth 02:00:00:00:00:01->02:00:00:00:00:02 ipv4 10\.0\.0\.1->10\.0\.0\.2 udp 1000->53; key recirc_id\(0\),.*in_port\(veth0\),.*udp\(src=1000,dst=53\)$/);
  const action = decodeUpcall(upcallMessage('action', { key: { ...key, in_port: 9 }, userdata: Buffer.from([1, 2]), len: 900, packet: frame.subarray(0, 20) }), 'dp0', 77);
  assert.match(upcallLine(action, names), /^action port 9 20 bytes \(of 900\) userdata 0x0102: eth .* \(truncated\); key /);
  const json = upcallJSON(miss, names) as Record<string, unknown>;
  assert.equal(json['cmd'], 'miss');
  assert.equal(json['port'], 'veth0');
  assert.equal(json['packet'], frame.toString('hex'));
  assert.equal(json['summary'], 'eth 02:00:00:00:00:01->02:00:00:00:00:02 ipv4 10.0.0.1->10.0.0.2 udp 1000->53');
  assert.match(json['keyText'] as string, /^recirc_id\(0\)/);
  assert.doesNotThrow(() => JSON.stringify(json));
  assert.equal(statsLine({ upcalls: 3, misses: 2, actions: 1, overruns: 5, malformed: 0, dropped: 0, batched: 2 }), '3 upcalls (2 misses, 1 action), 5 lost to full buffers, 0 malformed');
  assert.equal(statsLine({ upcalls: 1, misses: 1, actions: 0, overruns: 0, malformed: 1, dropped: 4, batched: 0 }), '1 upcall (1 miss, 0 actions), 0 lost to full buffers, 1 malformed, 4 dropped while printing fell behind');
});
