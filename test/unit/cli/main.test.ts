/**
 * The command line's two ways in (src/cli/main.ts): plain words straight to a command's
 * own action, anything else through commander; both fail the same way. No kernel needed:
 * every case here fails before the first request.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { cacheSizeArg } from '../../../src/cli/cache-set-size.js';
import { UsageError } from '../../../src/cli/context.js';
import { main } from '../../../src/cli/main.js';
import { commands, dpctlOnlyCommands } from '../../../src/cli/registry.js';

/** main()'s exit code and what it wrote to stderr. */
async function run(...args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await main(['node', 'ovsdp', ...args]);
    return { code, stderr };
  } finally {
    process.stderr.write = write;
  }
}

test('plain words run the command itself: its own usage errors, exit 2', async () => {
  assert.deepEqual(await run('add-flows', 'a', 'b', 'c'), { code: 2, stderr: 'ovsdp: add-flows takes [DP] FILE (got 3 arguments)\n' });
  assert.deepEqual(await run('mod-flows', 'a', 'b', 'c'), { code: 2, stderr: 'ovsdp: mod-flows takes [DP] FILE (got 3 arguments)\n' });
  assert.deepEqual(await run('del-flows', 'a', 'b', 'c'), { code: 2, stderr: 'ovsdp: del-flows takes [DP] [FILE] (got 3 arguments)\n' });
  for (const command of ['add-flow', 'mod-flow']) {
    const stderr = `ovsdp: ${command} takes [DP] FLOW ACTIONS (got 4 arguments)\n`;
    assert.deepEqual(await run(command, 'a', 'b', 'c', 'd'), { code: 2, stderr });
    assert.deepEqual(await run(command, '--no-color', 'a', 'b', 'c', 'd'), { code: 2, stderr }, 'the same through commander');
  }
  assert.deepEqual(await run('del-flow', 'a', 'b', 'c'), { code: 2, stderr: 'ovsdp: del-flow takes [DP] FLOW (got 3 arguments)\n' });
  assert.deepEqual(await run('del-flow', '-s', 'a', 'b', 'c'), { code: 2, stderr: 'ovsdp: del-flow takes [DP] FLOW (got 3 arguments)\n' });
});

test('a command\'s options may come before its name, as ovs-dpctl takes them', async () => {
  // -s reaches del-flow: its own usage error, not "unknown option".
  assert.deepEqual(await run('-s', 'del-flow', 'a', 'b', 'c'), { code: 2, stderr: 'ovsdp: del-flow takes [DP] FLOW (got 3 arguments)\n' });
  assert.deepEqual(await run('--no-color', '-s', 'del-flow', 'a', 'b', 'c'), { code: 2, stderr: 'ovsdp: del-flow takes [DP] FLOW (got 3 arguments)\n' });
  const unknown = await run('-x', 'del-flow', 'a');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown option '-x'/);
});

test('too few words, or an option, go through commander', async () => {
  const missing = await run('add-flows');
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^ovsdp: missing required argument 'args'\n/);
  const unknown = await run('add-flows', 'dp0', 'f', '--frobnicate');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown option '--frobnicate'/);
  // The same usage error as the plain way, after commander parsed the options.
  assert.deepEqual(await run('add-flows', '--no-color', 'a', 'b', 'c'), { code: 2, stderr: 'ovsdp: add-flows takes [DP] FILE (got 3 arguments)\n' });
});

test('every ovs-dpctl 3.1 command is ours, or ovsdp NAME says what to use instead (exit 2)', async () => {
  const { commands: dpctl } = JSON.parse(readFileSync(new URL('../../../../fixtures/ovs-dpctl-commands.json', import.meta.url), 'utf8')) as { commands: string[] };
  assert.ok(dpctl.length > 30, 'the list is there');
  const missing = dpctl.filter((name) => name !== 'help' && !Object.hasOwn(commands, name) && !Object.hasOwn(dpctlOnlyCommands, name));
  assert.deepEqual(missing, []);
  for (const name of Object.keys(dpctlOnlyCommands)) assert.ok(!Object.hasOwn(commands, name), `${name} is both`);
  const conntrack = await run('dump-conntrack', 'zone=1');
  assert.equal(conntrack.code, 2);
  assert.match(conntrack.stderr, /^ovsdp: dump-conntrack is an ovs-dpctl command that ovsdp does not have\.\n {2}.*"conntrack -L"/);
  assert.deepEqual(await run('-m', 'dump-conntrack'), conntrack, 'options before it');
  assert.deepEqual(await run('help', 'dump-conntrack'), { code: 2, stderr: conntrack.stderr.replace(/zone=1/, '') }, 'help NAME');
  assert.match((await run('ct-stats-show')).stderr, /"conntrack -C"/);
});

test('cache-set-size: a cache the kernel has, a size rounded up to a power of two as ovs-dpctl rounds it', async () => {
  // How large is the kernel's to say (4096 with 4 KiB pages): only what cannot round within 32 bits is refused.
  assert.deepEqual([0, 1, 2, 12, 300, 512, 2049, 4096, 5000, 2 ** 31].map(String).map(cacheSizeArg), [0, 1, 2, 16, 512, 512, 4096, 4096, 8192, 2 ** 31]);
  for (const bad of ['12abc', '-1', '0x10', '', ' 5', String(2 ** 31 + 1), '4294967296', '1'.repeat(400)]) assert.throws(() => cacheSizeArg(bad), UsageError, bad);
  assert.throws(() => cacheSizeArg('4294967296'), /cache size 4294967296 is too large/);
  assert.deepEqual(await run('cache-set-size', 'dp0', 'flow-cache', '512'), { code: 2, stderr: 'ovsdp: no cache named "flow-cache" (a kernel datapath has one: masks-cache)\n' });
  assert.deepEqual(await run('cache-set-size', 'dp0', 'masks-cache', '12abc'), {
    code: 2, stderr: 'ovsdp: bad cache size "12abc" (a number of entries, rounded up to a power of two; 4096 at most on most machines; 0 turns the cache off)\n',
  });
});

test('a name Object.prototype has is no command (no stack trace)', async () => {
  for (const name of ['constructor', 'toString', '__proto__']) {
    const r = await run(name, 'x');
    assert.equal(r.code, 2, name);
    assert.match(r.stderr, new RegExp(`unknown command '${name}'`));
  }
});
