/**
 * The kernel log (/dev/kmsg), read for the reasons the openvswitch module gives when it
 * refuses a request: the kernel answers only EINVAL, but logs e.g.
 * "openvswitch: netlink: Missing key (keys=..., expected=...)". For flows, opened at a
 * request's first refusal, not before it (openAfterRefusal; a bulk run's batches:
 * FlowTable's watchBatches); for a packet's execute, before it. Reads are non-blocking and
 * return only records logged after the reader was opened (or last read), so a reason can
 * be tied to the request that was just refused. Unreadable (no /dev/kmsg, dmesg_restrict
 * without CAP_SYSLOG) means no reasons, never an error.
 */
import { fs } from '../nl/node-builtins.js';

/** One /dev/kmsg record: "<prio>,<seq>,<usec>,<flags>;<message>". */
export interface KernelLogRecord {
  seq: number;
  /** microseconds since boot */
  usec: number;
  message: string;
}

/** The prefix the openvswitch module's netlink complaints carry (OVS_NLERR). */
const OVS_PREFIX = 'openvswitch: ';

/** Parses one record as /dev/kmsg returns it; undefined for anything else. */
export function parseKmsgRecord(text: string): KernelLogRecord | undefined {
  const semi = text.indexOf(';');
  if (semi < 0) return undefined;
  const fields = text.slice(0, semi).split(',');
  if (fields.length < 3) return undefined;
  const seq = Number(fields[1]);
  const usec = Number(fields[2]);
  if (!Number.isFinite(seq) || !Number.isFinite(usec)) return undefined;
  // Continuation lines (" KEY=value" dictionary entries) follow the first newline.
  const end = text.indexOf('\n', semi);
  return { seq, usec, message: text.slice(semi + 1, end < 0 ? undefined : end) };
}

/** The openvswitch module's complaints among `records`, as logged ("openvswitch: netlink: ..."). */
export function openvswitchReasons(records: readonly KernelLogRecord[]): string[] {
  return records.filter((r) => r.message.startsWith(OVS_PREFIX)).map((r) => r.message);
}

export class KernelLog {
  private fd: number | undefined;
  private readonly buf = Buffer.allocUnsafe(8192);

  private constructor(fd: number) {
    this.fd = fd;
  }

  /** A reader positioned after everything logged so far; undefined when the log is unreadable. */
  static open(path = '/dev/kmsg'): KernelLog | undefined {
    let fd: number;
    try {
      fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    } catch {
      return undefined;
    }
    const log = new KernelLog(fd);
    // Past the records already there, unparsed: a long-running system's log holds
    // thousands, each one read (a system call) and, in read(), turned into a string.
    while (log.readRecord() > 0);
    return log;
  }

  /**
   * A reader opened after a request was refused with EINVAL, with that refusal's reason to
   * read (readReasons), or undefined when the log is unreadable. Opening reads past every
   * record already there, one read each (hundreds in a VM just booted, a full buffer on a
   * system up for months), a cost that only a refusal needs: so the log is opened at the
   * first, and `resend` sends the refused request once more for the kernel to log its
   * reason again. Only for requests that an EINVAL leaves undone, refused again the same
   * way: flow puts and deletes, which the kernel checks whole before it changes anything;
   * not a packet's execute, whose actions may fail after earlier ones ran. The kernel
   * rate-limits these lines (a burst of ~10 per 5 s), so this first refusal uses up two.
   */
  static async openAfterRefusal(resend: () => Promise<unknown>, path?: string): Promise<KernelLog | undefined> {
    const log = KernelLog.open(path);
    // Its answer is the refusal already in hand: only what it makes the kernel log counts.
    if (log) await resend().catch(() => undefined);
    return log;
  }

  /** The records logged since the last read (or since open). */
  read(): KernelLogRecord[] {
    const out: KernelLogRecord[] = [];
    for (let n = this.readRecord(); n > 0; n = this.readRecord()) {
      const record = parseKmsgRecord(this.buf.toString('utf8', 0, n));
      if (record) out.push(record);
    }
    return out;
  }

  /** Reads the next record into buf: its length, or 0 when there is none yet (or the log is unreadable). */
  private readRecord(): number {
    while (this.fd !== undefined) {
      try {
        return fs.readSync(this.fd, this.buf, 0, this.buf.length, null);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // EPIPE: records were overwritten before we read them; the next read goes on.
        if (code === 'EPIPE') continue;
        if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK') this.close();
        return 0;
      }
    }
    return 0;
  }

  /** The openvswitch module's complaints since the last read. */
  readReasons(): string[] {
    return openvswitchReasons(this.read());
  }

  close(): void {
    if (this.fd === undefined) return;
    fs.closeSync(this.fd);
    this.fd = undefined;
  }
}
