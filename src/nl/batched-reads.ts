/**
 * Reading the datagrams queued on a netlink socket with one recvmmsg(2) for many.
 *
 * The netlink binding reads one datagram per recvmsg and hands each to JavaScript on its
 * own: a Buffer over memory it allocated (with a finalizer), an address object, a
 * callback through N-API, a turn of the microtask queue. For an upcall handler that is
 * most of what a datagram costs outside the kernel: in the test VM, a sixth of the
 * controller's time in a burst of misses (perf: Buffer::New, SetPrototype, map
 * migrations of the address object, napi_make_callback). A socket that reads in batches
 * lets the binding read the first datagram of each wake-up, then takes everything else
 * queued with recvmmsg into slots of memory of its own, copies it into one Buffer and
 * hands the datagrams over from there.
 *
 * The descriptor is the binding's (found through /proc, as for setsockopt in overrun.ts),
 * read without waiting (MSG_DONTWAIT): the binding's next read finds nothing and goes
 * back to waiting.
 */
import { endianness } from 'node:os';
import { type Libc, libc } from './libc.js';

/** recvmmsg calls one drain() makes at most. */
const MAX_READS_PER_DRAIN = 4;
const MSG_DONTWAIT = 0x40;
const MSG_TRUNC = 0x20;
const EINTR = 4;
const EAGAIN = 11;

const le = endianness() === 'LE';

/** struct mmsghdr on 64-bit Linux: struct msghdr (56 bytes), then unsigned int msg_len, padded. */
const MMSGHDR_SIZE = 64;
const MSG_IOV = 16;
const MSG_IOVLEN = 24;
const MSG_FLAGS = 48;
const MSG_LEN = 56;
/** struct iovec: iov_base, iov_len. */
const IOVEC_SIZE = 16;

export interface BatchedReaderOptions {
  /** Datagrams one recvmmsg takes at most (default 32, as many as the binding reads a wake-up). */
  slots?: number;
  /** The largest datagram read whole (default 128 KiB); a larger one is lost, and said so. */
  slotSize?: number;
}

/** The layout above is 64-bit Linux's; elsewhere the binding reads every datagram. */
export function batchedReadsSupported(): boolean {
  return process.platform === 'linux' && ['x64', 'arm64', 'ppc64', 's390x', 'riscv64', 'loong64'].includes(process.arch);
}

function putWord(b: Buffer, value: bigint, at: number): void {
  if (le) b.writeBigUInt64LE(value, at);
  else b.writeBigUInt64BE(value, at);
}

function u32(b: Buffer, at: number): number {
  return le ? b.readUInt32LE(at) : b.readUInt32BE(at);
}

export class BatchedReader {
  /** recvmmsg calls that read something, and the datagrams they read. */
  readonly counts = { reads: 0, datagrams: 0 };
  private closed = false;

  private constructor(
    private readonly lib: Libc,
    /** The descriptor it reads. */
    readonly fd: number,
    private readonly memory: { pointer: unknown; bytes: Buffer },
    private readonly slots: number,
    private readonly slotSize: number,
    private readonly dataAt: number,
  ) {}

  /**
   * A reader of descriptor `fd`. Its slots are one allocation outside V8's heap, never
   * moved (the kernel writes where their headers point); the operating system makes their
   * pages as datagrams fill them.
   */
  static async open(fd: number, options: BatchedReaderOptions = {}): Promise<BatchedReader> {
    if (!batchedReadsSupported()) throw new Error(`reading netlink datagrams in batches needs 64-bit Linux, not ${process.platform} ${process.arch}`);
    const slots = options.slots ?? 32;
    const slotSize = options.slotSize ?? 128 << 10;
    if (!(Number.isInteger(slots) && slots >= 1 && slots <= 1024)) throw new RangeError(`slots must be 1 to 1024, not ${slots}`);
    if (!(Number.isInteger(slotSize) && slotSize >= 16)) throw new RangeError(`slotSize must be at least 16 bytes, not ${slotSize}`);
    const lib = await libc();
    const dataAt = slots * (MMSGHDR_SIZE + IOVEC_SIZE);
    const memory = lib.alloc(dataAt + slots * slotSize);
    const b = memory.bytes;
    const iovAt = slots * MMSGHDR_SIZE;
    // Each header: no address, one iovec (its slot), no control data; filled once.
    for (let i = 0; i < slots; i++) {
      const h = i * MMSGHDR_SIZE;
      const iov = iovAt + i * IOVEC_SIZE;
      putWord(b, memory.address + BigInt(iov), h + MSG_IOV);
      putWord(b, 1n, h + MSG_IOVLEN);
      putWord(b, memory.address + BigInt(dataAt + i * slotSize), iov);
      putWord(b, BigInt(slotSize), iov + 8);
    }
    return new BatchedReader(lib, fd, memory, slots, slotSize, dataAt);
  }

  /**
   * Reads what is queued now, without waiting, and hands each datagram to `onDatagram` (a
   * Buffer of its own, which stays valid), or its size to `onTruncated` when it was larger
   * than a slot (its bytes are lost). Stops when the queue is empty, after
   * MAX_READS_PER_DRAIN reads, or when `isOpen()` turns false (a handler closed the
   * socket: its descriptor may already be another's).
   * Returns how many datagrams it read; throws for an error of the socket's.
   */
  drain(onDatagram: (buf: Buffer) => void, onTruncated: (size: number) => void, isOpen: () => boolean): number {
    const { lib, fd, slots, slotSize, dataAt } = this;
    const b = this.memory.bytes;
    let total = 0;
    // At most MAX_READS_PER_DRAIN full reads, as the binding reads at most 32 datagrams a
    // wake-up: under a flood, the event loop must get its turn (the upcalls read are
    // handled after this returns); what is left is read at the next wake-up.
    for (let reads = 0; reads < MAX_READS_PER_DRAIN && !this.closed && isOpen(); reads++) {
      const n = lib.recvmmsg(fd, this.memory.pointer, slots, MSG_DONTWAIT | MSG_TRUNC, null);
      if (n < 0) {
        const errno = lib.errno();
        if (errno === EINTR) {
          reads--;
          continue;
        }
        if (errno === EAGAIN) break;
        throw Object.assign(new Error(`recvmmsg on netlink descriptor ${fd} failed (errno ${errno})`), { errno });
      }
      if (n === 0) break;
      this.counts.reads++;
      this.counts.datagrams += n;
      total += n;
      // One copy for the batch: the slots are read again by the next call, while the
      // datagrams' Buffers (an upcall's packet, say) may be kept for as long as anyone likes.
      // Each starts at a multiple of 8, as the binding's own Buffers do (word views of them).
      let size = 0;
      for (let i = 0; i < n; i++) size += (Math.min(u32(b, i * MMSGHDR_SIZE + MSG_LEN), slotSize) + 7) & ~7;
      const copy = Buffer.allocUnsafe(size);
      let at = 0;
      for (let i = 0; i < n && isOpen(); i++) {
        const h = i * MMSGHDR_SIZE;
        const len = u32(b, h + MSG_LEN);
        if (u32(b, h + MSG_FLAGS) & MSG_TRUNC) {
          onTruncated(len);
          continue;
        }
        b.copy(copy, at, dataAt + i * slotSize, dataAt + i * slotSize + len);
        onDatagram(copy.subarray(at, at + len));
        at += (len + 7) & ~7;
      }
      if (n < slots) break;
    }
    return total;
  }

  /** Frees the slots; the descriptor is the binding's to close. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.lib.free(this.memory.pointer);
  }
}
