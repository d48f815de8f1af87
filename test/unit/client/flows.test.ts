import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OvsConnection } from '../../../src/client/connection.js';
import {
  type FlowOp, FlowTable, flowFromMessage, flowPayloads, putAttrs,
} from '../../../src/client/flows.js';
import { NetlinkError, errnoNumber } from '../../../src/nl/errors.js';
import { decodeGenlMessage } from '../../../src/nl/family.js';
import { type GenlRequest, NLM_F_CREATE, parseGenlHeader } from '../../../src/nl/message.js';
import { DumpInterruptedError, type RequestResult } from '../../../src/nl/socket.js';
import { answersOf, bulkConnection, requestsOfMessages } from './fake-batches.js';
import { decodeAttrs } from '../../../src/nl/codec.js';
import { flowAttrs, flowFamily } from '../../../src/ovs/flow.js';

const key = { in_port: 1, ethertype: 0x0806, arp: { arp_sip: '10.0.0.1', arp_tip: '10.0.0.2', arp_op: 1 } };

test('a put carries UFID, key, mask (when not empty), actions (always) and clear, in ovs-dpctl\'s order', () => {
  const ufid = Buffer.alloc(16, 1);
  assert.deepEqual(Object.keys(putAttrs({ key, mask: { in_port: 0xffffffff }, ufid, actions: [{ output: 2 }] }, true)), ['ufid', 'key', 'mask', 'actions', 'clear']);
  assert.deepEqual(putAttrs({ key, mask: {} }), { key, actions: [] });
});

test('payloads are the nested attributes\' contents', () => {
  const p = flowPayloads({ key: { in_port: 1 }, mask: { in_port: 0xffffffff }, actions: [{ output: 2 }] });
  const le = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b.toString('hex'); };
  assert.equal(p.key.toString('hex'), `08000300${le(1)}`);
  assert.equal(p.mask!.toString('hex'), '08000300ffffffff');
  assert.equal(p.actions!.toString('hex'), `08000100${le(2)}`);
  const q = flowPayloads({ key: { in_port: 1 } }, false);
  assert.equal(q.mask, undefined);
  assert.equal(q.actions, undefined);
  assert.equal(flowPayloads({ key: { in_port: 1 } }).actions!.length, 0);
});

test('a flow reply becomes a Flow: stats, used (never when absent or 0), tcp flags, unknown attributes', () => {
  const flow = flowFromMessage({
    cmd: 'new', cmdId: 1, version: 1, header: { dp_ifindex: 5 },
    attrs: { key, actions: [{ output: 2 }], stats: { n_packets: 3n, n_bytes: 180n }, used: 12345n, tcp_flags: 0x12, '#99': { type: 99, raw: Buffer.from('ab', 'hex') } },
  });
  assert.deepEqual(flow.stats, { packets: 3n, bytes: 180n });
  assert.equal(flow.used, 12345n);
  assert.equal(flow.tcpFlags, 0x12);
  assert.deepEqual(Object.keys(flow.unknown!), ['#99']);
  // A decoded message says whether it has any (unknownKept); false: not looked for.
  assert.equal(flowFromMessage({ cmd: 'new', cmdId: 1, version: 1, header: {}, attrs: { key, '#99': { type: 99, raw: Buffer.alloc(0) } }, unknownKept: true }).unknown?.['#99']?.type, 99);
  assert.equal(flowFromMessage({ cmd: 'new', cmdId: 1, version: 1, header: {}, attrs: { key }, unknownKept: false }).unknown, undefined);
  const idle = flowFromMessage({ cmd: 'new', cmdId: 1, version: 1, header: {}, attrs: { key, used: 0n } });
  assert.equal(idle.used, undefined);
  assert.deepEqual(idle.stats, { packets: 0n, bytes: 0n });
});

/** A connection that answers batches from a function and records them. */
function fakeConnection(answer: (req: GenlRequest) => NetlinkError | undefined) {
  const batches: GenlRequest[][] = [];
  let inflight = 0;
  let maxInflight = 0;
  const batch = async (reqs: readonly GenlRequest[]): Promise<RequestResult[]> => {
    batches.push([...reqs]);
    inflight++;
    maxInflight = Math.max(maxInflight, inflight);
    await new Promise((r) => setTimeout(r, 1));
    inflight--;
    return reqs.map((r) => {
      const error = answer(r);
      return error ? { replies: [], error } : { replies: [] };
    });
  };
  const conn = bulkConnection(async (messages) => answersOf((await batch(requestsOfMessages(messages))).map((r) => r.error)), { batch });
  return { conn, batches, maxInflight: () => maxInflight };
}

function requestAttrs(req: GenlRequest) {
  // fixedHeader holds the 4-byte ovs_header and then the encoded attributes.
  return decodeAttrs(flowAttrs, req.fixedHeader!, 4);
}

test('operate: batches, a bounded window, results in input order, each failure its own', async () => {
  const eexist = errnoNumber('EEXIST')!;
  const { conn, batches, maxInflight } = fakeConnection((req) => {
    const port = (requestAttrs(req)['key'] as { in_port: number }).in_port;
    return port % 7 === 0 ? new NetlinkError(eexist, 'ovs_flow new failed: File exists', { operation: { family: 'ovs_flow', command: 'new' } }) : undefined;
  });
  const table = new FlowTable(conn, { name: 'dp0', ifindex: 5 }, { kernelLog: false });
  const items = Array.from({ length: 100 }, (_, i) => i);
  const toOp = (i: number): FlowOp => {
    if (i === 50) throw new Error('bad line');
    // in_port 0x1_0000_0000 does not fit: fails alone, at encoding.
    if (i === 60) return { kind: 'put', flow: { key: { in_port: 0x100000000, ethertype: 0x88cc } } };
    return { kind: 'put', flow: { key: { in_port: i, ethertype: 0x88cc } }, mode: 'create' };
  };
  const results = [];
  for await (const r of table.operate(items, toOp, { batchSize: 8, window: 3 })) results.push(r);
  assert.deepEqual(results.map((r) => r.item), items);
  const failed = results.filter((r) => r.error).map((r) => r.item);
  assert.deepEqual(failed, [0, 7, 14, 21, 28, 35, 42, 49, 50, 56, 60, 63, 70, 77, 84, 91, 98]);
  assert.match(results[7]!.error!.message, /a flow with this key already exists in dp0/);
  assert.equal(results[50]!.error!.message, 'bad line');
  assert.match(results[60]!.error!.message, /does not fit in u32/);
  assert.equal(batches.flat().length, 98);
  assert.ok(batches.every((b) => b.length <= 8));
  assert.ok(maxInflight() <= 3, `window respected (${maxInflight()})`);
  const first = batches[0]![0]!;
  assert.equal(parseGenlHeader(Buffer.concat([Buffer.from([first.cmd, first.version, 0, 0])])).cmd, flowFamily.commands['new']);
  assert.equal(first.flags, NLM_F_CREATE);
  assert.equal(first.fixedHeader!.readInt32LE(0), 5);
});

test('put modes map to ovs-dpctl\'s commands and flags', async () => {
  const seen: GenlRequest[] = [];
  const { conn } = fakeConnection((req) => { seen.push(req); return undefined; });
  const table = new FlowTable(conn, { name: 'dp0', ifindex: 5 }, { kernelLog: false });
  const ops: FlowOp[] = [
    { kind: 'put', flow: { key: { in_port: 1, ethertype: 0x88cc } }, mode: 'create' },
    { kind: 'put', flow: { key: { in_port: 1, ethertype: 0x88cc } }, mode: 'modify', clear: true },
    { kind: 'put', flow: { key: { in_port: 1, ethertype: 0x88cc } }, mode: 'upsert' },
    { kind: 'del', target: { key: { in_port: 1, ethertype: 0x88cc } } },
  ];
  for await (const r of table.operate(ops, (op) => op)) assert.equal(r.error, undefined);
  assert.deepEqual(seen.map((r) => [r.cmd, r.flags]), [[1, NLM_F_CREATE], [4, 0], [1, 0], [2, 0]]);
  assert.equal(requestAttrs(seen[1]!)['clear'], true);
  assert.deepEqual(Object.keys(requestAttrs(seen[3]!)), ['key']);
  // A decoded request is a valid ovs_flow message.
  assert.ok(decodeGenlMessage);
});

test('a flow the kernel would refuse fails before it is sent', async () => {
  const { conn, batches } = fakeConnection(() => undefined);
  const table = new FlowTable(conn, { name: 'dp0', ifindex: 5 }, { kernelLog: false });
  const flows = [{ key: { ethertype: 0x0800, ipv4: { ipv4_proto: 6 }, tcp: { tcp_dst: 80 } } }];
  const results = [];
  for await (const r of table.putMany(flows)) results.push(r);
  const [r] = results;
  assert.match(r!.error!.message, /lacks tcp_flags/);
  assert.equal(batches.length, 0);
});

test('list() retries a dump the kernel flags as interrupted; dump() surfaces it', async () => {
  let dumps = 0;
  const flowMsg = { cmd: 'new', cmdId: 1, version: 1, header: { dp_ifindex: 5 }, attrs: { key: { in_port: 1 } } };
  const conn = {
    dumpBatches: async function* () {
      dumps++;
      yield [flowMsg];
      if (dumps === 1) throw new DumpInterruptedError();
    },
  } as unknown as OvsConnection;
  const table = new FlowTable(conn, { name: 'dp0', ifindex: 5 }, { kernelLog: false });
  assert.equal((await table.list()).length, 1);
  assert.equal(dumps, 2);
  dumps = 0;
  const seen = [];
  await assert.rejects(async () => { for await (const f of table.dump()) seen.push(f); }, DumpInterruptedError);
  assert.equal(seen.length, 1);
});
