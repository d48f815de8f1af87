#!/usr/bin/env node
/**
 * Codec speed on the host (no VM): nanoseconds per
 *   - encode: a whole ct/nat flow put request (nlmsghdr, genl and ovs headers, key, mask,
 *     actions) appended to a batch, as the socket does for each request of add-flows;
 *   - decode: a dumped flow (a kernel reply: full key and mask, stats, used, actions)
 *     from bytes to the library's Flow;
 *   - print: that reply's bytes as its dump-flows line (FlowLinePrinter, as dump-flows
 *     prints text: repeated attributes' text comes from its memo);
 *   - parse: an add-flows line's key and actions text to the FlowSpec (for context).
 * 1024 distinct flows are cycled so no value repeats from one call to the next.
 * Each figure is the median of several rounds, timed in CPU time of this process (user and
 * system, GC threads included) rather than wall time: on a shared machine another
 * process's turn on the CPU is not ours.
 *
 *   node scripts/bench/codec.mjs [--json] [--rounds N] [--ms MS]
 */
import { parseArgs } from 'node:util';
import { flowLineText } from './workloads.mjs';

const dist = new URL('../../dist/src/', import.meta.url);
const load = (p) => import(new URL(p, dist).href);
const [{ parseFlowText }, { putAttrs, flowFromMessage }, { appendGenlRequest, writeGenlRequest, genlRequestLength, parseMessages }, { decodeGenlMessage }, { flowAttrs, flowFamily }, { MessageBuilder, encodeStruct }, { ovsHeader }, { FlowLinePrinter }] =
  await Promise.all([
    load('client/flow-text.js'), load('client/flows.js'), load('nl/message.js'), load('nl/family.js'),
    load('ovs/flow.js'), load('nl/codec.js'), load('ovs/header.js'), load('client/flow-printer.js'),
  ]);

const { values: opts } = parseArgs({ options: { json: { type: 'boolean' }, rounds: { type: 'string' }, ms: { type: 'string' } } });
const ROUNDS = Number(opts.rounds ?? 7);
const ROUND_MS = Number(opts.ms ?? 300);
const N = 1024;

const lines = Array.from({ length: N }, (_, i) => flowLineText(i).split(' '));
const specs = lines.map(([key, actions]) => parseFlowText(key, actions));
const header = encodeStruct(ovsHeader, { dp_ifindex: 7 });
const FAMILY_ID = 0x20;

/** The request add-flows sends for a spec. */
const putRequest = (spec) => ({ family: FAMILY_ID, cmd: flowFamily.commands.new, version: flowFamily.version, flags: 0x405, fixedHeader: header, set: flowAttrs, attrs: putAttrs(spec) });

/**
 * What the kernel sends back for a dumped flow: every key attribute it knows (the
 * wildcarded ones with a zero mask), the mask, statistics, last use, TCP flags, actions
 * (ovs_flow_cmd_fill_info's order).
 */
function dumpReply(spec, i) {
  const zeroed = { recirc_id: 0, dp_hash: 0, priority: 0, in_port: 0, skb_mark: 0, ct_state: 0, ct_zone: 0, ct_mark: 0, ct_labels: Buffer.alloc(16) };
  const key = { ...zeroed, ...spec.key };
  const mask = { ...zeroed, ...spec.mask };
  return {
    family: FAMILY_ID, cmd: flowFamily.commands.get, version: flowFamily.version, flags: 2, fixedHeader: header, set: flowAttrs,
    attrs: { key, mask, stats: { n_packets: BigInt(i * 3), n_bytes: BigInt(i * 180) }, used: 4_000_000n + BigInt(i), tcp_flags: 0x12, actions: spec.actions },
  };
}
const replyBytes = Buffer.concat(specs.map((s, i) => {
  const req = dumpReply(s, i);
  const b = Buffer.alloc(genlRequestLength(req));
  writeGenlRequest(b, 0, req, i + 1);
  return b;
}));
const replies = parseMessages(replyBytes);
const NOW = 4_000_000n + 5_000n;

const work = {
  // The requests are built beforehand: what is timed is the codec writing one into a batch.
  encode: () => {
    const b = new MessageBuilder(1 << 16);
    const reqs = specs.map(putRequest);
    return (i) => {
      b.truncate();
      appendGenlRequest(b, reqs[i & (N - 1)], i);
    };
  },
  decode: () => (i) => flowFromMessage(decodeGenlMessage(flowFamily, replies[i & (N - 1)])),
  print: () => {
    const printer = new FlowLinePrinter(NOW);
    // Each reply's whole message (header included), as GenlSocket.dumpReplyBytes hands them.
    const one = replies.map((m) => [Buffer.from(m.payload.buffer, m.payload.byteOffset - 16, m.payload.length + 16)]);
    return (i) => printer.printReplies(one[i & (N - 1)]);
  },
  parse: () => (i) => { const [k, a] = lines[i & (N - 1)]; return parseFlowText(k, a); },
};

/** CPU microseconds this process has used. */
function cpuMicros() {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** Median ns per call over ROUNDS rounds of about ROUND_MS of CPU time each. */
function measure(make) {
  const fn = make();
  let sink;
  // Warm up (and find a batch size that takes ~ROUND_MS / 10).
  let batch = 256;
  for (;;) {
    const t = cpuMicros();
    for (let i = 0; i < batch; i++) sink = fn(i);
    if (cpuMicros() - t > ROUND_MS * 100) break;
    batch *= 2;
  }
  const perCall = [];
  for (let r = 0; r < ROUNDS; r++) {
    let calls = 0;
    const t0 = cpuMicros();
    let elapsed = 0;
    while (elapsed < ROUND_MS * 1000) {
      for (let i = 0; i < batch; i++) sink = fn(calls + i);
      calls += batch;
      elapsed = cpuMicros() - t0;
    }
    perCall.push((elapsed * 1000) / calls);
  }
  if (sink === Symbol.for('never')) console.log(sink);
  perCall.sort((a, b) => a - b);
  return { ns: perCall[perCall.length >> 1], min: perCall[0], max: perCall[perCall.length - 1] };
}

const results = {};
for (const [name, make] of Object.entries(work)) results[name] = measure(make);
results.bytes = { put: genlRequestLength(putRequest(specs[0])), dumped: replies[0].payload.length + 16 };

if (opts.json) process.stdout.write(`${JSON.stringify(results)}\n`);
else {
  for (const [name, r] of Object.entries(results)) {
    if (name === 'bytes') continue;
    console.log(`${name.padEnd(7)} ${(r.ns / 1000).toFixed(3).padStart(8)} µs per flow  (rounds ${(r.min / 1000).toFixed(3)}..${(r.max / 1000).toFixed(3)})`);
  }
  console.log(`a put request is ${results.bytes.put} bytes, a dumped flow ${results.bytes.dumped}`);
}
