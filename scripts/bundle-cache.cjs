// node [bin/ovsdp's flags] scripts/bundle-cache.cjs BUNDLE CACHE general|bulk|dump|single
// (run by build-bundle.mjs, with the flags of bin/ovsdp's #! line and with none):
// compiles the bundle as bin/ovsdp does, runs it through commands, and writes V8's code
// cache of everything compiled by then. Their output goes nowhere.
//
// general: commands that need no kernel (--version, --help, encode-flow, decode-flow).
// bulk, dump, single: the flow commands of each kind (add-flows/mod-flows/del-flows FILE
// and del-flows; dump-flows; add-flow/mod-flow/del-flow), each set in a cache of its own:
// a cache is read and taken in whole at each start, so each holds only what its commands
// run (in the test VM, an add-flows of one line started ~20-40 ms sooner with the bulk
// cache alone, 442 KB, than with one for all the flow commands, 574 KB). They run against
// a stand-in for the netlink binding (bundle-cache-kernel.cjs): the bundle gets its native
// modules only through the require it is given and process.dlopen, and both hand it the stand-in, so
// nothing here opens a socket or changes a datapath of the machine that builds. Without
// their own cache, every function of their path (socket, families, codec, parsing,
// printing) is compiled on each run: on the host ~8 ms of an add-flows of one line's
// ~20 (against the stand-in), in the test VM ~100 ms.
'use strict';
const { mkdtempSync, readFileSync, rmSync, writeFileSync, renameSync } = require('node:fs');
const { createRequire } = require('node:module');
const os = require('node:os');
const path = require('node:path');
const vm = require('node:vm');
const { NativeNetlink, DATAPATH_NAME, putFlowAttrs, standInRequire } = require('./bundle-cache-kernel.cjs');

const [bundle, cache, commands] = process.argv.slice(2);
/** The sets of flow commands with a cache each (bin/ovsdp picks one by the command). */
const FLOW_SETS = ['bulk', 'dump', 'single'];
const script = new vm.Script(readFileSync(bundle, 'latin1'), { filename: bundle });
const cli = { exports: {} };
const requireForCache = standInRequire(createRequire(bundle), NativeNetlink);
script.runInThisContext()(cli.exports, requireForCache, cli, bundle, path.dirname(bundle));
const { main } = cli.exports;

const key = 'recirc_id(0),dp_hash(0/0),skb_priority(0),in_port(1),skb_mark(0),ct_state(-new+est+trk),ct_zone(0x5),eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2/255.255.255.0,proto=6,tos=0,ttl=64,frag=no),tcp(src=1234,dst=80),tcp_flags(0/0)';
const actions = 'ct(commit,zone=5,nat(src=192.168.0.1:1000-2000)),set(eth(src=02:00:00:00:00:03)),push_vlan(vid=10,pcp=0),2,userspace(pid=4294967295)';

/** The commands that need no kernel; decode-flow of what encode-flow printed. */
async function general() {
  for (const args of [['--version'], ['--help'], ['encode-flow', key, actions]]) await main(['node', 'ovsdp', ...args]);
  let hex = '';
  const write = process.stdout.write;
  process.stdout.write = (chunk) => ((hex += chunk), true);
  await main(['node', 'ovsdp', 'encode-flow', '--json', key, actions]);
  process.stdout.write = write;
  const encoded = JSON.parse(hex);
  await main(['node', 'ovsdp', 'decode-flow', '--key', encoded.key, '--actions', encoded.actions]);
  await main(['node', 'ovsdp', 'decode-flow', '--json', '--key', encoded.key, '--actions', encoded.actions]);
}

/** Puts flows of `flowKeys` (with `actions`) into the stand-in kernel, encoded by dist/src's modules. */
async function putFlows(flowKeys) {
  const dist = path.join(__dirname, '../dist/src');
  const load = (p) => import(require('node:url').pathToFileURL(path.join(dist, p)).href);
  const [{ parseFlowText }, { putAttrs }, { encodeAttrs }, { flowAttrs }] = await Promise.all([
    load('client/flow-text.js'), load('client/flows.js'), load('nl/codec.js'), load('ovs/flow.js'),
  ]);
  for (const k of flowKeys) putFlowAttrs(encodeAttrs(flowAttrs, putAttrs(parseFlowText(k, actions))));
}

/**
 * The flow commands of one set, against the stand-in kernel; files of lines alike but for
 * their addresses and ports, as bulk loads are.
 */
async function flowCommands(set) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ovsdp-bundle-cache-'));
  try {
    const keys = Array.from({ length: 600 }, (_, i) => key.replace('10.0.0.1', `10.${i >> 8}.${i & 255}.1`).replace('src=1234', `src=${1024 + i}`));
    const flowFile = path.join(dir, 'flows');
    const keyFile = path.join(dir, 'keys');
    writeFileSync(flowFile, keys.map((k) => `${k} ${actions}\n`).join(''));
    writeFileSync(keyFile, keys.map((k) => `${k}\n`).join(''));
    const runs = {
      bulk: [
        ['add-flows', DATAPATH_NAME, flowFile], ['mod-flows', DATAPATH_NAME, flowFile], ['del-flows', DATAPATH_NAME, keyFile],
        ['add-flows', flowFile], ['del-flows'],
      ],
      dump: [['dump-flows', DATAPATH_NAME], ['dump-flows', '-m', DATAPATH_NAME]],
      single: [['add-flow', DATAPATH_NAME, key, actions], ['mod-flow', DATAPATH_NAME, key, actions], ['del-flow', DATAPATH_NAME, key]],
    }[set];
    // The dumps' flows are put into the stand-in by tsc's modules, not through the bundle,
    // whose parsing and put code would then come along in the dump cache (~65 KB of it).
    // A few alike, so that the printer's paths for what repeats run too.
    if (set === 'dump') await putFlows(keys.slice(0, 4));
    for (const args of runs) {
      const code = await main(['node', 'ovsdp', ...args]);
      if (code !== 0) throw new Error(`ovsdp ${args.join(' ')} exited with ${code}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

(async () => {
  if (commands === 'general') await general();
  else if (FLOW_SETS.includes(commands)) await flowCommands(commands);
  else throw new Error(`no such set of commands: ${commands}`);
  if (process.exitCode) throw new Error(`a command failed (exit ${process.exitCode})`);
  writeFileSync(`${cache}.tmp`, script.createCachedData());
  renameSync(`${cache}.tmp`, cache);
})().catch((err) => {
  console.error(`bundle-cache: ${err.stack}`);
  process.exit(1);
});
