#!/usr/bin/env node
/**
 * How fast add-flows could be at best, in the VM (root, openvswitch loaded): N ct/nat flows
 * (workloads.mjs) parsed before the clock starts, then installed into a fresh datapath
 *   - table: through FlowTable.operateBatches (checks, encoding, batching, kernel), and
 *   - raw: as requests encoded before the clock starts (batching and the kernel only),
 * each twice, alternating. What is left between `raw` and a whole `ovsdp add-flows` run
 * is start-up, parsing and encoding.
 *
 *   vm/run node scripts/bench/add-flows-floor.mjs [N [ROUNDS]]    (default 20000 flows, 2 rounds)
 *
 * With OVSDP_BENCH_JSON set, the last line is `BENCH-FLOOR {"table":[ms...],"raw":[ms...]}`
 * (npm run bench's floor section reads it).
 */
import { execFileSync } from 'node:child_process';
import { flowLineText } from './workloads.mjs';

const dist = new URL('../../dist/src/', import.meta.url);
const load = (p) => import(new URL(p, dist).href);
const [{ OvsConnection }, { FlowTable, putAttrs }, { parseFlowText }, { flowAttrs, flowFamily }, { encodeAttrs, encodeStruct }, { ovsHeader }, { getDatapath }] =
  await Promise.all([
    load('client/connection.js'), load('client/flows.js'), load('client/flow-text.js'), load('ovs/flow.js'),
    load('nl/codec.js'), load('ovs/header.js'), load('client/datapaths.js'),
  ]);

const N = Number(process.argv[2] ?? 20000);
const ROUNDS = Number(process.argv[3] ?? 2);
/** Requests per sendmsg, one batch at a time, as add-flows sends them (flows.ts). */
const BATCH = 256;
const specs = Array.from({ length: N }, (_, i) => {
  const [key, actions] = flowLineText(i).split(' ');
  return parseFlowText(key, actions);
});
const dpctl = (...args) => execFileSync('ovs-dpctl', args, { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 30 }).toString();

async function installTable(conn, dp) {
  const table = new FlowTable(conn, dp, { kernelLog: false });
  for await (const batch of table.operateBatches(specs, (flow) => ({ kind: 'put', flow, mode: 'create' }))) {
    for (const r of batch) if (r.error) throw r.error;
  }
}

async function installRaw(conn, requests) {
  for (let i = 0; i < requests.length; i += BATCH) {
    for (const r of await conn.batch(requests.slice(i, i + BATCH), flowFamily, 'new')) if (r.error) throw r.error;
  }
}

const times = { table: [], raw: [] };
for (let round = 0; round < 2 * ROUNDS; round++) {
  const mode = round % 2 ? 'raw' : 'table';
  dpctl('add-dp', 'floor');
  const conn = new OvsConnection();
  try {
    const dp = await getDatapath(conn, 'floor');
    let requests;
    if (mode === 'raw') {
      const family = await conn.family(flowFamily);
      const header = encodeStruct(ovsHeader, { dp_ifindex: dp.ifindex });
      requests = specs.map((spec) => ({
        family: family.id, cmd: flowFamily.commands.new, version: flowFamily.version, flags: 0x400,
        fixedHeader: Buffer.concat([header, encodeAttrs(flowAttrs, putAttrs(spec))]),
      }));
    }
    const t0 = performance.now();
    if (mode === 'table') await installTable(conn, dp);
    else await installRaw(conn, requests);
    const ms = performance.now() - t0;
    times[mode].push(ms);
    const seconds = ms / 1000;
    const installed = dpctl('dump-flows', 'floor').split('\n').filter(Boolean).length;
    console.log(`${mode.padEnd(5)}: ${N} flows in ${seconds.toFixed(2)} s (${installed} installed)`);
  } finally {
    conn.close();
    dpctl('del-dp', 'floor');
  }
}
if (process.env.OVSDP_BENCH_JSON) console.log(`BENCH-FLOOR ${JSON.stringify(times)}`);
