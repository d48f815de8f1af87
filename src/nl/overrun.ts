/**
 * Surviving receive-buffer overruns.
 *
 * When the kernel cannot queue a message on a netlink socket because its receive buffer is
 * full, it drops the message, counts it (sk_drops, shown in /proc/net/netlink) and sets
 * the socket's error to ENOBUFS. That error makes epoll report EPOLLERR, on which libuv
 * stops polling the descriptor and calls back with UV_EBADF, and the npm netlink package's
 * native binding then aborts the whole process (it builds the error with a NULL syscall
 * name: "terminate called after throwing an instance of 'Napi::Error'"). So a socket that
 * may be flooded by the kernel (upcalls, busy multicast groups) must have
 * NETLINK_NO_ENOBUFS set: the kernel then drops and counts without setting the error, and
 * the drops are read from /proc/net/netlink instead.
 *
 * The binding offers no setsockopt() and does not expose its descriptor: the descriptor is
 * found through the socket's inode (/proc/net/netlink by port id, /proc/self/fd links), and
 * setsockopt() is called through koffi (libc.ts).
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { libc } from './libc.js';

const SOL_NETLINK = 270;
const NETLINK_NO_ENOBUFS = 5;

/** One row of /proc/net/netlink. */
export interface NetlinkSocketRow {
  protocol: number;
  portId: number;
  /** messages the kernel dropped because the receive buffer was full */
  drops: number;
  inode: number;
}

/**
 * Parses /proc/net/netlink: "sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode" (the
 * header names the columns; Pid is the port id).
 */
export function parseProcNetlink(text: string): NetlinkSocketRow[] {
  const [header, ...lines] = text.split('\n');
  const cols = (header ?? '').trim().split(/\s+/);
  const at = (name: string): number => cols.indexOf(name);
  const iEth = at('Eth');
  const iPid = at('Pid');
  const iDrops = at('Drops');
  const iInode = at('Inode');
  if (iEth < 0 || iPid < 0 || iDrops < 0 || iInode < 0) return [];
  const out: NetlinkSocketRow[] = [];
  for (const line of lines) {
    const f = line.trim().split(/\s+/);
    if (f.length < cols.length) continue;
    out.push({ protocol: Number(f[iEth]), portId: Number(f[iPid]), drops: Number(f[iDrops]), inode: Number(f[iInode]) });
  }
  return out;
}

function rows(): NetlinkSocketRow[] {
  return parseProcNetlink(readFileSync('/proc/net/netlink', 'utf8'));
}

/** Messages the kernel dropped for the socket bound to `portId` of `protocol` (undefined: no such socket). */
export function netlinkDrops(protocol: number, portId: number): number | undefined {
  return rows().find((r) => r.protocol === protocol && r.portId === portId)?.drops;
}

/** The drops of several sockets of one protocol, read at once; a missing socket is left out. */
export function netlinkDropsOf(protocol: number, portIds: readonly number[]): Map<number, number> {
  const wanted = new Set(portIds);
  const out = new Map<number, number>();
  for (const r of rows()) if (r.protocol === protocol && wanted.has(r.portId)) out.set(r.portId, r.drops);
  return out;
}

/** Which of `portIds` are bound by a netlink socket of `protocol` in this network namespace (any process). */
export function netlinkPortsInUse(protocol: number, portIds: readonly number[]): number[] {
  const bound = new Set(rows().filter((r) => r.protocol === protocol).map((r) => r.portId));
  return portIds.filter((p) => p !== 0 && bound.has(p));
}

/**
 * The processes holding the netlink sockets bound to `portIds` of `protocol`: each pid
 * with its command line (cut to 80 characters). Processes whose descriptors cannot be
 * read (another user's, without root) are left out. For messages: it reads every
 * process's descriptor links.
 */
export function netlinkSocketHolders(protocol: number, portIds: readonly number[]): { pid: number; command: string }[] {
  const wanted = new Set(portIds);
  const targets = new Set(rows().filter((r) => r.protocol === protocol && wanted.has(r.portId)).map((r) => `socket:[${r.inode}]`));
  const out: { pid: number; command: string }[] = [];
  if (targets.size === 0) return out;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (!readdirSync(`/proc/${pid}/fd`).some((fd) => targets.has(readlinkSafe(`/proc/${pid}/fd/${fd}`)))) continue;
      const command = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter(Boolean).join(' ');
      out.push({ pid: Number(pid), command: command.length > 80 ? `${command.slice(0, 77)}...` : command });
    } catch {
      // gone since the listing, or not ours to read
    }
  }
  return out;
}

/** A descriptor's link, or '' when it was closed since the listing (or is not ours to read). */
function readlinkSafe(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

/** This process's descriptor of the netlink socket bound to `portId` of `protocol`. */
export function netlinkSocketFd(protocol: number, portId: number): number {
  const row = rows().find((r) => r.protocol === protocol && r.portId === portId);
  if (!row) throw new Error(`no netlink socket with port id ${portId} in /proc/net/netlink`);
  const target = `socket:[${row.inode}]`;
  for (const fd of readdirSync('/proc/self/fd')) if (readlinkSafe(`/proc/self/fd/${fd}`) === target) return Number(fd);
  throw new Error(`the netlink socket with port id ${portId} is not one of this process's descriptors`);
}

/**
 * Sets NETLINK_NO_ENOBUFS on the netlink socket of descriptor `fd` (netlinkSocketFd; see
 * above): the kernel then counts dropped messages (netlinkDrops) instead of failing the
 * socket.
 */
export async function setNoEnobufs(fd: number): Promise<void> {
  const { setsockopt } = await libc();
  const one = Buffer.from(new Int32Array([1]).buffer);
  if (setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, one, 4) !== 0) {
    throw new Error(`setsockopt(NETLINK_NO_ENOBUFS) failed on netlink descriptor ${fd}`);
  }
}
