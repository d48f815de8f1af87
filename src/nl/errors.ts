import { builtinModule } from './node-builtins.js';

/**
 * errno name -> number ("ENOENT" -> 2), Node's own table so nothing is hard-coded; node:os
 * is loaded at the first error that needs it, not by every command that meets none (in the
 * test VM ~10-15 ms of a flow command's start-up).
 */
let errnoNumbers: Readonly<Record<string, number>> | undefined;
let errnoNames: Map<number, string> | undefined;

/**
 * Linux errnos Node's table leaves out that a netlink socket gives: ESHUTDOWN is what a
 * request left waiting on a closed socket fails with (else its code would read "E108").
 */
const LINUX_ONLY: Readonly<Record<string, number>> = process.platform === 'linux' ? { ESHUTDOWN: 108 } : {};

function errnoTable(): Readonly<Record<string, number>> {
  return (errnoNumbers ??= { ...LINUX_ONLY, ...builtinModule<typeof import('node:os')>('node:os').constants.errno });
}

export function errnoName(errno: number): string {
  errnoNames ??= new Map(Object.entries(errnoTable()).map(([name, num]) => [num, name]));
  return errnoNames.get(errno) ?? `E${errno}`;
}

/** Whether `err` is the kernel's (or the socket's) refusal with the errno named `name` ("EINVAL"). */
export function isErrno(err: unknown, name: string): err is NetlinkError {
  return err instanceof NetlinkError && errnoName(err.errno) === name;
}

export function errnoNumber(name: string): number | undefined {
  return errnoTable()[name];
}

/** What a request was doing when the kernel refused it. */
export interface NetlinkOperation {
  family: string;
  command: string;
}

/**
 * What `make` returns, with no stack trace captured for the errors it makes. V8 records the
 * stack of every Error when it is made, which costs more than the rest of making it (in the
 * test VM, re-adding 20,000 existing flows spent over half its time there). Errors made
 * this way are data, not exceptions to trace: a kernel's answer to one request of a batch
 * (its stack would be the datagram handler's frames, the same for all) or a bulk run's
 * refused lines, each reported as a line of text. Where Error.stackTraceLimit cannot be
 * changed (frozen intrinsics), errors get their stacks as usual.
 */
export function withoutStacks<T>(make: () => T): T {
  const limit = Error.stackTraceLimit;
  if (!Object.getOwnPropertyDescriptor(Error, 'stackTraceLimit')?.writable) return make();
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/**
 * A request the kernel answered with an error (or a socket error such as ENOBUFS).
 * `message` is written for a person; `errno`/`code` are for programs.
 */
export class NetlinkError extends Error {
  override readonly name = 'NetlinkError';
  readonly errno: number;
  readonly code: string;
  readonly operation: NetlinkOperation | undefined;
  /** Extra explanation, e.g. the reason the openvswitch module wrote to the kernel log. */
  readonly reason: string | undefined;

  constructor(
    errno: number,
    message: string,
    options: { operation?: NetlinkOperation; reason?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.errno = errno;
    this.code = errnoName(errno);
    this.operation = options.operation;
    this.reason = options.reason;
  }
}

/**
 * Bytes that do not fit the schema they are decoded with, or a value that cannot be
 * encoded. `path` names the attribute, e.g. "actions[2].ct.nat.ip_min".
 */
export class SchemaError extends Error {
  override readonly name = 'SchemaError';
  readonly path: string;
  readonly detail: string;
  constructor(path: string, detail: string) {
    super(path ? `${path}: ${detail}` : detail);
    this.path = path;
    this.detail = detail;
  }
}

/** A netlink message that is malformed at the message level (header, length). */
export class MessageError extends Error {
  override readonly name = 'MessageError';
}
