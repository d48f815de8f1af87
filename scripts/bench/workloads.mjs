/**
 * The flows every benchmark uses: distinct ct/nat flows as add-flows lines (ovs-dpctl's
 * syntax, which both tools read), one per TCP connection from a client range to one server.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

/** The key of flow i: a TCP connection from 10.x.y.z:port to 172.16.0.1:80. */
export function flowKey(i) {
  const src = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  return `recirc_id(0),in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),`
    + `ipv4(src=${src},dst=172.16.0.1,proto=6,frag=no),tcp(src=${1024 + (i % 50000)},dst=80),tcp_flags(0/0)`;
}

/** Committed to conntrack zone 1 and source-NATed, then recirculated. */
export const FLOW_ACTIONS = 'ct(commit,zone=1,nat(src=192.168.0.1-192.168.0.9:1024-65535)),recirc(1)';

/** Line i of an add-flows file. */
export function flowLineText(i) {
  return `${flowKey(i)} ${FLOW_ACTIONS}`;
}

/** Writes `n` lines (lineOf(0) .. lineOf(n - 1)) to `path`, in blocks. */
export function writeLines(path, n, lineOf) {
  const fd = openSync(path, 'w');
  try {
    let block = '';
    for (let i = 0; i < n; i++) {
      block += `${lineOf(i)}\n`;
      if (block.length > 1 << 20) {
        writeSync(fd, block);
        block = '';
      }
    }
    writeSync(fd, block);
  } finally {
    closeSync(fd);
  }
}
