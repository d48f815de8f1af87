#!/bin/bash
# Runs inside the VM (vm/run scripts/controller-vs-vswitchd.sh): the NAT scenario of
# examples/nat.rules twice with the same traffic, first under ovs-vswitchd (rules loaded
# with ovs-ofctl add-flows), then under `ovsdp controller`, and prints the kernel flows
# each one installed. docs/controller.md compares them.
set -e
cd "$(dirname "$0")/.."
RULES=examples/nat.rules

lab() { # lab PORT1 PORT2: the two namespaces, veth ends PORT1/PORT2 left in the root namespace
  for n in 1 2; do
    port=$1; shift
    ip netns add ns$n
    ip link add "$port" type veth peer name eth0 netns ns$n
    sysctl -q -w "net.ipv6.conf.$port.disable_ipv6=1"
    ip netns exec ns$n sysctl -q -w net.ipv6.conf.all.disable_ipv6=1
    ip -n ns$n link set eth0 address 02:00:00:00:01:0$n
    ip -n ns$n addr add 10.1.1.$n/24 dev eth0
    ip -n ns$n link set lo up
    ip -n ns$n link set eth0 up
    ip link set "$port" up
  done
  for i in $(seq 240 255); do ip -n ns2 neigh replace 10.1.1.$i lladdr 02:00:00:00:01:01 dev eth0; done
}

unlab() { ip netns del ns1; ip netns del ns2; }

traffic() {
  ip netns exec ns1 busybox ping -c 4 -i 0.3 -W 3 10.1.1.2 | tail -2
  ip netns exec ns2 busybox nc -l -p 8080 & srv=$!
  for i in $(seq 100); do ip netns exec ns2 ss -Hltn 'sport = :8080' | grep -q . && break; sleep 0.1; done
  ip netns exec ns1 timeout 8 bash -c 'exec 3<>/dev/tcp/10.1.1.2/8080; echo tcp from port 1: connected >&3' || kill $srv
  wait $srv || echo 'tcp from port 1: FAILED'
  ip netns exec ns1 busybox nc -l -p 9090 & srv=$!
  for i in $(seq 100); do ip netns exec ns1 ss -Hltn 'sport = :9090' | grep -q . && break; sleep 0.1; done
  if ip netns exec ns2 timeout 3 bash -c 'exec 3<>/dev/tcp/10.1.1.1/9090'; then echo "tcp from port 2: connected (wrong)"; else echo "tcp from port 2: no connection"; fi
  kill $srv 2>/dev/null || true
}

echo "== ovs-vswitchd =="
mkdir -p /run/openvswitch /var/lib/openvswitch /var/log/openvswitch
ovsdb-tool create /var/lib/openvswitch/conf.db /usr/share/openvswitch/vswitch.ovsschema
ovsdb-server --remote=punix:/run/openvswitch/db.sock --pidfile --detach --log-file /var/lib/openvswitch/conf.db
ovs-vsctl --no-wait init
ovs-vswitchd --pidfile --detach --log-file
lab p1 p2
ovs-vsctl add-br br0 -- set bridge br0 fail-mode=secure \
  -- add-port br0 p1 -- set interface p1 ofport_request=1 \
  -- add-port br0 p2 -- set interface p2 ofport_request=2
ovs-ofctl del-flows br0
ovs-ofctl add-flows br0 "$RULES"
ovs-vsctl --timeout=10 wait-until interface p1 ofport=1 -- wait-until interface p2 ofport=2
ovs-ofctl show br0 | grep -E '^ [0-9]+\('
ovs-dpctl show | grep -E 'port [0-9]'
ovs-ofctl dump-flows br0 --no-stats
traffic
ovs-dpctl dump-flows
grep -iE 'warn|err' /var/log/openvswitch/ovs-vswitchd.log | tail -5 || true
conntrack -L 2>/dev/null | grep zone=1 || true
ovs-appctl -t ovs-vswitchd exit
ovs-appctl -t ovsdb-server exit
ovs-dpctl del-dp ovs-system 2>/dev/null || true
unlab
conntrack -F 2>/dev/null || true

echo "== ovsdp controller =="
node bin/ovsdp add-dp dp0
lab p1 p2
node bin/ovsdp add-if dp0 p1
node bin/ovsdp add-if dp0 p2
node bin/ovsdp controller dp0 "$RULES" --quiet > /tmp/controller.log 2>&1 & ctl=$!
sleep 3
traffic
node bin/ovsdp dump-flows dp0
conntrack -L 2>/dev/null | grep zone=1 || true
kill $ctl; wait $ctl || true
cat /tmp/controller.log
node bin/ovsdp del-dp dp0
unlab
