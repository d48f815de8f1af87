/** ct-set-limits, ct-get-limits, ct-del-limits: ovs-dpctl's argument syntax and text (seen in the VM). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../../src/cli/context.js';
import { defaultLimitArg, splitDatapath, zoneLimitArg, zoneListArg } from '../../../src/cli/ct-limit-args.js';
import { renderCtLimits } from '../../../src/cli/render/ct-limits.js';

test('a first word without "=" is the datapath, as ovs-dpctl tells them apart', () => {
  assert.deepEqual(splitDatapath(['dp0', 'zone=1,limit=5']), { dp: 'dp0', rest: ['zone=1,limit=5'] });
  assert.deepEqual(splitDatapath(['system@dp0']), { dp: 'dp0', rest: [] });
  assert.deepEqual(splitDatapath(['default=5', 'zone=1,limit=5']), { dp: undefined, rest: ['default=5', 'zone=1,limit=5'] });
  assert.deepEqual(splitDatapath([]), { dp: undefined, rest: [] });
});

test('zone=N,limit=L (either order), default=L, zone=N1[,N2...]; anything else is named', () => {
  assert.deepEqual(zoneLimitArg('zone=1,limit=10'), { zone: 1, limit: 10 });
  assert.deepEqual(zoneLimitArg('limit=0,zone=65535'), { zone: 65535, limit: 0 });
  assert.equal(defaultLimitArg('default=4294967295'), 0xffffffff);
  assert.deepEqual(zoneListArg('zone=1,2,3'), [1, 2, 3]);
  const bad: [() => unknown, RegExp][] = [
    [() => zoneLimitArg('zone=1'), /"zone=1": expected zone=N,limit=L \(both\)/],
    [() => zoneLimitArg('zone=70000,limit=1'), /bad zone "70000" in "zone=70000,limit=1" \(want 0-65535\)/],
    [() => zoneLimitArg('zone=1,limit=-1'), /bad limit "-1"/],
    [() => zoneLimitArg('zone=1,limit=5,foo=2'), /found "foo=2"/],
    [() => zoneLimitArg('zone=1,limit'), /bad limit ""/],
    [() => defaultLimitArg('default=x'), /bad default limit "x"/],
    [() => defaultLimitArg('default=4294967296'), /\(want 0-4294967295\)/],
    [() => zoneListArg('zones=1'), /expected zone=N1\[,N2\.\.\.\]/],
    [() => zoneListArg('zone=1,,2'), /bad zone "" in "zone=1,,2"/],
  ];
  for (const [fn, message] of bad) assert.throws(fn, (e: unknown) => e instanceof UsageError && message.test(e.message), String(fn));
});

test('ct-get-limits prints what ovs-dpctl printed', () => {
  assert.equal(renderCtLimits({ defaultLimit: 0, zones: [] }), 'default limit=0');
  assert.equal(renderCtLimits({ defaultLimit: 100, zones: [{ zone: 1, limit: 10, count: 0 }, { zone: 2, limit: 100, count: 3 }] }),
    'default limit=100\nzone=1,limit=10,count=0\nzone=2,limit=100,count=3');
});

test('ct-set-limits: default=L once, anywhere after DP; ct-del-limits needs zones', async () => {
  const { main } = await import('../../../src/cli/main.js');
  const stderr: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string) => stderr.push(chunk) > 0) as typeof process.stderr.write;
  const codes: number[] = [];
  try {
    codes.push(await main(['node', 'ovsdp', 'ct-set-limits', 'default=1', 'zone=1,limit=5', 'default=2']));
    // Past its arguments: the request fails here for want of a kernel module (exit 1).
    codes.push(await main(['node', 'ovsdp', 'ct-set-limits', 'zone=1,limit=5', 'default=2']));
    codes.push(await main(['node', 'ovsdp', 'ct-del-limits', 'dp0']));
  } finally {
    process.stderr.write = write;
  }
  assert.deepEqual(codes, [2, 1, 2]);
  assert.equal(stderr[0], 'ovsdp: "default=2": the default limit is given twice\n');
  assert.doesNotMatch(stderr[1]!, /default|zone=/);
  assert.equal(stderr[2], 'ovsdp: ct-del-limits: no zones given (zone=N1[,N2...])\n');
});
