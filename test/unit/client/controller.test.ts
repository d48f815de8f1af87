/**
 * The controller without a kernel: its megaflow UFIDs (one per megaflow, whatever else the
 * keys under it carry), and the miss path against a fake socket (the requests' bytes,
 * duplicates, refusals).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Controller, type InstalledFlow, megaflowUfid } from '../../../src/client/controller.js';
import type { OvsConnection } from '../../../src/client/connection.js';
import { type Upcall, type UpcallListener, decodeUpcall } from '../../../src/client/upcalls.js';
import { NetlinkError, errnoNumber } from '../../../src/nl/errors.js';
import { genlRequest } from '../../../src/nl/family.js';
import { NLM_F_CREATE, NLM_F_REQUEST, type NetlinkMessage, encodeGenlRequest, parseMessages } from '../../../src/nl/message.js';
import type { AttrValues } from '../../../src/nl/schema.js';
import { flowFamily } from '../../../src/ovs/flow.js';
import { packetFamily } from '../../../src/ovs/packet.js';
import { parseRules, ruleTrail } from '../../../src/ovs/openflow/rules.js';
import { udpFrame } from '../../frames.js';
import { answersOf } from './fake-batches.js';

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
  // As before the hash of the mask was kept per translation: a restarted controller names
  // the flows an older one installed as it did.
  assert.equal(u.toString('hex'), '208a1f4f890d900e112dda70488334ef');
  assert.deepEqual(megaflowUfid(key(1000, '10.9.9.9'), mask), u, 'ipv4_src is not under the mask');
  assert.notDeepEqual(megaflowUfid(key(1001), mask), u, 'udp_src is');
  assert.notDeepEqual(megaflowUfid(key(1000, '10.0.0.1', 2), mask), u, 'in_port is');
  const wider: AttrValues = { ...mask, udp: { udp_src: 0xfff0, udp_dst: 0 } };
  assert.notDeepEqual(megaflowUfid(key(1000), wider), u, 'another mask, another megaflow');
  assert.deepEqual(megaflowUfid(key(1001), wider), megaflowUfid(key(1002), wider));
});

const FLOW_ID = 0x23;
const PACKET_ID = 0x22;
const DP = { name: 'dp0', ifindex: 7 };
const RULES = 'in_port=1,udp,actions=mod_tp_src:5000,output:2\n';

/** A miss upcall as the listener decodes it from the kernel's message. */
function miss(sport: number): Upcall {
  const k = key(sport);
  const packet = udpFrame('02:00:00:00:00:01', '02:00:00:00:00:02', '10.0.0.1', '10.0.0.2', sport, 53);
  const bytes = encodeGenlRequest(genlRequest(packetFamily, PACKET_ID, 'miss', { header: { dp_ifindex: DP.ifindex }, attrs: { packet, key: k } }), 0);
  return decodeUpcall(parseMessages(bytes)[0]!, DP.name, 99);
}

/**
 * Runs a controller over `batches` of upcalls against a fake socket whose answer to each
 * request is `answer`'s (undefined: it succeeded); returns each sendmsg's messages.
 */
async function runMisses(batches: Upcall[][], answer: (msg: NetlinkMessage) => NetlinkError | undefined = () => undefined, rules = parseRules(RULES)) {
  const sendmsgs: NetlinkMessage[][] = [];
  const socket = {
    sendMessagesAtOnce: async (messages: Buffer, count: number) => {
      const msgs = parseMessages(Buffer.from(messages));
      assert.equal(msgs.length, count);
      sendmsgs.push(msgs);
      await new Promise((r) => setImmediate(r));
      return answersOf(msgs.map(answer));
    },
  };
  const conn = {
    socket,
    family: async (spec: { name: string }) => ({ id: spec.name === 'ovs_flow' ? FLOW_ID : PACKET_ID, name: spec.name, version: 1, hdrsize: 4, maxattr: 12, groups: [] }),
  } as unknown as OvsConnection;
  const listener = {
    on: () => listener,
    async *batches() {
      yield* batches;
    },
  } as unknown as UpcallListener;
  const make = Controller as unknown as new (...args: unknown[]) => Controller;
  const c = new make(conn, conn, DP, listener, rules, RULES, 'rules', 600_000);
  const installs: InstalledFlow[] = [];
  const failures: [Error, string][] = [];
  c.on('install', (f) => installs.push(f));
  c.on('failure', (err, what) => failures.push([err, what]));
  await (c as unknown as { serve(): Promise<void> }).serve();
  return { c, sendmsgs, installs, failures };
}

/** A request as the codec encodes it from values, as the kernel would get it. */
function encoded(family: number, spec: typeof flowFamily, command: string, flags: number, attrs: AttrValues): Buffer {
  return encodeGenlRequest(genlRequest(spec, family, command, { flags: flags | NLM_F_REQUEST, header: { dp_ifindex: DP.ifindex }, attrs }), 0);
}

function bytesOf(m: NetlinkMessage): Buffer {
  const b = Buffer.alloc(16 + m.payload.length);
  b.writeUInt32LE(b.length, 0);
  b.writeUInt16LE(m.type, 4);
  b.writeUInt16LE(m.flags, 6);
  m.payload.copy(b, 16);
  return b;
}

test('controller misses: a put of the megaflow and an execute of the packet, as the codec encodes them; one put per megaflow of a batch', async () => {
  const ups = [miss(1000), miss(1001), miss(1000)];
  const { c, sendmsgs, installs, failures } = await runMisses([ups]);
  assert.deepEqual(failures, []);
  assert.equal(sendmsgs.length, 1);
  const [m] = sendmsgs;
  assert.deepEqual(m!.map((x) => x.type), [FLOW_ID, PACKET_ID, FLOW_ID, PACKET_ID, PACKET_ID], 'the repeated megaflow is put once');
  assert.equal(installs.length, 2);
  const [put0, exec0, put1, , exec2] = m!;
  for (const [i, put] of [[0, put0], [1, put1]] as const) {
    const f = installs[i]!.flow;
    assert.deepEqual(f.ufid, megaflowUfid(ups[i]!.key, f.mask!));
    assert.equal(installs[i]!.upcall, ups[i]);
    assert.deepEqual(bytesOf(put!), encoded(FLOW_ID, flowFamily, 'new', NLM_F_CREATE, { ufid: f.ufid, key: ups[i]!.key, mask: f.mask!, actions: f.actions! }));
  }
  const actions = installs[0]!.flow.actions!;
  assert.deepEqual(bytesOf(exec0!), encoded(PACKET_ID, packetFamily, 'execute', 0, { packet: ups[0]!.packet, key: ups[0]!.key, actions }));
  assert.deepEqual(bytesOf(exec2!), encoded(PACKET_ID, packetFamily, 'execute', 0, { packet: ups[2]!.packet, key: ups[2]!.key, actions }));
  assert.deepEqual({ ...c.stats(), reloads: 0 }, { misses: 3, installed: 2, existing: 0, executed: 3, errors: 0, expired: 0, reloads: 0, kept: 0, modified: 0, deleted: 0 });
});

test('controller misses: 64 upcalls a sendmsg; a flow already there counts as existing, other refusals are reported', async () => {
  const eexist = new NetlinkError(errnoNumber('EEXIST')!, 'ovs_flow new failed: File exists', { operation: { family: 'ovs_flow', command: 'new' } });
  const einval = new NetlinkError(errnoNumber('EINVAL')!, 'ovs_packet execute failed: Invalid argument', { operation: { family: 'ovs_packet', command: 'execute' } });
  let n = 0;
  const { c, sendmsgs, installs, failures } = await runMisses([Array.from({ length: 130 }, (_, i) => miss(2000 + i))], () => {
    n++;
    // The 3rd put (request 5) is there already; the 5th execute (request 10) is refused.
    return n === 5 ? eexist : n === 10 ? einval : undefined;
  });
  assert.deepEqual(sendmsgs.map((m) => m.length), [128, 128, 4]);
  assert.equal(installs.length, 129);
  assert.equal(failures.length, 1);
  assert.equal(failures[0]![1], 'executing a packet');
  assert.match(failures[0]![0].message, /refused to execute the packet in dp0/);
  const s = c.stats();
  assert.deepEqual([s.misses, s.installed, s.existing, s.executed, s.errors], [130, 129, 1, 129, 1]);
});

test('controller misses: a megaflow put in one batch is put again in the next (the kernel answers EEXIST: existing)', async () => {
  const eexist = new NetlinkError(errnoNumber('EEXIST')!, 'ovs_flow new failed: File exists', { operation: { family: 'ovs_flow', command: 'new' } });
  let puts = 0;
  const { c, sendmsgs, installs } = await runMisses([[miss(1000), miss(1000)], [miss(1000)]], (m) => (m.type === FLOW_ID && puts++ > 0 ? eexist : undefined));
  assert.deepEqual(sendmsgs.map((m) => m.map((x) => x.type)), [[FLOW_ID, PACKET_ID, PACKET_ID], [FLOW_ID, PACKET_ID]]);
  assert.equal(installs.length, 1);
  const s = c.stats();
  assert.deepEqual([s.misses, s.installed, s.existing, s.executed, s.errors], [3, 1, 1, 3, 0]);
});

test('the rules that made a flow: repeats in a row (a resubmit loop) named once with a count', () => {
  assert.equal(ruleTrail('x.rules', [3, 4, 4, 4]), 'x.rules:3 x.rules:4 (x3)');
  assert.equal(ruleTrail('x.rules', [1, 2, 1]), 'x.rules:1 x.rules:2 x.rules:1');
  assert.equal(ruleTrail('x.rules', []), 'no rule: drop');
});

test('controller misses: actions the kernel would refuse are neither put nor executed; one error a megaflow, naming the rule', async () => {
  // The rules file's parser refuses this (as ovs-vswitchd does); a Rule made otherwise is still checked.
  const rules = parseRules('priority=10,in_port=1,udp,actions=ct(commit,zone=1,nat(src=10.1.1.240)),output:2\n');
  delete (rules[0]!.actions[0] as { ct: Record<string, unknown> }).ct['commit'];
  // Two misses of one megaflow (the rule reads no port), then one more in the next batch.
  const { c, sendmsgs, failures } = await runMisses([[miss(1000), miss(1001)], [miss(1002)]], undefined, rules);
  assert.deepEqual(sendmsgs, []);
  assert.equal(failures.length, 2);
  assert.match(failures[0]![1], /^installing a flow for a miss from port 1 \[rules:1\]$/);
  assert.match(failures[0]![0].message, /needs commit: .* write ct\(commit,zone=1,nat\(src=10\.1\.1\.240\)\)/);
  const s = c.stats();
  assert.deepEqual([s.misses, s.installed, s.executed, s.errors], [3, 0, 0, 2]);
});
