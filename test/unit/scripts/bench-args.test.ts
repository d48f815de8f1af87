/**
 * `npm run bench`'s command line (scripts/bench/run.mjs): --help teaches, and a mistake is
 * told in a line with exit 2 before anything is measured (no VM booted for a typo).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const runScript = fileURLToPath(new URL('../../../../scripts/bench/run.mjs', import.meta.url));
const bench = (...args: string[]) => spawnSync(process.execPath, [runScript, ...args], { encoding: 'utf8', timeout: 20_000 });

test('bench --help: the usage and every option, exit 0', () => {
  const r = bench('--help');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^usage: npm run bench -- /);
  for (const option of ['--reps', '--flows', '--big', '--only', '--no-vm', '--profile', '--no-write', '--from']) assert.ok(r.stdout.includes(`  ${option} `), option);
  assert.equal(r.stderr, '');
});

test('bench: a wrong option, count or section is a line naming it, exit 2, nothing measured', () => {
  for (const [args, said] of [
    [['--bogus'], /^bench: Unknown option '--bogus'/],
    [['--reps', '0'], /^bench: --reps takes a positive whole number, not "0"\n/],
    [['--flows', '2k'], /^bench: --flows takes a positive whole number, not "2k"\n/],
    [['--only', 'bulk,flor'], /^bench: --only: no section "flor" \(sections: startup, bulk, floor, latency, big, misses\)\n/],
  ] as const) {
    const r = bench(...args);
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, said);
    assert.doesNotMatch(r.stderr, /booting|codec on the host|at .*\.mjs:/);
    assert.equal(r.stdout, '');
  }
});

test('bench --from: a file that is no results file is one line, exit 1', () => {
  const r = bench('--from', fileURLToPath(import.meta.url));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^bench: --from .*: not a results file \(/);
  assert.equal(r.stderr.split('\n').filter(Boolean).length, 1);
});
