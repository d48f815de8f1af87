/**
 * add-flows' fast path: a put whose key comes as its KeyAttrMemo entries (FlowOp putAttrs)
 * is checked through a FlowCheckMemo and built from each attribute's bytes, encoded once; the requests must be byte for byte
 * those the codec builds from the key and mask objects, for every flow the language has
 * (the golden fixtures' texts, random keys), on first sight and repeated.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseActionsText, parseFlowMatch } from '../../../src/client/flow-text.js';
import { type FlowOp, type FlowSpec, FlowTable, type WrittenOp } from '../../../src/client/flows.js';
import { NetlinkError, errnoNumber, withoutStacks } from '../../../src/nl/errors.js';
import { NLM_F_REQUEST, appendGenlRequest, encodeGenlRequest } from '../../../src/nl/message.js';
import { refusalsBudget } from '../../../src/nl/socket.js';
import { answersOf, bulkConnection, requestsOfMessages } from './fake-batches.js';
import { parseFlowKey } from '../../../src/ovs/flowstr/flow.js';
import { KeyAttrMemo, formatKey, keyAndMask, parseKeyEntries } from '../../../src/ovs/flowstr/keys.js';
import { FLOW_DP_PORTS, loadFixtures } from '../golden/fixtures.js';
import { flowArb } from '../ovs/flowstr-arbitraries.js';

/** A put's FLOW and ACTIONS, or a delete's FLOW alone. */
type Line = [flow: string, actions: string] | [flow: string];

/** What operateBatches sends for `lines` (request bytes, hex) and each line's error, through the memo or not. */
async function run(lines: readonly Line[], viaMemo: boolean): Promise<string[]> {
  const out: string[] = [];
  const conn = bulkConnection((messages) => {
    for (const r of requestsOfMessages(messages)) out.push(encodeGenlRequest(r, 0).toString('hex'));
    return [];
  });
  const table = new FlowTable(conn, { name: 'dp0', ifindex: 5 }, { kernelLog: false });
  const memo = new KeyAttrMemo();
  const options = { portNumbers: FLOW_DP_PORTS, ...(viaMemo ? { memo } : {}) };
  // As add-flows does: key attributes alone go as the memo's entries, the rest parsed whole.
  const toOp = ([flowText, actionsText]: Line): FlowOp => {
    if (viaMemo && parseKeyEntries(flowText, memo, FLOW_DP_PORTS)) {
      const keyAttrs = memo.list.slice(0, memo.listLength);
      if (actionsText === undefined) return { kind: 'delAttrs', keyAttrs };
      return { kind: 'putAttrs', keyAttrs, actions: parseActionsText(actionsText, options), mode: 'create' };
    }
    const match = parseFlowMatch(flowText, options);
    if (actionsText === undefined) return { kind: 'del', target: match.ufid ? { ufid: match.ufid, key: match.key } : { key: match.key } };
    const flow: FlowSpec = { key: match.key, mask: match.mask, actions: parseActionsText(actionsText, options) };
    if (match.ufid) flow.ufid = match.ufid;
    return { kind: 'put', flow, mode: 'create' };
  };
  for await (const batch of table.operateBatches(lines, toOp, { batchSize: 7 })) {
    for (const r of batch) if (r.error) out.push(`error: ${r.error.message}`);
  }
  return out;
}

async function assertSame(lines: readonly Line[]): Promise<void> {
  const plain = await run(lines, false);
  const fast = await run(lines, true);
  assert.equal(fast.length, plain.length);
  for (let i = 0; i < plain.length; i++) assert.equal(fast[i], plain[i], `request ${i}`);
}

const fixtureLines: [string, string][] = loadFixtures()
  .filter((f) => f.family === 'ovs_flow' && f.json.flow !== undefined)
  .map((f) => [f.json.flow!, f.json.actions ?? '1']);

test('bulk puts through the memo: the golden fixtures\' flows, first seen, repeated and interleaved', async () => {
  assert.ok(fixtureLines.length >= 100);
  const ufid = 'ufid:6aa8b1b9-b3de-4a3e-9c35-5e7bc3e9ad50,';
  const withUfid: Line[] = fixtureLines.filter(([f]) => !f.startsWith('ufid:')).map(([f, a]) => [ufid + f, a]);
  const repeated = fixtureLines.flatMap((l) => [l, l, l]);
  await assertSame([...fixtureLines, ...fixtureLines, ...repeated, ...withUfid, ...fixtureLines.slice().reverse()]);
});

test('bulk puts through the memo: lines that vary one attribute at a time (add-flows\' usual file)', async () => {
  const lines: Line[] = [];
  for (let i = 0; i < 300; i++) {
    const src = `10.0.${(i >> 8) & 255}.${i & 255}`;
    lines.push([
      `recirc_id(0),in_port(${1 + (i % 2)}),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),` +
      `ipv4(src=${src},dst=172.16.0.1,proto=6,frag=no),tcp(src=${1024 + (i % 7)},dst=80),tcp_flags(0/0)`,
      'ct(commit,zone=1,nat(src=192.168.0.1-192.168.0.9:1024-65535)),recirc(1)',
    ]);
  }
  await assertSame(lines);
});

test('bulk puts through the memo: an attribute\'s fields in another order, masks alike', async () => {
  const tunnel = (fields: string[]) => `tunnel(${fields.join(',')}),in_port(1),eth_type(0x0800),ipv4(src=10.0.0.1,proto=17),udp(dst=4789)`;
  const fields = ['tun_id=0x1', 'src=1.1.1.1', 'dst=2.2.2.2', 'ttl=64', 'tp_dst=4789'];
  const lines: Line[] = [];
  for (let i = 0; i < fields.length; i++) {
    const rotated = [...fields.slice(i), ...fields.slice(0, i)];
    lines.push([tunnel(rotated), '1'], [tunnel(rotated.map((f) => f.replace('ttl=64', `ttl=${60 + i}`))), '1']);
  }
  await assertSame(lines);
});

test('bulk deletes through the memo: the fixtures\' flows as delete lines, first seen and repeated', async () => {
  const deletes: Line[] = fixtureLines.map(([f]) => [f]);
  await assertSame([...deletes, ...deletes, ['in_port(1)'], ['in_port(1)'], [''], ['ufid:6aa8b1b9-b3de-4a3e-9c35-5e7bc3e9ad50'], ...fixtureLines.slice(0, 20)]);
});

test('property: bulk puts through the memo send what the codec builds from the key and mask', async () => {
  await fc.assert(fc.asyncProperty(fc.array(fc.tuple(flowArb, fc.nat(3)), { minLength: 1, maxLength: 12 }), async (flows) => {
    // Each flow's text, some more than once in a row (memo hits, then kept bytes).
    const lines: Line[] = [];
    for (const [f, times] of flows) {
      const text = formatKey(f.key, f.mask, { verbose: true });
      for (let i = 0; i <= times; i++) lines.push([text, 'drop']);
    }
    await assertSame(lines);
  }), { numRuns: 150 });
});

/** parseKeyEntries against parseFlowKey: the same key and mask when it takes the text, and it never takes a text parseFlowKey refuses. */
function sameAsParseFlowKey(texts: readonly string[]): number {
  const memo = new KeyAttrMemo();
  let taken = 0;
  for (const text of texts) {
    const ok = parseKeyEntries(text, memo, FLOW_DP_PORTS);
    let whole;
    try {
      whole = parseFlowKey(text, { portNumbers: FLOW_DP_PORTS });
    } catch {
      assert.equal(ok, false, text);
      continue;
    }
    if (!ok) continue;
    taken++;
    assert.equal(whole.ufid, undefined, text);
    assert.deepEqual(keyAndMask(memo.list.slice(0, memo.listLength)), { key: whole.key, mask: whole.mask }, text);
  }
  return taken;
}

test('parseKeyEntries: the key and mask parseFlowKey gives, or false (ufid, packet_type, twice, errors)', () => {
  const texts = fixtureLines.map(([f]) => f);
  const odd = ['in_port(1),in_port(2)', 'ufid:6aa8b1b9-b3de-4a3e-9c35-5e7bc3e9ad50,in_port(1)', 'packet_type(ns=1,id=0x800),ipv4(src=1.2.3.4)', 'in_port(1),bogus(2)',
    'in_port(1) eth_type(0x800)', 'in_port(1),,eth_type(0x0800),', '<empty>', '', 'key99(01 02)', 'in_port(1),eth_type(0x0800),ipv4(src=1.2.3.4.5)', 'in_port(v0)', 'in_port(nope)'];
  const taken = sameAsParseFlowKey([...texts, ...texts, ...odd, ...odd.slice().reverse(), ...texts]);
  assert.ok(taken > texts.length);
  const memo = new KeyAttrMemo();
  for (const t of ['in_port(1),in_port(2)', 'ufid:6aa8b1b9-b3de-4a3e-9c35-5e7bc3e9ad50,in_port(1)', 'packet_type(ns=1,id=0x800)', 'in_port(1),bogus(2)']) {
    assert.equal(parseKeyEntries(t, memo), false, t);
  }
});

test('property: parseKeyEntries agrees with parseFlowKey on random keys, repeated', () => {
  fc.assert(fc.property(fc.array(fc.tuple(flowArb, fc.nat(2)), { minLength: 1, maxLength: 10 }), (flows) => {
    const texts: string[] = [];
    for (const [f, times] of flows) for (let i = 0; i <= times; i++) texts.push(formatKey(f.key, f.mask, { verbose: i === 1 }));
    sameAsParseFlowKey(texts);
  }), { numRuns: 300 });
});

test('an operation of several requests (WrittenOp): its refused ones by index, then how many succeeded', async () => {
  // The kernel refuses the requests whose ovs_header's dp_ifindex (here: the op's tag) is 2.
  const conn = bulkConnection((messages) => answersOf(requestsOfMessages(messages).map((r) => (
    r.fixedHeader!.readUInt32LE(0) === 2 ? new NetlinkError(errnoNumber('EEXIST')!, 'refused') : undefined))));
  const table = new FlowTable(conn, { name: 'dp0', ifindex: 5 }, { kernelLog: false });
  /** `tags.length` requests of the flow family, each with its tag as the ovs_header. */
  const written = (tags: number[]): WrittenOp => ({
    kind: 'written', mode: 'create', count: tags.length,
    appendTo: (out, seq) => {
      let at = 0;
      for (const [i, tag] of tags.entries()) {
        const header = Buffer.alloc(4);
        header.writeUInt32LE(tag);
        at = out.length;
        appendGenlRequest(out, { family: 0x20, cmd: 1, version: 1, flags: 0, fixedHeader: header }, (seq + i) >>> 0, NLM_F_REQUEST);
      }
      return at;
    },
  });
  const items = [[1, 2, 1, 2], [1], [2], [2, 2], [1, 1, 1]];
  const results = [];
  for await (const batch of table.operateBatches(items, (tags) => written(tags), { batchSize: 3 })) results.push(...batch);
  assert.deepEqual(results.map((r) => [items.indexOf(r.item), r.index, r.count, r.error !== undefined]), [
    [0, 1, undefined, true], [0, 3, undefined, true], [0, undefined, 2, false],
    [1, undefined, undefined, false],
    [2, undefined, undefined, true],
    [3, 0, undefined, true], [3, 1, undefined, true],
    [4, undefined, 3, false],
  ]);
});

test('refused lines are explained without stack traces (a file may be refused by the thousand); stacks are back after the run', async () => {
  const conn = bulkConnection((messages) => answersOf(requestsOfMessages(messages).map(() => new NetlinkError(errnoNumber('EEXIST')!, 'refused'))));
  const table = new FlowTable(conn, { name: 'dp0', ifindex: 5 }, { kernelLog: false });
  const written = (): WrittenOp => ({
    kind: 'written', mode: 'create', count: 1,
    appendTo: (out, seq) => {
      const at = out.length;
      appendGenlRequest(out, { family: 0x20, cmd: 1, version: 1, flags: 0, fixedHeader: Buffer.alloc(4) }, seq, NLM_F_REQUEST);
      return at;
    },
  });
  const errors: Error[] = [];
  for await (const batch of table.operateBatches([1, 2, 3], written, { batchSize: 2 })) for (const r of batch) errors.push(r.error!);
  assert.equal(errors.length, 3);
  for (const err of errors) {
    assert.match(err.message, /already exists in dp0/);
    assert.equal(err.stack, `NetlinkError: ${err.message}`);
  }
  assert.match(new Error('after').stack!, /\n    at /);
});

test('withoutStacks: errors made inside have no frames, the limit is back afterwards, also after a throw', () => {
  const limit = Error.stackTraceLimit;
  assert.equal(withoutStacks(() => new Error('inside')).stack, 'Error: inside');
  assert.throws(() => withoutStacks(() => { throw new Error('thrown'); }), (err: Error) => err.stack === 'Error: thrown');
  assert.equal(Error.stackTraceLimit, limit);
  assert.match(new Error('outside').stack!, /\n    at /);
});

test("a batch's requests stay as sent until the batch is answered; after a failed send, for good", async () => {
  /** Each batch as sent (a view of what the flow table laid out), its bytes then, and whether it was answered. */
  const sent: { view: Buffer; bytes: Buffer; answered: boolean }[] = [];
  let sends = 0;
  const conn = bulkConnection(async (messages) => {
    const batch = { view: messages, bytes: Buffer.from(messages), answered: false };
    sent.push(batch);
    // Answered out of turn, some after later batches were laid out; every 5th send fails whole.
    const fails = ++sends % 5 === 0;
    await new Promise((r) => setTimeout(r, (sends * 7) % 5));
    assert.ok(batch.view.equals(batch.bytes), 'changed before its answer');
    if (fails) throw new NetlinkError(errnoNumber('ENOBUFS')!, 'lost');
    batch.answered = true;
    return [];
  });
  const table = new FlowTable(conn, { name: 'dp0', ifindex: 5 }, { kernelLog: false });
  const op = (i: number): FlowOp => {
    const header = Buffer.alloc(8);
    header.writeUInt32LE(i, 4);
    return { kind: 'encoded', fixedHeader: header, mode: 'create' };
  };
  const items = Array.from({ length: 500 }, (_, i) => i);
  let failed = 0;
  for await (const batch of table.operateBatches(items, op, { batchSize: 7, window: 3 })) failed += batch.filter((r) => r.error).length;
  assert.equal(sent.length, Math.ceil(500 / 7));
  assert.equal(failed, 7 * Math.floor(sent.length / 5));
  // The failed batches' bytes were never written over; the answered ones' builders were used again.
  for (const b of sent) if (!b.answered) assert.ok(b.view.equals(b.bytes));
  assert.ok(new Set(sent.map((b) => b.view.buffer)).size < sent.length);
});

test("a batch's requests stop before their refusals could overflow a small receive buffer (rmem_max), and none is lost", async () => {
  const receiveBuffer = 40_000;
  const sizes: { bytes: number; count: number }[] = [];
  const conn = bulkConnection((messages) => {
    const count = requestsOfMessages(messages).length;
    sizes.push({ bytes: messages.length, count });
    return answersOf(Array.from({ length: count }, () => new NetlinkError(errnoNumber('EEXIST')!, 'exists')));
  }, { bulkRefusalsBudget: () => refusalsBudget(receiveBuffer) });
  const table = new FlowTable(conn, { name: 'dp0', ifindex: 5 }, { kernelLog: false });
  const lines = Array.from({ length: 100 }, (_, i) => `in_port(1),eth_type(0x0800),ipv4(src=10.0.0.${i},dst=10.0.1.1,proto=17,frag=no),udp(src=${1000 + i},dst=53)`);
  const toOp = (flow: string): FlowOp => ({ kind: 'put', flow: { ...parseFlowMatch(flow), actions: parseActionsText('ct(commit,zone=1,nat(src=10.1.1.240-10.1.1.255)),2') }, mode: 'create' });
  let refused = 0;
  for await (const batch of table.operateBatches(lines, toOp)) refused += batch.filter((r) => r.error).length;
  assert.equal(refused, 100);
  assert.ok(sizes.length > 1, 'several batches');
  for (const { bytes, count } of sizes) {
    // What the kernel charges at most for the batch's errors, less its last request's share: under 3/4 of the buffer.
    const perRequest = bytes / count;
    assert.ok(2 * (bytes - perRequest) + (count - 1) * 976 < (3 * receiveBuffer) / 4, `${count} requests, ${bytes} bytes`);
  }
});
