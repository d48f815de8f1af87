import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LineError, fileLineBlocks, splitFlowLine } from '../../../src/cli/bulk.js';

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
  // A dump-flows line (dump, edit, load again): said so, at its statistics.
  assert.throws(() => splitFlowLine('in_port(1),eth(), packets:0, bytes:0, used:never, actions:drop', 2, 'add'),
    (e: unknown) => e instanceof LineError && /this is a dump-flows line: write "KEY ACTIONS"/.test(e.message) && e.column === 19);
  // A UTF-8 byte order mark first in the file is no part of its first line.
  assert.equal(splitFlowLine('\ufeffin_port(1) 2', 1, 'add')!.flow, 'in_port(1)');
});

test("a file's lines: blocks of ASCII and of UTF-8, a character cut by a block's end, as the file read whole", () => {
  const MiB = 1 << 20;
  const ascii = (n: number): string => Array.from({ length: Math.ceil(n / 40) }, (_, i) => `in_port(${i}),eth_type(0x0800) drop #`.padEnd(39, 'x')).join('\n').slice(0, n);
  const cases: Record<string, Buffer> = {
    ascii: Buffer.from(ascii(2.5 * MiB)),
    // 'é' (2 bytes) and '€' (3) across the first block's end, then a block of ASCII.
    cut2: Buffer.concat([Buffer.from(ascii(MiB - 1)), Buffer.from('é\n'), Buffer.from(ascii(MiB + 7))]),
    cut3: Buffer.concat([Buffer.from(ascii(MiB - 2)), Buffer.from('€\n'), Buffer.from(ascii(MiB))]),
    // A block of UTF-8 ending with ASCII, then one of ASCII alone; a last line with no newline.
    mixed: Buffer.concat([Buffer.from(`ü${ascii(MiB - 2)}`), Buffer.from(ascii(MiB)), Buffer.from('\nlast ∆')]),
    // A character cut at the block's end that never ends: the decoder's replacement, as before.
    broken: Buffer.concat([Buffer.from(ascii(MiB - 1)), Buffer.from([0xe2]), Buffer.from(ascii(100))]),
  };
  const dir = mkdtempSync(join(tmpdir(), 'ovsdp-lines-'));
  try {
    for (const [name, bytes] of Object.entries(cases)) {
      const file = join(dir, name);
      writeFileSync(file, bytes);
      let read = 0;
      const lines = [...fileLineBlocks(file, (n) => { read += n; })].flat();
      const whole = bytes.toString('utf8').split('\n');
      if (whole.at(-1) === '') whole.pop();
      assert.deepEqual(lines, whole, name);
      assert.equal(read, bytes.length);
    }
  } finally {
    rmSync(dir, { recursive: true });
  }
});
