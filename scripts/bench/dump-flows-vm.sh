#!/bin/bash
# dump-flows speed and text, ovsdp against ovs-dpctl, in one VM run (timings are
# comparable only within one run; each tool runs ROUNDS times, alternating):
#
#   vm/run scripts/bench/dump-flows-vm.sh [N [ROUNDS]]     (default 20000 ct/nat flows, 5 rounds)
#
# N distinct ct/nat flows (scripts/bench/workloads.mjs) are installed once; each round
# times `--version` and `dump-flows DP > FILE` of both tools. The figures are best and
# median, and the ratio net of each tool's start-up (dump-flows minus --version, medians).
# The texts must be identical: dump-flows, -m, --names and -m --no-names, byte for byte
# (no traffic: every flow has used:never). BEFORE=DIR also times DIR/bin/ovsdp (another
# built checkout, e.g. an older commit) the same way, for a before/after in one run.
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-20000}
rounds=${2:-5}
ovsdp=(bin/ovsdp)
dir=$(mktemp -d)
node --input-type=module -e '
  import { flowLineText } from "./scripts/bench/workloads.mjs";
  const n = Number(process.argv[1]);
  const out = [];
  for (let i = 0; i < n; i++) out.push(flowLineText(i));
  process.stdout.write(out.join("\n") + "\n");' "$n" > "$dir/flows"

ovs-dpctl add-dp bench
"${ovsdp[@]}" add-flows bench "$dir/flows" >/dev/null
got=$(ovs-dpctl dump-flows bench | wc -l)
[ "$got" -eq "$n" ] || { echo "installed $got flows, not $n" >&2; exit 1; }

now() { date +%s.%N; }
# timed OUT CMD...: seconds CMD takes with stdout to OUT.
timed() {
  local out=$1 t0 t1; shift
  t0=$(now)
  "$@" > "$out"
  t1=$(now)
  echo "$t1 - $t0" | bc
}
stats() {
  local label=$1; shift
  printf '%s\n' "$@" | sort -n | awk -v l="$label" '{ t[NR] = $1 } END { printf "%-34s best %6.3f s  median %6.3f s  (%d runs)\n", l, t[1], t[int((NR + 1) / 2)], NR }'
}
median() { printf '%s\n' "$@" | sort -n | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'; }

declare -a dv ov dd od bv bd
for ((r = 0; r < rounds; r++)); do
  dv+=("$(timed /dev/null ovs-dpctl --version)")
  ov+=("$(timed /dev/null "${ovsdp[@]}" --version)")
  dd+=("$(timed "$dir/dpctl.txt" ovs-dpctl dump-flows bench)")
  od+=("$(timed "$dir/ovsdp.txt" "${ovsdp[@]}" dump-flows bench)")
  if [ -n "${BEFORE:-}" ]; then
    bv+=("$(timed /dev/null "$BEFORE/bin/ovsdp" --version)")
    bd+=("$(timed "$dir/before.txt" "$BEFORE/bin/ovsdp" dump-flows bench)")
  fi
done
stats "ovs-dpctl --version" "${dv[@]}"
stats "ovsdp --version" "${ov[@]}"
stats "ovs-dpctl dump-flows ($n flows)" "${dd[@]}"
stats "ovsdp dump-flows ($n flows)" "${od[@]}"
dnet=$(echo "$(median "${dd[@]}") - $(median "${dv[@]}")" | bc)
onet=$(echo "$(median "${od[@]}") - $(median "${ov[@]}")" | bc)
echo "net of start-up (medians): ovs-dpctl $dnet s, ovsdp $onet s: ovsdp is $(echo "scale=2; $dnet / $onet" | bc)x as fast"
if [ -n "${BEFORE:-}" ]; then
  stats "before: ovsdp --version" "${bv[@]}"
  stats "before: ovsdp dump-flows ($n flows)" "${bd[@]}"
  bnet=$(echo "$(median "${bd[@]}") - $(median "${bv[@]}")" | bc)
  echo "before, net of start-up: $bnet s: $(echo "scale=2; $dnet / $bnet" | bc)x as fast as ovs-dpctl"
  cmp -s "$dir/before.txt" "$dir/ovsdp.txt" && echo "before and now print the same text" || echo "before and now DIFFER" >&2
fi

status=0
for args in "" "-m" "--names" "-m --no-names"; do
  # shellcheck disable=SC2086
  t_d=$(timed "$dir/d.txt" ovs-dpctl dump-flows $args bench)
  # shellcheck disable=SC2086
  t_o=$(timed "$dir/o.txt" "${ovsdp[@]}" dump-flows $args bench)
  if cmp -s "$dir/d.txt" "$dir/o.txt"; then
    echo "dump-flows $args: identical ($(wc -l < "$dir/o.txt") lines; ovs-dpctl $t_d s, ovsdp $t_o s)"
  else
    echo "dump-flows $args: DIFFERENT" >&2
    diff "$dir/d.txt" "$dir/o.txt" | head -6 >&2
    status=1
  fi
done
head -1 "$dir/o.txt"
ovs-dpctl del-dp bench
rm -rf "$dir"
exit $status
