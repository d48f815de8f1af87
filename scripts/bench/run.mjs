#!/usr/bin/env node
/**
 * `npm run bench`: ovsdp against the reference tools, in one go.
 *   1. The codec on the host (codec.mjs): ns per flow encoded, decoded, printed.
 *   2. One VM boot (vm/run) running vm.mjs: ovsdp and ovs-dpctl (and ovs-vswitchd for
 *      miss handling) on the same work, several repetitions each; ratios are taken
 *      within that one run, as timings of different runs do not compare.
 * Prints a table of medians and ratios and writes it to BENCHMARKS.md with the kernel,
 * the date and how to reproduce.
 *
 *   node scripts/bench/run.mjs [--reps N] [--flows N] [--big N] [--only SECTIONS]
 *                              [--codec-processes N] [--no-vm] [--profile] [--no-write]
 *                              [--from FILE]
 *
 * The raw results are kept in dist/bench/last.json; --from FILE renders the table and
 * BENCHMARKS.md again from such a file, without measuring.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESULT_MARK, SECTIONS, VM_OPTIONS, commandLine } from './options.mjs';
import { stats } from './stats.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const opts = commandLine({
  ...VM_OPTIONS,
  'no-vm': { type: 'boolean', default: false },
  'codec-processes': { type: 'string', default: '11' },
  'no-write': { type: 'boolean', default: false },
  from: { type: 'string' },
}, `usage: npm run bench -- [--reps N] [--flows N] [--big N] [--only SECTIONS] [--codec-processes N] [--no-vm] [--profile] [--no-write] [--from FILE]

Measures ovsdp against ovs-dpctl 3.1 and ovs-vswitchd 3.1 on the same work: the codec on
this host, then everything else in one VM run (vm/run), where ratios are taken. Prints
the table and writes BENCHMARKS.md (how to read it is there).

  --reps N         repetitions of each measure (default ${VM_OPTIONS.reps.default}; process start and add-flow take 3 times as many)
  --flows N        flows in the add-flows / dump-flows / del-flows files (default ${VM_OPTIONS.flows.default})
  --big N          flows of the bounded-memory run, ovsdp alone (default ${VM_OPTIONS.big.default})
  --only SECTIONS  some of the VM's sections, comma-separated: ${SECTIONS.join(', ')}
  --codec-processes N  processes of the codec measure (default 11: one process's figure
                   depends on how V8 compiled it, see BENCHMARKS.md)
  --no-vm          the codec alone
  --profile        each ovsdp process under --cpu-prof; prints where its time went
  --no-write       print the table, leave BENCHMARKS.md as it is
  --from FILE      render the table and BENCHMARKS.md again from a results file (dist/bench/last.json) without measuring
`);

/** Runs a command; stderr passes through, stdout is returned. */
function run(cmd, args, { passStdout = false } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (passStdout) process.stderr.write(d);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

function resultOf(out) {
  const line = out.split('\n').find((l) => l.startsWith(RESULT_MARK));
  return line ? JSON.parse(line.slice(RESULT_MARK.length)) : undefined;
}

const started = Date.now();
let codec;
let vm = { error: 'not run (--no-vm)' };
let measuredOn = new Date().toISOString();
if (opts.from) {
  try {
    ({ codec, vm, measuredOn } = JSON.parse(readFileSync(opts.from, 'utf8')));
  } catch (err) {
    process.stderr.write(`bench: --from ${opts.from}: ${err.code === undefined ? 'not a results file' : 'cannot read it'} (${err.message.replace(/\s+/g, ' ')})\n`);
    process.exit(1);
  }
  if (!codec || !vm) {
    process.stderr.write(`bench: --from ${opts.from}: not a results file (no codec or vm results)\n`);
    process.exit(1);
  }
} else {
  codec = await measureCodec(Number(opts['codec-processes']));
}

/**
 * The codec's figures from `processes` runs of codec.mjs, one after another: for each
 * figure the median of the processes' medians, with their range. One process's figure
 * depends on how V8 happened to compile it (measured: encode 0.24-0.36 µs from one
 * process to the next, each steady over its rounds), as a VM figure depends on the run:
 * with 5 processes the median of two runs differed by 80 ns, hence 11 by default.
 */
async function measureCodec(processes) {
  const runs = [];
  for (let i = 0; i < processes; i++) {
    process.stderr.write(`bench: codec on the host, process ${i + 1}/${processes}\n`);
    const r = await run(process.execPath, [path.join(here, 'codec.mjs'), '--json']);
    if (r.code !== 0) return { error: `codec.mjs exited with ${r.code}` };
    runs.push(JSON.parse(r.out.trim().split('\n').pop()));
  }
  const out = { bytes: runs[0].bytes, processes };
  for (const name of ['encode', 'decode', 'print', 'parse']) {
    const { median, min, max } = stats(runs.map((r) => r[name].ns));
    out[name] = { ns: median, min, max };
  }
  return out;
}

if (!opts.from && !opts['no-vm']) {
  const args = ['--mem', '3072', '--timeout', '1500', '--', process.execPath, 'scripts/bench/vm.mjs', '--reps', opts.reps, '--flows', opts.flows, '--big', opts.big];
  if (opts.only) args.push('--only', opts.only);
  if (opts.profile) args.push('--profile');
  process.stderr.write(`bench: booting the VM: vm/run ${args.join(' ')}\n`);
  const r = await run(path.join(root, 'vm/run'), args, { passStdout: true });
  vm = resultOf(r.out) ?? { error: `vm/run exited with ${r.code} and gave no result` };
}
if (!opts.from) {
  mkdirSync(path.join(root, 'dist/bench'), { recursive: true });
  writeFileSync(path.join(root, 'dist/bench/last.json'), JSON.stringify({ measuredOn, codec, vm }));
}

// ---------------------------------------------------------------- the table

const fmtMs = (ms) => (ms === undefined || Number.isNaN(ms) ? '–' : ms >= 10000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const fmtNs = (ns) => (ns === undefined ? '–' : ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(0)} ns`);
const fmtX = (x) => (x === undefined || !Number.isFinite(x) ? '–' : `${x.toFixed(2)}x`);
const fmtMiB = (kb) => (kb === undefined ? '–' : `${(kb / 1024).toFixed(0)} MiB`);
const n = (x) => Number(x).toLocaleString('en-US');
const spread = (s) => (s ? ` (${fmtMs(s.min)}–${fmtMs(s.max)})` : '');

/** Rows: [workload, ovsdp, reference, ratio, target]. Ratio > 1: ovsdp is that many times better. */
const rows = [];
const todo = (what, why) => rows.push([what, `TODO: ${why}`, '', '', '']);
const b = vm.bulk;
const st = vm.startup;
if (b && !b.error) {
  const o = b.ovsdp;
  const d = b['ovs-dpctl'];
  rows.push([`add-flows: ${n(b.flows)} ct/nat flows from a file`, fmtMs(o.add.median) + spread(o.add), `${fmtMs(d.add.median)}${spread(d.add)} ovs-dpctl`, fmtX(d.add.median / o.add.median), '≥ 3x (aim 5x)']);
  rows.push([`dump-flows: ${n(b.flows)} flows to a file, whole process`, fmtMs(o.dump.median) + spread(o.dump), `${fmtMs(d.dump.median)}${spread(d.dump)} ovs-dpctl`, fmtX(d.dump.median / o.dump.median), '']);
  if (st && !st.error) {
    const on = o.dump.median - st.ovsdp.median;
    const dn = d.dump.median - st['ovs-dpctl'].median;
    rows.push(['dump-flows net of process start (`--version`)', fmtMs(on), `${fmtMs(dn)} ovs-dpctl`, fmtX(dn / on), '≥ 1x (aim 1.25x)']);
  }
  if (o.empty && d.empty) {
    const on = o.dump.median - o.empty.median;
    const dn = d.dump.median - d.empty.median;
    rows.push(['… net of a dump-flows of the empty datapath', `${fmtMs(on)} (empty: ${fmtMs(o.empty.median)})`, `${fmtMs(dn)} (empty: ${fmtMs(d.empty.median)}) ovs-dpctl`, fmtX(dn / on), '']);
  }
  rows.push([`del-flows FILE: ${n(b.flows)} flows by key`, fmtMs(o.del.median) + spread(o.del), `${fmtMs(d.del.median)}${spread(d.del)} ovs-dpctl`, fmtX(d.del.median / o.del.median), '']);
  if (!b.sameDump) rows.push(['(the two dumps differed!)', '', '', '', '']);
  const f = vm.floor;
  if (f && !f.error && st && !st.error) {
    // What no JavaScript add-flows could beat here: node's start plus the kernel's work.
    const best = st.node.median + f.raw.median;
    rows.push([`… floor: node -e 0 + the kernel taking the same puts pre-encoded, 256 per sendmsg`, `${fmtMs(best)} (${fmtMs(st.node.median)} + ${fmtMs(f.raw.median)})`, `${fmtMs(d.add.median)} ovs-dpctl`, fmtX(d.add.median / best), '']);
    // What add-flows would take with ovsdp's start as it is and no time per line at all.
    if (o.empty) {
      const started = o.empty.median + f.raw.median;
      rows.push([`… ovsdp's start (its dump-flows of the empty datapath) + the kernel taking the puts`, `${fmtMs(started)} (${fmtMs(o.empty.median)} + ${fmtMs(f.raw.median)})`, `${fmtMs(d.add.median)} ovs-dpctl`, fmtX(d.add.median / started), '']);
    }
  }
} else todo('add-flows / dump-flows / del-flows', b?.error ?? 'not run');
if (vm.latency && !vm.latency.error) {
  const l = vm.latency;
  rows.push(['add-flow: one flow, one process', fmtMs(l.ovsdp.median) + spread(l.ovsdp), `${fmtMs(l['ovs-dpctl'].median)}${spread(l['ovs-dpctl'])} ovs-dpctl`, fmtX(l['ovs-dpctl'].median / l.ovsdp.median), '']);
} else todo('add-flow latency', vm.latency?.error ?? 'not run');
if (st && !st.error) {
  rows.push(['process start: `--version`', `${fmtMs(st.ovsdp.median)} (node -e 0: ${fmtMs(st.node.median)})`, `${fmtMs(st['ovs-dpctl'].median)} ovs-dpctl`, fmtX(st['ovs-dpctl'].median / st.ovsdp.median), '']);
} else todo('process start', st?.error ?? 'not run');
const m = vm.misses;
if (m && !m.error) {
  const o = m.ovsdp;
  const v = m['ovs-vswitchd'];
  const rate = (r) => `${(r.overall ?? r.median).toFixed(0)}/s (bursts ${r.min.toFixed(0)}–${r.max.toFixed(0)})`;
  rows.push([`miss handling: flow setups/s, ${o.setupsPerSecond.n} burst${o.setupsPerSecond.n === 1 ? '' : 's'} of ${n(m.burst)} new connections`, `${rate(o.setupsPerSecond)}, lost ${o.lost.max}`, `${rate(v.setupsPerSecond)}, lost ${v.lost.max}, ovs-vswitchd, 1 handler`, fmtX((o.setupsPerSecond.overall ?? o.setupsPerSecond.median) / (v.setupsPerSecond.overall ?? v.setupsPerSecond.median)), '≥ 0.5x']);
  if (o.cpuPerMissUs && v.cpuPerMissUs) {
    const cpu = (c) => `${(c.user + c.system).toFixed(0)} µs (user ${c.user.toFixed(0)}, system ${c.system.toFixed(0)})`;
    rows.push(['… CPU time of the switch\'s process per miss', cpu(o.cpuPerMissUs), `${cpu(v.cpuPerMissUs)} ovs-vswitchd`, fmtX((v.cpuPerMissUs.user + v.cpuPerMissUs.system) / (o.cpuPerMissUs.user + o.cpuPerMissUs.system)), '']);
  }
  rows.push(['… the first burst after start (V8 compiling the miss path)', `${o.warmupSetupsPerSecond.toFixed(0)}/s`, `${v.warmupSetupsPerSecond.toFixed(0)}/s ovs-vswitchd`, fmtX(o.warmupSetupsPerSecond / v.warmupSetupsPerSecond), '']);
  rows.push(['miss handling: first packet of a connection, send to arrival', `${o.firstPacketMs.median.toFixed(1)} ms`, `${v.firstPacketMs.median.toFixed(1)} ms ovs-vswitchd`, fmtX(v.firstPacketMs.median / o.firstPacketMs.median), '']);
  rows.push(['… its second packet (flow installed)', `${o.secondPacketMs.median.toFixed(1)} ms`, `${v.secondPacketMs.median.toFixed(1)} ms ovs-vswitchd`, '', '']);
} else todo('miss handling (ovsdp controller vs ovs-vswitchd)', m?.error ?? 'not run');
if (vm.big && !vm.big.error) {
  const g = vm.big;
  rows.push([`add-flows: ${n(g.flows)} flows (ovsdp alone)`, `${fmtMs(g.add.ms)}, peak RSS ${fmtMiB(g.add.hwmKB)}`, '', '', 'bounded memory']);
  rows.push([`dump-flows: ${n(g.flows)} flows (ovsdp alone)`, `${fmtMs(g.dump.ms)}, peak RSS ${fmtMiB(g.dump.hwmKB)}`, '', '', 'bounded memory']);
} else todo('200,000 flows', vm.big?.error ?? 'not run');
if (!codec.error) {
  // The range across processes (results files from before it was measured have none).
  const ns = (r) => (r.min === undefined || !codec.processes ? fmtNs(r.ns) : `${fmtNs(r.ns)} (${fmtNs(r.min)}–${fmtNs(r.max)})`);
  rows.push([`codec (host): encode a ct/nat flow put (${codec.bytes.put} bytes)`, ns(codec.encode), '', '', '≤ 300 ns']);
  rows.push([`codec (host): decode a dumped flow (${codec.bytes.dumped} bytes)`, ns(codec.decode), '', '', '≤ 500 ns']);
  rows.push(['codec (host): print a dumped flow from its reply bytes as its dump-flows line', ns(codec.print), '', '', '']);
  rows.push(['flow text (host): parse an add-flows line', ns(codec.parse), '', '', '']);
} else todo('codec', codec.error);

const header = ['Workload', 'ovsdp', 'reference', 'ratio', 'target'];
const table = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');

const env = vm.env ?? {};
const date = measuredOn.slice(0, 10);
const doc = `# Benchmarks

ovsdp against the reference tools on the same work, measured by \`npm run bench\` on
${date}: kernel ${env.kernel ?? '(VM not run)'} in a qemu VM (software emulation, ${env.cpus ?? '?'} vCPUs)
on a host with ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}; ${env.ovsDpctl ?? 'ovs-dpctl'}; Node ${env.node ?? process.version}.

${table}

**Ratio**: how many times better ovsdp is (the reference's time divided by ovsdp's, or
ovsdp's rate divided by the reference's); above 1, ovsdp wins. Figures are medians of
${env.reps ?? opts.reps} repetitions (process start and add-flow: ${3 * Number(env.reps ?? opts.reps)}; min–max in parentheses) within one VM
run, the two tools taking turns going first, after one untimed warm-up of each (miss
handling: two bursts, and its rate is over all its timed bursts, see below).
Times are wall time of the whole process, as a user running the command sees it. The
host is shared and emulation slows things unevenly (see below): figures from different
runs do not compare, ratios within a run do, and neither is what real hardware would show.

- **Flows**: distinct TCP flows (\`scripts/bench/workloads.mjs\`), each
  \`recirc_id(0),in_port(1),eth(...),eth_type(0x0800),ipv4(src=10.x.y.z,dst=172.16.0.1,proto=6,frag=no),tcp(src=...,dst=80),tcp_flags(0/0)\`
  with actions \`ct(commit,zone=1,nat(src=192.168.0.1-192.168.0.9:1024-65535)),recirc(1)\`.
  Both tools read the same file; both dumps are checked to hold every flow (and to be
  the same text); del-flows FILE reads the keys alone and must leave no flow.
- **Net of process start**: the dump's median minus the tool's own \`--version\` median.
  \`--version\` does less than a flow command's start (no netlink family or datapath lookup),
  so the next row also takes each tool's dump-flows of the empty datapath (timed in each
  repetition before its add-flows) off its dump: what is left is the dump's own work.
- **Floor** (\`scripts/bench/add-flows-floor.mjs\`): the same puts encoded before the clock
  starts and sent from a running node process, 256 per sendmsg, one batch at a time; with
  \`node -e 0\` added, what no add-flows written in JavaScript could beat in this VM. Its
  ratio is the best add-flows could reach against ovs-dpctl here. With ovsdp's dump-flows
  of the empty datapath added instead (the next row), what add-flows would take with the
  start-up it has and no time spent per line.
- **Miss handling** (\`scripts/bench/misses.mjs\`, \`missgen.py\`): two namespaces on
  ports 1 and 2; a burst of UDP packets, each the first of a new connection (its own
  source port), and the rule \`in_port=1,udp,actions=mod_tp_src:5000,output:2\` under
  \`ovsdp controller\` and under ovs-vswitchd (\`n-handler-threads=1\`). A rewritten port
  is matched exactly in the megaflow by both, so each packet is one miss and one new
  kernel flow. A burst's rate: packets through, divided by the time from the first send
  to the last arrival; packets whose upcall the kernel dropped count as lost. The figure:
  all the timed bursts' packets over their times summed (the bursts' own rates in
  parentheses). Now and then one of the controller's bursts runs at about half the rate
  of the others, its garbage collector or optimizing compiler at work in it; a median of
  a few bursts would land on either side of it from run to run. Each switch gets
  two untimed bursts first: under the emulation V8's optimizing compiler is slow, and a
  fresh controller still compiles in its second burst of 2,000 misses (1.1 s, then
  0.12 s); the first burst's rate is its own row. CPU time: what the switch's process
  (\`ovsdp controller\`, ovs-vswitchd: all its threads) used during the timed bursts
  (/proc/<pid>/stat), per packet sent, over all of them; the kernel's work for a miss is partly in it
  (the flow put and the execute, done in the sendmsg that sends them) and partly
  elsewhere (the upcall, made in the softirq that receives the packet). It is the
  guest's count: the two vCPUs take turns on one host thread, and a process's time
  runs on while the other vCPU's turn is emulated, so compare the two switches' figures
  with each other, not with the rate.
- **200,000 flows** (ovs-vswitchd's default flow limit): ovsdp alone; peak RSS is the
  process's VmHWM.
- **Codec** (host, no VM; \`scripts/bench/codec.mjs\`): CPU time per flow, median of
  several rounds over 1,024 distinct flows, in each of ${codec.processes ?? 'several'} processes
  (\`--codec-processes\`); the figure is the median of the processes' (their range in
  parentheses: one process runs the same code steadily up to 1.4 times slower than
  another, its profile the same shape, while a plain arithmetic loop varies by under 1%
  in the same minutes). The spread is not in the data, nor in what V8 compiles: within
  a process the figure holds when the flows and the output buffer are made anew, and a
  fast and a slow process inline the same functions into the same machine code, byte
  for byte, at other addresses (\`--print-opt-code\`); compiled again in the same
  process, the same code runs at another speed. With V8's background compiles off
  (\`--no-concurrent-recompilation\`) the processes of one harness get nearly one
  figure, which moves by 1.3 times with how the harness calls the encoder. Smaller
  machine code lowered the figure: the address memos' parses moved out of line (a key's
  writer 14.6 -> 11.7 KB) took ~25 ns off the median; other ways to shrink it did not.
  Encode: the whole request add-flows sends (headers, key, mask, actions); decode: a
  kernel reply as dump-flows gets it (every key attribute, mask, statistics, actions)
  to the library's \`Flow\`; print: that reply's bytes as its dump-flows line, the
  way dump-flows prints text (\`FlowLinePrinter\`: attributes repeated from earlier
  flows are not decoded again).

## Reading the figures

The VM is qemu's software emulation with one host thread for both vCPUs (\`vm/run\`), and
it does not slow everything alike. ovs-dpctl is compiled C; ovsdp is JavaScript that V8
compiles while it runs, and emulation translates every piece of machine code before it
runs it: V8's own code once, but the code V8 writes for a process anew in each process.
So a short JavaScript process pays more per instruction here than compiled C, and every
system call is dear too (the kernel's entry and exit, with their mitigations, are
emulated): counted with an instruction-counting qemu plugin, ovs-dpctl's add-flows of
20,000 flows ran ~3,100 million guest instructions, ~2,200 million of them in the kernel
(a round trip per flow), ovsdp's ~670 million, ~300 million in the kernel (the puts
themselves, 256 per sendmsg). Where add-flows' time goes: a flow command's start (node,
the bundle, the family and datapath lookups: the dump-flows of an empty datapath row),
the kernel's work on the puts (the floor row), and what is left, JavaScript reading the
lines: a line that takes the shape of an earlier one costs under 1 µs on the host
(\`scripts/bench/parse-profile.mjs\`), one that is parsed whole about 4 µs once warm. The
two floor rows bound it: node's own start plus the kernel's work is what no JavaScript
could beat, and ovsdp's flow-command start plus the kernel's work is what add-flows would
take with no time per line at all. Start-up runs from one minified script with V8 code
caches made at build time, one per kind of flow command by running those commands
against a stand-in for the kernel (\`scripts/build-bundle.mjs\`), and loads Node's
modules as commands first need them. A V8 start-up snapshot of the warmed-up CLI (\`node
--snapshot-blob\`) was tried and left out: it halves \`--version\` on the host, but in the
VM its 6 MB blob loads no faster than the bundle and its code cache, and a blob loads only
on the CPU it was made on (Node checks V8's CPU features, so one made on the host is
refused in the VM). Of Node's switches, bin/ovsdp's \`#!\` line has three:
\`--single-threaded\` (a few per cent faster for add-flows), \`--min-semi-space-size=4\`
(spares a flow command's start-up its two garbage collections) and \`--no-sparkplug\` (no
baseline machine code for emulation to translate; the same speed per line on the host).
\`ovsdp controller\`, which runs on, is started again by bin/ovsdp in a node without them:
with V8's background compiling and collecting it set up 14% more flows a second (medians
of nine bursts, the two ways taking turns).
\`--jitless\` and \`--no-opt\` made a 20,000-flow add-flows three times as slow;
\`--interrupt-budget=16384\` ran a third more instructions; \`--maglev\`,
\`--always-sparkplug\`, \`--max-lazy\`, \`--max-inlined-bytecode-size-cumulative\` and
\`--no-lazy-feedback-allocation\` did not help. Peak RSS of the 200,000-flow runs is mostly
garbage and buffers V8 has not collected yet: add-flows' live heap after each full
collection stays near 11 MiB, and the peak grows little from 100,000 flows to 200,000.

Miss handling: each upcall is a datagram of its own. The netlink binding reads one with
two recvmsg calls (a peek for its size, then the read) and hands it to JavaScript in a
callback of its own (a Buffer with a finalizer, an address object, a turn of the
microtask queue): profiled with perf in the VM, a sixth of the controller's time in a
burst. So the controller's sockets let the binding read the first upcall of each wake-up
and read the ones queued behind it with one recvmmsg (\`src/nl/batched-reads.ts\`): 17%
more flows a second (medians of nine bursts each, with and without, taking turns). Then
come the upcall's decode, the translation, and the put and execute, the puts and
executes of up to 64 upcalls in one sendmsg (a burst of 2,000 misses comes to the
controller as one batch); the kernel's work on those is about a fifth of its time.
V8's compiling, ~25% of the first measured burst's time before the warm-up was two bursts
long, is why the first burst of a fresh controller is so much slower (its own row). The
JavaScript part alone, on the host against a stand-in socket
(\`scripts/bench/miss-profile.mjs\`: upcall decode, translation, UFID, put and execute),
is ~1.7-2 µs of CPU a miss.

\`npm run bench -- --profile\` prints, per command, where ovsdp's time went (self time by
function and by file), from \`node --cpu-prof\` of every ovsdp process of the run (under
that flag V8 refuses the build's code cache, so their start-up compiles from scratch).

## Reproduce

\`\`\`sh
npm install
npm run bench                  # build, codec on the host, one VM run (5-15 minutes, by the host's load)
npm run bench -- --reps 1 --only bulk,startup   # fewer repetitions, some sections
npm run bench -- --profile     # also print where ovsdp's time goes (node --cpu-prof)
npm run bench -- --help        # every option
\`\`\`

Sections: \`startup\`, \`bulk\`, \`floor\`, \`latency\`, \`big\`, \`misses\`. \`--flows N\` and
\`--big N\` change the flow counts; \`--no-vm\` runs the codec alone; \`--no-write\` leaves
this file as it is; \`--from dist/bench/last.json\` writes it again from the last run's figures.
`;

process.stdout.write(`\n${table}\n`);
if (!opts['no-write']) {
  writeFileSync(path.join(root, 'BENCHMARKS.md'), doc);
  process.stderr.write('bench: wrote BENCHMARKS.md\n');
}
const errors = [codec, ...Object.values(vm)].filter((r) => r && typeof r === 'object' && 'error' in r);
process.stderr.write(`bench: done in ${((Date.now() - started) / 60000).toFixed(1)} min${errors.length ? `, ${errors.length} section(s) failed` : ''}\n`);
process.exitCode = errors.length ? 1 : 0;
