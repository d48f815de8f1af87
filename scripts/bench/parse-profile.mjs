#!/usr/bin/env node
/**
 * add-flows' per-line cost on the host, without a kernel: N ct/nat lines (workloads.mjs)
 * written to a file and run through the real `runFlowFile` (read, split, parse key and
 * actions, check, build and write the netlink requests) against a connection that
 * answers every batch at once. Prints µs per line for the whole pipeline and, for
 * context, for each stage alone (split, key through add-flows' memo and without, actions
 * uncached, the codec's request encoding, the flow table's part for pre-parsed lines). Each
 * figure is CPU time (all threads), the best of ROUNDS runs: the machine is shared.
 *
 *   node scripts/bench/parse-profile.mjs [--lines N] [--stages] [--rounds R]
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof scripts/bench/parse-profile.mjs
 *
 * Needs `npx tsc -p .` first (it loads dist/).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { flowLineText } from './workloads.mjs';

const dist = new URL('../../dist/src/', import.meta.url);
const load = (p) => import(new URL(p, dist).href);
const [{ runFlowFile, splitFlowLine }, { CliContext }, { FlowTable, putAttrs }, { parseActionsText, parseFlowMatch }, { flowFamily, flowAttrs }, message, { KeyAttrMemo, parseKeyEntries }] =
  await Promise.all([
    load('cli/bulk.js'), load('cli/context.js'), load('client/flows.js'), load('client/flow-text.js'),
    load('ovs/flow.js'), load('nl/message.js'), load('ovs/flowstr/keys.js'),
  ]);

const { values: opts } = parseArgs({ options: { lines: { type: 'string' }, stages: { type: 'boolean' }, rounds: { type: 'string' } } });
const N = Number(opts.lines ?? 20000);
const ROUNDS = Number(opts.rounds ?? 3);

const dir = mkdtempSync(join(tmpdir(), 'parse-profile-'));
const file = join(dir, 'flows');
const text = Array.from({ length: N }, (_, i) => flowLineText(i)).join('\n') + '\n';
writeFileSync(file, text);

/**
 * A connection with no kernel: every request of a batch is encoded (the flow table lays
 * out bulk batches itself: sendNumbered), and succeeds.
 */
const conn = {
  family: async () => ({ id: 0x20, version: flowFamily.version, groups: {} }),
  async *dump() {},
  batch(reqs) {
    reqs.forEach((req, i) => message.encodeGenlRequest(req, i + 1));
    return Promise.resolve(reqs.map(() => ({ replies: [] })));
  },
  bulkSequence: () => 1,
  bulkRefusalsBudget: () => 6 << 20,
  sendNumbered() {
    return Promise.resolve([]);
  },
};
const datapath = { name: 'dp', ifindex: 7 };

async function wholeRun() {
  const table = new FlowTable(conn, datapath, { kernelLog: false });
  const target = { conn, table, datapath, rest: [file] };
  const write = process.stderr.write;
  process.stderr.write = () => true; // the summary line
  try {
    await runFlowFile(new CliContext({ color: false }), target, file, 'add', 'add-flows');
  } finally {
    process.stderr.write = write;
  }
}

const usPerLine = (ms) => ((ms * 1000) / N).toFixed(2);
/** CPU milliseconds `fn` takes: steadier than wall time on a shared machine. */
const time = async (fn) => {
  const t = process.cpuUsage();
  await fn();
  const u = process.cpuUsage(t);
  return (u.user + u.system) / 1000;
};

const first = await time(wholeRun);
const rest = [];
for (let r = 1; r < ROUNDS; r++) rest.push(await time(wholeRun));
rest.sort((a, b) => a - b);
console.log(`${N} lines: first run ${first.toFixed(0)} ms CPU (${usPerLine(first)} µs/line)` +
  (rest.length ? `, best of the next ${rest.length} ${rest[0].toFixed(0)} ms (${usPerLine(rest[0])} µs/line)` : ''));

if (opts.stages) {
  const lines = text.split('\n').slice(0, N);
  const split = lines.map((l, i) => splitFlowLine(l, i + 1, 'add'));
  // fn may return the CPU usage of its own part (what it set up before is not counted).
  const cpu = async (fn) => {
    const t = process.cpuUsage();
    const own = await fn();
    const u = own ?? process.cpuUsage(t);
    return (u.user + u.system) / 1000;
  };
  const stage = async (name, fn) => {
    await fn(); // warm up
    let best = Infinity;
    for (let r = 0; r < ROUNDS; r++) best = Math.min(best, await cpu(fn));
    console.log(`  ${name.padEnd(22)} ${usPerLine(best)} µs/line`);
  };
  await stage('split', () => { for (let i = 0; i < N; i++) splitFlowLine(lines[i], i + 1, 'add'); });
  // add-flows' way: key attributes through a memo (each round a fresh one).
  await stage('key (parseKeyEntries)', () => {
    const memo = new KeyAttrMemo();
    for (const l of split) parseKeyEntries(l.flow, memo);
  });
  await stage('key (parseFlowMatch)', () => { for (const l of split) parseFlowMatch(l.flow, {}); });
  await stage('actions (uncached)', () => { for (const l of split) parseActionsText(l.actions, {}); });
  const specs = split.map((l) => ({ ...parseFlowMatch(l.flow, {}), actions: parseActionsText(l.actions, {}) }));
  await stage('request encoding', () => {
    for (const s of specs) message.encodeGenlRequest({ family: 0x20, cmd: 1, version: 1, flags: 0x405, set: flowAttrs, attrs: putAttrs(s) }, 1);
  });
  // The flow table's part of add-flows (check, request, batching, the fake's encoding) for
  // lines parsed beforehand as add-flows parses them (fresh memo entries each round).
  await stage('table (putAttrs ops)', async () => {
    const memo = new KeyAttrMemo();
    const actions = parseActionsText(split[0].actions, {});
    const ops = split.map((l) => {
      parseKeyEntries(l.flow, memo);
      return { kind: 'putAttrs', keyAttrs: memo.list.slice(0, memo.listLength), actions, mode: 'create' };
    });
    const t = process.cpuUsage();
    const table = new FlowTable(conn, datapath, { kernelLog: false });
    for await (const batch of table.operateBatches(ops, (op) => op)) for (const r of batch) if (r.error) throw r.error;
    return process.cpuUsage(t);
  });
}
rmSync(dir, { recursive: true });
