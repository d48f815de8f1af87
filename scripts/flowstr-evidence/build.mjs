// Builds test/unit/ovs/flowstr-evidence.json from one VM run of run.sh and stats.sh:
//   vm/run bash -c 'scripts/flowstr-evidence/run.sh scripts/flowstr-evidence/cases.txt;
//                   echo =====STATS; scripts/flowstr-evidence/stats.sh' > /some/out
//   node scripts/flowstr-evidence/build.mjs /some/out test/unit/ovs/flowstr-evidence.json
// Per case: the text given to ovs-dpctl, the KEY/MASK/UFID/ACTIONS bytes it sent (strace
// sendmsg), the kernel's flow replies to dump-flows -m (strace recvmsg), and ovs-dpctl's
// dump-flows and dump-flows -m text; then the dump lines of flows that saw packets.
import fs from 'node:fs';
const [input, output] = process.argv.slice(2);
const [casesText, statsText = ''] = fs.readFileSync(input, 'utf8').split('\n=====STATS\n');
function msgs(buf) {
  const out = [];
  let off = 0;
  while (off + 16 <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len < 16 || off + len > buf.length) break;
    out.push({ type: buf.readUInt16LE(off + 4), body: buf.subarray(off + 16, off + len) });
    off += (len + 3) & ~3;
  }
  return out;
}
function attrs(buf, off) {
  const out = [];
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off), type = buf.readUInt16LE(off + 2) & 0x3fff;
    if (len < 4) break;
    out.push({ type, data: buf.subarray(off + 4, off + len) });
    off += (len + 3) & ~3;
  }
  return out;
}
/** Family ids from CTRL_CMD_NEWFAMILY replies (type 0x10): CTRL_ATTR_FAMILY_ID=1, NAME=2. */
function families(hexes) {
  const ids = new Map();
  for (const h of hexes) for (const m of msgs(Buffer.from(h, 'hex'))) {
    if (m.type !== 0x10) continue;
    const a = attrs(m.body, 4);
    const name = a.find((x) => x.type === 2)?.data.toString().replace(/\0.*$/, '');
    const id = a.find((x) => x.type === 1)?.data.readUInt16LE(0);
    if (name && id !== undefined) ids.set(name, id);
  }
  return ids;
}
const cases = [];
for (const l of casesText.split('\n')) {
  if (!l.startsWith('CASE ')) continue;
  const c = JSON.parse(l.slice(5));
  const entry = { key: c.key, actions: c.actions, dump: c.dump.replace(/\n$/, ''), dumpm: c.dumpm.replace(/\n$/, '') };
  const sentToKernel = c.rc === 0 || /updating flow table/.test(c.err);
  if (!sentToKernel) entry.refused = c.err.trim().split('\n').pop();
  else {
    for (const h of c.sent) for (const m of msgs(Buffer.from(h, 'hex'))) {
      const a = attrs(m.body, 8);
      if (m.body[0] !== 1 || !a.some((x) => x.type === 1) || !a.some((x) => x.type === 2)) continue; // OVS_FLOW_CMD_NEW
      entry.sent = Object.fromEntries(a.map((x) => [{ 1: 'key', 2: 'actions', 7: 'mask', 9: 'ufid' }[x.type] ?? `#${x.type}`, x.data.toString('hex')]));
    }
    if (!c.rc) {
      const flowId = families(c.recv).get('ovs_flow');
      entry.replies = [];
      for (const h of c.recv) for (const m of msgs(Buffer.from(h, 'hex'))) {
        if (m.type === flowId) entry.replies.push(m.body.subarray(8).toString('hex'));
      }
    }
  }
  cases.push(entry);
}
const evidence = {
  captured: 'ovs-dpctl 3.1.0 (Debian) against Linux 6.12 in vm/run; port 1 is "v0". See docs/flow-syntax.md.',
  cases,
};
console.log(`${cases.length} cases, ${cases.filter((c) => c.sent).length} sent, ${cases.filter((c) => c.replies?.length).length} dumped`);
// The statistics run (stats.sh): dump-flows -m lines after real packets, and the
// kernel's replies they were printed from.
if (statsText) {
  const out = statsText.split('\n');
  const i = out.indexOf('--- dump -m recv');
  const lines = out.slice(i + 1).filter((l) => l && !l.startsWith('RECVM') && !l.startsWith('DMESG'));
  const recv = JSON.parse(out.find((l) => l.startsWith('RECVM ')).slice(6));
  const flowId = families(recv).get('ovs_flow');
  const replies = [];
  for (const h of recv) for (const m of msgs(Buffer.from(h, 'hex'))) if (m.type === flowId) replies.push(m.body.subarray(8).toString('hex'));
  evidence.stats = { ports: { 1: 's0' }, lines, replies };
  console.log(`stats: ${lines.length} lines, ${replies.length} replies`);
}
fs.writeFileSync(output, JSON.stringify(evidence, null, 1) + '\n');
