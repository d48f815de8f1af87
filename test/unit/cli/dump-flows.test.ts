/** dump-flows' encoding of text written to a file: latin1 unless a port name needs UTF-8. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flowTextEncoding } from '../../../src/cli/dump-flows.js';

test('flow text is written as latin1 unless a port name has a non-ASCII character', () => {
  assert.equal(flowTextEncoding(undefined), 'latin1');
  assert.equal(flowTextEncoding(new Map()), 'latin1');
  assert.equal(flowTextEncoding(new Map([[1, 'eth0'], [2, 'br-int_~']])), 'latin1');
  assert.equal(flowTextEncoding(new Map([[1, 'eth0'], [2, 'vé0']])), 'utf8');
  assert.equal(flowTextEncoding(new Map([[3, 'p\u0080']])), 'utf8');
  // latin1 writes each character as one byte: right for ASCII only.
  const text = 'in_port(eth0),eth(src=00:00:00:00:00:01)';
  assert.deepEqual(Buffer.from(text, 'latin1'), Buffer.from(text, 'utf8'));
});
