/**
 * The flow language against the golden ovs_flow fixtures: for each FLOW and ACTIONS text
 * ovs-dpctl 3.1 was given, our parser's key, mask, UFID and actions encode to the payloads
 * of OVS_FLOW_ATTR_KEY, _MASK, _UFID and _ACTIONS it sent; `ovsdp encode-flow` prints the
 * same. Fixtures marked expected_to_differ must differ (the reason is in the .json).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { encodeAttrs, encodeList } from '../../../src/nl/codec.js';
import { actionAttrs } from '../../../src/ovs/actions.js';
import { flowAttrs } from '../../../src/ovs/flow.js';
import { parseActions } from '../../../src/ovs/flowstr/actions.js';
import { parseFlowKey } from '../../../src/ovs/flowstr/flow.js';
import { flowKeyAttrs } from '../../../src/ovs/keys.js';
import { FLOW_DP_PORTS, type Fixture, fixture, loadFixtures, rawAttrs } from './fixtures.js';

const ID = { key: flowAttrs.id('key'), mask: flowAttrs.id('mask'), ufid: flowAttrs.id('ufid'), actions: flowAttrs.id('actions') };

type Payloads = Partial<Record<keyof typeof ID, string>>;

/** The KEY/MASK/UFID/ACTIONS payloads (hex) the fixture's only message carries. */
function sentPayloads(f: Fixture): Payloads {
  assert.equal(f.messages.length, 1, `${f.id}: one message`);
  const raw = rawAttrs(f.messages[0]!);
  const out: Payloads = {};
  for (const [name, id] of Object.entries(ID) as [keyof typeof ID, number][]) {
    const b = raw.get(id);
    if (b) out[name] = b.toString('hex');
  }
  return out;
}

/** What our parser makes of the fixture's texts, for the attributes the fixture has. */
function ourPayloads(f: Fixture, sent: Payloads): Payloads {
  const out: Payloads = {};
  if (f.json.flow !== undefined) {
    const spec = parseFlowKey(f.json.flow, { portNumbers: FLOW_DP_PORTS });
    if (sent.key !== undefined) out.key = encodeAttrs(flowKeyAttrs, spec.key).toString('hex');
    if (sent.mask !== undefined) out.mask = encodeAttrs(flowKeyAttrs, spec.mask).toString('hex');
    if (spec.ufid) out.ufid = spec.ufid.toString('hex');
  }
  if (f.json.actions !== undefined) {
    out.actions = encodeList(actionAttrs, parseActions(f.json.actions, { portNames: (n) => FLOW_DP_PORTS.get(n) })).toString('hex');
  }
  return out;
}

/** Only UFID and the attributes our texts produce are compared (a dump has neither). */
function comparable(f: Fixture, sent: Payloads): Payloads {
  const out: Payloads = { ...sent };
  if (f.json.flow === undefined) {
    delete out.key;
    delete out.mask;
    delete out.ufid;
  }
  if (f.json.actions === undefined) delete out.actions;
  return out;
}

const flowFixtures = loadFixtures().filter((f) => f.family === 'ovs_flow' && (f.json.flow !== undefined || f.json.actions !== undefined));

test('golden flows: every key type and action is there', () => {
  assert.ok(flowFixtures.length >= 150);
  const texts = flowFixtures.map((f) => `${f.json.flow ?? ''} ${f.json.actions ?? ''}`).join('\n');
  for (const word of ['eth(', 'vlan(', 'encap(', 'ipv4(', 'ipv6(', 'tcp(', 'tcp_flags(', 'udp(', 'sctp(', 'icmp(', 'icmpv6(', 'arp(', 'nd(',
    'mpls(', 'tunnel(', 'geneve(', 'vxlan(', 'erspan(', 'ct_state(', 'ct_zone(', 'ct_mark(', 'ct_label(', 'ct_tuple4(', 'ct_tuple6(',
    'skb_mark(', 'skb_priority(', 'dp_hash(', 'recirc_id(', 'packet_type(', 'ufid:',
    'userspace(', 'set(', 'push_vlan(', 'pop_vlan', 'sample(', 'recirc(', 'add_mpls(', 'ct(', 'nat(', 'helper=', 'force_commit',
    'trunc(', 'clone(', 'check_pkt_len(', 'meter(', 'ct_clear', 'push_nsh(', 'pop_nsh']) {
    assert.ok(texts.includes(word), `no fixture with ${word}`);
  }
});

for (const f of flowFixtures) {
  test(`golden ${f.id}: our parser encodes ${f.json.flow !== undefined ? 'FLOW' : ''}${f.json.actions !== undefined ? ' ACTIONS' : ''} as ovs-dpctl did`, () => {
    const sent = sentPayloads(f);
    const want = comparable(f, sent);
    let ours: Payloads | Error;
    try {
      ours = ourPayloads(f, sent);
    } catch (e) {
      ours = e as Error;
    }
    if (f.json.expected_to_differ !== undefined) {
      assert.notDeepEqual(ours, want, `${f.id} is marked expected_to_differ (${f.json.expected_to_differ}) but we send the same`);
      return;
    }
    if (ours instanceof Error) throw ours;
    assert.deepEqual(ours, want);
  });
}

test('ovsdp encode-flow prints the KEY, MASK and ACTIONS payloads ovs-dpctl sent', () => {
  const bin = fileURLToPath(new URL('../../../../bin/ovsdp', import.meta.url));
  for (const name of ['key-ipv4-tcp', 'key-tunnel-geneve-two-options', 'key-vlan-encap-ipv4', 'action-ct-nat-src-range-ports-persistent-hash', 'action-userspace-controller']) {
    const f = fixture('ovs_flow', name);
    const out = JSON.parse(execFileSync(process.execPath, [bin, 'encode-flow', '--json', f.json.flow!, f.json.actions!], { encoding: 'utf8' })) as Payloads;
    const sent = sentPayloads(f);
    assert.deepEqual(out, { key: sent.key, mask: sent.mask, actions: sent.actions }, name);
  }
});
