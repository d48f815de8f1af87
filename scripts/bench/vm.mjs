#!/usr/bin/env node
/**
 * The in-VM half of `npm run bench` (run.mjs boots the VM and runs this as root in it):
 * ovsdp and ovs-dpctl on the same work, several repetitions each, alternating which goes
 * first. Every figure is the wall time of a whole process, as a user running the command
 * sees it. Progress goes to stderr; the results are one JSON line on stdout after
 * RESULT_MARK.
 *
 *   node scripts/bench/vm.mjs [--reps N] [--flows N] [--big N] [--only a,b] [--profile]
 *
 * Sections (--only picks some): startup, bulk (add-flows, dump-flows, del-flows FILE of
 * --flows ct/nat flows), floor (the kernel alone on the same puts, add-flows-floor.mjs),
 * latency (one add-flow process), big (--big flows, ovsdp alone,
 * with peak memory), misses (flow setups per second through ovsdp controller and
 * ovs-vswitchd, see misses.mjs). --profile runs each ovsdp process under --cpu-prof and
 * prints where its time went, per section.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, release } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESULT_MARK, SECTIONS, VM_OPTIONS, commandLine } from './options.mjs';
import { formatSummary, summarizeProfiles } from './profile-summary.mjs';
import { stats } from './stats.mjs';
import { FLOW_ACTIONS, flowKey, flowLineText, writeLines } from './workloads.mjs';


const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const opts = commandLine(VM_OPTIONS, 'usage: node scripts/bench/vm.mjs [--reps N] [--flows N] [--big N] [--only SECTIONS] [--profile]   (in the VM, as root: run.mjs runs it)\n');
const REPS = Number(opts.reps);
const FLOWS = Number(opts.flows);
const BIG = Number(opts.big);
const sections = new Set(opts.only?.split(',') ?? SECTIONS);
const TMP = '/tmp/ovsdp-bench';
rmSync(TMP, { recursive: true, force: true });
mkdirSync(TMP, { recursive: true });

const log = (s) => process.stderr.write(`bench: ${s}\n`);

// ---------------------------------------------------------------- running things

// bin/ovsdp runs as a user's shell runs it: through its #! line (node's flags included).
const OVSDP = [path.join(root, 'bin/ovsdp')];
/** The node flags of bin/ovsdp's `#!/usr/bin/env -S node FLAGS` line. */
const OVSDP_NODE_FLAGS = readFileSync(OVSDP[0], 'utf8').split('\n', 1)[0].split(/\s+/).slice(3);
const DPCTL = ['ovs-dpctl'];
let profileRun = 0;

/**
 * Runs a command to completion; returns its wall time in ms. `stdout`: a file to write
 * its output to (default: discarded). `hwm`: read the node process's peak memory (kB).
 * A failure (non-zero exit) throws with the command's stderr.
 */
function run(cmd, { stdout, hwm = false, label, allowFail = false } = {}) {
  const env = { ...process.env };
  let hwmFile;
  if (hwm) {
    hwmFile = path.join(TMP, 'hwm.txt');
    rmSync(hwmFile, { force: true });
    env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --require ${path.join(here, 'hwm.cjs')}`.trim();
    env.OVSDP_BENCH_HWM = hwmFile;
  }
  if (opts.profile && cmd[0] === OVSDP[0] && label) {
    // Node takes --cpu-prof on its command line only: run bin/ovsdp as its #! line would, plus that.
    const prof = ['--cpu-prof', `--cpu-prof-dir=${path.join(TMP, 'prof', label)}`, `--cpu-prof-name=${profileRun++}.cpuprofile`];
    cmd = [process.execPath, ...OVSDP_NODE_FLAGS, ...prof, ...cmd];
  }
  // Output goes straight to the file, as a user's redirection would send it.
  const out = stdout ? openSync(stdout, 'w') : 'ignore';
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd[0], cmd.slice(1), { env, stdio: ['ignore', out, 'pipe'], maxBuffer: 1 << 26 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (typeof out === 'number') closeSync(out);
  if (r.status !== 0 && !allowFail) {
    throw new Error(`${cmd.join(' ')} exited with ${r.status ?? r.signal}: ${r.stderr.toString().trim().split('\n').slice(-5).join(' | ')}`);
  }
  const result = { ms };
  if (hwmFile && existsSync(hwmFile)) result.hwmKB = Math.max(...readFileSync(hwmFile, 'utf8').trim().split('\n').map(Number));
  return result;
}

/** Runs a setup/cleanup command, untimed, that must succeed. */
function sh(cmd) {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr.trim()}`);
  return r.stdout;
}

function lineCount(file) {
  const text = readFileSync(file, 'utf8');
  return text === '' ? 0 : text.split('\n').filter(Boolean).length;
}

const flowCount = (dp) => Number(sh(`ovs-dpctl dump-flows ${dp} | wc -l`).trim());

function printProfile(label) {
  const dir = path.join(TMP, 'prof', label);
  if (!opts.profile || !existsSync(dir)) return;
  log(`profile of ovsdp ${label} (self time, all runs):\n${formatSummary(summarizeProfiles(dir, { top: 30 }))}`);
  log(`profile of ovsdp ${label} by file:\n${formatSummary(summarizeProfiles(dir, { top: 25, byFile: true }))}`);
}

const tools = { 'ovs-dpctl': DPCTL, ovsdp: OVSDP };
/** Both tools, the first one alternating with the repetition. */
const inTurn = (rep) => (rep % 2 ? ['ovs-dpctl', 'ovsdp'] : ['ovsdp', 'ovs-dpctl']);

// ---------------------------------------------------------------- sections

const results = {};

function startup() {
  const times = { node: [], ovsdp: [], 'ovs-dpctl': [] };
  // One warm-up round: the first start of anything reads its files through 9p.
  for (let rep = -1; rep < 3 * REPS; rep++) {
    const t = {
      node: run([process.execPath, '-e', '0']).ms,
      ovsdp: run([...OVSDP, '--version'], { label: 'version' }).ms,
      'ovs-dpctl': run([...DPCTL, '--version']).ms,
    };
    if (rep >= 0) for (const k in t) times[k].push(t[k]);
  }
  results.startup = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, stats(v)]));
  log(`startup: node -e 0 ${results.startup.node.median.toFixed(0)} ms, ovsdp --version ${results.startup.ovsdp.median.toFixed(0)} ms, ovs-dpctl --version ${results.startup['ovs-dpctl'].median.toFixed(0)} ms`);
  printProfile('version');
}

function bulk() {
  const addFile = path.join(TMP, 'flows.txt');
  const delFile = path.join(TMP, 'keys.txt');
  writeLines(addFile, FLOWS, flowLineText);
  writeLines(delFile, FLOWS, flowKey);
  const times = {};
  // empty: dump-flows of the datapath before any flow, i.e. the tool's start-up, family and
  // datapath lookups and an empty dump; a dump's own work is `dump` less `empty`.
  for (const tool of Object.keys(tools)) times[tool] = { empty: [], add: [], dump: [], del: [] };
  // One untimed warm-up of each tool (files into the page cache, the kernel's caches warm).
  for (let rep = -1; rep < REPS; rep++) {
    for (const tool of inTurn(rep)) {
      const dp = 'bench';
      sh(`ovs-dpctl add-dp ${dp}`);
      try {
        const cmd = tools[tool];
        const empty = run([...cmd, 'dump-flows', dp], { stdout: path.join(TMP, `empty-${tool}.txt`) }).ms;
        const add = run([...cmd, 'add-flows', dp, addFile], { label: 'add-flows' }).ms;
        const dumpFile = path.join(TMP, `dump-${tool}.txt`);
        const dump = run([...cmd, 'dump-flows', dp], { stdout: dumpFile, label: 'dump-flows' }).ms;
        const dumped = lineCount(dumpFile);
        if (dumped !== FLOWS) throw new Error(`${tool}: dump-flows printed ${dumped} flows, expected ${FLOWS}`);
        const del = run([...cmd, 'del-flows', dp, delFile], { label: 'del-flows' }).ms;
        const left = flowCount(dp);
        if (left !== 0) throw new Error(`${tool}: ${left} flows left after del-flows FILE`);
        if (rep >= 0) {
          times[tool].empty.push(empty);
          times[tool].add.push(add);
          times[tool].dump.push(dump);
          times[tool].del.push(del);
        }
        log(`bulk ${rep < 0 ? 'warm-up' : `rep ${rep + 1}/${REPS}`} ${tool}: dump-flows of none ${empty.toFixed(0)} ms, add-flows ${add.toFixed(0)} ms, dump-flows ${dump.toFixed(0)} ms, del-flows ${del.toFixed(0)} ms`);
      } finally {
        sh(`ovs-dpctl del-dp ${dp}`);
      }
    }
  }
  // Both tools print the same text: the dumps must agree line for line, once sorted.
  const sorted = (tool) => readFileSync(path.join(TMP, `dump-${tool}.txt`), 'utf8').split('\n').map((l) => l.replace(/used:[^,]+/, 'used:X')).sort().join('\n');
  const sameDump = sorted('ovsdp') === sorted('ovs-dpctl');
  results.bulk = { flows: FLOWS, sameDump };
  for (const tool of Object.keys(tools)) {
    results.bulk[tool] = Object.fromEntries(Object.entries(times[tool]).map(([k, v]) => [k, stats(v)]));
  }
  printProfile('add-flows');
  printProfile('dump-flows');
  printProfile('del-flows');
}

function latency() {
  const times = { ovsdp: [], 'ovs-dpctl': [] };
  const dp = 'lat';
  sh(`ovs-dpctl add-dp ${dp}`);
  try {
    let i = 0;
    for (let rep = -1; rep < 3 * REPS; rep++) {
      for (const tool of inTurn(rep)) {
        const key = flowKey(0x100000 + i++);
        const ms = run([...tools[tool], 'add-flow', dp, key, FLOW_ACTIONS], { label: 'add-flow' }).ms;
        if (rep >= 0) times[tool].push(ms);
      }
    }
    if (flowCount(dp) !== i) throw new Error(`add-flow: ${flowCount(dp)} flows installed, expected ${i}`);
  } finally {
    sh(`ovs-dpctl del-dp ${dp}`);
  }
  results.latency = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, stats(v)]));
  log(`latency: add-flow ovsdp ${results.latency.ovsdp.median.toFixed(0)} ms, ovs-dpctl ${results.latency['ovs-dpctl'].median.toFixed(0)} ms`);
  printProfile('add-flow');
}

function big() {
  const file = path.join(TMP, 'big.txt');
  writeLines(file, BIG, flowLineText);
  const dp = 'big';
  sh(`ovs-dpctl add-dp ${dp}`);
  try {
    const add = run([...OVSDP, 'add-flows', dp, file], { hwm: true, label: 'big-add-flows' });
    const dumpFile = path.join(TMP, 'big-dump.txt');
    const dump = run([...OVSDP, 'dump-flows', dp], { stdout: dumpFile, hwm: true, label: 'big-dump-flows' });
    const dumped = lineCount(dumpFile);
    if (dumped !== BIG) throw new Error(`big: dump-flows printed ${dumped} flows, expected ${BIG}`);
    results.big = { flows: BIG, fileBytes: statSync(file).size, add, dump };
    log(`big: ${BIG} flows: add-flows ${(add.ms / 1000).toFixed(1)} s, peak ${(add.hwmKB / 1024).toFixed(0)} MiB; dump-flows ${(dump.ms / 1000).toFixed(1)} s, peak ${(dump.hwmKB / 1024).toFixed(0)} MiB`);
  } finally {
    sh(`ovs-dpctl del-dp ${dp}`);
    rmSync(file, { force: true });
  }
  printProfile('big-add-flows');
  printProfile('big-dump-flows');
}

/**
 * The kernel's share of add-flows: the same puts encoded before the clock starts and sent
 * from a running process, 256 per sendmsg (add-flows-floor.mjs). Node's start plus this is
 * as fast as any add-flows in JavaScript could be here.
 */
function floor() {
  const r = spawnSync(process.execPath, [path.join(here, 'add-flows-floor.mjs'), String(FLOWS), String(REPS)], { env: { ...process.env, OVSDP_BENCH_JSON: '1' }, encoding: 'utf8' });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('BENCH-FLOOR '));
  if (r.status !== 0 || !line) throw new Error(`add-flows-floor.mjs exited with ${r.status ?? r.signal}: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
  const times = JSON.parse(line.slice('BENCH-FLOOR '.length));
  results.floor = { flows: FLOWS, raw: stats(times.raw), table: stats(times.table) };
  log(`floor: ${FLOWS} pre-encoded puts ${results.floor.raw.median.toFixed(0)} ms, through the flow table ${results.floor.table.median.toFixed(0)} ms`);
}

async function misses() {
  const { measureMisses } = await import('./misses.mjs');
  results.misses = await measureMisses({ reps: REPS, log, tmp: TMP, root, profile: opts.profile });
}

// ---------------------------------------------------------------- main

results.env = {
  kernel: release(),
  cpu: cpus()[0]?.model ?? 'unknown',
  cpus: cpus().length,
  node: process.version,
  ovsDpctl: sh('ovs-dpctl --version').split('\n')[0],
  reps: REPS,
};
const steps = { startup, bulk, floor, latency, big, misses };
for (const [name, step] of Object.entries(steps)) {
  if (!sections.has(name)) continue;
  const t0 = Date.now();
  try {
    await step();
  } catch (err) {
    results[name] = { error: err.message };
    log(`${name} failed: ${err.message}`);
  }
  log(`${name}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}
process.stdout.write(`${RESULT_MARK}${JSON.stringify(results)}\n`);
