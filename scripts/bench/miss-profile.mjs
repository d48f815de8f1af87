#!/usr/bin/env node
/**
 * The controller's miss path on the host, without a kernel: distinct UDP misses as the
 * kernel sends them (the bytes of OVS_PACKET_CMD_MISS messages), decoded as the upcall
 * listener decodes them (parseMessages, decodeUpcall) and handed to a Controller in
 * batches of 64, whose sendmsgs a stand-in socket answers at once. Prints the CPU time per
 * miss (all threads: decode, translation, UFID, put and execute built), the median of
 * ROUNDS rounds of MISSES misses after two untimed ones; the machine is shared. What it
 * leaves out is the socket itself (the binding's receive path, the kernel's work), which
 * in the VM costs more than all of this.
 *
 *   node scripts/bench/miss-profile.mjs [--misses N] [--rounds R]
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof scripts/bench/miss-profile.mjs
 *
 * Needs `npx tsc -p .` first (it loads dist/, and the test frames in dist/test/).
 */
import { parseArgs } from 'node:util';

const dist = new URL('../../dist/', import.meta.url);
const load = (p) => import(new URL(p, dist).href);
const [{ Controller }, { decodeUpcall }, { genlRequest }, { encodeGenlRequest, parseMessages }, { packetFamily }, { parseRules }, { udpFrame }] =
  await Promise.all([
    load('src/client/controller.js'), load('src/client/upcalls.js'), load('src/nl/family.js'), load('src/nl/message.js'),
    load('src/ovs/packet.js'), load('src/ovs/openflow/rules.js'), load('test/frames.js'),
  ]);

const { values: opts } = parseArgs({ options: { misses: { type: 'string' }, rounds: { type: 'string' } } });
const MISSES = Number(opts.misses ?? 40000);
const ROUNDS = Number(opts.rounds ?? 6);

const DP = { name: 'dp0', ifindex: 7 };
// The rule of the bench's miss section (vm.mjs): every UDP packet from port 1.
const RULES = 'in_port=1,udp,actions=mod_tp_src:5000,output:2\n';
const FLOW_ID = 0x23;
const PACKET_ID = 0x22;
const DISTINCT = 8192;

/** A UDP packet's key as the kernel sends it in an upcall: every attribute, exact. */
const kernelKey = (sport, src) => ({
  recirc_id: 0, dp_hash: 0, priority: 0, in_port: 1, skb_mark: 0, ct_state: 0, ct_zone: 0, ct_mark: 0,
  ct_labels: Buffer.alloc(16), ethernet: { eth_src: '02:00:00:00:00:01', eth_dst: '02:00:00:00:00:02' }, ethertype: 0x0800,
  ipv4: { ipv4_src: src, ipv4_dst: '10.0.0.2', ipv4_proto: 17, ipv4_tos: 0, ipv4_ttl: 64, ipv4_frag: 0 },
  udp: { udp_src: sport, udp_dst: 53 },
});
const missBytes = Array.from({ length: DISTINCT }, (_, i) => {
  const sport = 1024 + i;
  const src = `10.0.${i >> 8}.${i & 255}`;
  const packet = udpFrame('02:00:00:00:00:01', '02:00:00:00:00:02', src, '10.0.0.2', sport, 53);
  return encodeGenlRequest(genlRequest(packetFamily, PACKET_ID, 'miss', { header: { dp_ifindex: DP.ifindex }, attrs: { packet, key: kernelKey(sport, src) } }), 0);
});

const conn = {
  socket: { sendMessagesAtOnce: async () => [] },
  family: async (spec) => ({ id: spec.name === 'ovs_flow' ? FLOW_ID : PACKET_ID, name: spec.name, version: 1, hdrsize: 4, maxattr: 12, groups: [] }),
};

// The listener: batches of 64 decoded upcalls while a round has misses left; between
// rounds it waits for the next one.
let left = 0;
let next = 0;
let wake;
let roundDone;
const listener = {
  on: () => listener,
  async *batches() {
    for (;;) {
      if (left <= 0) {
        roundDone?.();
        await new Promise((resolve) => { wake = resolve; });
      }
      const batch = [];
      for (let k = 0; k < 64 && left > 0; k++, left--) batch.push(decodeUpcall(parseMessages(missBytes[next++ % DISTINCT])[0], DP.name, 99));
      yield batch;
    }
  },
};

// Controller.start needs a kernel; its constructor and serve() take the stand-ins.
const controller = new Controller(conn, conn, DP, listener, parseRules(RULES), RULES, 'rules', 600_000);
controller.serve();

function round(misses) {
  return new Promise((resolve) => {
    roundDone = resolve;
    left = misses;
    wake?.();
  });
}

function cpuMicros() {
  const u = process.cpuUsage();
  return u.user + u.system;
}

await round(MISSES);
await round(MISSES);
const perMiss = [];
for (let r = 0; r < ROUNDS; r++) {
  const t = cpuMicros();
  await round(MISSES);
  perMiss.push((cpuMicros() - t) / MISSES);
}
perMiss.sort((a, b) => a - b);
const stats = controller.stats();
if (stats.errors !== 0 || stats.installed !== stats.misses) throw new Error(`the stand-in run went wrong: ${JSON.stringify(stats)}`);
console.log(`${(perMiss[perMiss.length >> 1] * 1000).toFixed(0)} ns CPU a miss (rounds ${perMiss.map((us) => (us * 1000).toFixed(0)).join(' ')})`);
process.exit(0);
