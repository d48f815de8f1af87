/**
 * The table walk (src/ovs/openflow/pipeline.ts) on typed keys: the NAT scenario's
 * megaflows, what a non-matching rule adds to the mask, recirc ids, resubmit, rewrites;
 * and two properties over random rule tables and packets: every packet inside a
 * megaflow gets the megaflow's actions, and the kernel's rules for masks hold.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import type { AttrValues } from '../../../src/nl/schema.js';
import { checkFlowMatch } from '../../../src/ovs/flow-check.js';
import { formatActions } from '../../../src/ovs/flowstr/actions.js';
import { PACKET_FIELDS, fromBigint, readField } from '../../../src/ovs/openflow/fields.js';
import { Pipeline, RecircIds, type Translation } from '../../../src/ovs/openflow/pipeline.js';
import { parseRules } from '../../../src/ovs/openflow/rules.js';

const MAC1 = '0a:00:00:00:00:01';
const MAC2 = '0a:00:00:00:00:02';

/** An upcall key as the kernel builds it: metadata, Ethernet, and the headers the packet has. */
function packet(opts: {
  inPort: number; recircId?: number; ctState?: number; ctZone?: number;
  ethType?: number; src?: string; dst?: string; proto?: number; sport?: number; dport?: number; frag?: number;
}): AttrValues {
  const key: AttrValues = {
    priority: 0, in_port: opts.inPort, skb_mark: 0, ct_state: opts.ctState ?? 0, ct_zone: opts.ctZone ?? 0, ct_mark: 0,
    ct_labels: Buffer.alloc(16), recirc_id: opts.recircId ?? 0, dp_hash: 0,
    ethernet: { eth_src: MAC1, eth_dst: MAC2 }, ethertype: opts.ethType ?? 0x0800,
  };
  if (key['ethertype'] === 0x0806) {
    key['arp'] = { arp_sip: opts.src ?? '10.1.1.1', arp_tip: opts.dst ?? '10.1.1.2', arp_op: 1, arp_sha: MAC1, arp_tha: '00:00:00:00:00:00' };
    return key;
  }
  const proto = opts.proto ?? 6;
  const frag = opts.frag ?? 0;
  key['ipv4'] = { ipv4_src: opts.src ?? '10.1.1.1', ipv4_dst: opts.dst ?? '10.1.1.2', ipv4_proto: proto, ipv4_tos: 0, ipv4_ttl: 64, ipv4_frag: frag };
  if (frag === 2) return key;
  if (proto === 6) {
    key['tcp'] = { tcp_src: opts.sport ?? 40000, tcp_dst: opts.dport ?? 80 };
    key['tcp_flags'] = 2;
  } else if (proto === 17) key['udp'] = { udp_src: opts.sport ?? 40000, udp_dst: opts.dport ?? 53 };
  else if (proto === 1) key['icmp'] = { icmp_type: 8, icmp_code: 0 };
  return key;
}

function pipeline(text: string): Pipeline {
  return new Pipeline(parseRules(text));
}

const natRules = readFileSync(fileURLToPath(new URL('../../../../examples/nat.rules', import.meta.url)), 'utf8');

test('the NAT scenario: SNAT out of port 1, replies through -trk -> recirculation -> +trk+est, port 2 cannot start', () => {
  const p = pipeline(natRules);
  const ids = new RecircIds();
  const out = p.translate(packet({ inPort: 1 }), ids);
  assert.equal(formatActions(out.actions), 'ct(commit,zone=1,nat(src=10.1.1.240-10.1.1.255)),2');
  assert.deepEqual(out.mask, { in_port: 0xffffffff, ethertype: 0xffff, recirc_id: 0xffffffff });
  assert.deepEqual(out.matched.map((r) => r.line), [9]);

  const reply = p.translate(packet({ inPort: 2 }), ids);
  assert.equal(formatActions(reply.actions), 'ct(zone=1,nat),recirc(0x1)');
  // Rule 1 differs in in_port (already exact); rule 2 matched on -trk.
  assert.deepEqual(reply.mask, { in_port: 0xffffffff, ct_state: 0x20, ethertype: 0xffff, recirc_id: 0xffffffff });

  const established = p.translate(packet({ inPort: 2, recircId: 1, ctState: 0x22 | 0x08, ctZone: 1 }), ids);
  assert.equal(formatActions(established.actions), '1');
  assert.deepEqual(established.mask, { in_port: 0xffffffff, ct_state: 0x22, ct_zone: 0xffff, ethertype: 0xffff, recirc_id: 0xffffffff });

  // A connection port 2 starts is +trk+new after conntrack: rule 3 fails on est alone.
  const started = p.translate(packet({ inPort: 2, recircId: 1, ctState: 0x21, ctZone: 1 }), ids);
  assert.deepEqual(started.actions, []);
  assert.deepEqual(started.matched, []);
  assert.deepEqual(started.mask, { in_port: 0xffffffff, ct_state: 0x22, ethertype: 0xffff, recirc_id: 0xffffffff });

  const arp = p.translate(packet({ inPort: 1, ethType: 0x0806 }), ids);
  assert.equal(formatActions(arp.actions), '2');
  assert.deepEqual(arp.mask, { in_port: 0xffffffff, ethertype: 0xffff, recirc_id: 0xffffffff });
  assert.deepEqual(ids.all(), [{ id: 1, table: 0, ct: { zone: 1, nat: {} } }]);
});

test('a rule that does not match adds one field, down to the highest differing bit', () => {
  const p = pipeline('priority=10,ip,nw_dst=10.0.0.0/8,actions=1\npriority=9,tcp,tp_dst=0x50/0xfff0,actions=2\npriority=0,actions=3');
  const t = p.translate(packet({ inPort: 5, dst: '192.168.1.1', dport: 22 }), new RecircIds());
  assert.equal(formatActions(t.actions), '3');
  // 10 = 0b00001010, 192 = 0b11000000: the top bit tells them apart. 80 vs 22 (0x16):
  // bit 6 is the highest difference under the rule's mask 0xfff0. The L4 match brings
  // the protocol and the fragment type.
  assert.equal((t.mask['ipv4'] as AttrValues)['ipv4_dst'], '128.0.0.0');
  assert.deepEqual(t.mask['ipv4'], { ipv4_src: '0.0.0.0', ipv4_dst: '128.0.0.0', ipv4_proto: 0xff, ipv4_tos: 0, ipv4_ttl: 0, ipv4_frag: 0xff });
  assert.deepEqual(t.mask['tcp'], { tcp_src: 0, tcp_dst: 0xffc0 });
  // A field already exact costs nothing: in_port is taken over the address.
  const q = pipeline('in_port=1,ip,nw_dst=10.0.0.0/8,actions=1\npriority=0,actions=3');
  assert.equal(q.translate(packet({ inPort: 2, dst: '192.168.1.1' }), new RecircIds()).mask['ipv4'], undefined);
});

test('a later fragment has no ports: its megaflow matches the fragment type instead', () => {
  const p = pipeline('priority=10,tcp,tp_dst=80,actions=1\npriority=0,actions=2');
  const key = packet({ inPort: 1, frag: 2 });
  const t = p.translate(key, new RecircIds());
  assert.equal(formatActions(t.actions), '2');
  assert.equal(t.mask['tcp'], undefined);
  assert.equal((t.mask['ipv4'] as AttrValues)['ipv4_frag'], 0xff);
  checkFlowMatch(key, t.mask);
});

test('output to the input port is dropped unless in_port says so; resubmit; ct_clear; rewrites before output', () => {
  const p = pipeline([
    'in_port=1,actions=1,2,resubmit(,1)',
    'table=1,in_port=1,actions=in_port,resubmit(3,2)',
    'table=2,in_port=3,tcp,actions=mod_nw_dst:10.9.9.9,mod_tp_dst:8080,mod_dl_src:00:00:00:00:00:aa,4,ct_clear,5,mod_nw_tos:0x10,6',
  ].join('\n'));
  const t = p.translate(packet({ inPort: 1 }), new RecircIds());
  // Rewrites wait for the next output (or ct): one set_masked per header, value inside its mask.
  assert.equal(formatActions(t.actions), '2,1,set(ipv4(dst=10.9.9.9)),set(tcp(dst=8080)),set(eth(src=00:00:00:00:00:aa)),4,ct_clear,5,set(ipv4(tos=0x10/0xfc)),6');
  assert.deepEqual(t.actions[8], { set_masked: { ipv4: {
    value: { ipv4_src: '0.0.0.0', ipv4_dst: '0.0.0.0', ipv4_proto: 0, ipv4_tos: 0x10, ipv4_ttl: 0, ipv4_frag: 0 },
    mask: { ipv4_src: '0.0.0.0', ipv4_dst: '0.0.0.0', ipv4_proto: 0, ipv4_tos: 0xfc, ipv4_ttl: 0, ipv4_frag: 0 },
  } } });
  assert.deepEqual(t.matched.map((r) => r.table), [0, 1, 2]);
  // Rewriting a port matches it, as ovs-vswitchd does (and the kernel wants the protocol).
  assert.deepEqual(t.mask['tcp'], { tcp_src: 0, tcp_dst: 0xffff });
});

test('recirc ids: one per (table, ct arguments), stable; unknown ids and resubmit loops drop', () => {
  const p = pipeline('ip,actions=ct(table=1,zone=1),ct(table=1,zone=2),ct(table=1,zone=1)');
  const ids = new RecircIds();
  assert.equal(formatActions(p.translate(packet({ inPort: 1 }), ids).actions), 'ct(zone=1),recirc(0x1),ct(zone=2),recirc(0x2),ct(zone=1),recirc(0x1)');
  assert.equal(ids.lookup(2)?.table, 1);
  const unknown = p.translate(packet({ inPort: 1, recircId: 99 }), ids);
  assert.deepEqual(unknown.actions, []);
  assert.equal(unknown.problem, 'unknown recirc_id 99');
  assert.equal(unknown.mask['recirc_id'], 0xffffffff);
  const loop = pipeline('actions=1,resubmit(,0)').translate(packet({ inPort: 2 }), ids);
  assert.deepEqual(loop.actions, []);
  assert.match(loop.problem!, /more than 64 nested resubmits/);
});

test('no rule, no table: drop, still a valid megaflow', () => {
  const key = packet({ inPort: 1 });
  const t = pipeline('').translate(key, new RecircIds());
  assert.deepEqual(t.actions, []);
  checkFlowMatch(key, t.mask);
});

// ---------------------------------------------------------------- properties

interface Shape {
  ethType: number;
  proto: number;
}

const IPS = ['10.0.0.1', '10.0.0.2', '10.0.1.7', '192.168.0.1'];

const packetArb = (shape?: Shape): fc.Arbitrary<AttrValues> =>
  fc.record({
    inPort: fc.integer({ min: 1, max: 3 }),
    recircId: fc.constantFrom(0, 0, 1),
    ctState: fc.constantFrom(0, 0x21, 0x22, 0x2a),
    ctZone: fc.constantFrom(0, 1),
    ethType: shape ? fc.constant(shape.ethType) : fc.constantFrom(0x0800, 0x0800, 0x0806),
    src: fc.constantFrom(...IPS),
    dst: fc.constantFrom(...IPS),
    proto: shape ? fc.constant(shape.proto) : fc.constantFrom(6, 17, 1),
    sport: fc.integer({ min: 0, max: 0xffff }),
    dport: fc.constantFrom(22, 53, 80, 81, 443, 8080),
  }).map((o) => packet(o));

const matchArb = fc.tuple(
  fc.option(fc.integer({ min: 1, max: 3 }).map((n) => `in_port=${n}`)),
  fc.constantFrom('', 'ip', 'arp', 'tcp', 'udp', 'icmp'),
  fc.option(fc.constantFrom('ct_state=-trk', 'ct_state=+trk+est', 'ct_state=+trk-est', 'ct_zone=1')),
  fc.option(fc.constantFrom('10.0.0.0/24', '10.0.0.2', '192.168.0.0/16', '10.0.0.0/255.255.254.0')),
  fc.option(fc.constantFrom('80', '0x50/0xfff0', '53', '0x1000/0xf000')),
  fc.constantFrom(0, 10, 100, 32768),
  fc.integer({ min: 0, max: 2 }),
);

function ruleArb(): fc.Arbitrary<string> {
  return fc.tuple(matchArb, fc.array(fc.constantFrom('out1', 'out2', 'out3', 'resub', 'ct', 'ctrec', 'modsrc', 'modport', 'clear'), { maxLength: 3 })).map(
    ([[port, proto, ct, addr, tp, priority, table], acts]) => {
      const items = [`table=${table}`, `priority=${priority}`];
      if (port) items.push(port);
      if (proto) items.push(proto);
      if (ct) items.push(ct);
      if (addr && proto) items.push(`nw_src=${addr}`);
      if (tp && (proto === 'tcp' || proto === 'udp')) items.push(`tp_dst=${tp}`);
      const ip = proto === 'ip' || proto === 'tcp' || proto === 'udp' || proto === 'icmp';
      const actions = acts.flatMap((a) => {
        switch (a) {
          case 'out1': return ['1'];
          case 'out2': return ['2'];
          case 'out3': return ['output:3'];
          case 'resub': return [`resubmit(,${Math.min(table + 1, 2)})`];
          case 'ct': return ip ? ['ct(commit,zone=1)'] : [];
          case 'ctrec': return ip ? [`ct(table=${table === 2 ? 2 : table + 1},zone=1,nat)`] : [];
          case 'modsrc': return ip ? ['mod_nw_src:10.9.9.9'] : [];
          case 'modport': return proto === 'tcp' || proto === 'udp' ? ['mod_tp_dst:8080'] : [];
          case 'clear': return ['ct_clear'];
          default: return [];
        }
      });
      return `${items.join(',')},actions=${actions.length ? actions.join(',') : 'drop'}`;
    },
  );
}

/** `other` with every bit of `mask` taken from `base`: a packet inside base's megaflow. */
function inside(base: AttrValues, other: AttrValues, t: Translation): AttrValues {
  const out = structuredClone(other) as AttrValues;
  for (const f of PACKET_FIELDS.values()) {
    const maskAttr = t.mask[f.attr];
    if (maskAttr === undefined || out[f.attr] === undefined) continue;
    const m = readField(t.mask, f);
    const v = (readField(other, f) & ~m) | (readField(base, f) & m);
    if (f.member === undefined) out[f.attr] = fromBigint(f, v);
    else (out[f.attr] as Record<string, unknown>)[f.member] = fromBigint(f, v);
  }
  return out;
}

function shapeOf(key: AttrValues): Shape {
  return { ethType: key['ethertype'] as number, proto: ((key['ipv4'] as AttrValues | undefined)?.['ipv4_proto'] as number | undefined) ?? 0 };
}

test('property: every packet that falls in a megaflow gets its actions; the mask is one the kernel takes', () => {
  fc.assert(
    fc.property(fc.array(ruleArb(), { maxLength: 8 }), packetArb(), fc.array(fc.integer(), { minLength: 4, maxLength: 4 }), (rules, base, seeds) => {
      const p = new Pipeline(parseRules(rules.join('\n')));
      const ids = new RecircIds();
      const t = p.translate(base, ids);
      checkFlowMatch(base, t.mask);
      const shape = shapeOf(base);
      for (const seed of seeds) {
        // Packets of the same shape where the mask keeps the protocol, any shape else.
        const protoExact = ((t.mask['ipv4'] as AttrValues | undefined)?.['ipv4_proto'] ?? 0) !== 0;
        const [other] = fc.sample(packetArb(protoExact ? shape : { ethType: shape.ethType, proto: shape.ethType === 0x0800 ? [6, 17, 1][Math.abs(seed) % 3]! : 0 }), { numRuns: 1, seed });
        const sibling = inside(base, other!, t);
        const u = p.translate(sibling, ids);
        assert.deepEqual(formatActions(u.actions), formatActions(t.actions), `rules:\n${rules.join('\n')}\nbase ${JSON.stringify(base)}\nsibling ${JSON.stringify(sibling)}`);
      }
    }),
    { numRuns: 400 },
  );
});

test('translateCached: keys that differ only where the walk did not look share a translation; other headers do not', () => {
  const p = new Pipeline(parseRules('in_port=1,udp,actions=mod_tp_src:5000,output:2'));
  const ids = new RecircIds();
  const a = p.translateCached(packet({ inPort: 1, proto: 17, sport: 1000 }), ids);
  const b = p.translateCached(packet({ inPort: 1, proto: 17, sport: 1001, src: '10.9.9.9' }), ids);
  assert.equal(b, a, 'the rewritten port is matched for the kernel, not looked at');
  assert.equal(formatActions(a.actions), 'set(udp(src=5000)),2');
  assert.notEqual(p.translateCached(packet({ inPort: 2, proto: 17, sport: 1000 }), ids), a, 'in_port was looked at');
  const later = p.translateCached(packet({ inPort: 1, proto: 17, frag: 2 }), ids);
  assert.notEqual(later, a, 'a later fragment has no udp header');
  assert.equal(later.mask['udp'], undefined);
});

test('property: translateCached gives a fresh walk\'s actions, and its mask is a megaflow of the key', () => {
  fc.assert(
    fc.property(fc.array(ruleArb(), { maxLength: 8 }), fc.array(packetArb(), { minLength: 1, maxLength: 12 }), fc.integer(), (rules, keys, seed) => {
      const parsed = parseRules(rules.join('\n'));
      const cached = new Pipeline(parsed);
      const ids = new RecircIds();
      for (const key of keys) {
        const t = cached.translateCached(key, ids);
        const fresh = new Pipeline(parsed).translate(key, ids);
        const why = `rules:\n${rules.join('\n')}\nkey ${JSON.stringify(key)}`;
        assert.deepEqual(formatActions(t.actions), formatActions(fresh.actions), why);
        checkFlowMatch(key, t.mask);
        const shape = shapeOf(key);
        const protoExact = ((t.mask['ipv4'] as AttrValues | undefined)?.['ipv4_proto'] ?? 0) !== 0;
        const otherShape = protoExact ? shape : { ethType: shape.ethType, proto: shape.ethType === 0x0800 ? [6, 17, 1][Math.abs(seed) % 3]! : 0 };
        const [other] = fc.sample(packetArb(otherShape), { numRuns: 1, seed });
        const sibling = inside(key, other!, t);
        assert.deepEqual(formatActions(new Pipeline(parsed).translate(sibling, ids).actions), formatActions(t.actions), `${why}\nsibling ${JSON.stringify(sibling)}`);
      }
    }),
    { numRuns: 300 },
  );
});
