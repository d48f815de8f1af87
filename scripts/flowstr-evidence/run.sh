#!/bin/bash
# Runs in the VM (see build.mjs). For each "KEY<TAB>ACTIONS" line of the file given:
# add-flow (bytes sent), dump-flows, dump-flows -m
# (with the kernel's reply bytes), del-flows. One JSON object per case.
set -u
ip link set lo up
ip link add v0 type veth peer name v1
ip link set v0 up; ip link set v1 up
ovs-dpctl add-dp dp0 v0 >/dev/null
while IFS=$'\t' read -r key actions; do
  [ -z "$key" ] && continue
  strace -f -e trace=sendmsg -xx -s 65536 -o /tmp/st ovs-dpctl add-flow dp0 "$key" "$actions" > /tmp/out 2> /tmp/err
  rc=$?
  ovs-dpctl dump-flows dp0 > /tmp/d 2>&1
  strace -f -e trace=recvmsg -xx -s 65536 -o /tmp/rt ovs-dpctl dump-flows -m dp0 > /tmp/dm 2>&1
  ovs-dpctl del-flows dp0 >/dev/null 2>&1
  node -e '
    const fs=require("fs");
    const hexes=(f,call)=>fs.readFileSync(f,"utf8").split("\n").filter(l=>l.includes(call+"(")&&!l.includes("resumed>")||l.includes(call+" resumed>")).map(l=>[...l.matchAll(/iov_base="((?:\\x[0-9a-f]{2})*)"/g)].map(x=>x[1].replace(/\\x/g,"")).join("")).filter(Boolean);
    console.log("CASE "+JSON.stringify({key:process.argv[1],actions:process.argv[2],rc:+process.argv[3],err:fs.readFileSync("/tmp/err","utf8"),sent:hexes("/tmp/st","sendmsg"),recv:hexes("/tmp/rt","recvmsg"),dump:fs.readFileSync("/tmp/d","utf8"),dumpm:fs.readFileSync("/tmp/dm","utf8")}));
  ' "$key" "$actions" "$rc"
done < "$1"
dmesg | grep -i openvswitch | sed 's/^/DMESG /'
