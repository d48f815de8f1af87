#!/bin/bash
# Start-up of single commands, ovsdp against ovs-dpctl, in one VM run (timings are
# comparable only within one run; the host is shared, so every round runs each tool's
# commands in turn and the median and best of ROUNDS are reported):
#
#   npm run build && vm/run scripts/bench/startup-vm.sh [ROUNDS]      (default 7)
#
# Commands: --version, add-flow of one flow, add-flows of an empty file, dump-flows of an
# empty datapath, show (one datapath, no ports). Tools: ovs-dpctl; bin/ovsdp as users run
# it (the bundle with its code cache, when built); "ovsdp modules": the same CLI from
# dist/src's ES modules (what runs when the bundle is stale); `node -e 0` for scale.
# OVSDP_STARTUP_VARIANTS adds tools: lines of "LABEL<TAB>COMMAND PREFIX".
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-7}
work=$(mktemp -d)
trap 'rm -rf "$work"; ovs-dpctl del-dp bench 2>/dev/null || true' EXIT
printf "import { main } from '%s/dist/src/cli/main.js';\nprocess.exitCode = await main(process.argv);\n" "$PWD" > "$work/modules.mjs"
: > "$work/empty"

labels=('ovs-dpctl' 'bin/ovsdp' 'ovsdp modules')
tools=('ovs-dpctl' 'bin/ovsdp' "node --single-threaded $work/modules.mjs")
while IFS=$'\t' read -r label cmd; do
  [ -n "$label" ] && { labels+=("$label"); tools+=("$cmd"); }
done <<< "${OVSDP_STARTUP_VARIANTS:-}"

# One flow of scripts/bench/add-flows-vm.sh's workload: a key and ct/nat actions.
flow='recirc_id(0),in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.0,dst=172.16.0.1,proto=6,frag=no),tcp(src=1024,dst=80),tcp_flags(0/0)'
actions='ct(commit,zone=1,nat(src=192.168.0.1-192.168.0.9:1024-65535)),recirc(1)'
commands=('--version' "add-flow bench $flow $actions" "add-flows bench $work/empty" 'dump-flows bench' 'show')
names=('--version' 'add-flow (1 flow)' 'add-flows (empty file)' 'dump-flows (empty dp)' 'show')

now() { date +%s%N; }
ovs-dpctl add-dp bench
# run TOOL COMMAND: milliseconds it takes, from an empty flow table; fails loudly.
run() {
  ovs-dpctl del-flows bench
  local t0 t1
  t0=$(now)
  # shellcheck disable=SC2086 # the tool and command are word lists
  $1 $2 >/dev/null || { echo "failed: $1 $2" >&2; exit 1; }
  t1=$(now)
  echo $(((t1 - t0) / 1000000))
}

declare -A times
for ((r = 0; r < rounds; r++)); do
  for c in "${!commands[@]}"; do
    for t in "${!tools[@]}"; do times[$t,$c]+="$(run "${tools[$t]}" "${commands[$c]}") "; done
  done
  times[node,0]+="$(t0=$(now); node -e 0; echo $((($(now) - t0) / 1000000))) "
done

# median (best) of a list of numbers
stat() { printf '%s\n' $1 | sort -n | awk '{ t[NR] = $1 } END { printf "%5d (%5d)", t[int((NR + 1) / 2)], t[1] }'; }
printf '%-24s' 'ms: median (best)'
for l in "${labels[@]}"; do printf ' %15s' "$l"; done
echo
for c in "${!commands[@]}"; do
  printf '%-24s' "${names[$c]}"
  for t in "${!tools[@]}"; do printf ' %15s' "$(stat "${times[$t,$c]}")"; done
  echo
done
printf '%-24s %15s   (%d rounds)\n' 'node -e 0' "$(stat "${times[node,0]}")" "$rounds"
