/**
 * add-flows / del-flows FILE line shapes (src/client/flow-shapes.ts, src/ovs/flowstr/slots.ts):
 * a file run whole, where lines take the shapes of lines before them, must send byte for
 * byte what each of its lines sends alone (the whole way), and report the same failures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { runFlowFile, type LineCommand } from '../../../src/cli/bulk.js';
import { CliContext } from '../../../src/cli/context.js';
import type { FlowCommandTarget } from '../../../src/cli/flow-args.js';
import { LineShape } from '../../../src/client/flow-shapes.js';
import { FlowTable } from '../../../src/client/flows.js';
import { NetlinkError, errnoNumber } from '../../../src/nl/errors.js';
import { answersOf, bulkConnection, requestsOfMessages } from '../client/fake-batches.js';
import { KeyAttrMemo, parseKeyEntries } from '../../../src/ovs/flowstr/keys.js';
import { lineSlots, matchSlotLines, slotValue } from '../../../src/ovs/flowstr/slots.js';

const dir = mkdtempSync(join(tmpdir(), 'flow-shapes-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * What runFlowFile sends for `lines` (each request: command, flags, ovs_header and
 * attributes in hex), what it reports on stderr and how many times it listed the ports.
 * `refuse` names requests (by their hex) the fake kernel answers with an errno; the
 * datapath has `ports`; the lines are read from `file` ("-": standard input).
 */
async function runFile(
  lines: readonly string[], command: LineCommand, refuse: (hex: string, seen: Set<string>) => number = () => 0,
  { ports = {}, file = join(dir, 'flows') }: { ports?: Record<string, number>; file?: string } = {},
): Promise<{ sent: string[]; stderr: string[]; dumps: number }> {
  const sent: string[] = [];
  const seen = new Set<string>();
  const conn = bulkConnection((messages) => answersOf(requestsOfMessages(messages).map((r) => {
    const hex = `${r.cmd}/${r.flags} ${r.fixedHeader!.toString('hex')}`;
    sent.push(hex);
    const errno = refuse(hex, seen);
    seen.add(hex);
    return errno ? new NetlinkError(errno, 'refused') : undefined;
  })), {
    async *dump() {
      dumps++;
      for (const [name, portNo] of Object.entries(ports)) yield { header: { dp_ifindex: 5 }, attrs: { port_no: portNo, type: 'netdev', name } };
    },
  });
  let dumps = 0;
  const datapath = { name: 'dp0', ifindex: 5 };
  const table = new FlowTable(conn, datapath, { kernelLog: false });
  const text = lines.join('\n') + '\n';
  const stdin = Object.getOwnPropertyDescriptor(process, 'stdin')!;
  if (file === '-') Object.defineProperty(process, 'stdin', { value: Readable.from([Buffer.from(text)]), configurable: true });
  else writeFileSync(file, text);
  const stderr: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((text: string) => {
    stderr.push(...text.split('\n').filter((l) => l !== ''));
    return true;
  }) as typeof process.stderr.write;
  try {
    const target = { conn, table, datapath, rest: [file] } as unknown as FlowCommandTarget;
    await runFlowFile(new CliContext({ color: false }), target, file, command, command === 'delete' ? 'del-flows' : 'add-flows');
  } finally {
    process.stderr.write = write;
    Object.defineProperty(process, 'stdin', stdin);
    process.exitCode = undefined;
  }
  return { sent, stderr, dumps };
}

/** Lines that took a shape (LineShape.matchLines), probes included, and the lines tried. */
let shaped = 0;
let tried = 0;
const matchLines = LineShape.prototype.matchLines;
LineShape.prototype.matchLines = function (this: LineShape, lines: readonly string[], start: number, end: number, values: Float64Array) {
  const n = matchLines.call(this, lines, start, end, values);
  shaped += n;
  tried += Math.min(end - start, n + 1);
  return n;
};

/** The file run whole against each line run alone: the same requests, the same failures. */
async function assertSameAsAlone(lines: readonly string[], command: LineCommand): Promise<void> {
  shaped = 0;
  const whole = await runFile(lines, command);
  // Most lines are a line before with other values: the file tests shapes.
  assert.ok(shaped > lines.length / 2, `${shaped} of ${lines.length} lines took a shape`);
  const sent: string[] = [];
  const failures: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const alone = await runFile([lines[i]!], command);
    sent.push(...alone.sent);
    for (const l of alone.stderr.slice(0, -1)) failures.push(l.replace(/^ovsdp: line 1\b/, `ovsdp: line ${i + 1}`));
  }
  assert.deepEqual(whole.stderr.slice(0, -1), failures);
  assert.equal(whole.sent.length, sent.length);
  for (let i = 0; i < sent.length; i++) assert.equal(whole.sent[i], sent[i], `request ${i}`);
}

/** A seeded generator (mulberry32): the same lines on every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ACTIONS = 'ct(commit,zone=1,nat(src=192.168.0.1-192.168.0.9:1024-65535)),recirc(1)';

/**
 * Lines in runs of a few alike ones (a value changed), with what a slot must not take:
 * leading zeros, out-of-range and hexadecimal values, masks, blanks, other orders and
 * commands, comments, fields given twice, check failures.
 */
function generate(count: number, seed: number, deletes: boolean): string[] {
  const r = random(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  // Mostly values a slot takes (edges among them), now and then one it must not.
  const octet = (): string => (r() < 0.003 ? pick(['256', '007', '00', '0x1']) : pick(['0', '1', '9', '10', '99', '100', '255', String(Math.floor(r() * 256))]));
  const ip = (): string => (r() < 0.99 ? `${octet()}.${octet()}.${octet()}.${octet()}` : pick(['10.0.0.0/255.0.0.0', '10.0.0.1/8', '1.2.3', '1.2.3.4.5']));
  const port = (): string => (r() < 0.01
    ? pick(['65536', '080', '007', '0x50', '99999', '80/0xff00'])
    : pick(['0', '1', '80', '255', '256', '65535', String(Math.floor(r() * 65536))]));
  const lines: string[] = [];
  while (lines.length < count) {
    const l4 = pick(['tcp', 'tcp', 'udp', 'sctp']);
    const proto = { tcp: 6, udp: 17, sctp: 132 }[l4]!;
    const wrongProto = r() < 0.05;
    const sep = r() < 0.97 ? ',' : pick([', ', ' ,', ',\t']);
    const order = r() < 0.85;
    const twice = r() < 0.03;
    const ttl = r() < 0.2 ? ',ttl=64' : '';
    const word = deletes ? pick(['', '', '', 'delete ', 'd ']) : pick(['', '', '', 'add ', 'a ', 'modify ', 'mod ']);
    const comment = r() < 0.1 ? '  # a comment' : '';
    const actions = deletes ? '' : ` ${r() < 0.9 ? ACTIONS : 'drop'}`;
    const run = 1 + Math.floor(r() * 24);
    for (let k = 0; k < run && lines.length < count; k++) {
      const ipv4 = `ipv4(src=${ip()},dst=${ip()}${twice ? `,src=${ip()}` : ''},proto=${wrongProto ? 99 : proto}${ttl},frag=no)`;
      const l4Attr = `${l4}(src=${port()},dst=${port()})`;
      const attrs = [`recirc_id(0)`, `in_port(1)`, `eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02)`, `eth_type(0x0800)`, ipv4, l4Attr];
      if (l4 === 'tcp') attrs.push('tcp_flags(0/0)');
      if (!order) attrs.reverse();
      const blank = r() < 0.03 ? '' : `${word}${attrs.join(sep)}${actions}${comment}`;
      lines.push(r() < 0.02 ? `${blank}\r` : blank);
    }
  }
  return lines;
}

test('a slot takes a value only in its one form: decimal without leading zeros, in range', () => {
  const read = slotValue;
  assert.equal(read('port', '0'), 0);
  assert.equal(read('port', '65535'), 65535);
  assert.equal(read('port', '65536'), undefined);
  assert.equal(read('port', '080'), undefined);
  assert.equal(read('port', '123456'), undefined);
  assert.equal(read('ipv4', '0.0.0.0'), 0);
  assert.equal(read('ipv4', '255.255.255.255'), 0xffffffff);
  assert.equal(read('ipv4', '10.1.2.3'), 0x0a010203);
  assert.equal(read('ipv4', '10.1.2.256'), undefined);
  assert.equal(read('ipv4', '10.01.2.3'), undefined);
  assert.equal(read('ipv4', '10.1.2'), undefined);
  assert.equal(read('ipv4', '1000.1.2.3'), undefined);
});

test('lines of literals and slots: how many in a row, their values line after line', () => {
  const literals = ['a(', ',', ') x'];
  const kinds = ['ipv4', 'port'] as const;
  const values = new Float64Array(8);
  const lines = ['a(1.2.3.4,80) x', 'a(10.0.0.1,0) x', 'a(255.255.255.255,65535) x', 'a(1.2.3.4,80) x ', 'a(1.2.3.4,80) x'];
  assert.equal(matchSlotLines(literals, kinds, lines, 0, lines.length, values), 3);
  assert.deepEqual([...values.subarray(0, 6)], [0x01020304, 80, 0x0a000001, 0, 0xffffffff, 65535]);
  assert.equal(matchSlotLines(literals, kinds, lines, 1, 2, values), 1);
  assert.equal(values[0], 0x0a000001);
  for (const line of ['a(1.2.3.4,80)x', 'b(1.2.3.4,80) x', 'a(1.2.3.4;80) x', 'a(1.2.3,80) x', 'a(1.2.3.4,080) x', 'a(1.2.3.4,) x', 'a(1.2.3.4,80) x!']) {
    assert.equal(matchSlotLines(literals, kinds, [line], 0, 1, values), 0, line);
  }
  assert.equal(matchSlotLines([''], [], ['', 'x'], 0, 2, values), 1);
});

test('slots: exact addresses and ports of ipv4/tcp/udp/sctp, not masked ones, nor fields given twice', () => {
  const memo = new KeyAttrMemo();
  const slotsOf = (line: string, at = 0): string[] => {
    assert.ok(parseKeyEntries(line.slice(at).split(' ')[0]!, memo));
    return lineSlots(line, at, memo.list.slice(0, memo.listLength))!.map((s) => `${s.attr}.${s.field}=${line.slice(s.start, s.end)}`);
  };
  assert.deepEqual(slotsOf('add in_port(1),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2/255.0.0.0,proto=6,frag=no),tcp(src=0,dst=0x50) drop', 4),
    ['ipv4.ipv4_src=10.0.0.1', 'tcp.tcp_src=0']);
  assert.deepEqual(slotsOf('udp(dst=53),sctp(src=1,dst=2),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02)'), ['udp.udp_dst=53', 'sctp.sctp_src=1', 'sctp.sctp_dst=2']);
  assert.deepEqual(slotsOf('ipv4(src=1.2.3.4,src=1.2.3.5),arp(sip=1.2.3.4)'), []);
  assert.deepEqual(slotsOf('in_port(1),ipv4(src=1.2.3.4,)'), []);
});

test('add-flows: a file whose lines take shapes sends what each line sends alone, and fails the same lines', async () => {
  await assertSameAsAlone(generate(600, 7, false), 'add');
});

test('values at the edges of their range, after a line with others, go as they go alone', async () => {
  const line = (src: string, dst: string, sport: string, dport: string, l4 = 'udp'): string =>
    `in_port(1),eth_type(0x0800),ipv4(src=${src},dst=${dst},proto=${l4 === 'udp' ? 17 : 132},frag=no),${l4}(src=${sport},dst=${dport}) drop`;
  const lines = [line('10.0.0.1', '10.0.0.2', '1000', '53')];
  for (const ip of ['0.0.0.0', '255.255.255.255', '0.255.0.255', '1.0.0.0']) {
    for (const port of ['0', '65535', '1', '256']) lines.push(line(ip, '10.0.0.2', port, '53'), line('10.0.0.1', ip, '53', port, 'sctp'));
  }
  await assertSameAsAlone(lines, 'add');
});

test('del-flows: the same for deletes by key', async () => {
  await assertSameAsAlone(generate(300, 11, true), 'delete');
});

test('a kernel refusal of a line that took a shape is explained as the whole way explains it', async () => {
  const line = (src: string): string => `in_port(1),eth_type(0x0800),ipv4(src=${src},dst=10.0.0.9,proto=17,frag=no),udp(src=1,dst=2) drop`;
  const lines = [line('10.0.0.1'), line('10.0.0.2'), line('10.0.0.2'), line('10.0.0.3')];
  const EEXIST = errnoNumber('EEXIST')!;
  const { sent, stderr } = await runFile(lines, 'add', (hex, seen) => (seen.has(hex) ? EEXIST : 0));
  assert.equal(sent.length, 4);
  assert.deepEqual(stderr, [
    'ovsdp: line 3: a flow with this key already exists in dp0, or a wider one that matches it (mod-flow changes its actions)',
    'add-flows: 3 added, 1 failed',
  ]);
  // A shape is made from the first line and proved; the others take it.
  assert.equal(sent[1], sent[0]!.replace('0a000001', '0a000002'));
});

test("a line is tried again with the shapes made after it was split, and only then", async () => {
  // The first step's lines are split before any shape is made: the first line makes one,
  // which the others take when their turn comes.
  const line = (i: number): string => `in_port(1),eth_type(0x0800),ipv4(src=10.0.0.${i},dst=10.0.0.9,proto=17,frag=no),udp(src=1,dst=2) drop`;
  shaped = 0;
  await runFile(Array.from({ length: 60 }, (_, i) => line(i + 1)), 'add');
  assert.equal(shaped, 60, 'the probe and 59 lines');
  // Lines unlike each other (another port each): past the first shapes made, none
  // is made, and each line is tried once with each kept shape, not again when its turn comes.
  const lines = Array.from({ length: 1000 }, (_, i) => `in_port(${i + 1}),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.9,proto=17,frag=no),udp(src=1,dst=2) drop`);
  tried = 0;
  assert.equal((await runFile(lines, 'add')).sent.length, lines.length);
  assert.ok(tried > 3 * lines.length && tried < 5 * lines.length, `${tried} lines tried`);
});

test('kernel refusals inside runs of lines of one shape are told by their own line numbers', async () => {
  // Past the first step of a file (64 lines split before any shape is made), alike lines
  // go as runs, one item for many lines.
  const line = (i: number): string => `in_port(1),eth_type(0x0800),ipv4(src=10.0.${i >> 8}.${i & 255},dst=10.0.0.9,proto=17,frag=no),udp(src=1,dst=2) drop`;
  const lines = Array.from({ length: 150 }, (_, i) => line(i + 1));
  lines.splice(100, 0, '# a comment between lines of one shape');
  const refused = new Set([70, 71, 96, 131].map((i) => i.toString(16)));
  const ENOMEM = errnoNumber('ENOMEM')!;
  shaped = 0;
  const { sent, stderr } = await runFile(lines, 'add', (hex) => {
    const addr = /0a0000([0-9a-f]{2})0a000009/.exec(hex)?.[1];
    return addr !== undefined && refused.has(addr) ? ENOMEM : 0;
  });
  assert.ok(shaped > 100, `${shaped} lines took a shape`);
  assert.equal(sent.length, 150);
  const why = 'the kernel cannot hold this flow (ENOMEM): its table or the flow\'s actions are too large';
  // Line numbers: the comment is line 101, so the flow of address .131 is on line 132.
  assert.deepEqual(stderr, [`ovsdp: line 70: ${why}`, `ovsdp: line 71: ${why}`, `ovsdp: line 96: ${why}`, `ovsdp: line 132: ${why}`, 'add-flows: 146 added, 4 failed']);
});

// The datapath's ports are listed only when a line names one (see runFlowFile).

const PORTS = { eth0: 3, eth1: 4 };
/** Line i of a generated file: ports by number, addresses that differ. */
const numbered = (i: number): string => `in_port(${1 + (i % 2)}),eth(),eth_type(0x0800),ipv4(src=10.0.${i >> 8}.${i & 255},dst=10.1.0.1,proto=6,frag=no),tcp(src=${1000 + i},dst=80),tcp_flags(0/0) ct(commit,zone=1),${2 + (i % 3)}`;

test('a flow file that names no port lists no ports', async () => {
  const lines = Array.from({ length: 300 }, (_, i) => numbered(i));
  const { sent, stderr, dumps } = await runFile(lines, 'add', undefined, { ports: PORTS });
  assert.equal(dumps, 0);
  assert.equal(sent.length, 300);
  assert.deepEqual(stderr, ['add-flows: 300 added, 0 failed']);
});

test('ports named from the 1000th line on (in_port and output) are listed then, once, and the lines send what their numbers send', async () => {
  for (const file of [undefined, '-']) {
    const lines = (eth0: string, eth1: string): string[] => Array.from({ length: 1200 }, (_, i) => {
      const l = numbered(i);
      return i >= 999 && i % 2 ? l.replace('in_port(2)', `in_port(${eth0})`).replace(/,3$/, `,${eth1}`) : l;
    });
    const want = await runFile(lines('3', '4'), 'add', undefined, { ports: PORTS, file });
    const got = await runFile(lines('eth0', 'eth1'), 'add', undefined, { ports: PORTS, file });
    assert.equal(want.dumps, 0);
    assert.equal(got.dumps, 1, file);
    assert.deepEqual(got.stderr, ['add-flows: 1200 added, 0 failed']);
    assert.deepEqual(got.sent, want.sent, file);
  }
});

test('a port name that is none of the datapath\'s is refused at its line and column, the lines around it applied in order', async () => {
  for (const file of [undefined, '-']) {
    const lines = Array.from({ length: 200 }, (_, i) => numbered(i));
    lines[99] = 'in_port(nope),eth(),eth_type(0x0806) 1';
    lines[100] = 'in_port(1),eth() 2,frob';
    lines[150] = 'in_port(eth1),eth(),eth_type(0x0806) 1,nope';
    const { sent, stderr, dumps } = await runFile(lines, 'add', undefined, { ports: PORTS, file });
    assert.equal(dumps, 1);
    assert.equal(sent.length, 197);
    assert.deepEqual(stderr, [
      'ovsdp: line 100, column 9: unknown port "nope" in in_port()',
      'ovsdp: line 101, column 20: unknown action or port name "frob" (did you mean drop?)',
      'ovsdp: line 151, column 40: unknown action or port name "nope"',
      'add-flows: 197 added, 3 failed',
    ]);
  }
});

test('an action word that names a port is the port, as when the ports are listed first', async () => {
  // pop_vlan parses as the action when no port has its name: the run must not keep that.
  const { sent, dumps } = await runFile(['in_port(1),eth() pop_vlan', 'in_port(2),eth() pop_vlan'], 'add', undefined, { ports: { pop_vlan: 7 } });
  const want = await runFile(['in_port(1),eth() 7', 'in_port(2),eth() 7'], 'add');
  assert.equal(dumps, 1);
  assert.deepEqual(sent, want.sent);
});
