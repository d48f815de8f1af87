/**
 * The command line's two ways in (src/cli/main.ts): plain words straight to a command's
 * own action, anything else through commander; both fail the same way. No kernel needed:
 * every case here fails before the first request.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { main } from '../../../src/cli/main.js';

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
