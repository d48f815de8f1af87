#!/bin/bash
# Bulk install speed, ovsdp against ovs-dpctl, in one VM run (timings are comparable only
# within one run; the host is shared, so each tool runs ROUNDS times, alternating, and the
# best and median are reported):
#
#   vm/run scripts/bench/add-flows-vm.sh [N [ROUNDS]]      (default 20000 ct/nat flows, 3 rounds)
#
# N distinct ct/nat flows (scripts/bench/workloads.mjs) go into a file; each round adds
# them to a fresh datapath with `ovs-dpctl add-flows` and with `bin/ovsdp add-flows`, and
# checks that every flow got in. Start-up alone (an empty file) is timed the same way.
# OVSDP_NODE="node --flag" runs ovsdp under another node command line (default: as
# bin/ovsdp's #! line says).
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-20000}
rounds=${2:-3}
ovsdp=(${OVSDP_NODE:-} bin/ovsdp)
file=$(mktemp)
empty=$(mktemp)
node --input-type=module -e '
  import { flowLineText } from "./scripts/bench/workloads.mjs";
  const n = Number(process.argv[1]);
  const out = [];
  for (let i = 0; i < n; i++) out.push(flowLineText(i));
  process.stdout.write(out.join("\n") + "\n");' "$n" > "$file"

now() { date +%s.%N; }
# time_add TOOL... FILE: seconds one add-flows takes into a fresh datapath; checks the count.
time_add() {
  local want=$1 file=$2; shift 2
  ovs-dpctl add-dp bench >/dev/null 2>&1
  local t0 t1 got
  t0=$(now)
  "$@" add-flows bench "$file" 2>/dev/null
  t1=$(now)
  got=$(ovs-dpctl dump-flows bench | wc -l)
  ovs-dpctl del-dp bench
  [ "$got" -eq "$want" ] || { echo "$* installed $got flows, not $want" >&2; exit 1; }
  echo "$t1 - $t0" | bc
}
# stats LABEL TIMES...: best and median.
stats() {
  local label=$1; shift
  printf '%s\n' "$@" | sort -n | awk -v l="$label" '{ t[NR] = $1 } END { printf "%-34s best %6.2f s  median %6.2f s  (%d runs)\n", l, t[1], t[int((NR + 1) / 2)], NR }'
}

declare -a d_empty o_empty d_full o_full
for ((r = 0; r < rounds; r++)); do
  d_empty+=("$(time_add 0 "$empty" ovs-dpctl)")
  o_empty+=("$(time_add 0 "$empty" "${ovsdp[@]}")")
  d_full+=("$(time_add "$n" "$file" ovs-dpctl)")
  o_full+=("$(time_add "$n" "$file" "${ovsdp[@]}")")
done
rm -f "$file" "$empty"
stats "ovs-dpctl add-flows (empty file)" "${d_empty[@]}"
stats "ovsdp add-flows (empty file)" "${o_empty[@]}"
stats "ovs-dpctl add-flows ($n flows)" "${d_full[@]}"
stats "ovsdp add-flows ($n flows)" "${o_full[@]}"
best() { printf '%s\n' "$@" | sort -n | head -1; }
echo "ovsdp is $(echo "scale=2; $(best "${d_full[@]}") / $(best "${o_full[@]}")" | bc)x as fast as ovs-dpctl (best against best; ${ovsdp[*]})"
