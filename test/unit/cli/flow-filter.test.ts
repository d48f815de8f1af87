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
