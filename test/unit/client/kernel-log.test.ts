import { type TestContext, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OvsConnection } from '../../../src/client/connection.js';
import { type FlowOp, FlowTable } from '../../../src/client/flows.js';
import { KernelLog, openvswitchReasons, parseKmsgRecord } from '../../../src/client/kernel-log.js';
import { execute } from '../../../src/client/packets.js';
import { decodeAttrs } from '../../../src/nl/codec.js';
import { NetlinkError, errnoNumber } from '../../../src/nl/errors.js';
import type { GenlRequest, NetlinkMessage } from '../../../src/nl/message.js';
import type { IndexedResult } from '../../../src/nl/socket.js';
import { flowAttrs } from '../../../src/ovs/flow.js';
import { answersOf, bulkConnection, requestsOfMessages } from './fake-batches.js';

test('a /dev/kmsg record parses into sequence, time and message', () => {
  const r = parseKmsgRecord('6,1234,5678901,-;openvswitch: netlink: Missing key (keys=40, expected=200)\n SUBSYSTEM=net\n');
  assert.deepEqual(r, { seq: 1234, usec: 5678901, message: 'openvswitch: netlink: Missing key (keys=40, expected=200)' });
  assert.equal(parseKmsgRecord('garbage'), undefined);
  assert.equal(parseKmsgRecord('6,x,1,-;text'), undefined);
});

test('only the openvswitch module\'s lines count as reasons', () => {
  const records = [
    { seq: 1, usec: 1, message: 'eth0: link up' },
    { seq: 2, usec: 2, message: 'openvswitch: netlink: Unexpected mask (mask=200, allowed=0)' },
  ];
  assert.deepEqual(openvswitchReasons(records), ['openvswitch: netlink: Unexpected mask (mask=200, allowed=0)']);
});

test('an unreadable log gives no reader, not an error', () => {
  assert.equal(KernelLog.open('/nonexistent/kmsg'), undefined);
});

test('a reader starts after what was already there', () => {
  // A regular file reads like a log whose records have all been seen: nothing new.
  const dir = mkdtempSync(join(tmpdir(), 'kmsg-'));
  const path = join(dir, 'kmsg');
  writeFileSync(path, '6,1,1,-;openvswitch: old\n');
  const log = KernelLog.open(path)!;
  assert.ok(log);
  assert.deepEqual(log.readReasons(), []);
  log.close();
});

/**
 * A kernel that refuses with EINVAL the requests `refuses` picks, logging a reason for each
 * (appended to a file read as the log), and a KernelLog.open that opens that file, counted.
 */
function refusingKernel(t: TestContext, refuses: (n: number) => boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'kmsg-'));
  const path = join(dir, 'kmsg');
  writeFileSync(path, '6,1,1,-;openvswitch: netlink: logged before\n');
  const sent: GenlRequest[] = [];
  const open = KernelLog.open.bind(KernelLog);
  const opens = t.mock.method(KernelLog, 'open', () => open(path));
  const request = async (req: GenlRequest): Promise<NetlinkMessage[]> => {
    sent.push(req);
    if (!refuses(sent.length)) return [];
    appendFileSync(path, `6,${sent.length + 1},1,-;openvswitch: netlink: refusal ${sent.length}\n`);
    throw new NetlinkError(errnoNumber('EINVAL')!, 'refused');
  };
  return { sent, opens, request, path };
}

test('a flow request that succeeds never opens the log; the first EINVAL opens it and sends the request again for its reason', async (t) => {
  const kernel = refusingKernel(t, (n) => n > 1);
  const conn = {
    family: async () => ({ id: 0x20, name: 'ovs_flow', version: 1, hdrsize: 4, maxattr: 11, groups: [] }),
    socket: { request: kernel.request },
  } as unknown as OvsConnection;
  const table = new FlowTable(conn, { name: 'dp0', ifindex: 5 });
  const flow = { key: { in_port: 1, ethertype: 0x88cc }, actions: [] };
  await table.put(flow);
  assert.equal(kernel.opens.mock.callCount(), 0);
  // Refused: the log is opened (past what it held) and the same request sent again.
  await assert.rejects(table.put(flow), (err: NetlinkError) => err.reason === 'openvswitch: netlink: refusal 3');
  assert.equal(kernel.opens.mock.callCount(), 1);
  assert.equal(kernel.sent.length, 3);
  assert.equal(kernel.sent[2], kernel.sent[1]);
  // Open now: a later refusal is sent once, its reason read.
  await assert.rejects(table.put(flow), (err: NetlinkError) => err.reason === 'openvswitch: netlink: refusal 4');
  assert.equal(kernel.sent.length, 4);
  assert.equal(kernel.opens.mock.callCount(), 1);
  table.close();
});

test('a flow table told not to read the log sends a refused request once', async (t) => {
  const kernel = refusingKernel(t, () => true);
  const conn = {
    family: async () => ({ id: 0x20, name: 'ovs_flow', version: 1, hdrsize: 4, maxattr: 11, groups: [] }),
    socket: { request: kernel.request },
  } as unknown as OvsConnection;
  const table = new FlowTable(conn, { name: 'dp0', ifindex: 5 }, { kernelLog: false });
  await assert.rejects(table.del({ key: { in_port: 1, ethertype: 0x88cc } }), (err: NetlinkError) => err.reason === undefined);
  assert.equal(kernel.sent.length, 1);
  assert.equal(kernel.opens.mock.callCount(), 0);
});

test('execute reads its refusal\'s reason from a log opened before it, and never sends the packet again (its actions may have run)', async (t) => {
  const kernel = refusingKernel(t, (n) => n > 1);
  const req = { cmd: 1, version: 1, flags: 0, family: 0x21 } as unknown as GenlRequest;
  const conn = { buildRequest: async () => req, socket: { request: kernel.request } } as unknown as OvsConnection;
  const spec = { datapath: { name: 'dp0', ifindex: 5 }, packet: Buffer.alloc(64), actions: [] };
  await execute(conn, spec);
  assert.equal(kernel.opens.mock.callCount(), 1);
  await assert.rejects(execute(conn, spec), (err: NetlinkError) => err.reason === 'openvswitch: netlink: refusal 2');
  assert.deepEqual(kernel.sent, [req, req]);
  assert.equal(kernel.opens.mock.callCount(), 2);
  // A probe's refusal is logged by no one: the log is not opened.
  await assert.rejects(execute(conn, { ...spec, probe: true }), (err: NetlinkError) => err.reason === undefined);
  assert.equal(kernel.sent.length, 3);
  assert.equal(kernel.opens.mock.callCount(), 2);
});

test('a bulk run opens the log at its first EINVAL refusal and sends the refused requests of the batches sent before once more, each batch\'s reasons its own', async (t) => {
  const kernel = refusingKernel(t, () => false);
  const portsOf = (messages: Buffer): number[] => requestsOfMessages(messages).map((r) => (decodeAttrs(flowAttrs, r.fixedHeader!, 4)['key'] as { in_port: number }).in_port);
  const einval = errnoNumber('EINVAL')!;
  const refuses = (port: number): boolean => port % 5 === 2;
  /** The kernel's answers to `messages`, logging a reason per refusal (`how`: first or again). */
  const answer = (messages: Buffer, how: string): IndexedResult[] => answersOf(portsOf(messages).map((port) => {
    if (!refuses(port)) return undefined;
    appendFileSync(kernel.path, `6,9,1,-;openvswitch: netlink: port ${port} refused ${how}\n`);
    return new NetlinkError(einval, 'refused');
  }));
  const resent: number[][] = [];
  const conn = bulkConnection((messages) => answer(messages, 'first'), {
    socket: {
      batchMessages: async (messages: Buffer, count: number) => {
        assert.equal(count, portsOf(messages).length);
        resent.push(portsOf(messages));
        return answer(messages, 'again');
      },
    },
  });
  const table = new FlowTable(conn, { name: 'dp0', ifindex: 5 });
  const run = async (ports: number[]) => {
    const results = [];
    for await (const r of table.operate(ports, (port): FlowOp => ({ kind: 'put', flow: { key: { in_port: port, ethertype: 0x88cc } }, mode: 'create' }), { batchSize: 4, window: 3 })) results.push(r);
    return results;
  };
  // Nothing refused: the log is never opened.
  assert.ok((await run([1, 3, 4, 6])).every((r) => !r.error));
  assert.equal(kernel.opens.mock.callCount(), 0);
  const results = await run(Array.from({ length: 16 }, (_, i) => i));
  assert.equal(kernel.opens.mock.callCount(), 1);
  // The first three batches (ports 0-11) were sent before the log was opened: their
  // refused requests are sent again, one batch at a time (the third has none).
  assert.deepEqual(resent, [[2], [7]]);
  const reasons = results.filter((r) => r.error).map((r) => [r.item, (r.error as NetlinkError).reason]);
  assert.deepEqual(reasons, [
    [2, 'openvswitch: netlink: port 2 refused again'],
    [7, 'openvswitch: netlink: port 7 refused again'],
    // Sent after: the log was open, and it holds its first refusal's reason.
    [12, 'openvswitch: netlink: port 12 refused first'],
  ]);
  table.close();
});
