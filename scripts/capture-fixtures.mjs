#!/usr/bin/env node
// `npm run fixtures`: captures the golden fixtures (fixtures/<family>/<case>.hex + .json)
// from what ovs-dpctl 3.1 really sends, in one VM boot. See fixtures/README.md.
//
//   node scripts/capture-fixtures.mjs              boots the VM (vm/run), captures every
//                                                  case of fixtures/cases.json, writes fixtures/
//   node scripts/capture-fixtures.mjs --raw FILE   also keeps the VM's raw output in FILE
//   node scripts/capture-fixtures.mjs --from FILE  writes fixtures/ from such a raw output
//                                                  again (no VM), e.g. after a decoder change
//   node scripts/capture-fixtures.mjs --in-vm      (what runs inside the VM) runs the cases,
//                                                  prints one JSON line per case
//
// In the VM each case's command runs under
//   strace -f -e trace=socket,close,sendmsg,sendto -e write=all
// and every netlink message it sends on a NETLINK_GENERIC socket is printed (from the hex
// dumps of what was written: dumps go out with send(), requests with sendmsg()); the
// socket() and close() calls tell which descriptors are generic netlink ones (rtnetlink
// message types overlap the generic netlink family ids). On the host the messages of the case's
// family and commands are picked, their sequence number and port id zeroed, and decoded
// with our own decoder for the .json. Needs `npm run build` first (dist/).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const fixturesDir = path.join(root, 'fixtures');
const casesFile = path.join(fixturesDir, 'cases.json');
const STRACE = ['strace', '-f', '-e', 'trace=socket,close,sendmsg,sendto', '-e', 'write=all'];

/** A shell-quoted command line, for humans (and bash -c). */
function shellQuote(argv) {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/**
 * The cases of cases.json, flattened: each with its section's family, the section's
 * setup/cleanup/after, and its command line (add-flow built from `flow`/`actions`).
 */
function loadCases() {
  const spec = JSON.parse(fs.readFileSync(casesFile, 'utf8'));
  const sections = spec.sections.map((section) => ({
    ...section,
    cases: section.cases.map((c) => {
      const command = c.command ?? (c.flow !== undefined ? [...section.flow_command, c.flow, ...(c.actions !== undefined ? [c.actions] : [])] : undefined);
      if (!command) throw new Error(`case ${section.family}/${c.name} has neither a command nor a flow`);
      return { ...c, family: c.family ?? section.family, command, cmd: c.cmd ?? section.cmd, after: c.after ?? section.after };
    }),
  }));
  const seen = new Set();
  for (const s of sections) {
    for (const c of s.cases) {
      const id = `${c.family}/${c.name}`;
      if (!/^[a-z0-9][a-z0-9-]*$/.test(c.name)) throw new Error(`case name "${c.name}": use a-z, 0-9 and -`);
      if (seen.has(id)) throw new Error(`case ${id} appears twice`);
      seen.add(id);
    }
  }
  return { spec, sections };
}

// ---------------------------------------------------------------- in the VM

/** Our library's connection and flow table, loaded in the VM only (flush_flows steps). */
let OvsConnection;
let FlowTable;

/**
 * Runs a setup/cleanup step: a string through bash, an array as is, or
 * {"flush_flows": DP}: deletes DP's flows through our own library, in this process (one
 * ovs-dpctl start less per flow case: everything runs ~20x slower in the VM).
 */
async function runStep(step, what) {
  if (step.flush_flows !== undefined) {
    const conn = new OvsConnection();
    try {
      await new FlowTable(conn, step.flush_flows, { kernelLog: false }).flush();
    } catch (err) {
      process.stderr.write(`capture: ${what}: flushing the flows of ${step.flush_flows} failed: ${err.message}\n`);
    } finally {
      conn.close();
    }
    return { stdout: '' };
  }
  const r = Array.isArray(step)
    ? spawnSync(step[0], step.slice(1), { encoding: 'utf8' })
    : spawnSync('bash', ['-c', step], { encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(`capture: ${what}: "${Array.isArray(step) ? shellQuote(step) : step}" exited ${r.status}: ${(r.stderr ?? '').trim()}\n`);
  }
  return r;
}

/**
 * The netlink datagrams an strace log shows sent on NETLINK_GENERIC sockets, as hex.
 * strace decodes netlink structures in its own notation, so the bytes are read from the
 * hex dumps that `-e write=all` adds after each send:
 *   PID socket(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC) = 8
 *   PID sendmsg(8, {msg_name=NULL, ..., msg_iov=[{iov_base=..., iov_len=40}], ...}, 0) = 40
 *    * 40 bytes in buffer 0
 *    | 00000  28 00 00 00 10 00 01 00  01 00 00 00 42 7c 00 00  (...........B|.. |
 *   PID sendto(9, [{nlmsg_len=24, ...}, ...], 24, 0, NULL, 0) = 24
 *    | 00000  18 00 00 00 24 00 0d 03  0a 00 00 00 ce 00 00 00  ....$........... |
 *   PID close(8) = 0
 * The socket() and close() calls say which descriptors are generic netlink ones.
 */
function genericNetlinkSends(log) {
  const protocols = new Map(); // "pid:fd" -> NETLINK_* (ovs-dpctl sends from one thread)
  const sends = [];
  let current; // { hex, length } of the send whose dump lines follow
  const finish = () => {
    if (!current) return;
    if (current.hex.length !== current.length * 2) throw new Error(`a send of ${current.length} bytes dumped ${current.hex.length / 2}`);
    sends.push(current.hex);
    current = undefined;
  };
  for (const line of log.split('\n')) {
    const dump = /^(?:\d+\s+)? \| [0-9a-f]{5}  (.{48})  /.exec(line);
    if (dump) {
      if (current) current.hex += dump[1].replace(/ /g, '');
      continue;
    }
    if (/^(?:\d+\s+)? \* \d+ bytes in buffer \d+/.test(line)) continue;
    finish();
    const m = /^(?:(\d+)\s+)?(socket|sendmsg|sendto|close)\((.*)$/.exec(line);
    if (!m) continue;
    const [, pid = '', call, rest] = m;
    if (call === 'socket') {
      const s = /^AF_NETLINK, [^,]+, (NETLINK_\w+)\) = (\d+)/.exec(rest);
      if (s) protocols.set(`${pid}:${s[2]}`, s[1]);
      continue;
    }
    const fd = /^(\d+)/.exec(rest)?.[1];
    if (call === 'close') {
      protocols.delete(`${pid}:${fd}`);
      continue;
    }
    const sent = / = (\d+)$/.exec(rest);
    if (protocols.get(`${pid}:${fd}`) === 'NETLINK_GENERIC' && sent) current = { hex: '', length: Number(sent[1]) };
  }
  finish();
  return sends;
}

/** Strips ovs-dpctl's log prefix (time and sequence number) so the text is reproducible. */
function stableStderr(text) {
  return text.replace(/^\d{4}-\d\d-\d\dT[\d:.]+Z\|\d+\|/gm, '').trimEnd();
}

async function inVm() {
  const { sections, spec } = loadCases();
  const { GenlSocket } = await import(path.join(root, 'dist/src/nl/socket.js'));
  const { resolveFamily } = await import(path.join(root, 'dist/src/nl/family.js'));
  ({ OvsConnection } = await import(path.join(root, 'dist/src/client/connection.js')));
  ({ FlowTable } = await import(path.join(root, 'dist/src/client/flows.js')));
  const sock = new GenlSocket();
  const families = {};
  for (const name of ['ovs_datapath', 'ovs_vport', 'ovs_flow', 'ovs_packet', 'ovs_meter', 'ovs_ct_limit']) {
    families[name] = (await resolveFamily(sock, name)).id;
  }
  sock.close();
  const version = spawnSync('ovs-dpctl', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
  const kernel = spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim();
  console.log(JSON.stringify({ environment: { kernel, ovs_dpctl: version, families } }));
  for (const step of spec.setup ?? []) await runStep(step, 'setup');
  const trace = '/tmp/capture-fixtures.strace';
  for (const section of sections) {
    for (const step of section.setup ?? []) await runStep(step, `${section.family} setup`);
    for (const c of section.cases) {
      for (const step of c.setup ?? []) await runStep(step, `${c.family}/${c.name} setup`);
      const r = spawnSync(STRACE[0], [...STRACE.slice(1), '-o', trace, ...c.command], { encoding: 'utf8' });
      const out = {
        family: c.family, name: c.name, exit_status: r.status,
        stdout: r.stdout.trimEnd(), stderr: stableStderr(r.stderr),
        sent: genericNetlinkSends(fs.readFileSync(trace, 'utf8')),
      };
      if (c.after) out.after = (await runStep(c.after, `${c.family}/${c.name} after`)).stdout.trimEnd();
      for (const step of [...(c.cleanup ?? []), ...(section.each_cleanup ?? [])]) await runStep(step, `${c.family}/${c.name} cleanup`);
      console.log(JSON.stringify(out));
    }
    for (const step of section.cleanup ?? []) await runStep(step, `${section.family} cleanup`);
  }
}

// ---------------------------------------------------------------- on the host

/**
 * Runs the cases in one VM boot; resolves with its stdout (one JSON line per case), which
 * is also streamed to `rawFile` when given (kept when the VM fails, for --from).
 */
function captureInVm(rawFile) {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(root, 'vm/run'), ['--timeout', '7200', '--', process.execPath, 'scripts/capture-fixtures.mjs', '--in-vm'], {
      cwd: root, stdio: ['ignore', 'pipe', 'inherit'],
    });
    const raw = rawFile ? fs.openSync(rawFile, 'w') : undefined;
    let text = '';
    let lines = 0;
    child.stdout.on('data', (chunk) => {
      text += chunk;
      if (raw !== undefined) fs.writeSync(raw, chunk);
      const n = text.split('\n').length - 1;
      if (n > lines) {
        lines = n;
        if (process.stderr.isTTY) process.stderr.write(`\rcapture: ${lines - 1} cases captured`);
      }
    });
    child.on('close', (code) => {
      if (raw !== undefined) fs.closeSync(raw);
      if (process.stderr.isTTY) process.stderr.write('\n');
      if (code === 0) resolve(text);
      else reject(new Error(`vm/run exited ${code} after ${Math.max(0, lines - 1)} cases${rawFile ? ` (what came is in ${rawFile})` : ''}`));
    });
  });
}

const NLMSG_HDRLEN = 16;
const NLM_F_DUMP = 0x300;

/** Splits a datagram into its netlink messages. */
function splitMessages(buf) {
  const out = [];
  for (let off = 0; off + NLMSG_HDRLEN <= buf.length;) {
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || off + len > buf.length) throw new Error(`malformed netlink message at offset ${off}`);
    out.push(Buffer.from(buf.subarray(off, off + len)));
    off += (len + 3) & ~3;
  }
  return out;
}

async function writeFixtures(rawText) {
  const { sections } = loadCases();
  const { decodeGenlMessage } = await import(path.join(root, 'dist/src/nl/family.js'));
  const { parseMessages } = await import(path.join(root, 'dist/src/nl/message.js'));
  const { toJSONValue } = await import(path.join(root, 'dist/src/nl/codec.js'));
  const specs = {
    ovs_datapath: (await import(path.join(root, 'dist/src/ovs/datapath.js'))).datapathFamily,
    ovs_vport: (await import(path.join(root, 'dist/src/ovs/vport.js'))).vportFamily,
    ovs_flow: (await import(path.join(root, 'dist/src/ovs/flow.js'))).flowFamily,
    ovs_packet: (await import(path.join(root, 'dist/src/ovs/packet.js'))).packetFamily,
    ovs_ct_limit: (await import(path.join(root, 'dist/src/ovs/ct-limit.js'))).ctLimitFamily,
  };
  const lines = rawText.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  const env = lines.find((l) => l.environment)?.environment;
  if (!env) throw new Error('the capture has no environment line (did the VM run?)');
  const captured = new Map(lines.filter((l) => l.name).map((l) => [`${l.family}/${l.name}`, l]));
  const written = new Map(); // dir -> Set of file names
  const problems = [];
  let count = 0;
  for (const section of sections) {
    for (const c of section.cases) {
      const id = `${c.family}/${c.name}`;
      const got = captured.get(id);
      if (!got) {
        problems.push(`${id}: not in the capture`);
        continue;
      }
      const familyId = env.families[c.family];
      const spec = specs[c.family];
      const cmds = [].concat(c.cmd);
      const picked = [];
      for (const datagram of got.sent) {
        for (const raw of splitMessages(Buffer.from(datagram, 'hex'))) {
          if (raw.readUInt16LE(4) !== familyId) continue;
          const cmdName = Object.entries(spec.commands).find(([, v]) => v === raw[NLMSG_HDRLEN])?.[0];
          if (!cmds.includes(cmdName)) continue;
          const isDump = (raw.readUInt16LE(6) & NLM_F_DUMP) === NLM_F_DUMP;
          if (c.dump !== undefined && c.dump !== isDump) continue;
          raw.writeUInt32LE(0, 8); // seq
          raw.writeUInt32LE(0, 12); // pid
          picked.push(raw);
        }
      }
      const chosen = c.pick === 'first' ? picked.slice(0, 1) : c.pick === 'last' ? picked.slice(-1) : picked;
      if (chosen.length === 0) {
        problems.push(`${id}: ovs-dpctl sent no ${c.family} ${cmds.join('/')} (exit ${got.exit_status}: ${got.stderr.split('\n').pop()})`);
        continue;
      }
      const messages = chosen.map((raw) => {
        const [m] = parseMessages(raw);
        const head = { cmd: Object.entries(spec.commands).find(([, v]) => v === raw[NLMSG_HDRLEN])[0], nlmsg_flags: m.flags, dp_ifindex: raw.readInt32LE(NLMSG_HDRLEN + 4) };
        try {
          return { ...head, attrs: toJSONValue(decodeGenlMessage(spec, m).attrs) };
        } catch (err) {
          // What our decoder cannot read (e.g. ovs-dpctl's own action 25 for "drop", which
          // the kernel reads as psample) is kept as the error it gives.
          return { ...head, decode_error: err.message };
        }
      });
      const json = {
        command: shellQuote(c.command),
        ...(c.setup ? { setup: c.setup.map((s) => (Array.isArray(s) ? shellQuote(s) : s)) } : {}),
        ...(section.setup ? { section_setup: section.setup.map((s) => (Array.isArray(s) ? shellQuote(s) : s)) } : {}),
        captured_with: `${STRACE.join(' ')} in the VM (vm/run), kernel ${env.kernel}, ${env.ovs_dpctl}; seq and pid zeroed`,
        family: c.family,
        family_id: familyId,
        ...(c.flow !== undefined ? { flow: c.flow } : {}),
        ...(c.actions !== undefined ? { actions: c.actions } : {}),
        exit_status: got.exit_status,
        ...(got.stderr ? { stderr: got.stderr } : {}),
        ...(got.after !== undefined ? { after: shellQuote([].concat(c.after)), after_output: got.after } : {}),
        ...(c.expected_to_differ ? { expected_to_differ: c.expected_to_differ } : {}),
        messages,
      };
      const dir = path.join(fixturesDir, c.family);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `${c.name}.hex`), chosen.map((b) => b.toString('hex')).join('\n') + '\n');
      fs.writeFileSync(path.join(dir, `${c.name}.json`), JSON.stringify(json, null, 2) + '\n');
      if (!written.has(dir)) written.set(dir, new Set());
      written.get(dir).add(`${c.name}.hex`).add(`${c.name}.json`);
      count++;
    }
  }
  // Fixtures of cases no longer in the list go: what is there is what the list captures.
  for (const [dir, names] of written) {
    for (const f of fs.readdirSync(dir)) {
      if (/\.(hex|json)$/.test(f) && !names.has(f)) fs.rmSync(path.join(dir, f));
    }
  }
  console.log(`capture: wrote ${count} fixtures (kernel ${env.kernel}, ${env.ovs_dpctl})`);
  for (const p of problems) console.log(`capture: ${p}`);
  return problems.length === 0;
}

const args = process.argv.slice(2);
if (args[0] === '--in-vm') {
  await inVm();
} else if (args[0] === '--from') {
  process.exitCode = (await writeFixtures(fs.readFileSync(args[1], 'utf8'))) ? 0 : 1;
} else {
  if (process.env.OVSDP_IN_VM) throw new Error('run this on the host: it boots the VM itself');
  const raw = await captureInVm(args[0] === '--raw' ? args[1] : undefined);
  process.exitCode = (await writeFixtures(raw)) ? 0 : 1;
}
