import { constants as osConstants } from 'node:os';

/** errno number -> name ("ENOENT"), from Node's own table so nothing is hard-coded. */
const errnoNames = new Map<number, string>(
  Object.entries(osConstants.errno).map(([name, num]) => [num, name]),
);

export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

export function errnoNumber(name: string): number | undefined {
  return (osConstants.errno as Record<string, number>)[name];
}

/** What a request was doing when the kernel refused it. */
export interface NetlinkOperation {
  family: string;
  command: string;
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
