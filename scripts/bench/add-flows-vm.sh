#!/bin/bash
# Bulk install speed, ovsdp against ovs-dpctl, in one VM run (timings are comparable only
# within one run): `vm/run scripts/bench-add-flows.sh [N]` (default 20000 ct/nat flows).
# Prints both times, the ratio, and checks that both datapaths ended up with N flows.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20000}
file=$(mktemp)
node -e '
  const n = Number(process.argv[1]);
  let out = "";
  for (let i = 0; i < n; i++) {
    const src = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    out += `recirc_id(0),in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),` +
      `ipv4(src=${src},dst=172.16.0.1,proto=6,frag=no),tcp(src=${1024 + (i % 50000)},dst=80),tcp_flags(0/0) ` +
      `ct(commit,zone=1,nat(src=192.168.0.1-192.168.0.9:1024-65535)),recirc(1)\n`;
  }
  process.stdout.write(out);' "$n" > "$file"

seconds() { date +%s.%N; }
ovs-dpctl add-dp bench-dpctl
ovs-dpctl add-dp bench-ovsdp
t0=$(seconds); ovs-dpctl add-flows bench-dpctl "$file"; t1=$(seconds)
t2=$(seconds); node bin/ovsdp add-flows bench-ovsdp "$file"; t3=$(seconds)
dpctl_n=$(ovs-dpctl dump-flows bench-dpctl | wc -l)
ovsdp_n=$(ovs-dpctl dump-flows bench-ovsdp | wc -l)
ovs-dpctl del-dp bench-dpctl
ovs-dpctl del-dp bench-ovsdp
rm -f "$file"
awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" -v n="$n" -v dn="$dpctl_n" -v on="$ovsdp_n" 'BEGIN {
  printf "%d ct/nat flows: ovs-dpctl add-flows %.2f s (%d installed), ovsdp add-flows %.2f s (%d installed): %.1fx\n",
    n, b - a, dn, d - c, on, (b - a) / (d - c) }'
