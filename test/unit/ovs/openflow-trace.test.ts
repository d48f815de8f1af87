/**
 * traceKey (src/ovs/openflow/trace.ts, `ovsdp trace`): passes through the NAT walk-through's
 * rules, recirculations followed with conntrack states given or left pending, the ct
 * action's zone, mark and labels carried into the next pass, and the text and JSON output.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { formatFlowMatch, parseFlowMatch } from '../../../src/client/flow-text.js';
import { formatActions } from '../../../src/ovs/flowstr/actions.js';
import { Pipeline } from '../../../src/ovs/openflow/pipeline.js';
import { parseRules } from '../../../src/ovs/openflow/rules.js';
import { TraceInputError, parseCtState, traceKey, upcallKey } from '../../../src/ovs/openflow/trace.js';

const natRulesFile = fileURLToPath(new URL('../../../../examples/nat.rules', import.meta.url));
const nat = new Pipeline(parseRules(readFileSync(natRulesFile, 'utf8')));
const OUT = 'in_port(1),eth(),eth_type(0x0800),ipv4(src=10.1.1.1,dst=10.1.1.2,proto=6,frag=no),tcp(src=40000,dst=80)';
const REPLY = 'in_port(2),eth(),eth_type(0x0800),ipv4(src=10.1.1.2,dst=10.1.1.240,proto=6,frag=no),tcp(src=80,dst=1024)';
const key = (text: string) => parseFlowMatch(text).key ?? {};

test('an outgoing packet: one pass, rule 9, committed with source NAT and sent out port 2', () => {
  const t = traceKey(nat, key(OUT));
  assert.equal(t.passes.length, 1);
  assert.deepEqual(t.passes[0]!.translation.matched.map((r) => r.line), [9]);
  assert.equal(formatActions(t.passes[0]!.translation.actions), 'ct(commit,zone=1,nat(src=10.1.1.240-10.1.1.255)),2');
  assert.deepEqual(t.pending, []);
  // The metadata a first miss has, zero.
  assert.equal(t.passes[0]!.key['recirc_id'], 0);
  assert.equal(t.passes[0]!.key['ct_state'], 0);
});

test('a reply: ct(table=0) recirculates; without a conntrack state the walk stops and says where', () => {
  const t = traceKey(nat, key(REPLY));
  assert.equal(t.passes.length, 1);
  assert.equal(formatActions(t.passes[0]!.translation.actions), 'ct(zone=1,nat),recirc(0x1)');
  assert.deepEqual(t.pending, [{ id: 1, table: 0, zone: 1, from: 0 }]);
});

test('a reply with conntrack\'s +trk+est: the second pass has recirc_id, state and zone, and delivers to port 1', () => {
  const t = traceKey(nat, key(REPLY), [parseCtState('trk,est')]);
  assert.equal(t.passes.length, 2);
  const second = t.passes[1]!;
  assert.deepEqual(second.after, { id: 1, table: 0, zone: 1, from: 0 });
  assert.deepEqual([second.key['recirc_id'], second.key['ct_state'], second.key['ct_zone']], [1, 0x22, 1]);
  assert.deepEqual(second.translation.matched.map((r) => r.line), [16]);
  assert.deepEqual(second.translation.actions, [{ output: 1 }]);
  assert.equal(t.unusedCtStates, 0);
});

test('a new connection from port 2 (+trk+new) matches no rule: dropped; states left over are counted', () => {
  const t = traceKey(nat, key(REPLY), [parseCtState('+trk+new'), parseCtState('0x22')]);
  assert.deepEqual(t.pending, []);
  assert.equal(t.passes.length, 2);
  assert.deepEqual(t.passes[1]!.translation.matched, []);
  assert.deepEqual(t.passes[1]!.translation.actions, []);
  assert.equal(t.unusedCtStates, 1);
});

test('the ct action\'s mark and labels reach the next pass (a new zone\'s connection starts from zero), in the table ct(table=N) names', () => {
  const rules = new Pipeline(parseRules([
    'ip,actions=ct(commit,zone=7,table=3,exec(set_field:0x5/0xff->ct_mark,set_field:0x100->ct_label))',
    'table=3,ct_mark=0x5/0xff,ct_label=0x100,ct_zone=7,ip,actions=2',
  ].join('\n')));
  const t = traceKey(rules, { ...key(OUT), ct_mark: 0x1200 }, [parseCtState('trk,new')]);
  assert.equal(t.passes.length, 2);
  const second = t.passes[1]!;
  assert.equal(second.table, 3);
  assert.equal(second.key['ct_mark'], 0x5);
  assert.equal((second.key['ct_labels'] as Buffer).toString('hex'), `0001${'00'.repeat(14)}`);
  assert.deepEqual(second.translation.matched.map((r) => r.line), [2]);
  assert.deepEqual(second.translation.actions, [{ output: 2 }]);
});

test('the ct action\'s mark is the connection\'s only in its zone: another zone, or a ct_clear before, starts from zero', () => {
  const rules = new Pipeline(parseRules([
    'ip,actions=ct(commit,zone=7,table=3,exec(set_field:0xab->ct_mark))',
    'table=3,ip,actions=ct(zone=8,table=4)',
    'table=4,ip,actions=ct_clear,ct(zone=8,table=5)',
    'table=5,ip,actions=2',
  ].join('\n')));
  const t = traceKey(rules, key(OUT), ['trk,new', 'trk,new', 'trk,new'].map(parseCtState));
  assert.deepEqual(t.passes.map((p) => [p.key['ct_zone'], p.key['ct_mark']]), [[0, 0], [7, 0xab], [8, 0], [8, 0]]);
});

test('a recirc that is not the last action (a copy recirculates) is followed too, and each pending one named', () => {
  const rules = new Pipeline(parseRules('in_port=1,ip,actions=ct(table=3,zone=7),ct(table=4,zone=9),2\ntable=3,ip,actions=3\ntable=4,ip,actions=4'));
  const t = traceKey(rules, key(OUT), [parseCtState('trk,new')]);
  assert.equal(formatActions(t.passes[0]!.translation.actions), 'ct(zone=7),recirc(0x1),ct(zone=9),recirc(0x2),2');
  assert.deepEqual(t.passes.map((p) => p.table), [0, 3]);
  assert.deepEqual(t.passes[1]!.translation.actions, [{ output: 3 }]);
  assert.deepEqual(t.pending, [{ id: 2, table: 4, zone: 9, from: 0 }]);
});

test('upcallKey: the headers a first miss has are filled in (tcp_flags with tcp), so a rule on them leaves its evidence', () => {
  assert.deepEqual(Object.keys(upcallKey(key('in_port(1),eth(),eth_type(0x0800),ipv4(proto=6,frag=no),tcp(dst=80)'))),
    ['recirc_id', 'dp_hash', 'priority', 'in_port', 'skb_mark', 'ct_state', 'ct_zone', 'ct_mark', 'ct_labels', 'ethernet', 'ethertype', 'ipv4', 'tcp', 'tcp_flags']);
  assert.deepEqual(Object.keys(upcallKey(key('in_port(1),eth_type(0x0800)'))).slice(-2), ['ethertype', 'ipv4']);
  assert.deepEqual(Object.keys(upcallKey(key('in_port(1),eth_type(0x86dd),ipv6(proto=17)'))).slice(-3), ['ethertype', 'ipv6', 'udp']);
  // A later fragment has no transport header.
  assert.deepEqual(Object.keys(upcallKey(key('in_port(1),eth_type(0x0800),ipv4(proto=6,frag=later)'))).slice(-2), ['ethertype', 'ipv4']);
  const rules = new Pipeline(parseRules('priority=200,tcp,tcp_flags=+syn,actions=9\npriority=50,tcp,tp_dst=80,actions=2'));
  const t = traceKey(rules, key('in_port(1),eth(),eth_type(0x0800),ipv4(src=11.1.1.1,dst=1.1.1.1,proto=6,frag=no),tcp(src=1,dst=80)'));
  assert.match(formatFlowMatch(t.passes[0]!.key, t.passes[0]!.translation.mask, t.passes[0]!.translation.actions), /tcp_flags\(-syn\), actions:2$/);
  assert.equal(t.passes[0]!.refusal, undefined);
});

test('upcallKey refuses what no first miss has: no in_port, a recirc_id', () => {
  assert.throws(() => upcallKey(key('eth_type(0x0800)')), (err) => err instanceof TraceInputError && /no in_port/.test(err.message));
  assert.throws(() => upcallKey(key('recirc_id(1),in_port(2)')), /recirc_id\(0x1\): a trace starts at the packet's first miss/);
});

test('an output to the input port is left out, and said so; a resubmit loop is cut and named', () => {
  const rules = new Pipeline(parseRules('in_port=1,actions=1\nin_port=2,actions=resubmit(,9)\ntable=9,actions=resubmit(,9)'));
  assert.deepEqual(traceKey(rules, key('in_port(1),eth_type(0x0806)')).passes[0]!.translation.skippedInPort, [1]);
  const loop = traceKey(rules, key('in_port(2),eth_type(0x0806)')).passes[0]!.translation;
  assert.match(loop.problem ?? '', /resubmit/);
});

test('parseCtState: flag names in any case and separator, +flags, or a number; trk required; unknown flags, bits, -flags and masks refused', () => {
  assert.equal(parseCtState('+trk+est'), 0x22);
  assert.equal(parseCtState('trk,est'), 0x22);
  assert.equal(parseCtState('TRK|new'), 0x21);
  assert.equal(parseCtState('trk est,,rpl'), 0x2a);
  assert.equal(parseCtState('0x21'), 0x21);
  assert.throws(() => parseCtState('trk,bogus'), /unknown flag "bogus"/);
  assert.throws(() => parseCtState('est'), /conntrack sets trk on every packet/);
  assert.throws(() => parseCtState('0x1ff'), /0x100 holds no conntrack flag/);
  assert.throws(() => parseCtState('+trk-est'), /no -flags, no mask/);
  assert.throws(() => parseCtState('0x22/0xff'), /no -flags, no mask/);
});

// ---------------------------------------------------------------- the command

const mainModule = new URL('../../../src/cli/main.js', import.meta.url).href;

/** A rules file with `text`, in a fresh directory. */
function writeRules(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'trace-')), 'x.rules');
  writeFileSync(file, text);
  return file;
}

function ovsdp(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const code = `import { main } from ${JSON.stringify(mainModule)};\nprocess.exitCode = await main(process.argv);`;
  const { status, stdout, stderr } = spawnSync(process.execPath, ['--input-type=module', '-e', code, '--', 'ovsdp', ...args], {
    encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' },
  });
  return { status, stdout, stderr };
}

test('ovsdp trace: each pass\'s rules and megaflow, as the controller prints it', () => {
  const r = ovsdp('trace', '--ct-next', 'trk,est', natRulesFile, REPLY);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, [
    'pass 1: table 0',
    `  ${natRulesFile}:12  in_port=2,ct_state=-trk,ip,actions=ct(table=0,zone=1,nat)`,
    '  megaflow: recirc_id(0),in_port(2),ct_state(-trk),eth(),eth_type(0x0800), actions:ct(zone=1,nat),recirc(0x1)',
    'pass 2: recirc(0x1) of pass 1, table 0, after conntrack: ct_state(est|trk),ct_zone(0x1)',
    `  ${natRulesFile}:16  in_port=2,ct_state=+trk+est,ct_zone=1,ip,actions=1`,
    '  megaflow: recirc_id(0x1),in_port(2),ct_state(+est+trk),ct_zone(0x1),eth(),eth_type(0x0800), actions:1',
    '',
  ].join('\n'));
});

test('ovsdp trace: a pending recirculation says how to follow it; --json has each pass and the pending one', () => {
  const text = ovsdp('trace', natRulesFile, REPLY);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /pass 1's recirc\(0x1\) to table 0 not followed: conntrack \(zone 1\) decides the next pass's ct_state;\n {2}follow it with --ct-next STATE/);
  const json = ovsdp('trace', '--json', natRulesFile, REPLY);
  const out = JSON.parse(json.stdout) as { passes: { rules: { line: number }[]; megaflow: string }[]; pending: unknown; unusedCtStates: number };
  assert.deepEqual(out.passes.map((p) => p.rules.map((r) => r.line)), [[12]]);
  assert.match(out.passes[0]!.megaflow, /, actions:ct\(zone=1,nat\),recirc\(0x1\)$/);
  assert.deepEqual(out.pending, [{ id: 1, table: 0, zone: 1, from: 0 }]);
  assert.equal(out.unusedCtStates, 0);
});

test('ovsdp trace: bad input is named, with its exit code', () => {
  const badState = ovsdp('trace', '--ct-next', 'trk,bogus', natRulesFile, REPLY);
  assert.equal(badState.status, 2);
  assert.match(badState.stderr, /--ct-next "trk,bogus": unknown flag "bogus"/);
  const badFlow = ovsdp('trace', natRulesFile, 'in_port(eth0)');
  assert.equal(badFlow.status, 1);
  assert.match(badFlow.stderr, /unknown port "eth0"[\s\S]*\^/);
  const masked = ovsdp('trace', natRulesFile, 'in_port(1),eth_type(0x0800),ipv4(src=10.0.0.0/8)');
  assert.equal(masked.status, 1);
  assert.match(masked.stderr, /column 46: trace takes one packet's key: fields without masks/);
  const withActions = ovsdp('trace', natRulesFile, 'in_port(1),eth_type(0x0806), actions:2');
  assert.equal(withActions.status, 1);
  assert.match(withActions.stderr, /FLOW is a key alone/);
  const noPort = ovsdp('trace', natRulesFile, 'eth_type(0x0806)');
  assert.equal(noPort.status, 1);
  assert.match(noPort.stderr, /FLOW has no in_port/);
  const loop = ovsdp('trace', writeRules('in_port=2,actions=resubmit(,9)\ntable=9,actions=resubmit(,9)'), 'in_port(2),eth_type(0x0806)');
  assert.equal(loop.status, 0);
  assert.match(loop.stdout, /:2 {2}table=9,actions=resubmit\(,9\) {2}\(x64\)\n/);
  const local = ovsdp('trace', writeRules('in_port=LOCAL,actions=1'), 'in_port(LOCAL),eth_type(0x0806)');
  assert.equal(local.status, 0, local.stderr);
  assert.match(local.stdout, /megaflow: recirc_id\(0\),in_port\(0\),eth_type\(0x0806\), actions:1/);
  const noFile = ovsdp('trace', '/nonexistent.rules', OUT);
  assert.equal(noFile.status, 2);
  assert.match(noFile.stderr, /cannot read \/nonexistent\.rules/);
  const unused = ovsdp('trace', '--ct-next', 'trk', natRulesFile, OUT);
  assert.equal(unused.status, 0);
  assert.match(unused.stderr, /1 --ct-next state was not needed/);
});
