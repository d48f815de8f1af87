import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KernelLog, openvswitchReasons, parseKmsgRecord } from '../../../src/client/kernel-log.js';

test('a /dev/kmsg record parses into sequence, time and message', () => {
  const r = parseKmsgRecord('6,1234,5678901,-;openvswitch: netlink: Missing key (keys=40, expected=200)\n SUBSYSTEM=net\n');
  assert.deepEqual(r, { seq: 1234, usec: 5678901, message: 'openvswitch: netlink: Missing key (keys=40, expected=200)' });
  assert.equal(parseKmsgRecord('garbage'), undefined);
  assert.equal(parseKmsgRecord('6,x,1,-;text'), undefined);
});

test('only the openvswitch module\'s lines count as reasons', () => {
  const records = [
    { seq: 1, usec: 1, message: 'eth0: link up' },
    { seq: 2, usec: 2, message: 'openvswitch: netlink: Unexpected mask (mask=200, allowed=0)' },
  ];
  assert.deepEqual(openvswitchReasons(records), ['openvswitch: netlink: Unexpected mask (mask=200, allowed=0)']);
});

test('an unreadable log gives no reader, not an error', () => {
  assert.equal(KernelLog.open('/nonexistent/kmsg'), undefined);
});

test('a reader starts after what was already there', () => {
  // A regular file reads like a log whose records have all been seen: nothing new.
  const dir = mkdtempSync(join(tmpdir(), 'kmsg-'));
  const path = join(dir, 'kmsg');
  writeFileSync(path, '6,1,1,-;openvswitch: old\n');
  const log = KernelLog.open(path)!;
  assert.ok(log);
  assert.deepEqual(log.readReasons(), []);
  log.close();
});
