// Actions against what ovs-dpctl 3.1 really sent and printed. Each row: the ACTIONS
// argument of `ovs-dpctl add-flow dpf KEY ACTIONS`, the bytes of the OVS_FLOW_ATTR_ACTIONS
// attribute it sent, and the actions part of `ovs-dpctl dump-flows` afterwards (null where
// the kernel refused the flow). The rows are the golden fixtures fixtures/ovs_flow/action-*
// (scripts/capture-fixtures.mjs, in the VM: kernel 6.12, openvswitch-switch 3.1.0), KEY
// an IPv4/TCP match (an MPLS one for pop_mpls), one flow at a time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeList, encodeList } from '../../../src/nl/codec.js';
import { actionAttrs } from '../../../src/ovs/actions.js';
import { flowAttrs } from '../../../src/ovs/flow.js';
import { formatActions, parseActions } from '../../../src/ovs/flowstr/actions.js';
import { FlowParseError } from '../../../src/ovs/flowstr/scanner.js';
import { loadFixtures, rawAttrs } from '../golden/fixtures.js';

const CAPTURED: ReadonlyArray<readonly [string, string, string | null]> = loadFixtures()
  .filter((f) => f.family === 'ovs_flow' && f.name.startsWith('action-'))
  .map((f) => {
    const actions = rawAttrs(f.messages[0]!).get(flowAttrs.id('actions'))!;
    const dumped = f.json.exit_status === 0 ? /, actions:(.*)$/.exec(f.json.after_output ?? '')?.[1] ?? null : null;
    return [f.json.actions!, actions.toString('hex'), dumped] as const;
  });

test('the captured action strings are there', () => {
  assert.ok(CAPTURED.length >= 82, `${CAPTURED.length} action fixtures`);
});

/**
 * Where we send something else than ovs-dpctl 3.1, on purpose (docs/flow-syntax.md):
 * what it sends there is refused by the kernel or means another action to it.
 */
const DEVIATIONS: ReadonlyMap<string, RegExp | string> = new Map<string, RegExp | string>([
  // Its `drop` is its userspace-only action 25, which kernel 6.12 reads as psample: EINVAL.
  ['drop', ''],
  // The kernel refuses a masked set whose value has bits outside the mask.
  ['set(ipv4(src=1.2.3.4/255.255.255.0))', /bits outside its mask/],
  // Userspace-datapath actions: 23 is the kernel's dec_ttl, 24 its drop, 26 unknown.
  ['tnl_push(tnl_port(4),header(size=50,type=4,eth(dst=f8:bc:12:44:34:b6,src=f8:bc:12:46:58:e0,dl_type=0x0800),ipv4(src=1.1.2.88,dst=1.1.2.92,proto=17,tos=0,ttl=64,frag=0x4000),udp(src=0,dst=4789,csum=0x0),vxlan(flags=0x8000000,vni=0x1c7)),out_port(1))', /userspace datapath/],
  ['tnl_pop(1)', /userspace datapath.*drop\(N\)/],
  ['lb_output(1)', /userspace datapath/],
]);

test('every action string encodes to the bytes ovs-dpctl 3.1 sent', () => {
  for (const [text, hex] of CAPTURED) {
    const deviation = DEVIATIONS.get(text);
    if (deviation instanceof RegExp) {
      assert.throws(() => parseActions(text), (e: unknown) => e instanceof FlowParseError && deviation.test(e.message), text);
    } else if (deviation !== undefined) {
      assert.equal(encodeList(actionAttrs, parseActions(text)).toString('hex'), deviation, text);
    } else {
      assert.equal(encodeList(actionAttrs, parseActions(text)).toString('hex'), hex, text);
    }
  }
});

/**
 * Where we print otherwise, on purpose: ovs-dpctl prints md2 from its first non-zero
 * byte (ds_put_hex), which loses leading zero bytes and cannot be parsed back.
 */
const PRINTED_DIFFERENTLY: ReadonlyMap<string, string> = new Map([
  ['push_nsh(flags=0,ttl=63,mdtype=2,np=3,spi=0x0,si=255,md2=0x1020304000000)',
    'push_nsh(flags=0,ttl=63,mdtype=2,np=3,spi=0x0,si=255,md2=0x0001020304000000)'],
]);

test('the bytes decode and print as ovs-dpctl 3.1 printed them', () => {
  for (const [text, hex, dump] of CAPTURED) {
    if (dump === null) continue;
    // The kernel keeps set(tunnel(...)) as tunnel info and rebuilds the attribute for a
    // dump without the zero tos it was given, so its dump is not of these bytes.
    if (text.includes('tos=0,ttl=64,tp_src')) continue;
    const decoded = decodeList(actionAttrs, Buffer.from(hex, 'hex'));
    // 3.1 reads action 24 as its own tnl_pop; to the kernel (and to us) it is drop(N).
    if (text === 'tnl_pop(1)') {
      assert.equal(formatActions(decoded), 'drop(1)');
      continue;
    }
    const printed = PRINTED_DIFFERENTLY.get(dump) ?? dump;
    assert.equal(formatActions(decoded), printed, text);
    // "%.1f" is all ovs-dpctl prints of a sampling probability: 12.3456% comes back as 12.3%.
    if (text.startsWith('sample(sample=12.3456%')) continue;
    // And what we print parses back to the same bytes.
    assert.equal(encodeList(actionAttrs, parseActions(printed)).toString('hex'), hex, printed);
  }
});

test('strings ovs-dpctl 3.1 refuses to parse: we refuse the invalid ones, read the ones it prints', () => {
  const refused = (text: string, why: RegExp) =>
    assert.throws(() => parseActions(text), (e: unknown) => e instanceof FlowParseError && why.test(e.message), text);
  refused('ct(commit,force_commit)', /commit or force_commit, not both/);
  refused('foo', /unknown action "foo"/);
  refused('2,drop', /"drop" alone means no actions/);
  refused('set(nsh(spi=0x5))', /set\(nsh\(\.\.\.\)\) is not supported/);
  // It prints these but cannot read them back; we can.
  const hex = (text: string) => encodeList(actionAttrs, parseActions(text)).toString('hex');
  assert.equal(hex('recirc(0x5)'), '0800070005000000');
  assert.equal(hex('hash(l4(0))'), '0c0008000000000000000000');
  assert.equal(hex('push_mpls(label=10,tc=0,ttl=64,bos=1,eth_type=0x8847)'), '0c0009000000a14088470000');
  assert.equal(hex('pop_mpls(eth_type=0x800)'), '06000a0008000000');
  assert.equal(hex('push_eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02)'), '10000e00000000000001000000000002');
  assert.equal(hex('pop_eth'), '04000f00');
});
