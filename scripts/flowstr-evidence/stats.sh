#!/bin/bash
# Stats: packets through flows, then dumps (used:, flags:) with the reply bytes.
set -u
ip netns add ns1
ip link add s0 type veth peer name s1
ip link set s1 netns ns1
ip link set s0 up
ip netns exec ns1 ip link set lo up
ip netns exec ns1 ip link set s1 address 00:00:00:00:00:01
ip netns exec ns1 ip addr add 10.9.0.1/24 dev s1
ip netns exec ns1 ip link set s1 up
ip netns exec ns1 ip neigh add 10.9.0.2 lladdr 00:00:00:00:00:02 dev s1
ovs-dpctl add-dp dp1 s0
ovs-dpctl add-flow dp1 "in_port(1),eth(),eth_type(0x0800),ipv4(proto=6,frag=no),tcp(),tcp_flags(0/0)" "2" ; echo "rc=$?"
ovs-dpctl add-flow dp1 "in_port(1),eth(),eth_type(0x0800),ipv4(proto=1,frag=no)" "2" ; echo "rc=$?"
ovs-dpctl add-flow dp1 "in_port(1),eth(),eth_type(0x86dd),ipv6(frag=no)" "2" ; echo "rc=$?"
ovs-dpctl add-flow dp1 "in_port(1),eth(),eth_type(0x0806),arp()" "2" ; echo "rc=$?"
ovs-dpctl add-flow dp1 "ufid:11111111-2222-3333-4444-555555555555,in_port(1),eth(),eth_type(0x0800),ipv4(proto=17,frag=no),udp()" "2" ; echo "rc=$?"
ip netns exec ns1 ping -c 2 -i 0.2 -W 1 10.9.0.2 >/dev/null 2>&1
ip netns exec ns1 timeout 2 bash -c 'exec 3<>/dev/tcp/10.9.0.2/80' 2>/dev/null
ip netns exec ns1 bash -c 'echo hi > /dev/udp/10.9.0.2/53' 2>/dev/null
sleep 1.2
echo "--- dump"
strace -f -e trace=recvmsg -xx -s 65536 -o /tmp/rt ovs-dpctl dump-flows dp1
node -e 'const fs=require("fs");console.log("RECV "+JSON.stringify(fs.readFileSync("/tmp/rt","utf8").split("\n").map(l=>[...l.matchAll(/iov_base="((?:\\x[0-9a-f]{2})*)"/g)].map(x=>x[1].replace(/\\x/g,"")).join("")).filter(Boolean)))'
cat /proc/uptime
echo "--- dump -m"
ovs-dpctl dump-flows -m dp1
echo "--- dump --names"
ovs-dpctl dump-flows --names dp1
echo "--- dump -m --no-names"
ovs-dpctl dump-flows -m --no-names dp1
dmesg | grep -i openvswitch | tail -5 | sed 's/^/DMESG /'
echo "--- dump -m recv"
strace -f -e trace=recvmsg -xx -s 65536 -o /tmp/rt2 ovs-dpctl dump-flows -m dp1
node -e 'const fs=require("fs");console.log("RECVM "+JSON.stringify(fs.readFileSync("/tmp/rt2","utf8").split("\n").map(l=>[...l.matchAll(/iov_base="((?:\\x[0-9a-f]{2})*)"/g)].map(x=>x[1].replace(/\\x/g,"")).join("")).filter(Boolean)))'
