import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineError, splitFlowLine } from '../../../src/cli/bulk.js';

test('lines split as ovs-dpctl\'s dpctl_parse_flow_line() splits them', () => {
  assert.deepEqual(splitFlowLine('in_port(1),eth_type(0x0806) 2', 3, 'add'), {
    lineNo: 3, line: 'in_port(1),eth_type(0x0806) 2', command: 'add', flow: 'in_port(1),eth_type(0x0806)', flowColumn: 1, actions: '2', actionsColumn: 29,
  });
  const del = splitFlowLine('  delete ufid:6aa8b1b9-b3de-4a3e-9c35-5e7bc3e9ad50  # gone', 1, 'add')!;
  assert.equal(del.command, 'delete');
  assert.equal(del.flow, 'ufid:6aa8b1b9-b3de-4a3e-9c35-5e7bc3e9ad50');
  assert.equal(del.actions, undefined);
  // The command word may be any prefix of add/delete/modify.
  assert.equal(splitFlowLine('mod in_port(1) drop', 1, 'add')!.command, 'modify');
  assert.equal(splitFlowLine('d in_port(1)', 1, 'add')!.command, 'delete');
  // Actions are the rest of the line, spaces and all.
  assert.equal(splitFlowLine('in_port(1) ct(commit), 2  ', 1, 'modify')!.actions, 'ct(commit), 2');
});

test('blank and comment lines are skipped; malformed ones say what is missing', () => {
  assert.equal(splitFlowLine('   ', 1, 'add'), undefined);
  assert.equal(splitFlowLine('# in_port(1) 2', 1, 'add'), undefined);
  assert.throws(() => splitFlowLine('in_port(1)', 4, 'add'), (e: unknown) => e instanceof LineError && /needs actions/.test(e.message));
  assert.throws(() => splitFlowLine('in_port(1) 2', 4, 'delete'), (e: unknown) => e instanceof LineError && /no actions/.test(e.message) && e.column === 12);
  assert.throws(() => splitFlowLine('add', 4, 'add'), (e: unknown) => e instanceof LineError && /FLOW ACTIONS/.test(e.message));
});
