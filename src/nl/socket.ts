/**
 * A generic netlink socket: requests with sequence matching, ACKs, streamed dumps,
 * batches of many requests in one sendmsg, multicast, over the npm netlink package's
 * RawNetlinkSocket (only its raw module is loaded: the package index is slow to import).
 */
import { EventEmitter } from 'node:events';
import { RawNetlinkSocket } from 'netlink/dist/raw.js';
import type { BatchedReader } from './batched-reads.js';
import type { Libc } from './libc.js';
import { MessageBuilder, align4, littleEndianHost } from './codec.js';
import { NetlinkError, errnoName, errnoNumber, type NetlinkOperation, withoutStacks } from './errors.js';
import {
  type GenlRequest, type NetlinkMessage, NETLINK_GENERIC, NLMSG_HDRLEN, NLMSG_DONE, NLMSG_ERROR, NLMSG_OVERRUN, NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST, errorCode,
  appendGenlRequest, parseMessages,
} from './message.js';

export interface GenlSocketOptions {
  /** SO_RCVBUF in bytes (the kernel caps it at net.core.rmem_max). Default 4 MiB. */
  recvBufferSize?: number;
  /** SO_SNDBUF in bytes. Default 4 MiB. */
  sendBufferSize?: number;
  /**
   * The largest datagram the socket reads whole (default 128 KiB). Every read offers this
   * much room: the kernel then fills each part of a dump up to its own limit (32 KiB)
   * rather than one page, so a big dump takes 8 times fewer reads. A larger datagram
   * is lost: pending requests fail with EMSGSIZE and 'overrun' is emitted.
   */
  maxDatagramSize?: number;
  /**
   * Read each datagram into a buffer of its own size, learnt by peeking at it (one more
   * recvmsg per datagram), not into a maxDatagramSize buffer per read, which the binding
   * allocates and zeroes for every read, the one that finds nothing left included. For a
   * socket that gets small answers only (a bulk load's ACKs): its dumps would come a page
   * at a time, the kernel sizing a dump's parts by the reads it has seen.
   */
  peekSizes?: boolean;
}

/** What one request of a batch got back: its replies, or the kernel's error. */
export interface RequestResult {
  replies: NetlinkMessage[];
  error?: NetlinkError;
}

/** The result of a request of a batch that got replies or an error back (sendMessages). */
export interface IndexedResult extends RequestResult {
  /** Which request of the batch. */
  index: number;
}

interface Pending {
  /** The last sequence number the awaited batch uses. */
  lastSeq: number;
  firstSeq: number;
  /**
   * The results of the requests that got replies or an error, in order (answerOf): a
   * request that just succeeded has none, so a bulk load's batch makes no object per request.
   */
  results: IndexedResult[];
  ops: readonly (NetlinkOperation | undefined)[];
  /**
   * For dumps: called with the replies instead of collecting them, a datagram's at once
   * where they are all replies (else one by one), with their flags ORed.
   */
  onReply?: (msgs: NetlinkMessage[], flags: number) => void;
  /**
   * For dumps read as bytes (dumpReplyBytes): called instead with the bytes of whole reply
   * messages, headers included: a datagram's at once where they are all replies.
   */
  onReplyBytes?: (bytes: Buffer, flags: number) => void;
  resolve: (results: IndexedResult[]) => void;
  reject: (err: Error) => void;
}

/**
 * The result of request `index` of `p`, made at its first reply or error. The kernel
 * answers a socket's requests in order, so it is the last made or a new one.
 */
function answerOf(p: Pending, index: number): IndexedResult {
  const last = p.results[p.results.length - 1];
  if (last !== undefined && last.index === index) return last;
  const made: IndexedResult = { index, replies: [] };
  p.results.push(made);
  return made;
}

/** Every request's result, of the `count` requests that got `answered`. */
function everyResult(answered: readonly IndexedResult[], count: number): RequestResult[] {
  const results = new Array<RequestResult>(count);
  let a = 0;
  for (let i = 0; i < count; i++) results[i] = answered[a]?.index === i ? answered[a++]! : { replies: [] };
  return results;
}

const le = littleEndianHost;

// Functions, not constants: the errno table is loaded at the first error (nl/errors.ts).
const ENOBUFS = (): number => errnoNumber('ENOBUFS') ?? 105;
const EINTR = (): number => errnoNumber('EINTR') ?? 4;
const EMSGSIZE = (): number => errnoNumber('EMSGSIZE') ?? 90;
const ESHUTDOWN = (): number => errnoNumber('ESHUTDOWN') ?? 108;

/** readQueued()'s `more` for one drain and no more (a read's batch of what was queued). */
const oneDrain = (): boolean => false;

/** How big a batch's send buffer may stay between batches. */
const SEND_BUFFER_KEEP = 1 << 20;

/** The kernel dropped messages for this socket: its receive buffer overflowed. */
export function overrunError(op?: NetlinkOperation): NetlinkError {
  return new NetlinkError(ENOBUFS(), 'the socket receive buffer overflowed and the kernel dropped messages (ENOBUFS)', op ? { operation: op } : {});
}

/** The sequence number after `seq`; never 0, which marks what answers no request of ours (onDatagram). */
function followingSeq(seq: number): number {
  return (seq + 1) >>> 0 || 1;
}

/**
 * Gives `count` whole netlink messages laid out back to back in `messages` the sequence
 * numbers after `seq`, and the last NLM_F_ACK; returns the last number given. A function
 * of its own, not a loop in sendMessages: V8 optimized the method that held it (then
 * batchMessages) on that loop, with the send it calls (a promise, its executor, the
 * results) inlined, which in the test VM took 50-190 ms of TurboFan per add-flows of
 * 20,000 flows.
 */
function numberMessages(messages: Buffer, count: number, seq: number): number {
  const d = new DataView(messages.buffer, messages.byteOffset, messages.length);
  let off = 0;
  for (let i = 0; i < count; i++) {
    seq = followingSeq(seq);
    // nlmsghdr: u32 length, u16 type, u16 flags, u32 seq (host order).
    d.setUint32(off + 8, seq, le);
    if (i === count - 1) d.setUint16(off + 6, d.getUint16(off + 6, le) | NLM_F_ACK, le);
    off += align4(d.getUint32(off, le));
  }
  return seq;
}

/**
 * What the answers to a batch of `count` requests, `bytes` long in all, may take of the
 * socket's receive buffer while they wait to be read, when the kernel refuses them all:
 * each error echoes its request, and the buffer is charged for the whole allocation, the
 * echo and its headers (~360 bytes with the buffer's shared info) rounded up to the
 * allocator's next size (at most twice that), and the socket buffer itself (~256).
 */
export function refusalsRoom(bytes: number, count: number): number {
  return 2 * bytes + count * (2 * 360 + 256);
}

/**
 * The share of a receive buffer of `size` (SO_RCVBUF, as the kernel counts it) a batch's
 * refusals may take; the rest is for its ACK and what else arrives meanwhile. Linux caps
 * the buffer at net.core.rmem_max, by default ~416 KB usable, which 512 refused flow puts
 * in flight overflowed; the netlink binding then aborts the process.
 */
export function refusalsBudget(size: number): number {
  return (3 * size) / 4;
}

/** What a request on a closed socket fails with, whichever way it came in. */
function closedSocketError(): NetlinkError {
  return new NetlinkError(ESHUTDOWN(), 'the netlink socket is closed');
}

/** A dump saw concurrent changes (NLM_F_DUMP_INTR): what it returned may be inconsistent. */
export class DumpInterruptedError extends NetlinkError {
  constructor(op?: NetlinkOperation) {
    super(EINTR(), 'the dump was interrupted by concurrent changes (NLM_F_DUMP_INTR); its result may be inconsistent', op ? { operation: op } : {});
  }
}

export class GenlSocket extends EventEmitter<{ notification: [NetlinkMessage]; overrun: [NetlinkError] }> {
  private readonly raw: RawNetlinkSocket;
  private seq = Math.floor(Math.random() * 0x7fffffff);
  private readonly pending = new Map<number, Pending>();
  private closed = false;
  private dumpTurn: Promise<void> = Promise.resolve();
  /** Where requests are encoded, reused from one batch to the next. */
  private out = new MessageBuilder(1 << 16);
  private readonly maxDatagram: number;
  private budget: number | undefined;
  /** Reads what is queued behind each datagram the binding reads (readInBatches). */
  private batched: BatchedReader | undefined;
  private draining = false;
  private fd: number | undefined;
  /** What sendMessagesAtOnce() sends and reads with (sendsAtOnce), and how many batches it sent so. */
  private atOnce: { lib: Libc; reader: BatchedReader; batches: number } | undefined;

  /**
   * refusalsBudget() of this socket's receive buffer: what a batch's refusals may take
   * (sendMessages sends a larger batch in parts; a caller laying out its own batches cuts
   * them by it).
   */
  get refusalsBudget(): number {
    return (this.budget ??= refusalsBudget(this.recvBufferSize));
  }

  /** Whether the refusals of a batch of `count` requests could overflow the receive buffer (one request is sent whole). */
  private refusalsMayOverflow(messages: Buffer, count: number): boolean {
    return count > 1 && refusalsRoom(messages.length, count) >= this.refusalsBudget;
  }

  constructor(options: GenlSocketOptions = {}) {
    super();
    this.maxDatagram = options.maxDatagramSize ?? 128 << 10;
    // The binding reads 4 KiB for a size of 0: a larger datagram would be cut, not peeked at (peekSizes).
    if (!(this.maxDatagram >= 1)) throw new RangeError(`maxDatagramSize must be at least 1, not ${options.maxDatagramSize}`);
    this.raw = new RawNetlinkSocket(NETLINK_GENERIC, {
      recvBufferSize: options.recvBufferSize ?? 4 << 20,
      sendBufferSize: options.sendBufferSize ?? 4 << 20,
      messagePeeking: options.peekSizes === true,
      msgBufferSize: this.maxDatagram,
    });
    this.raw.on('message', (buf) => this.received(buf));
    this.raw.on('truncatedMessage', (_buf, rinfo) => this.onTruncated(rinfo.truncated ?? 0));
    this.raw.on('error', (err) => this.onSocketError(err));
    // Idle sockets must not keep the process alive; a pending request refs it again.
    this.raw.unref();
  }

  /** The netlink port id the kernel sends this socket's unicasts (and upcalls) to. */
  get portId(): number {
    return this.raw.address().port;
  }

  get recvBufferSize(): number {
    return this.raw.getRecvBufferSize();
  }

  joinGroup(group: number): void {
    this.raw.addMembership(group);
    this.raw.ref();
  }

  leaveGroup(group: number): void {
    this.raw.dropMembership(group);
  }

  /** Keep the process alive while this socket listens (for listeners of notifications). */
  ref(): void {
    this.raw.ref();
  }

  /**
   * From now on, each time the binding hands over a datagram, the datagrams queued behind
   * it are read with one recvmmsg (batched-reads.ts), not one recvmsg and one callback
   * each: for a socket that many datagrams arrive at (an upcall handler's). Nothing is
   * done where that cannot work (batchedReadsSupported); false then.
   */
  async readInBatches(): Promise<boolean> {
    if (!this.batched) {
      const reader = await this.openReader();
      // One reader a socket, should two calls have crossed.
      if (this.batched) reader?.close();
      else this.batched = reader;
    }
    return this.batched !== undefined;
  }

  /**
   * A reader of what is queued on the socket (batched-reads.ts); undefined where that
   * cannot work (batchedReadsSupported) or when the socket was closed meanwhile.
   */
  private async openReader(): Promise<BatchedReader | undefined> {
    const { BatchedReader, batchedReadsSupported } = await import('./batched-reads.js');
    if (!batchedReadsSupported()) return undefined;
    const reader = await BatchedReader.open(await this.descriptor(), { slotSize: this.maxDatagram });
    if (!this.closed) return reader;
    reader.close();
    return undefined;
  }

  /**
   * The socket's descriptor, which the binding does not expose (setsockopt, recvmmsg):
   * found through /proc once (overrun.ts, netlinkSocketFd).
   */
  async descriptor(): Promise<number> {
    if (this.fd === undefined) {
      const { netlinkSocketFd } = await import('./overrun.js');
      this.fd ??= netlinkSocketFd(NETLINK_GENERIC, this.portId);
    }
    return this.fd;
  }

  /**
   * Prepares sendMessagesAtOnce(): the C calls it makes (send, recvmmsg), the descriptor,
   * a reader of the answers. Nothing is done where that cannot work (batchedReadsSupported);
   * false then.
   */
  async sendsAtOnce(): Promise<boolean> {
    if (this.atOnce) return true;
    const reader = await this.openReader();
    if (reader === undefined) return false;
    // Loaded already: the reader's recvmmsg is libc's too.
    const lib = await (await import('./libc.js')).libc();
    if (this.closed || this.atOnce) reader.close();
    else this.atOnce = { lib, reader, batches: 0 };
    return !this.closed;
  }

  /** Batches sendMessagesAtOnce() sent itself (undefined: not prepared, sendsAtOnce). */
  get batchesSentAtOnce(): number | undefined {
    return this.atOnce?.batches;
  }

  /** recvmmsg calls made by readInBatches' reader, and the datagrams they read (undefined: not reading in batches). */
  get batchedReads(): { reads: number; datagrams: number } | undefined {
    return this.batched ? { ...this.batched.counts } : undefined;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.batched?.close();
    this.batched = undefined;
    this.atOnce?.reader.close();
    this.atOnce = undefined;
    this.raw.close();
    // The error made only for requests left waiting: most closes leave none.
    if (this.pending.size) this.failAll(new NetlinkError(ESHUTDOWN(), 'the netlink socket was closed'));
  }

  private nextSeq(): number {
    this.seq = followingSeq(this.seq);
    return this.seq;
  }

  /** Sends one request and waits for its ACK; returns the replies (e.g. with NLM_F_ECHO or a GET). */
  async request(req: GenlRequest, op?: NetlinkOperation): Promise<NetlinkMessage[]> {
    const [result] = await this.batch([req], { ops: op ? [op] : [] });
    if (result!.error) throw result!.error;
    return result!.replies;
  }

  /**
   * Sends several requests in one sendmsg. Only the last asks for an ACK: netlink handles a
   * datagram's messages in order, so that ACK means every earlier one is done, and an error
   * comes back for any that failed. Resolves with one result per request, in order.
   */
  batch(reqs: readonly GenlRequest[], options: { ops?: readonly (NetlinkOperation | undefined)[] } = {}): Promise<RequestResult[]> {
    for (let i = 0; i < reqs.length; i++) appendGenlRequest(this.out, reqs[i]!, 0, NLM_F_REQUEST);
    return this.batchMessages(this.takeOut(), reqs.length, options);
  }

  /**
   * batch() of `count` requests laid out already, back to back in `messages`, as whole
   * netlink messages (appendGenlRequest's layout, NLM_F_REQUEST set): each gets its
   * sequence number here, and the last NLM_F_ACK. The binding may hold on to `messages`
   * until the kernel has taken them: the caller must not write to it again.
   */
  async batchMessages(messages: Buffer, count: number, options: { ops?: readonly (NetlinkOperation | undefined)[] } = {}): Promise<RequestResult[]> {
    return everyResult(await this.sendMessages(messages, count, options.ops ?? []), count);
  }

  /**
   * batchMessages() for requests that mostly just succeed (a bulk load's): resolves with
   * results only for the requests that got replies or an error, in order, each with its
   * index, so that a batch makes no object per request.
   */
  sendMessages(messages: Buffer, count: number, ops: readonly (NetlinkOperation | undefined)[]): Promise<IndexedResult[]> {
    return this.sendBatch(messages, count, ops, false);
  }

  /**
   * sendMessages() of requests the kernel answers before their sendmsg returns (not
   * dumps), without waiting for the event loop: on a socket prepared by sendsAtOnce(),
   * the batch goes out in a send(2) made here and its answers are read at once with
   * recvmmsg, up to its ACK, so the promise is settled when it is returned. Nothing is
   * then left to do for the batch after its sendmsg (the controller's puts and executes:
   * under emulation, reading the ACK later through the binding delayed the executed
   * packet's delivery to another CPU). Where it cannot (not prepared, other requests'
   * answers awaited, inside a read of this socket's), as sendMessages().
   */
  sendMessagesAtOnce(messages: Buffer, count: number, ops: readonly (NetlinkOperation | undefined)[]): Promise<IndexedResult[]> {
    return this.sendBatch(messages, count, ops, true);
  }

  private sendBatch(messages: Buffer, count: number, ops: readonly (NetlinkOperation | undefined)[], atOnce: boolean): Promise<IndexedResult[]> {
    if (count === 0) return Promise.resolve([]);
    // Before the refusals budget, which asks the binding (a closed one throws).
    if (this.closed) return Promise.reject(closedSocketError());
    if (this.refusalsMayOverflow(messages, count)) return this.sendInParts(messages, count, ops, this.refusalsBudget, atOnce);
    // A batch's numbers do not wrap (0 marks what answers no request of ours): request i
    // of the batch is its first number + i, which its answers are told apart by.
    if (this.seq + count > 0xffffffff) this.seq = 0;
    const firstSeq = this.seq + 1;
    this.seq = numberMessages(messages, count, this.seq);
    return this.send(messages, firstSeq, this.seq, ops, {}, atOnce);
  }

  /**
   * sendMessages() of a batch whose refusals could overflow the receive buffer: as parts
   * whose refusals could not, each answered before the next is sent; results as for the
   * whole batch.
   */
  private async sendInParts(messages: Buffer, count: number, ops: readonly (NetlinkOperation | undefined)[], budget: number, atOnce: boolean): Promise<IndexedResult[]> {
    const d = new DataView(messages.buffer, messages.byteOffset, messages.length);
    const results: IndexedResult[] = [];
    const sendPart = async (first: number, end: number, from: number, to: number): Promise<void> => {
      for (const r of await this.sendBatch(messages.subarray(from, to), end - first, ops.slice(first, end), atOnce)) {
        r.index += first;
        results.push(r);
      }
    };
    /** The part's first message: its index and byte offset. */
    let first = 0;
    let from = 0;
    let off = 0;
    for (let i = 0; i < count; i++) {
      const next = off + align4(d.getUint32(off, le));
      if (i > first && refusalsRoom(next - from, i + 1 - first) >= budget) {
        await sendPart(first, i, from, off);
        first = i;
        from = off;
      }
      off = next;
    }
    await sendPart(first, count, from, off);
    return results;
  }

  /** The sequence number the next request sent takes (sendNumbered's first). */
  get nextSequence(): number {
    return followingSeq(this.seq);
  }

  /**
   * sendMessages() of requests numbered as they were laid out: message i carries sequence
   * number nextSequence + i (from when they are sent), and the last one, at byte `lastAt`,
   * is given NLM_F_ACK here. A bulk load's requests then take no pass over them to be
   * numbered (numberMessages, which V8 compiled for it alone). Requests numbered otherwise
   * (the first's number not nextSequence: another send came first), whose numbers would
   * wrap, or whose refusals could overflow the receive buffer go through sendMessages.
   */
  sendNumbered(messages: Buffer, count: number, lastAt: number, ops: readonly (NetlinkOperation | undefined)[]): Promise<IndexedResult[]> {
    if (count === 0 || this.closed) return this.sendMessages(messages, count, ops);
    const firstSeq = followingSeq(this.seq);
    const lastSeq = (firstSeq + count - 1) >>> 0;
    const d = new DataView(messages.buffer, messages.byteOffset, messages.length);
    // nlmsghdr: u32 length, u16 type, u16 flags, u32 seq (host order).
    // (A caller that cuts its batches by refusalsBudget may still pass it by its last request.)
    if (lastSeq < firstSeq || d.getUint32(8, le) !== firstSeq || this.refusalsMayOverflow(messages, count)) {
      return this.sendMessages(messages, count, ops);
    }
    d.setUint16(lastAt + 6, d.getUint16(lastAt + 6, le) | NLM_F_ACK, le);
    this.seq = lastSeq;
    return this.send(messages, firstSeq, lastSeq, ops);
  }

  /**
   * The requests built in `out`, as a buffer of their own (the binding may hold on to it
   * until the kernel takes it); `out` is emptied for the next batch.
   */
  private takeOut(): Buffer {
    const buf = Buffer.from(this.out.bytes());
    this.out.truncate();
    if (this.out.buffer.length > SEND_BUFFER_KEEP) this.out = new MessageBuilder(1 << 16);
    return buf;
  }

  /**
   * Streams the replies of a dump. Throws DumpInterruptedError at the end if the kernel
   * flagged NLM_F_DUMP_INTR on any part (the caller decides whether to retry).
   */
  async *dump(req: GenlRequest, op?: NetlinkOperation): AsyncGenerator<NetlinkMessage> {
    for await (const batch of this.dumpBatches(req, op)) {
      for (const msg of batch) yield msg;
    }
  }

  /**
   * dump(), in batches: every reply that has arrived when the consumer asks for more (a
   * datagram's worth or more). A big dump then costs one turn of async iteration per
   * batch rather than per reply, which is most of the time a dump takes otherwise.
   */
  dumpBatches(req: GenlRequest, op?: NetlinkOperation): AsyncGenerator<NetlinkMessage[]> {
    return this.streamDump<NetlinkMessage>(req, op, (take) => ({ onReply: take }));
  }

  /**
   * dumpBatches() for readers of the bytes: each batch's items are byte ranges of whole
   * reply messages (netlink header included, each at a 4-byte boundary of the range, lengths
   * checked), a datagram's where it holds replies only. A big dump then costs no message
   * object and payload view per reply.
   */
  dumpReplyBytes(req: GenlRequest, op?: NetlinkOperation): AsyncGenerator<Buffer[]> {
    return this.streamDump<Buffer>(req, op, (take) => ({ onReplyBytes: (bytes, flags) => take([bytes], flags) }));
  }

  private async *streamDump<T>(
    req: GenlRequest, op: NetlinkOperation | undefined,
    handlers: (take: (items: T[], flags: number) => void) => Pick<Pending, 'onReply' | 'onReplyBytes'>,
  ): AsyncGenerator<T[]> {
    // The kernel runs one dump per socket at a time (a second one gets EBUSY): queue them.
    // The turn passes on when the kernel has finished, even if the consumer stopped early.
    const previous = this.dumpTurn;
    let release!: () => void;
    this.dumpTurn = new Promise<void>((r) => { release = r; });
    await previous;
    let queue: T[] = [];
    let wake: (() => void) | undefined;
    let finished = false;
    let failure: Error | undefined;
    let interrupted = false;
    const seq = this.nextSeq();
    let buf: Buffer;
    try {
      appendGenlRequest(this.out, req, seq, NLM_F_REQUEST | NLM_F_DUMP);
      buf = this.takeOut();
    } catch (err) {
      release();
      throw err;
    }
    this.send(buf, seq, seq, op ? [op] : [], handlers((items, flags) => {
      if (flags & NLM_F_DUMP_INTR) interrupted = true;
      if (queue.length) for (const item of items) queue.push(item);
      else queue = items;
      wake?.();
    })).then(
      (results) => { failure = results[0]?.error; },
      (err: Error) => { failure = err; },
    ).finally(() => {
      finished = true;
      release();
      wake?.();
    });
    for (;;) {
      if (queue.length) {
        const ready = queue;
        queue = [];
        yield ready;
        continue;
      }
      if (finished) break;
      await new Promise<void>((r) => { wake = r; });
      wake = undefined;
    }
    if (failure) throw failure;
    if (interrupted) throw new DumpInterruptedError(op);
  }

  private send(
    buf: Buffer, firstSeq: number, lastSeq: number,
    ops: readonly (NetlinkOperation | undefined)[], handlers: Pick<Pending, 'onReply' | 'onReplyBytes'> = {}, atOnce = false,
  ): Promise<IndexedResult[]> {
    return new Promise<IndexedResult[]>((resolve, reject) => {
      // Every way in (a batch, a dump) fails here alike on a closed socket, not with the
      // binding's plain Error.
      if (this.closed) {
        reject(closedSocketError());
        return;
      }
      // `ops` is kept as given: nothing writes to it.
      const pending: Pending = { firstSeq, lastSeq, results: [], ops, resolve, reject };
      if (handlers.onReply) pending.onReply = handlers.onReply;
      if (handlers.onReplyBytes) pending.onReplyBytes = handlers.onReplyBytes;
      this.pending.set(lastSeq, pending);
      this.raw.ref();
      if (atOnce && this.sentHere(buf, pending)) return;
      this.raw.send(buf, {}, (err) => {
        if (err) this.finish(pending, new NetlinkError(err.errno > 0 ? err.errno : -err.errno, `sendmsg failed: ${err.message}`, { cause: err }));
      });
    });
  }

  /**
   * sendMessagesAtOnce()'s send: `buf` in a send(2) made here, then the socket read with
   * recvmmsg up to `p`'s ACK (the kernel queues a generic netlink request's answers before
   * its sendmsg returns), each datagram handed over as the binding's reads are; `p` is
   * settled then, unless its answers were lost (the binding's reads go on for it). False,
   * nothing sent, where it cannot: not prepared; another request awaited (its answers
   * would be read here, and the binding may hold requests it has not sent: they go first);
   * inside a read of this socket's (the reader's slots are in use).
   */
  private sentHere(buf: Buffer, p: Pending): boolean {
    const at = this.atOnce;
    if (at === undefined || this.pending.size !== 1 || this.draining) return false;
    let sent: number;
    do sent = at.lib.send(at.reader.fd, buf, buf.length, 0);
    while (sent < 0 && at.lib.errno() === EINTR());
    if (sent < 0) {
      const errno = at.lib.errno();
      this.finish(p, new NetlinkError(errno, `sendmsg failed: ${errnoMessage(errno)}`));
      return true;
    }
    at.batches++;
    this.readQueued(at.reader, () => this.pending.get(p.lastSeq) === p);
    return true;
  }

  private finish(p: Pending, err?: Error): void {
    if (!this.pending.delete(p.lastSeq)) return;
    if (this.pending.size === 0 && !this.closed) this.raw.unref();
    if (err) p.reject(err);
    else p.resolve(p.results);
  }

  private findPending(seq: number): Pending | undefined {
    const direct = this.pending.get(seq);
    if (direct) return direct;
    for (const p of this.pending.values()) {
      if (((seq - p.firstSeq) >>> 0) <= ((p.lastSeq - p.firstSeq) >>> 0)) return p;
    }
    return undefined;
  }

  /** A datagram from the binding, then (reading in batches) the ones queued behind it. */
  private received(buf: Buffer): void {
    this.onDatagram(buf);
    if (this.batched === undefined || this.draining || this.closed) return;
    this.readQueued(this.batched, oneDrain);
  }

  /**
   * What is queued on the socket, read by `reader` and handed over datagram by datagram;
   * after a first drain, more while `more()` and datagrams keep coming.
   */
  private readQueued(reader: BatchedReader, more: () => boolean): void {
    this.draining = true;
    try {
      while (reader.drain((b) => this.onDatagram(b), (size) => this.onTruncated(size), () => !this.closed) > 0 && more());
    } catch (err) {
      // The socket's error, as the binding reports one of its reads. ENOBUFS (messages
      // dropped, a socket without NETLINK_NO_ENOBUFS) is cleared by being read: the reader
      // goes on. Anything else: the binding does the reading from now on.
      const errno = (err as { errno?: number }).errno ?? 0;
      if (errno !== ENOBUFS()) this.dropReader(reader);
      this.onSocketError({ errno, code: errnoName(errno), message: (err as Error).message });
    } finally {
      this.draining = false;
    }
  }

  /** A reader that failed: closed, and no longer used for reading in batches or for sends at once. */
  private dropReader(reader: BatchedReader): void {
    reader.close();
    if (this.batched === reader) this.batched = undefined;
    if (this.atOnce?.reader === reader) this.atOnce = undefined;
  }

  private onDatagram(buf: Buffer): void {
    // A socket with nothing pending (an upcall handler's) takes neither shortcut: no word view of each datagram.
    if (this.pending.size !== 0 && (this.acked(buf) || this.bytesHandedOver(buf))) return;
    let msgs: NetlinkMessage[];
    try {
      msgs = parseMessages(buf);
    } catch (err) {
      this.failAll(err as Error);
      return;
    }
    if (this.handedOver(msgs)) return;
    let at = 0;
    for (const msg of msgs) {
      const start = at;
      at += align4(NLMSG_HDRLEN + msg.payload.length);
      const p = msg.seq === 0 ? undefined : this.findPending(msg.seq);
      if (!p) {
        if (msg.type !== NLMSG_ERROR && msg.type !== NLMSG_DONE) this.emit('notification', msg);
        continue;
      }
      const index = (msg.seq - p.firstSeq) >>> 0;
      if (msg.type === NLMSG_ERROR) {
        const errno = errorCode(msg);
        if (errno !== 0) answerOf(p, index).error = this.kernelError(errno, p.ops[index]);
        if (msg.seq === p.lastSeq) this.finish(p);
      } else if (msg.type === NLMSG_DONE) {
        // A dump's end; its payload may carry an error code.
        if (msg.payload.length >= 4) {
          const errno = errorCode(msg);
          if (errno !== 0) answerOf(p, index).error = this.kernelError(errno, p.ops[index]);
        }
        this.finish(p);
      } else if (msg.type === NLMSG_OVERRUN) {
        this.finish(p, overrunError(p.ops[index]));
      } else if (p.onReplyBytes) p.onReplyBytes(buf.subarray(start, start + NLMSG_HDRLEN + msg.payload.length), msg.flags);
      else if (p.onReply) p.onReply([msg], msg.flags);
      else answerOf(p, index).replies.push(msg);
    }
  }

  /**
   * A dump's datagram of replies only (a big dump's are, but for the last): handed to the
   * dump at once, without the per-message work of onDatagram.
   */
  private handedOver(msgs: NetlinkMessage[]): boolean {
    const seq = msgs.length ? msgs[0]!.seq : 0;
    const p = seq === 0 ? undefined : this.pending.get(seq);
    if (!p?.onReply) return false;
    let flags = 0;
    for (const msg of msgs) {
      if (msg.seq !== seq || msg.type === NLMSG_ERROR || msg.type === NLMSG_DONE || msg.type === NLMSG_OVERRUN) return false;
      flags |= msg.flags;
    }
    p.onReply(msgs, flags);
    return true;
  }

  /**
   * A datagram that is one ACK of the last request of a pending batch (what a bulk load
   * gets for each of its batches): the batch is finished as onDatagram's loop would, without
   * parsing the datagram into a message. Read as onDatagram's bytesHandedOver reads headers.
   */
  private acked(buf: Buffer): boolean {
    if (buf.length < NLMSG_HDRLEN + 4 || (buf.byteOffset & 3) !== 0) return false;
    const w = new Uint32Array(buf.buffer, buf.byteOffset, 5);
    const type = le ? w[1]! & 0xffff : w[1]! >>> 16;
    if (type !== NLMSG_ERROR || w[4] !== 0 || w[0]! < NLMSG_HDRLEN + 4 || align4(w[0]!) !== buf.length) return false;
    const p = w[2] === 0 ? undefined : this.pending.get(w[2]!);
    if (!p) return false;
    this.finish(p);
    return true;
  }

  /**
   * handedOver() for a dump read as bytes (dumpReplyBytes): the datagram itself, no message
   * made. Its headers are read as 32-bit words of host order (len; type and flags; seq), a
   * typed array load each: DataView or Buffer reads are calls, and this runs unoptimized
   * (a few hundred datagrams a dump). Anything else (a malformed length, a datagram not
   * 4-byte aligned in memory) is left to parseMessages and onDatagram's loop.
   */
  private bytesHandedOver(buf: Buffer): boolean {
    const end = buf.length;
    if (end < NLMSG_HDRLEN || (buf.byteOffset & 3) !== 0) return false;
    const w = new Uint32Array(buf.buffer, buf.byteOffset, end >> 2);
    const seq = w[2]!;
    const p = seq === 0 ? undefined : this.pending.get(seq);
    if (!p?.onReplyBytes) return false;
    let flags = 0;
    let off = 0;
    while (off + NLMSG_HDRLEN <= end) {
      const i = off >> 2;
      const len = w[i]!;
      const typeFlags = w[i + 1]!;
      const type = le ? typeFlags & 0xffff : typeFlags >>> 16;
      if (len < NLMSG_HDRLEN || off + len > end || w[i + 2] !== seq) return false;
      if (type === NLMSG_ERROR || type === NLMSG_DONE || type === NLMSG_OVERRUN) return false;
      flags |= le ? typeFlags >>> 16 : typeFlags & 0xffff;
      off += (len + 3) & ~3;
    }
    p.onReplyBytes(buf, flags);
    return true;
  }

  /** A datagram larger than the read buffer: its messages are lost. */
  private onTruncated(size: number): void {
    const e = new NetlinkError(EMSGSIZE(), `a ${size}-byte netlink message did not fit the ${this.maxDatagram}-byte read buffer and was lost (maxDatagramSize)`);
    this.failAll(e);
    this.emit('overrun', e);
  }

  private kernelError(errno: number, op: NetlinkOperation | undefined): NetlinkError {
    const what = op ? `${op.family} ${op.command}` : 'request';
    return withoutStacks(() => new NetlinkError(errno, `${what} failed: ${errnoMessage(errno)}`, op ? { operation: op } : {}));
  }

  private onSocketError(err: { errno: number; code: string; message: string }): void {
    const errno = Math.abs(err.errno);
    if (errno === ENOBUFS()) {
      // Replies were lost: no pending request can be trusted to complete.
      const e = overrunError();
      this.failAll(e);
      this.emit('overrun', e);
      return;
    }
    this.failAll(new NetlinkError(errno, `netlink socket error: ${err.message}`, { cause: err }));
  }

  private failAll(err: Error): void {
    for (const p of [...this.pending.values()]) this.finish(p, err);
  }
}

/** strerror() text for the errnos netlink users meet; the name for the rest. */
export function errnoMessage(errno: number): string {
  const texts: Record<string, string> = {
    EPERM: 'Operation not permitted', ENOENT: 'No such file or directory', ENODEV: 'No such device',
    EEXIST: 'File exists', EINVAL: 'Invalid argument', ENOMEM: 'Cannot allocate memory',
    EBUSY: 'Device or resource busy', EFBIG: 'File too large', ENOSPC: 'No space left on device',
    EOPNOTSUPP: 'Operation not supported', EAFNOSUPPORT: 'Address family not supported by protocol',
    ENOBUFS: 'No buffer space available', EMSGSIZE: 'Message too long', E2BIG: 'Argument list too long',
    EACCES: 'Permission denied', EBADF: 'Bad file descriptor', EADDRINUSE: 'Address already in use',
    EPROTONOSUPPORT: 'Protocol not supported', ENOTSUP: 'Operation not supported',
  };
  const name = errnoName(errno);
  return texts[name] ?? name;
}
