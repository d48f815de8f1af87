import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FilterError, compileFilter } from '../../../src/ovs/flow-filter.js';
import { typesSelectKernelFlows } from '../../../src/cli/dump-flows.js';
import { progressLine } from '../../../src/cli/render/progress.js';

const ports = new Map([['eth0', 3]]);
const tcpFlow = {
  key: { in_port: 3, ethertype: 0x0800, ipv4: { ipv4_src: '10.0.0.1', ipv4_dst: '10.0.0.2', ipv4_proto: 6, ipv4_tos: 0, ipv4_ttl: 64, ipv4_frag: 0 }, tcp: { tcp_src: 1000, tcp_dst: 80 } },
  mask: { in_port: 0xffffffff, ethertype: 0xffff, ipv4: { ipv4_src: '0.0.0.0', ipv4_dst: '255.255.255.0', ipv4_proto: 0xff }, tcp: { tcp_src: 0, tcp_dst: 0xffff } },
};

test('filters compare where both the flow and the filter have mask bits', () => {
  const pass = (f: string) => compileFilter(f, ports)(tcpFlow.key, tcpFlow.mask);
  assert.equal(pass('tcp'), true);
  assert.equal(pass('udp'), false);
  assert.equal(pass('tcp,tp_dst=80'), true);
  assert.equal(pass('tcp,tp_dst=443'), false);
  // The flow wildcards tcp_src and nw_src: any filter value passes.
  assert.equal(pass('tp_src=5'), true);
  assert.equal(pass('nw_src=192.168.0.1'), true);
  // nw_dst is matched on /24 by the flow.
  assert.equal(pass('nw_dst=10.0.0.99'), true);
  assert.equal(pass('nw_dst=10.0.1.2'), false);
  assert.equal(pass('nw_dst=10.0.1.0/16'), true);
  assert.equal(pass('in_port=eth0'), true);
  assert.equal(pass('in_port=4'), false);
  assert.equal(pass('arp'), false);
});

test('bad filters say what is wrong', () => {
  assert.throws(() => compileFilter('tpc', ports), (e: unknown) => e instanceof FilterError && /unknown protocol "tpc"/.test(e.message));
  assert.throws(() => compileFilter('nw_dsst=1.2.3.4', ports), /unknown field "nw_dsst"/);
  assert.throws(() => compileFilter('nw_dst=1.2.3', ports), /bad value "1.2.3" for nw_dst/);
  assert.throws(() => compileFilter('tp_dst=70000', ports), /bad value/);
});

test('type= selects the kernel datapath\'s flows for ovs, non-offloaded and all', () => {
  assert.equal(typesSelectKernelFlows('ovs'), true);
  assert.equal(typesSelectKernelFlows('tc,offloaded'), false);
  assert.equal(typesSelectKernelFlows('tc,non-offloaded'), true);
  assert.throws(() => typesSelectKernelFlows('kernel'), /unknown flow type "kernel"/);
});

test('the progress line shows a bar when the size is known', () => {
  assert.equal(progressLine({ done: 500, failed: 2 }, 1000), '500 done, 2 failed, 500/s');
  assert.equal(progressLine({ done: 10, failed: 0, bytes: 50, totalBytes: 100 }, 2000), `[${'#'.repeat(15)}${'.'.repeat(15)}]  50% 10 done, 0 failed, 5/s`);
});

test('ct_state, VLAN, TOS, IPv6 label, ARP/ND addresses and MPLS fields filter as OVS\'s meta-fields', () => {
  const flow = (key: Record<string, unknown>, mask: Record<string, unknown>) => (f: string) => compileFilter(f, ports)(key, mask);
  const ct = flow({ ct_state: 0x22, ethertype: 0x0800 }, { ct_state: 0xff, ethertype: 0xffff });
  assert.equal(ct('ct_state=+trk+est'), true);
  assert.equal(ct('ct_state=+trk-est'), false);
  assert.equal(ct('ct_state=0x22'), true);
  assert.equal(ct('ct_state=0x20/0x20'), true);
  assert.equal(ct('ct_state=+new'), false);
  assert.throws(() => ct('ct_state=+trak'), /bad value "\+trak" for ct_state in filter \(flags as \+trk-est, or a number\)/);
  // TCI 0x300a: PCP 1, CFI, VID 10.
  const vlan = flow({ ethertype: 0x8100, vlan: 0x300a, encap: { ethertype: 0x0800 } }, { ethertype: 0xffff, vlan: 0xffff, encap: { ethertype: 0xffff } });
  assert.equal(vlan('dl_vlan=10'), true);
  assert.equal(vlan('dl_vlan=11'), false);
  assert.equal(vlan('dl_vlan=10,dl_vlan_pcp=1'), true);
  assert.equal(vlan('dl_vlan=10,dl_vlan_pcp=2'), false);
  assert.equal(vlan('vlan_tci=0x300a'), true);
  // A flow with its EtherType matched and no tag matches "no tag" (OVS's reading).
  assert.equal(ct('dl_vlan=10'), false);
  assert.equal(ct('vlan_tci=0'), true);
  assert.equal(flow({}, {})('dl_vlan=10'), true);
  // TOS 0xb8 (DSCP 46) with ECN 1.
  const ip = flow({ ethertype: 0x0800, ipv4: { ipv4_tos: 0xb9 } }, { ethertype: 0xffff, ipv4: { ipv4_tos: 0xff } });
  assert.equal(ip('nw_tos=0xb8'), true);
  assert.equal(ip('ip_dscp=46'), true);
  assert.equal(ip('ip_dscp=45'), false);
  assert.equal(ip('nw_ecn=1'), true);
  assert.throws(() => ip('nw_tos=0xb9'), /only the bits 0xfc may be set/);
  const v6 = flow({ ethertype: 0x86dd, ipv6: { ipv6_label: 0x12345, ipv6_proto: 58 }, icmpv6: { icmpv6_type: 135, icmpv6_code: 0 }, nd: { nd_target: 'fe80::1', nd_sll: '00:11:22:33:44:55', nd_tll: '00:00:00:00:00:00' } },
    { ethertype: 0xffff, ipv6: { ipv6_label: 0xfffff, ipv6_proto: 0xff }, icmpv6: { icmpv6_type: 0xff, icmpv6_code: 0xff }, nd: { nd_target: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', nd_sll: 'ff:ff:ff:ff:ff:ff', nd_tll: '00:00:00:00:00:00' } });
  assert.equal(v6('ipv6_label=0x12345,nd_target=fe80::1,nd_sll=00:11:22:33:44:55'), true);
  assert.equal(v6('nd_target=fe80::2'), false);
  const arp = flow({ ethertype: 0x0806, arp: { arp_sha: '00:11:22:33:44:55' } }, { ethertype: 0xffff, arp: { arp_sha: 'ff:ff:ff:ff:ff:ff' } });
  assert.equal(arp('arp_sha=00:11:22:33:44:55'), true);
  assert.equal(arp('arp_sha=00:11:22:33:44:56'), false);
  // LSE: label 100, TC 5, BOS.
  const lse = (100 << 12) | (5 << 9) | (1 << 8) | 64;
  const mpls = flow({ ethertype: 0x8847, mpls: [{ mpls_lse: lse }] }, { ethertype: 0xffff, mpls: [{ mpls_lse: 0xffffffff }] });
  assert.equal(mpls('mpls_label=100,mpls_tc=5,mpls_bos=1'), true);
  assert.equal(mpls('mpls_label=101'), false);
});
