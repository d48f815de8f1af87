#!/bin/sh
# The demo, run inside the VM by `npm run demo`: each step says what it shows.
set -e
cd "$(dirname "$0")/.."
ovsdp() { node bin/ovsdp "$@"; }

step() { printf '\n== %s ==\n' "$*"; }

# A host: namespace $1 whose eth0 (MAC $3, address $4) is the peer of veth $2 here.
make_host() {
  ip netns add "$1"
  ip link add "$2" type veth peer name eth0 netns "$1"
  sysctl -q -w "net.ipv6.conf.$2.disable_ipv6=1"
  ip netns exec "$1" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1
  ip -n "$1" link set eth0 address "$3"
  ip -n "$1" addr add "$4" dev eth0
  ip -n "$1" link set lo up
  ip -n "$1" link set eth0 up
}
say() { printf '%s\n' "$*" | fold -s -w 88; }
# A TCP connection from namespace $1 to a server in namespace $2 (10.1.1.2:8080) that prints
# the line $3 it receives; a connection that fails stops the server.
tcp_hello() {
  ip netns exec "$2" busybox nc -l -p 8080 &
  local server=$!
  for i in $(seq 100); do ip netns exec "$2" ss -Hltn 'sport = :8080' | grep -q . && break; sleep 0.1; done
  ip netns exec "$1" timeout 8 bash --norc -c 'exec 3<>/dev/tcp/10.1.1.2/8080; echo "$1" >&3' _ "$3" || kill $server
  wait $server || true
}

step "The Open vSwitch generic netlink families this kernel offers (ovsdp families)"
ovsdp families

# ---------------------------------------------------------------------------------------
# Datapaths and ports: a datapath with two hosts in network namespaces, as ovsdp and
# ovs-dpctl show it.
# ---------------------------------------------------------------------------------------
tmp=$(mktemp -d)

step "Datapaths: ovsdp add-dp demo-static; two hosts in namespaces, their veth peers added with ovsdp add-if"
ovsdp add-dp demo-static
for n in 1 2; do
  make_host demo-sns$n demo-sp$n 02:00:00:00:02:0$n 10.1.1.$n/24
done
ovsdp add-if demo-static demo-sp1 demo-sp2
say "Datapath demo-static exists; host 1 (10.1.1.1, namespace demo-sns1) is behind port 1 (demo-sp1), host 2 (10.1.1.2, demo-sns2) behind port 2 (demo-sp2). add-if also brought the ports up."

step "Datapaths: ovsdp show demo-static"
ovsdp show demo-static
say "The datapath's lookup counters, its flow count, masks and caches, and its three ports: the internal port 0 the kernel made with the datapath, and the two veth ends."

step "Datapaths: diff <(ovs-dpctl show demo-static) <(ovsdp show demo-static)"
ovs-dpctl show demo-static > "$tmp/ovs-dpctl.txt"
ovsdp show demo-static > "$tmp/ovsdp.txt"
if diff "$tmp/ovs-dpctl.txt" "$tmp/ovsdp.txt"; then say "No difference: ovsdp prints exactly what ovs-dpctl 3.1 prints."; else say "They differ (see above)."; exit 1; fi

step "Datapaths: ovsdp show --format table demo-static"
ovsdp show --format table demo-static
say "The same facts as a table (output here is not a terminal, so no colours)."

step "Datapaths: ovsdp dump-dps --json"
ovsdp dump-dps --json
say "The datapaths as JSON, for scripts."

# ---------------------------------------------------------------------------------------
# Static NAT flows: the seed's SNAT, installed by hand with ovsdp add-flows, and real
# traffic through it.
# ---------------------------------------------------------------------------------------
step "Static NAT: the flows (SNAT to 10.1.1.240-254 in conntrack zone 1, the reply path, ARP)"
cat > "$tmp/nat.flows" <<'EOF'
# ARP both ways
recirc_id(0),in_port(1),eth(),eth_type(0x0806),arp() 2
recirc_id(0),in_port(2),eth(),eth_type(0x0806),arp() 1
# host 1's IPv4: committed to zone 1 with its source rewritten, then to port 2
recirc_id(0),in_port(1),eth(),eth_type(0x0800),ipv4() ct(commit,zone=1,nat(src=10.1.1.240-10.1.1.254:32768-65535)),2
# host 2's IPv4: through conntrack (undoing the NAT of replies), then looked up again
recirc_id(0),in_port(2),ct_state(-trk),eth(),eth_type(0x0800),ipv4() ct(zone=1,nat),recirc(0x1)
# ... where only packets of connections host 1 started go on to port 1
recirc_id(0x1),in_port(2),ct_state(+trk+est),eth(),eth_type(0x0800),ipv4() 1
EOF
cat "$tmp/nat.flows"
ovsdp add-flows demo-static "$tmp/nat.flows"
# Nobody answers ARP for the NAT addresses: host 2 learns them statically.
for i in $(seq 240 254); do ip -n demo-sns2 neigh replace 10.1.1.$i lladdr 02:00:00:00:02:01 dev eth0; done
say "Five kernel flows, written in ovs-dpctl's flow syntax: eth() and ipv4() with no fields match any Ethernet and IPv4 header. Host 2 has static neighbour entries for 10.1.1.240-254 (host 1's MAC), since nobody answers ARP for them."

step "Static NAT: host 1 pings host 2"
ip netns exec demo-sns1 busybox ping -c 3 -i 0.3 -W 3 10.1.1.2
say "ARP went through the ARP flows, the echo requests through ct(commit,...nat(src=...)), the replies through ct(zone=1,nat) and the +est flow after recirculation."

step "Static NAT: host 1 opens a TCP connection to host 2 (port 8080)"
tcp_hello demo-sns1 demo-sns2 "hello from host 1, through static NAT flows"
say "The line above is what host 2's server received."

step "Static NAT: conntrack's entries in zone 1 (conntrack -L)"
conntrack -L 2>/dev/null | grep 'zone=1' || true
say "The ping and the TCP connection from 10.1.1.1, each with its reply direction addressed to a NAT address in 10.1.1.240-254 with the TCP port and the ICMP id in 32768-65535 (rewritten only when outside it, like the ping's id): host 2 only ever saw that address."

step "Static NAT: ovsdp dump-flows demo-static"
ovsdp dump-flows demo-static
say "The five flows with their packet counters: every packet of the exchange was handled in the kernel by these flows (nothing listens for upcalls here: a miss would have been dropped)."

step "Static NAT: cleaning up (ovsdp del-dp demo-static, the namespaces, zone 1's conntrack entries)"
ovsdp del-dp demo-static
ip netns del demo-sns1
ip netns del demo-sns2
conntrack -D -w 1 > /dev/null 2>&1 || true
rm -r "$tmp"
ovsdp dump-dps
say "No datapath left."

# ---------------------------------------------------------------------------------------
# The controller: kernel flows on demand from an OpenFlow-like rule table (the NAT
# scenario of examples/nat.rules; docs/controller.md explains it).
# ---------------------------------------------------------------------------------------

step "Controller: two hosts in network namespaces, on ports 1 and 2 of a datapath with no flows"
ovsdp add-dp demo-nat
for n in 1 2; do
  make_host demo-ns$n demo-p$n 02:00:00:00:01:0$n 10.1.1.$n/24
  ip link set demo-p$n up
  ovsdp add-if demo-nat demo-p$n
done
# Nobody answers ARP for the NAT addresses: host 2 learns them statically.
for i in $(seq 240 255); do ip -n demo-ns2 neigh replace 10.1.1.$i lladdr 02:00:00:00:01:01 dev eth0; done
ovsdp show demo-nat
say "Host 1 is 10.1.1.1 behind port 1, host 2 is 10.1.1.2 behind port 2. The datapath has no flows: every packet would miss and be dropped."

step "Controller: the rules (examples/nat.rules, ovs-ofctl's syntax)"
grep -v '^#' examples/nat.rules | grep .
say "IPv4 from port 1 is committed to conntrack zone 1 with its source rewritten to 10.1.1.240-255 and sent to port 2; IPv4 from port 2 goes through conntrack first (undoing the NAT of replies) and is looked up again: only packets of connections host 1 started (+trk+est) go on to port 1. ARP passes both ways."

step "Controller: what it will do with a reply from host 2 (ovsdp trace: no kernel involved)"
ovsdp trace --ct-next trk,est,rpl examples/nat.rules 'in_port(2),eth(),eth_type(0x0800),ipv4(src=10.1.1.2,dst=10.1.1.240,proto=6,frag=no),tcp(src=8080,dst=40000)'
say "Two passes, as the controller will walk them: the untracked packet goes through conntrack in zone 1 (which undoes the NAT) and recirculates; given conntrack's answer for a reply (--ct-next trk,est,rpl), the second pass delivers it to port 1. Each pass shows the megaflow the controller will install."

step "Controller: ovsdp controller demo-nat examples/nat.rules (in the background)"
node bin/ovsdp controller demo-nat examples/nat.rules > /tmp/demo-controller.log 2>&1 &
controller=$!
# Node takes a few seconds to start under emulation: wait for its first line.
for i in $(seq 100); do grep -q '^controller:' /tmp/demo-controller.log && break; sleep 0.2; done
cat /tmp/demo-controller.log

step "Controller: host 1 pings host 2"
ip netns exec demo-ns1 busybox ping -c 4 -i 0.3 -W 3 10.1.1.2
say "Each packet without a kernel flow went up to the controller, which walked the table, installed one megaflow for all packets like it and sent the packet on (the first replies are slow: a cold Node process under emulation, and the pings queued behind the first). From then on such packets never leave the kernel: see the packet counts of the flows below."

step "Controller: host 1 opens a TCP connection to host 2 (port 8080)"
tcp_hello demo-ns1 demo-ns2 "hello from host 1, over TCP"
say "The line above is what host 2's server received."

step "Controller: host 2 tries to open a TCP connection to host 1 (port 9090)"
ip netns exec demo-ns1 busybox nc -l -p 9090 &
server=$!
for i in $(seq 100); do ip netns exec demo-ns1 ss -Hltn 'sport = :9090' | grep -q . && break; sleep 0.1; done
if ip netns exec demo-ns2 timeout 3 bash -c 'exec 3<>/dev/tcp/10.1.1.1/9090' 2>/dev/null; then echo "connected (this should not happen)"; else echo "no connection: timed out"; fi
kill $server 2>/dev/null || true
say "Its first packet went through conntrack and came back as +trk+new: no rule matches that, so the controller installed a drop flow for it."

step "Controller: conntrack's entries in zone 1 (conntrack -L)"
conntrack -L 2>/dev/null | grep 'zone=1' || true
say "Host 1's ping and TCP connection, each with its reply direction addressed to a NAT address in 10.1.1.240-255: host 2 only ever saw that address. Host 2's attempt made no entry (conntrack saw it, but nothing committed it)."

step "Controller: the kernel flows the controller installed (ovsdp dump-flows demo-nat)"
ovsdp dump-flows demo-nat
say "Six megaflows cover everything: port 1's IPv4 (ct commit with NAT, then port 2), port 2's untracked IPv4 (ct with NAT, then recirculation 0x1), recirculated packets of connections from port 1 (+est: to port 1) and of new ones from port 2 (-est: drop), and ARP both ways. None matches addresses or ports: the rules never looked at them."

step "Controller: stopping it (its counters)"
kill $controller
wait $controller || true
tail -n +2 /tmp/demo-controller.log
ovsdp del-dp demo-nat
ip netns del demo-ns1
ip netns del demo-ns2
