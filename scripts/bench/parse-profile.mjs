#!/usr/bin/env node
/**
 * add-flows' per-line cost on the host, without a kernel: N ct/nat lines (workloads.mjs)
 * written to a file and run through the real `runFlowFile` (read, split, parse key and
 * actions, check, build and write the netlink requests) against a connection that
 * answers every batch at once. Prints µs per line for the whole pipeline and, for
 * context, for each stage alone (split, key, actions uncached, request encoding). Each
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
const [{ runFlowFile, splitFlowLine }, { CliContext }, { FlowTable, putAttrs }, { parseActionsText, parseFlowMatch }, { flowFamily, flowAttrs }, message] =
  await Promise.all([
    load('cli/bulk.js'), load('cli/context.js'), load('client/flows.js'), load('client/flow-text.js'),
    load('ovs/flow.js'), load('nl/message.js'),
  ]);

const { values: opts } = parseArgs({ options: { lines: { type: 'string' }, stages: { type: 'boolean' }, rounds: { type: 'string' } } });
const N = Number(opts.lines ?? 20000);
const ROUNDS = Number(opts.rounds ?? 3);

const dir = mkdtempSync(join(tmpdir(), 'parse-profile-'));
const file = join(dir, 'flows');
const text = Array.from({ length: N }, (_, i) => flowLineText(i)).join('\n') + '\n';
writeFileSync(file, text);

/** A connection with no kernel: every request of a batch is encoded, and succeeds. */
const conn = {
  family: async () => ({ id: 0x20, version: flowFamily.version, groups: {} }),
  async *dump() {},
  batch(reqs) {
    reqs.forEach((req, i) => message.encodeGenlRequest(req, i + 1));
    return Promise.resolve(reqs.map(() => ({ replies: [] })));
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
  const stage = async (name, fn) => {
    fn(); // warm up
    let best = Infinity;
    for (let r = 0; r < ROUNDS; r++) best = Math.min(best, await time(fn));
    console.log(`  ${name.padEnd(22)} ${usPerLine(best)} µs/line`);
  };
  await stage('split', () => { for (let i = 0; i < N; i++) splitFlowLine(lines[i], i + 1, 'add'); });
  await stage('key (parseFlowMatch)', () => { for (const l of split) parseFlowMatch(l.flow, {}); });
  await stage('actions (uncached)', () => { for (const l of split) parseActionsText(l.actions, {}); });
  const specs = split.map((l) => ({ ...parseFlowMatch(l.flow, {}), actions: parseActionsText(l.actions, {}) }));
  await stage('request encoding', () => {
    for (const s of specs) message.encodeGenlRequest({ family: 0x20, cmd: 1, version: 1, flags: 0x405, set: flowAttrs, attrs: putAttrs(s) }, 1);
  });
}
rmSync(dir, { recursive: true });
