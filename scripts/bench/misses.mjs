/**
 * Miss handling in the VM: how fast flows get set up when every packet of a burst is the
 * first of a new connection, through `ovsdp controller` and through ovs-vswitchd (one
 * handler thread) with the same OpenFlow rule, and how long a first packet takes.
 *
 * Each switch has its own pair of namespaces on its ports 1 and 2 (ovsdp's datapath
 * mbench, ovs-vswitchd's ovs-system); missgen.py sends UDP from the first, each packet
 * from its own source port, and times their arrival in the second. The rule rewrites the
 * source port (`mod_tp_src`), so both switches match it exactly in the megaflow (a
 * rewritten L4 port is matched, in ovs-vswitchd as in ovsdp): one miss and one new
 * kernel flow per connection. Rate: packets through / seconds from the first send to
 * the last arrival; misses the kernel dropped (upcall queue full) count as lost.
 *
 * ovsdp is measured first, then ovs-vswitchd (which deletes the datapaths it does not
 * know when it starts; and with both at once, ovs-vswitchd's upcalls were sometimes all
 * lost, its per-CPU handler ids unusable). Each gets two untimed warm-up bursts first, as
 * the other sections warm up their commands: under the VM's emulation V8's optimizing
 * compiler is slow, and a cold controller's compiling goes on into its second burst
 * (--trace-opt, the bursts told apart: 1.1 s of compiling in the first burst of 2,000
 * misses, 116 ms in the second, 56 in the third; the first burst's rate is reported apart).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { formatSummary, summarizeProfiles } from './profile-summary.mjs';
import { mean, median, stats } from './stats.mjs';

const RULE = 'in_port=1,udp,actions=mod_tp_src:5000,output:2';
const MAC1 = '02:00:00:00:77:01';
const MAC2 = '02:00:00:00:77:02';
const BURST = 2000;
/** Untimed bursts through each switch before the measured ones. */
const WARM_UP = 2;
const LATENCY_SAMPLES = 15;

/** Each switch's namespaces (hosts on ports 1 and 2), its ports' names, its source ports. */
const SIDES = {
  ovsdp: { ns: ['mb1', 'mb2'], ports: ['mp1', 'mp2'], portBase: 4000 },
  'ovs-vswitchd': { ns: ['mc1', 'mc2'], ports: ['mq1', 'mq2'], portBase: 34000 },
};

function sh(cmd, env) {
  const r = spawnSync('bash', ['--norc', '-ec', cmd], { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${cmd.split('\n')[0]}...: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return r.stdout;
}

function lab() {
  for (const { ns, ports } of Object.values(SIDES)) {
    sh(`
      ip netns add ${ns[0]}; ip netns add ${ns[1]}
      ip link add ${ports[0]} type veth peer name eth0 netns ${ns[0]}
      ip link add ${ports[1]} type veth peer name eth0 netns ${ns[1]}
      sysctl -q -w net.ipv6.conf.${ports[0]}.disable_ipv6=1 net.ipv6.conf.${ports[1]}.disable_ipv6=1
      ip link set ${ports[0]} up; ip link set ${ports[1]} up
      for n in 0 1; do
        ns=${ns[0].slice(0, -1)}$((n + 1))
        ip netns exec $ns sysctl -q -w net.ipv6.conf.all.disable_ipv6=1
        ip -n $ns link set eth0 address 02:00:00:00:77:0$((n + 1))
        ip -n $ns link set eth0 up
      done`);
  }
}

function unlab() {
  for (const { ns } of Object.values(SIDES)) sh(`ip netns del ${ns[0]} 2>/dev/null || true; ip netns del ${ns[1]} 2>/dev/null || true`);
}

/**
 * The fields of /proc/<pid>/stat after the command name (which may hold spaces, in
 * parentheses): [0] is field 3 of proc(5), the state.
 */
function statFields(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Clock ticks a second, the unit of /proc/<pid>/stat's times. */
let ticksPerSecond;

/** CPU time (µs of user and of system time, all threads) process `pid` has used so far: fields 14 and 15, utime and stime. */
function cpuMicros(pid) {
  ticksPerSecond ??= Number(sh('getconf CLK_TCK').trim()) || 100;
  const fields = statFields(pid);
  const micros = (ticks) => (Number(ticks) * 1e6) / ticksPerSecond;
  return { user: micros(fields[11]), system: micros(fields[12]) };
}

/** The one child process of `pid` (the process whose field 4, its parent, is `pid`). */
function onlyChild(pid) {
  const children = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
    try {
      return Number(statFields(d)[1]) === pid;
    } catch {
      return false;
    }
  });
  if (children.length !== 1) throw new Error(`process ${pid} has ${children.length} children, not one`);
  return Number(children[0]);
}

/** Runs the generator; returns its JSON answer. */
function generate(here, side, mode, count, base) {
  const out = sh(`python3 ${path.join(here, 'missgen.py')} ${side.ns[0]} ${side.ns[1]} ${MAC1} ${MAC2} ${mode} ${count} ${base}`);
  return JSON.parse(out.trim().split('\n').pop());
}

/**
 * One burst through `name`'s switch: setups per second, losses, and the CPU time the
 * switch's process (`pid`) took per packet sent, user and system.
 */
function burst(here, name, pid, next, log, what, diagnose) {
  const side = SIDES[name];
  const before = cpuMicros(pid);
  const g = generate(here, side, 'rate', BURST, next[name]);
  const after = cpuMicros(pid);
  next[name] += BURST;
  if (g.received === 0) log(`misses ${name} ${what}: nothing came through:\n${diagnose(name)}`);
  const rate = g.received / g.seconds;
  const cpu = { user: (after.user - before.user) / g.sent, system: (after.system - before.system) / g.sent };
  log(`misses ${name} ${what}: ${g.received}/${g.sent} through in ${g.seconds.toFixed(2)} s: ${rate.toFixed(0)} setups/s; ${name} CPU per miss: user ${cpu.user.toFixed(0)} µs, system ${cpu.system.toFixed(0)} µs`);
  return { rate, received: g.received, seconds: g.seconds, lost: g.lost, cpu };
}

/**
 * For each switch of `names` (all running; pids[name]: its process): WARM_UP bursts, then
 * `reps` bursts each, the switches taking turns (order alternating); then first-packet
 * latencies.
 */
function measure(here, names, pids, reps, log, diagnose) {
  const next = Object.fromEntries(names.map((n) => [n, SIDES[n].portBase]));
  const out = Object.fromEntries(names.map((n) => [n, { rates: [], received: 0, seconds: 0, lost: [], user: [], system: [] }]));
  for (const n of names) out[n].warmup = Array.from({ length: WARM_UP }, (_, i) => burst(here, n, pids[n], next, log, `warm-up ${i + 1}/${WARM_UP}`, diagnose));
  for (let r = 0; r < reps; r++) {
    for (const n of r % 2 ? [...names].reverse() : names) {
      const b = burst(here, n, pids[n], next, log, `rep ${r + 1}/${reps}`, diagnose);
      out[n].rates.push(b.rate);
      out[n].received += b.received;
      out[n].seconds += b.seconds;
      out[n].lost.push(b.lost);
      out[n].user.push(b.cpu.user);
      out[n].system.push(b.cpu.system);
    }
  }
  const result = {};
  for (const n of names) {
    const lat = generate(here, SIDES[n], 'latency', LATENCY_SAMPLES, next[n]);
    log(`misses ${n}: first packet ${median(lat.first).toFixed(1)} ms, second ${median(lat.second).toFixed(1)} ms`);
    const { rates, received, seconds, lost, warmup, user, system } = out[n];
    result[n] = {
      // Over all the timed bursts: every packet through, over their times summed. Now and
      // then a burst is much slower than the others (the controller's: ~half the rate, its
      // garbage collector or optimizing compiler at work in it): a median of a few bursts
      // then lands on either side of it, where the sum counts it for what it took.
      setupsPerSecond: { ...stats(rates), overall: received / seconds },
      // CPU time of the switch's process per miss over the timed bursts (µs; each burst
      // sends as many packets).
      cpuPerMissUs: { user: mean(user), system: mean(system) },
      // The first burst of a cold controller (or of an ovs-vswitchd just started).
      warmupSetupsPerSecond: warmup[0].rate,
      lost: { median: median(lost), max: Math.max(...lost, ...warmup.map((w) => w.lost)) },
      firstPacketMs: { median: median(lat.first), n: lat.first.length },
      secondPacketMs: { median: median(lat.second), n: lat.second.length },
      latencyLost: lat.lost,
    };
  }
  return result;
}

/** Runs fn(pid of the controller) while `ovsdp controller` answers the misses; returns its result and the controller's counters. */
async function withOvsdpController(root, tmp, profileDir, fn) {
  const rules = path.join(tmp, 'miss.rules');
  writeFileSync(rules, `${RULE}\n`);
  const [p1, p2] = SIDES.ovsdp.ports;
  sh(`ovs-dpctl add-dp mbench && ovs-dpctl add-if mbench ${p1} && ovs-dpctl add-if mbench ${p2}`);
  // As a user's shell runs it: bin/ovsdp through its #! line, which starts the controller
  // in a child node without the line's flags (runWithThreads there). --profile runs
  // that child's way directly, with --cpu-prof.
  const bin = path.join(root, 'bin/ovsdp');
  const command = profileDir ? [process.execPath, '--cpu-prof', `--cpu-prof-dir=${profileDir}`, bin] : [bin];
  const ctl = spawn(command[0], [...command.slice(1), 'controller', '--quiet', '--idle-timeout', '600', 'mbench', rules], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  ctl.stdout.on('data', (d) => { output += d; });
  ctl.stderr.on('data', (d) => { output += d; });
  const exited = new Promise((resolve) => ctl.on('exit', resolve));
  try {
    // Ready once it has said which rules it answers with.
    for (let i = 0; i < 600 && !/^controller: /m.test(output); i++) {
      if (ctl.exitCode !== null) throw new Error(`ovsdp controller exited: ${output.trim()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!/^controller: /m.test(output)) throw new Error(`ovsdp controller did not start: ${output.trim()}`);
    const result = fn(profileDir ? ctl.pid : onlyChild(ctl.pid));
    ctl.kill('SIGTERM');
    await exited;
    result.ovsdp.controllerStats = /stats: (.*)/.exec(output)?.[1];
    return result;
  } finally {
    if (ctl.exitCode === null) {
      ctl.kill('SIGTERM');
      await exited;
    }
    sh('ovs-dpctl del-dp mbench 2>/dev/null || true');
  }
}

async function withVswitchd(tmp, fn) {
  const [p1, p2] = SIDES['ovs-vswitchd'].ports;
  const dir = path.join(tmp, 'ovs');
  mkdirSync(dir, { recursive: true });
  const env = { OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir };
  const db = path.join(dir, 'conf.db');
  sh(`
    ovsdb-tool create ${db} /usr/share/openvswitch/vswitch.ovsschema
    ovsdb-server --remote=punix:${dir}/db.sock --pidfile --detach --log-file ${db}
    ovs-vsctl --no-wait init
    ovs-vsctl --no-wait set Open_vSwitch . other_config:n-handler-threads=1 other_config:n-revalidator-threads=1 other_config:max-idle=600000
    ovs-vswitchd --pidfile --detach --log-file
    ovs-vsctl add-br br0 -- set bridge br0 fail-mode=secure \\
      -- add-port br0 ${p1} -- set interface ${p1} ofport_request=1 \\
      -- add-port br0 ${p2} -- set interface ${p2} ofport_request=2
    ovs-vsctl --timeout=30 wait-until interface ${p1} ofport=1 -- wait-until interface ${p2} ofport=2
    ovs-ofctl del-flows br0
    ovs-ofctl add-flow br0 '${RULE}'`, env);
  try {
    const pid = Number(readFileSync(path.join(dir, 'ovs-vswitchd.pid'), 'utf8').trim());
    return await fn(pid, () => sh(`ovs-dpctl show; tail -15 ${dir}/ovs-vswitchd.log; pgrep -a ovs-vswitchd || echo 'ovs-vswitchd is gone'`, env));
  } finally {
    sh(`ovs-appctl -t ovs-vswitchd exit || true; ovs-appctl -t ovsdb-server exit || true
      ovs-dpctl del-dp ovs-system 2>/dev/null || true`, env);
  }
}

export async function measureMisses({ reps, log, tmp, root, profile }) {
  const here = path.join(root, 'scripts/bench');
  if (spawnSync('python3', ['--version']).status !== 0) return { error: 'skipped: the generator needs python3' };
  const out = { burst: BURST, rule: RULE };
  unlab();
  lab();
  try {
    // ovsdp first: ovs-vswitchd deletes the datapaths it does not know when it starts.
    const profileDir = profile ? path.join(tmp, 'prof', 'controller') : undefined;
    const diagnoseOvsdp = () => sh('ovs-dpctl show mbench; ovs-dpctl dump-flows mbench | tail -3');
    Object.assign(out, await withOvsdpController(root, tmp, profileDir, (pid) => measure(here, ['ovsdp'], { ovsdp: pid }, reps, log, diagnoseOvsdp)));
    if (profileDir) {
      log(`profile of ovsdp controller (self time):\n${formatSummary(summarizeProfiles(profileDir, { top: 40 }))}`);
      log(`profile of ovsdp controller by file:\n${formatSummary(summarizeProfiles(profileDir, { top: 25, byFile: true }))}`);
    }
    Object.assign(out, await withVswitchd(tmp, (pid, diagnose) => measure(here, ['ovs-vswitchd'], { 'ovs-vswitchd': pid }, reps, log, diagnose)));
  } finally {
    unlab();
  }
  return out;
}
