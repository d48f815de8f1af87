/**
 * bin/ovsdp as users run it (its #! line; the bundle, dist/bundle/cli.js, when the build
 * made it and tsc has not written since) says and exits exactly what the ES modules in
 * dist/src do, for commands that need no kernel.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../../../bin/ovsdp', import.meta.url));
const mainModule = new URL('../../../src/cli/main.js', import.meta.url).href;
const natRules = fileURLToPath(new URL('../../../../examples/nat.rules', import.meta.url));

interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
}

function viaBin(args: string[]): Outcome {
  const { status, stdout, stderr } = spawnSync(bin, args, { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { status, stdout, stderr };
}

function viaModules(args: string[]): Outcome {
  const code = `import { main } from ${JSON.stringify(mainModule)};\nprocess.exitCode = await main(process.argv);`;
  const { status, stdout, stderr } = spawnSync(process.execPath, ['--input-type=module', '-e', code, '--', 'ovsdp', ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { status, stdout, stderr };
}

const flow = 'recirc_id(0),in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.0,dst=172.16.0.1,proto=6,frag=no),tcp(src=1024,dst=80),tcp_flags(0/0)';
const actions = 'ct(commit,zone=1,nat(src=192.168.0.1-192.168.0.9:1024-65535)),recirc(1)';

const cases: [string, string[], number][] = [
  ['--version', ['--version'], 0],
  ['--help', ['--help'], 0],
  ['a command\'s --help', ['add-flow', '--help'], 0],
  ['an unknown command', ['frobnicate'], 2],
  ['help of an unknown command', ['help', 'dump-flow'], 2],
  ['an unknown option', ['dump-flows', '--frobnicate'], 2],
  ['a plain command line\'s usage error', ['add-flows', 'a', 'b', 'c'], 2],
  ['encode-flow', ['encode-flow', flow, actions], 0],
  ['encode-flow --json', ['encode-flow', '--json', flow, actions], 0],
  ['a flow parse error, with its caret', ['encode-flow', 'in_port(1),bogus(2)'], 1],
  ['encode-flow of a flow add-flow would not send: the bytes, and a note', ['encode-flow', 'in_port(1),eth(),eth_type(0x0800),ipv4(proto=6,frag=no),tcp()', '2'], 0],
  ['a command\'s option before its name', ['-s', 'del-flow', 'a', 'b', 'c'], 2],
  ['decode-flow', ['decode-flow', '--key', '0800030001000000'], 0],
  ['controller given only a datapath', ['controller', 'no-such-rules-dp0'], 2],
  ['controller given nothing', ['controller'], 2],
  ['trace', ['trace', '--ct-next', 'trk,est', natRules, 'in_port(2),eth(),eth_type(0x0800),ipv4(src=10.1.1.2,dst=10.1.1.240,proto=6,frag=no),tcp(src=80,dst=1024)'], 0],
];

for (const [what, args, status] of cases) {
  test(`bin/ovsdp and the modules agree: ${what}`, () => {
    const got = viaBin(args);
    assert.equal(got.status, status, got.stderr);
    assert.deepEqual(got, viaModules(args));
  });
}

test('bin/ovsdp: output it cannot write (a full disk) is one line and exit 1, not an abort', () => {
  const out = openSync('/dev/full', 'w');
  try {
    const r = spawnSync(bin, ['encode-flow', flow, actions], { encoding: 'utf8', stdio: ['ignore', out, 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr, 'ovsdp: cannot write the output: ENOSPC: no space left on device, write\n');
  } finally {
    closeSync(out);
  }
});

test('bin/ovsdp: each code cache the build made is one V8 takes for the bundle, under the flags it was made for', (t) => {
  const dir = fileURLToPath(new URL('../../../bundle/', import.meta.url));
  if (!existsSync(`${dir}cli.js`)) {
    t.skip('no bundle: tsc alone was run');
    return;
  }
  const caches = readdirSync(dir).filter((name) => name.endsWith('.cache'));
  assert.deepEqual(caches.sort(), [
    'cli.js.bulk.cache', 'cli.js.bulk.threads.cache', 'cli.js.cache', 'cli.js.dump.cache', 'cli.js.dump.threads.cache',
    'cli.js.single.cache', 'cli.js.single.threads.cache', 'cli.js.threads.cache',
  ]);
  // The flags of bin/ovsdp's #! line (after "/usr/bin/env -S node").
  const binFlags = readFileSync(bin, 'utf8').split('\n', 1)[0]!.split(/\s+/).slice(3);
  for (const name of caches) {
    const flags = name.includes('.threads.') ? [] : binFlags;
    const check = `const vm = require('node:vm'), fs = require('node:fs');
      const script = new vm.Script(fs.readFileSync(${JSON.stringify(`${dir}cli.js`)}, 'utf8'), { filename: 'cli.js', cachedData: fs.readFileSync(${JSON.stringify(dir + name)}) });
      process.stdout.write(String(script.cachedDataRejected));`;
    const r = spawnSync(process.execPath, [...flags, '-e', check], { encoding: 'utf8' });
    assert.equal(r.stdout, 'false', `${name}: ${r.stderr}`);
  }
});

test('controller given one argument reads it as the rules file, and says so when it cannot', () => {
  const got = viaBin(['controller', 'no-such-rules-dp0']);
  assert.match(got.stderr, /^ovsdp: cannot read no-such-rules-dp0: .*\(controller takes \[DP\] RULES_FILE; the last argument is the rules\)\n$/);
});
