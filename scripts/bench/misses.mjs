/**
 * Miss handling in the VM: how fast flows get set up when every packet of a burst is the
 * first of a new connection, through `ovsdp controller` and through ovs-vswitchd (one
 * handler thread) with the same OpenFlow rule, and how long a first packet takes.
 *
 * Two namespaces on ports 1 and 2; missgen.py sends UDP from the first, each packet from
 * its own source port, and times their arrival in the second. The rule rewrites the
 * source port (`mod_tp_src`), so both switches match it exactly in the megaflow (a
 * rewritten L4 port is matched, in ovs-vswitchd as in ovsdp): one miss and one new
 * kernel flow per connection. Rate: packets through / seconds from the first send to
 * the last arrival; misses the kernel dropped (upcall queue full) count as lost.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { formatSummary, summarizeProfiles } from './profile-summary.mjs';

const RULE = 'in_port=1,udp,actions=mod_tp_src:5000,output:2';
const MAC1 = '02:00:00:00:77:01';
const MAC2 = '02:00:00:00:77:02';
const BURST = 2000;
const LATENCY_SAMPLES = 15;

function sh(cmd, env) {
  const r = spawnSync('bash', ['--norc', '-ec', cmd], { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${cmd.split('\n')[0]}...: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return r.stdout;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function lab() {
  sh(`
    ip netns add mb1; ip netns add mb2
    ip link add mp1 type veth peer name eth0 netns mb1
    ip link add mp2 type veth peer name eth0 netns mb2
    sysctl -q -w net.ipv6.conf.mp1.disable_ipv6=1 net.ipv6.conf.mp2.disable_ipv6=1
    ip link set mp1 up; ip link set mp2 up
    for n in 1 2; do
      ip netns exec mb$n sysctl -q -w net.ipv6.conf.all.disable_ipv6=1
      ip -n mb$n link set eth0 address 02:00:00:00:77:0$n
      ip -n mb$n link set eth0 up
    done`);
}

function unlab() {
  sh('ip netns del mb1 2>/dev/null || true; ip netns del mb2 2>/dev/null || true');
}

/** Runs the generator; returns its JSON answer. */
function generate(here, mode, count, base) {
  const out = sh(`python3 ${path.join(here, 'missgen.py')} mb1 mb2 ${MAC1} ${MAC2} ${mode} ${count} ${base}`);
  return JSON.parse(out.trim().split('\n').pop());
}

/** Runs the measurements against whichever switch is answering misses now. */
function measure(here, reps, portBase, log, name) {
  const rates = [];
  const lost = [];
  for (let r = 0; r < reps; r++) {
    const g = generate(here, 'rate', BURST, portBase + r * BURST);
    rates.push(g.received / g.seconds);
    lost.push(g.lost);
    log(`misses ${name} rep ${r + 1}/${reps}: ${g.received}/${g.sent} through in ${g.seconds.toFixed(2)} s: ${(g.received / g.seconds).toFixed(0)} setups/s`);
  }
  const lat = generate(here, 'latency', LATENCY_SAMPLES, portBase + reps * BURST);
  log(`misses ${name}: first packet ${median(lat.first).toFixed(1)} ms, second ${median(lat.second).toFixed(1)} ms`);
  return {
    setupsPerSecond: { median: median(rates), min: Math.min(...rates), max: Math.max(...rates), n: rates.length },
    lost: { median: median(lost), max: Math.max(...lost) },
    firstPacketMs: { median: median(lat.first), n: lat.first.length },
    secondPacketMs: { median: median(lat.second), n: lat.second.length },
    latencyLost: lat.lost,
  };
}

/** Runs fn() while `ovsdp controller` answers the misses; returns its result and the controller's counters. */
async function withOvsdpController(root, tmp, profileDir, fn) {
  const rules = path.join(tmp, 'miss.rules');
  writeFileSync(rules, `${RULE}\n`);
  sh('ovs-dpctl add-dp mbench && ovs-dpctl add-if mbench mp1 && ovs-dpctl add-if mbench mp2');
  // Node's flags as `ovsdp controller` runs: those of bin/ovsdp's #! line.
  const shebang = readFileSync(path.join(root, 'bin/ovsdp'), 'utf8').split('\n', 1)[0];
  const flags = shebang.split(/\s+/).filter((w) => w.startsWith('--'));
  const node = [process.execPath, ...flags, ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])];
  const ctl = spawn(node[0], [...node.slice(1), path.join(root, 'bin/ovsdp'), 'controller', '--quiet', '--idle-timeout', '600', 'mbench', rules], { stdio: ['ignore', 'pipe', 'pipe'] });
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
    const result = fn();
    ctl.kill('SIGTERM');
    await exited;
    result.controllerStats = /stats: (.*)/.exec(output)?.[1];
    return result;
  } finally {
    if (ctl.exitCode === null) {
      ctl.kill('SIGTERM');
      await exited;
    }
    sh('ovs-dpctl del-dp mbench 2>/dev/null || true');
  }
}

function withVswitchd(tmp, fn) {
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
      -- add-port br0 mp1 -- set interface mp1 ofport_request=1 \\
      -- add-port br0 mp2 -- set interface mp2 ofport_request=2
    ovs-vsctl --timeout=30 wait-until interface mp1 ofport=1 -- wait-until interface mp2 ofport=2
    ovs-ofctl del-flows br0
    ovs-ofctl add-flow br0 '${RULE}'`, env);
  try {
    return fn();
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
    out.ovsdp = await withOvsdpController(root, tmp, profileDir, () => measure(here, reps, 10000, log, 'ovsdp'));
    if (profileDir) {
      log(`profile of ovsdp controller (self time):\n${formatSummary(summarizeProfiles(profileDir, { top: 40 }))}`);
      log(`profile of ovsdp controller by file:\n${formatSummary(summarizeProfiles(profileDir, { top: 25, byFile: true }))}`);
    }
    out['ovs-vswitchd'] = withVswitchd(tmp, () => measure(here, reps, 30000, log, 'ovs-vswitchd'));
  } finally {
    unlab();
  }
  return out;
}
