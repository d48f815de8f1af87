/**
 * traceKey (src/ovs/openflow/trace.ts, `ovsdp trace`): passes through the NAT walk-through's
 * rules, recirculations followed with conntrack states given or left pending, the ct
 * action's zone, mark and labels carried into the next pass, and the text and JSON output.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseFlowMatch } from '../../../src/client/flow-text.js';
import { formatActions } from '../../../src/ovs/flowstr/actions.js';
import { Pipeline } from '../../../src/ovs/openflow/pipeline.js';
import { parseCtState, parseRules } from '../../../src/ovs/openflow/rules.js';
import { traceKey } from '../../../src/ovs/openflow/trace.js';

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
  assert.equal(t.pending, undefined);
  // The metadata a first miss has, zero.
  assert.equal(t.passes[0]!.key['recirc_id'], 0);
  assert.equal(t.passes[0]!.key['ct_state'], 0);
});

test('a reply: ct(table=0) recirculates; without a conntrack state the walk stops and says where', () => {
  const t = traceKey(nat, key(REPLY));
  assert.equal(t.passes.length, 1);
  assert.equal(formatActions(t.passes[0]!.translation.actions), 'ct(zone=1,nat),recirc(0x1)');
  assert.deepEqual(t.pending, { id: 1, table: 0, zone: 1 });
});

test('a reply with conntrack\'s +trk+est: the second pass has recirc_id, state and zone, and delivers to port 1', () => {
  const t = traceKey(nat, key(REPLY), [parseCtState('trk,est')]);
  assert.equal(t.passes.length, 2);
  const second = t.passes[1]!;
  assert.equal(second.ctStateGiven, true);
  assert.deepEqual([second.key['recirc_id'], second.key['ct_state'], second.key['ct_zone']], [1, 0x22, 1]);
  assert.deepEqual(second.translation.matched.map((r) => r.line), [16]);
  assert.deepEqual(second.translation.actions, [{ output: 1 }]);
  assert.equal(t.unusedCtStates, 0);
});

test('a new connection from port 2 (+trk+new) matches no rule: dropped; states left over are counted', () => {
  const t = traceKey(nat, key(REPLY), [parseCtState('+trk+new'), parseCtState('0x22')]);
  assert.equal(t.passes.length, 2);
  assert.deepEqual(t.passes[1]!.translation.matched, []);
  assert.deepEqual(t.passes[1]!.translation.actions, []);
  assert.equal(t.unusedCtStates, 1);
});

test('the ct action\'s mark and labels reach the next pass, in the table ct(table=N) names', () => {
  const rules = new Pipeline(parseRules([
    'ip,actions=ct(commit,zone=7,table=3,exec(set_field:0x5/0xff->ct_mark,set_field:0x100->ct_label))',
    'table=3,ct_mark=0x5/0xff,ct_label=0x100,ct_zone=7,ip,actions=2',
  ].join('\n')));
  const t = traceKey(rules, { ...key(OUT), ct_mark: 0x1200 }, [parseCtState('trk,new')]);
  assert.equal(t.passes.length, 2);
  const second = t.passes[1]!;
  assert.equal(second.table, 3);
  assert.equal(second.key['ct_mark'], 0x1205);
  assert.equal((second.key['ct_labels'] as Buffer).toString('hex'), `0001${'00'.repeat(14)}`);
  assert.deepEqual(second.translation.matched.map((r) => r.line), [2]);
  assert.deepEqual(second.translation.actions, [{ output: 2 }]);
});

test('parseCtState: flags as rules write them, as names, or a number; unknown flags named', () => {
  assert.equal(parseCtState('+trk+est'), 0x22);
  assert.equal(parseCtState('trk,est'), 0x22);
  assert.equal(parseCtState('trk|new'), 0x21);
  assert.equal(parseCtState('0x21'), 0x21);
  assert.throws(() => parseCtState('trk,bogus'), /unknown flag "bogus"/);
});

// ---------------------------------------------------------------- the command

const mainModule = new URL('../../../src/cli/main.js', import.meta.url).href;

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
    'pass 2: recirc_id(0x1), table 0, after conntrack: ct_state=+est+trk,ct_zone=1',
    `  ${natRulesFile}:16  in_port=2,ct_state=+trk+est,ct_zone=1,ip,actions=1`,
    '  megaflow: recirc_id(0x1),in_port(2),ct_state(+est+trk),ct_zone(0x1),eth(),eth_type(0x0800), actions:1',
    '',
  ].join('\n'));
});

test('ovsdp trace: a pending recirculation says how to follow it; --json has each pass and the pending one', () => {
  const text = ovsdp('trace', natRulesFile, REPLY);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /then recirc\(0x1\) to table 0: conntrack \(zone 1\) decides the next pass's ct_state;\n {2}follow it with --ct-next STATE/);
  const json = ovsdp('trace', '--json', natRulesFile, REPLY);
  const out = JSON.parse(json.stdout) as { passes: { rules: { line: number }[]; actionsText: string; megaflow: string }[]; pending: unknown };
  assert.deepEqual(out.passes.map((p) => p.rules.map((r) => r.line)), [[12]]);
  assert.equal(out.passes[0]!.actionsText, 'ct(zone=1,nat),recirc(0x1)');
  assert.deepEqual(out.pending, { id: 1, table: 0, zone: 1 });
});

test('ovsdp trace: bad input is named, with its exit code', () => {
  const badState = ovsdp('trace', '--ct-next', 'trk,bogus', natRulesFile, REPLY);
  assert.equal(badState.status, 2);
  assert.match(badState.stderr, /--ct-next trk,bogus: unknown flag "bogus"/);
  const badFlow = ovsdp('trace', natRulesFile, 'in_port(eth0)');
  assert.equal(badFlow.status, 1);
  assert.match(badFlow.stderr, /unknown port "eth0"[\s\S]*\^/);
  const masked = ovsdp('trace', natRulesFile, 'in_port(1),eth_type(0x0800),ipv4(src=10.0.0.0/8)');
  assert.equal(masked.status, 1);
  assert.match(masked.stderr, /column 46: trace takes one packet's key: fields without masks/);
  const noFile = ovsdp('trace', '/nonexistent.rules', OUT);
  assert.equal(noFile.status, 2);
  assert.match(noFile.stderr, /cannot read \/nonexistent\.rules/);
  const unused = ovsdp('trace', '--ct-next', 'trk', natRulesFile, OUT);
  assert.equal(unused.status, 0);
  assert.match(unused.stderr, /1 --ct-next state was not needed/);
});
