/**
 * The rule language (src/ovs/openflow/rules.ts): ovs-ofctl's flow syntax into match
 * entries over the kernel key's fields and rule actions; prerequisites; errors that name
 * the line and point at the column.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type MatchEntry, type Rule, DEFAULT_PRIORITY, RuleParseError, parseRules } from '../../../src/ovs/openflow/rules.js';

/** A rule's match as `field=value/mask` texts, in lookup order. */
function matchText(m: readonly MatchEntry[]): string[] {
  return m.map((e) => `${e.field.name}=0x${e.value.toString(16)}/0x${e.mask.toString(16)}`);
}

function one(text: string): Rule {
  const rules = parseRules(text);
  assert.equal(rules.length, 1);
  return rules[0]!;
}

function parseError(text: string): RuleParseError {
  try {
    parseRules(text, { source: 'x.rules' });
  } catch (err) {
    assert.ok(err instanceof RuleParseError, String(err));
    return err;
  }
  assert.fail(`"${text}" parsed`);
}

const examples = fileURLToPath(new URL('../../../../examples/nat.rules', import.meta.url));

test('the NAT scenario parses: matches, default priority, ct actions with and without table', () => {
  const rules = parseRules(readFileSync(examples, 'utf8'));
  assert.equal(rules.length, 5);
  const [commit, untracked, established] = rules;
  assert.deepEqual(matchText(commit!.match), ['in_port=0x1/0xffffffff', 'ethertype=0x800/0xffff']);
  assert.equal(commit!.priority, DEFAULT_PRIORITY);
  assert.equal(commit!.table, 0);
  assert.deepEqual(commit!.actions, [
    { type: 'ct', ct: { commit: true, zone: 1, nat: { src: true, ip_min: '10.1.1.240', ip_max: '10.1.1.255' } } },
    { type: 'output', port: 2 },
  ]);
  assert.deepEqual(matchText(untracked!.match), ['in_port=0x2/0xffffffff', 'ct_state=0x0/0x20', 'ethertype=0x800/0xffff']);
  assert.deepEqual(untracked!.actions, [{ type: 'ct', ct: { zone: 1, nat: {} }, table: 0 }]);
  assert.deepEqual(matchText(established!.match), ['in_port=0x2/0xffffffff', 'ct_state=0x22/0x22', 'ct_zone=0x1/0xffff', 'ethertype=0x800/0xffff']);
  assert.deepEqual(established!.actions, [{ type: 'output', port: 1 }]);
  // Line numbers count comments and blank lines; the text is the rule without them.
  assert.equal(commit!.line, 9);
  assert.equal(rules[3]!.text, 'in_port=1,arp,actions=2');
});

test('fields resolve by the rule\'s protocols, in any order, with masks and prefixes', () => {
  assert.deepEqual(matchText(one('tp_dst=0x50/0xfff0,nw_src=10.0.0.0/8,tcp,actions=drop').match), [
    'ethertype=0x800/0xffff', 'ipv4_src=0xa000000/0xff000000', 'ipv4_proto=0x6/0xff', 'tcp_dst=0x50/0xfff0',
  ]);
  assert.deepEqual(matchText(one('arp,nw_src=10.0.0.1,arp_op=2,arp_sha=00:00:00:00:00:01 actions=drop').match), [
    'ethertype=0x806/0xffff', 'arp_sip=0xa000001/0xffffffff', 'arp_op=0x2/0xffff', 'arp_sha=0x1/0xffffffffffff',
  ]);
  assert.deepEqual(matchText(one('icmp6,icmp_type=128,ipv6_src=fe80::/10 actions=drop').match), [
    'ethertype=0x86dd/0xffff', 'ipv6_src=0xfe800000000000000000000000000000/0xffc00000000000000000000000000000', 'ipv6_proto=0x3a/0xff', 'icmpv6_type=0x80/0xff',
  ]);
  assert.deepEqual(matchText(one('icmp,tp_src=8,tp_dst=0,actions=drop').match), [
    'ethertype=0x800/0xffff', 'ipv4_proto=0x1/0xff', 'icmp_type=0x8/0xff', 'icmp_code=0x0/0xff',
  ]);
  assert.deepEqual(matchText(one('dl_type=0x0800,nw_proto=17,udp_dst=53,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00 actions=drop').match), [
    'eth_dst=0x10000000000/0x10000000000', 'ethertype=0x800/0xffff', 'ipv4_proto=0x11/0xff', 'udp_dst=0x35/0xffff',
  ]);
  assert.deepEqual(matchText(one('ip,nw_tos=0x20,nw_ttl=1,ct_mark=0x1/0xf,ct_label=0x1 actions=drop').match), [
    'ct_mark=0x1/0xf', 'ct_labels=0x1/0xffffffffffffffffffffffffffffffff', 'ethertype=0x800/0xffff', 'ipv4_tos=0x20/0xfc', 'ipv4_ttl=0x1/0xff',
  ]);
  assert.deepEqual(matchText(one('tcp,tcp_flags=+syn-ack,ct_state=+trk+new-est actions=drop').match), [
    'ct_state=0x21/0x23', 'ethertype=0x800/0xffff', 'ipv4_proto=0x6/0xff', 'tcp_flags=0x2/0x12',
  ]);
  // The value is stored masked, as the classifier keeps it.
  assert.deepEqual(matchText(one('ip,nw_dst=10.1.2.3/16 actions=drop').match).at(-1), 'ipv4_dst=0xa010000/0xffff0000');
  assert.deepEqual(matchText(one('in_port=LOCAL actions=drop').match), ['in_port=0x0/0xffffffff']);
});

test('items may be separated by white space; table, priority, cookie; action= and actions: spellings', () => {
  const r = one('table=1 priority=100 in_port=1 ip ct_state=+trk+new-est cookie=0x5 action=ct(commit,zone=1,nat(src=10.1.1.240-10.1.1.254)),2');
  assert.equal(r.table, 1);
  assert.equal(r.priority, 100);
  assert.equal(r.actions.length, 2);
  assert.deepEqual(one('priority=0,actions:drop').actions, []);
});

test('actions: output forms, resubmit, goto_table, ct options, exec, rewrites', () => {
  assert.deepEqual(one('actions=output:3,4,LOCAL,in_port').actions, [
    { type: 'output', port: 3 }, { type: 'output', port: 4 }, { type: 'output', port: 0 }, { type: 'in_port' },
  ]);
  assert.deepEqual(one('actions=resubmit(,2),resubmit(5,3),resubmit:7,goto_table:4').actions, [
    { type: 'resubmit', table: 2 }, { type: 'resubmit', port: 5, table: 3 }, { type: 'resubmit', port: 7 }, { type: 'resubmit', table: 4 },
  ]);
  const ct = one('ip actions=ct(force,zone=7,table=3,alg=ftp,exec(set_field:0x5/0xff->ct_mark,set_field:0x1->ct_label),nat(dst=10.0.0.9:8080,random))').actions[0];
  assert.deepEqual(ct, {
    type: 'ct', table: 3,
    ct: {
      force_commit: true, zone: 7, mark: { value: 5, mask: 0xff },
      labels: { value: Buffer.from('01'.padEnd(32, '0'), 'hex'), mask: Buffer.alloc(16, 0xff) },
      helper: 'ftp', nat: { dst: true, ip_min: '10.0.0.9', proto_min: 8080, proto_random: true },
    },
  });
  assert.deepEqual(one('ipv6 actions=ct(commit,nat(src=[fe80::1]-[fe80::2]))').actions[0], {
    type: 'ct', ct: { commit: true, nat: { src: true, ip_min: 'fe80::1', ip_max: 'fe80::2' } },
  });
  const mods = one('tcp actions=mod_dl_src:00:00:00:00:00:0a,mod_nw_dst:10.0.0.2,mod_tp_dst:8080,mod_nw_tos:0x10,set_field:9->tp_src,ct_clear').actions;
  assert.deepEqual(mods.map((a) => (a.type === 'set_field' ? `${a.field.name}=0x${a.value.toString(16)}/0x${a.mask.toString(16)}` : a.type)), [
    'eth_src=0xa/0xffffffffffff', 'ipv4_dst=0xa000002/0xffffffff', 'tcp_dst=0x1f90/0xffff', 'ipv4_tos=0x10/0xfc', 'tcp_src=0x9/0xffff', 'ct_clear',
  ]);
});

test('comments, blank lines and continuation lines', () => {
  const rules = parseRules('# only a comment\n\n  in_port=1, \\\n  actions=2 # trailing\r\nin_port=2 actions=1\n');
  assert.deepEqual(rules.map((r) => [r.line, r.seq, r.actions]), [
    [3, 0, [{ type: 'output', port: 2 }]],
    [5, 1, [{ type: 'output', port: 1 }]],
  ]);
  assert.deepEqual(parseRules('# nothing\n\n'), []);
});

test('errors name the source and line, and point at the column', () => {
  const cases: Array<[string, number, RegExp]> = [
    ['in_port=1,ip,actoins=2', 14, /unknown field "actoins"; did you mean "actions"/],
    ['in_port=1,nw_src=10.0.0.1,actions=2', 11, /nw_src needs ip or arp/],
    ['tp_dst=80,actions=2', 1, /tp_dst needs tcp, udp, sctp, icmp or icmp6/],
    ['ip,nw_src=10.0.0.300,actions=2', 11, /bad nw_src "10.0.0.300": expected an IPv4 address/],
    ['ip,nw_src=10.0.0.0/33,actions=2', 11, /a prefix length is at most 32/],
    ['in_port=1', 10, /expected actions=/],
    ['ip,tcp,udp,actions=2', 8, /udp conflicts with the IP protocol given before/],
    ['ip,nw_src=1.2.3.4,ip_src=1.2.3.5,actions=1', 19, /ip_src is matched twice/],
    ['ct_state=+trk+bogus,actions=1', 10, /unknown flag "bogus"/],
    ['priority=70000,actions=1', 10, /priority must be a number from 0 to 65535/],
    ['in_port=1,actions=ct(commit)', 19, /ct needs ip or ipv6/],
    ['ip,actions=ct(comit)', 15, /did you mean "commit"/],
    ['ip,actions=ct(zone=1,exec(set_field:1->ct_mark))', 12, /needs commit/],
    ['ip,actions=ct(commit,exec(set_field:1->nw_src))', 40, /sets only ct_mark and ct_label/],
    // ovs-vswitchd refuses these too (OFPBAC_BAD_ARGUMENT); the kernel would (EINVAL).
    ['ip,actions=ct(zone=1,nat(src=10.1.1.240)),2', 22, /nat\(src\.\.\.\) and nat\(dst\.\.\.\) need commit/],
    ['ip,actions=ct(zone=1,nat(src)),2', 22, /need commit/],
    ['ip,actions=ct(commit,nat(persistent)),2', 22, /nat\(persistent\) needs src or dst/],
    ['ip,actions=ct(table=1,nat(dst=10.0.0.1:80))', 23, /need commit/],
    ['ipv6,actions=ct(commit,nat(src=10.0.0.1))', 24, /not of the rule's IP family/],
    ['ip,actions=ct(commit,nat(src=10.0.0.9-10.0.0.1))', 30, /ends \(10.0.0.1\) below where it starts/],
    // ovs-ofctl's syntax: out of range is refused, where ovs-dpctl's scanf wraps.
    ['ip,actions=ct(commit,nat(src=10.1.1.300))', 30, /10.1.1.300 is no IPv4 address \(each part is 0-255\)/],
    ['ip,actions=ct(commit,nat(dst=1.2.3.4-1.2.3.999))', 38, /1.2.3.999 is no IPv4 address/],
    ['ip,actions=ct(commit,nat(src=10.1.1.3:70000))', 39, /70000 is no port \(0-65535\)/],
    ['ip,actions=ct(commit,nat(src=10.1.1.3:1-99999))', 41, /99999 is no port/],
    ['ip,actions=ct(commit,nat(dst=1.2.3))', 30, /expected a NAT address \(IPv4 a.b.c.d, or IPv6\), found "1.2.3"/],
    ['actions=normal', 9, /normal is not supported/],
    ['actions=outptu:1', 9, /unknown action "outptu"; did you mean "output"/],
    ['actions=drop,1', 9, /"drop" must be the only action/],
    ['actions=goto_table:1,2', 9, /goto_table must be the last action/],
    ['ip actions=mod_tp_dst:80', 12, /mod_tp_dst needs tcp, udp, sctp, icmp or icmp6/],
    ['arp actions=mod_nw_src:10.0.0.1', 13, /cannot rewrite nw_src/],
    ['actions=resubmit(,300)', 19, /table number from 0 to 254/],
    ['actions=output:2,ct(commit', 20, /unbalanced "\(": no matching "\)"/],
  ];
  for (const [text, column, re] of cases) {
    const err = parseError(`# a comment\n${text}\n`);
    assert.match(err.message, re, text);
    assert.match(err.message, /^x\.rules:2: /, text);
    assert.equal(err.line, 2, text);
    assert.equal(err.position + 1, column, `${text}: ${err.message}`);
    assert.equal(err.caret().split('\n')[1], `${' '.repeat(column - 1)}^`);
  }
});
