// node --single-threaded scripts/bundle-cache.cjs BUNDLE CACHE (run by build-bundle.mjs):
// compiles the bundle as bin/ovsdp does, runs it through commands that need no kernel
// (never one that could change a datapath of the machine that builds), and writes V8's
// code cache of everything compiled by then. Their output goes nowhere.
'use strict';
const { readFileSync, writeFileSync, renameSync } = require('node:fs');
const { createRequire } = require('node:module');
const path = require('node:path');
const vm = require('node:vm');

const [bundle, cache] = process.argv.slice(2);
const script = new vm.Script(readFileSync(bundle, 'utf8'), { filename: bundle });
const cli = { exports: {} };
script.runInThisContext()(cli.exports, createRequire(bundle), cli, bundle, path.dirname(bundle));
const { main } = cli.exports;

const key = 'recirc_id(0),dp_hash(0/0),skb_priority(0),in_port(1),skb_mark(0),ct_state(-new+est+trk),ct_zone(0x5),eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2/255.255.255.0,proto=6,tos=0,ttl=64,frag=no),tcp(src=1234,dst=80),tcp_flags(0/0)';
const actions = 'ct(commit,zone=5,nat(src=192.168.0.1:1000-2000)),set(eth(src=02:00:00:00:00:03)),push_vlan(vid=10,pcp=0),2,userspace(pid=4294967295)';

(async () => {
  const runs = [
    ['--version'],
    ['--help'],
    ['encode-flow', key, actions],
  ];
  for (const args of runs) await main(['node', 'ovsdp', ...args]);
  // decode-flow of what encode-flow printed: the decoding and printing of flows.
  let hex = '';
  const write = process.stdout.write;
  process.stdout.write = (chunk) => ((hex += chunk), true);
  await main(['node', 'ovsdp', 'encode-flow', '--json', key, actions]);
  process.stdout.write = write;
  const encoded = JSON.parse(hex);
  await main(['node', 'ovsdp', 'decode-flow', '--key', encoded.key, '--actions', encoded.actions]);
  await main(['node', 'ovsdp', 'decode-flow', '--json', '--key', encoded.key, '--actions', encoded.actions]);
  if (process.exitCode) throw new Error(`a command failed (exit ${process.exitCode})`);
  writeFileSync(`${cache}.tmp`, script.createCachedData());
  renameSync(`${cache}.tmp`, cache);
})().catch((err) => {
  console.error(`bundle-cache: ${err.stack}`);
  process.exit(1);
});
