#!/usr/bin/env node
/**
 * dump-flows' printing on the host (no VM): 20,000 dumped ct/nat flows as the kernel's
 * reply bytes -> dump-flows text, through
 *   - decoded: full decode (decodeGenlMessage, flowFromMessage) and formatFlowLine, the
 *     path --json and filter= take;
 *   - raw: FlowLinePrinter over the reply bytes, the path of the text output;
 * each with and without -m (-m prints port names), a batch of 64 replies at a time as
 * dump-flows writes them. Checks that both give the same text first. Times are the
 * median of several rounds in CPU time of this process.
 *
 * --fresh instead times one pass of the raw path (default options) in this process as a
 * dump-flows run makes it: V8 cold, the text written to a file 64 KiB at a time (latin1).
 * Most of a fresh pass is V8 getting the printer's functions optimized (TurboFan compiles
 * on the main thread under --single-threaded, as bin/ovsdp runs): run it as
 * `node --single-threaded scripts/bench/dump-profile.mjs --fresh`, several times.
 *
 *   node scripts/bench/dump-profile.mjs [--json] [--flows N] [--rounds N] [--only raw|decoded] [--fresh]
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { flowLineText } from './workloads.mjs';

const dist = new URL('../../dist/src/', import.meta.url);
const load = (p) => import(new URL(p, dist).href);
const [{ parseFlowText, formatFlowLine }, { flowFromMessage }, { writeGenlRequest, genlRequestLength, parseMessages }, { decodeGenlMessage }, { flowAttrs, flowFamily }, { encodeStruct }, { ovsHeader }, { FlowLinePrinter }] =
  await Promise.all([
    load('client/flow-text.js'), load('client/flows.js'), load('nl/message.js'), load('nl/family.js'),
    load('ovs/flow.js'), load('nl/codec.js'), load('ovs/header.js'), load('client/flow-printer.js'),
  ]);

const { values: opts } = parseArgs({ options: { json: { type: 'boolean' }, flows: { type: 'string' }, rounds: { type: 'string' }, only: { type: 'string' }, fresh: { type: 'boolean' } } });
const N = Number(opts.flows ?? 20000);
const ROUNDS = Number(opts.rounds ?? 5);
const BATCH = 64;
const header = encodeStruct(ovsHeader, { dp_ifindex: 7 });

/** A dumped flow as the kernel sends it: every key attribute it knows, the mask, stats, used, tcp_flags, actions, UFID. */
function replyBytes(i) {
  const [k, a] = flowLineText(i).split(' ');
  const spec = parseFlowText(k, a);
  const zeroed = { recirc_id: 0, dp_hash: 0, priority: 0, in_port: 0, skb_mark: 0, ct_state: 0, ct_zone: 0, ct_mark: 0, ct_labels: Buffer.alloc(16) };
  const ufid = Buffer.alloc(16);
  ufid.writeUInt32LE(i, 0);
  ufid.writeUInt32LE(0x12345678, 8);
  const req = {
    family: 0x20, cmd: flowFamily.commands.get, version: flowFamily.version, flags: 2, fixedHeader: header, set: flowAttrs,
    attrs: {
      ufid, key: { ...zeroed, ...spec.key }, mask: { ...zeroed, ...spec.mask },
      stats: { n_packets: BigInt(i % 7), n_bytes: BigInt((i % 7) * 74) }, used: i % 3 ? 4_000_000n + BigInt(i) : 0n,
      ...(i % 5 ? { tcp_flags: 0x12 } : {}), actions: spec.actions,
    },
  };
  const b = Buffer.alloc(genlRequestLength(req));
  writeGenlRequest(b, 0, req, i + 1);
  return b;
}
const replyBuffers = Array.from({ length: N }, (_, i) => replyBytes(i));
const replies = parseMessages(Buffer.concat(replyBuffers));
const NOW = 4_000_000n + 30_000n;
const names = new Map([[1, 'eth0'], [2, 'eth1']]);
const modes = { default: {}, more: { verbose: true, portNames: names } };

/**
 * Each path prints a batch of replies (dump-flows' unit of writing): the decoded path its
 * messages, the raw path its bytes (whole messages, as GenlSocket.dumpReplyBytes hands them).
 */
const decoded = (options) => (batch) => `${batch.msgs.map((m) => formatFlowLine(flowFromMessage(decodeGenlMessage(flowFamily, m)), NOW, options)).join('\n')}\n`;
const raw = (options) => { const p = new FlowLinePrinter(NOW, options); return (batch) => p.printReplies([batch.bytes]); };
// --only raw: time the raw path alone (for a CPU profile of it).
const paths = opts.only === 'raw' ? { raw } : opts.only === 'decoded' ? { decoded } : { decoded, raw };
const batches = [];
for (let i = 0; i < N; i += BATCH) batches.push({ msgs: replies.slice(i, i + BATCH), bytes: Buffer.concat(replyBuffers.slice(i, i + BATCH)) });

/** The whole dump's text through one path. */
function run(print) {
  let size = 0;
  for (const b of batches) size += print(b).length;
  return size;
}

function cpuMicros() {
  const u = process.cpuUsage();
  return u.user + u.system;
}

if (opts.fresh) {
  const dir = mkdtempSync(join(tmpdir(), 'dump-profile-'));
  const fd = openSync(join(dir, 'flows.txt'), 'w');
  const print = raw({});
  const FIRST = 2000;
  let pending = '';
  let flows = 0;
  let firstDone = 0;
  const t = cpuMicros();
  for (const b of batches) {
    pending += print(b);
    if (pending.length >= 64 * 1024) {
      writeSync(fd, pending, null, 'latin1');
      pending = '';
    }
    flows += b.msgs.length;
    if (!firstDone && flows >= FIRST) firstDone = cpuMicros();
  }
  if (pending.length) writeSync(fd, pending, null, 'latin1');
  const end = cpuMicros();
  closeSync(fd);
  rmSync(dir, { recursive: true });
  const result = { ms: (end - t) / 1000, firstMs: (firstDone - t) / 1000, restMs: (end - firstDone) / 1000 };
  if (opts.json) process.stdout.write(`${JSON.stringify({ fresh: result })}\n`);
  else console.log(`fresh pass: ${result.ms.toFixed(1)} ms for ${N} flows (the first ${FIRST}: ${result.firstMs.toFixed(1)} ms, the rest ${result.restMs.toFixed(1)} ms)`);
  process.exit(0);
}

for (const [mode, options] of Object.entries(modes)) {
  const a = decoded(options);
  const b = raw(options);
  for (const [i, batch] of batches.entries()) {
    const x = a(batch);
    const y = b(batch);
    if (x !== y) throw new Error(`${mode}: batch ${i} differs:\n  decoded ${x.slice(0, 400)}\n  raw     ${y.slice(0, 400)}`);
  }
}

const results = {};
for (const [mode, options] of Object.entries(modes)) {
  for (const [path, make] of Object.entries(paths)) {
    const times = [];
    for (let r = 0; r < ROUNDS + 1; r++) {
      const line = make(options);
      const t = cpuMicros();
      run(line);
      if (r) times.push(cpuMicros() - t);
    }
    times.sort((x, y) => x - y);
    results[`${path} ${mode}`] = { ms: times[times.length >> 1] / 1000, usPerFlow: times[times.length >> 1] / N };
  }
}
if (opts.json) process.stdout.write(`${JSON.stringify(results)}\n`);
else for (const [k, v] of Object.entries(results)) console.log(`${k.padEnd(16)} ${v.ms.toFixed(1).padStart(7)} ms for ${N} flows  ${v.usPerFlow.toFixed(3)} µs per flow`);
