/** Turns kernel errors into sentences that say what to do. */
import { NetlinkError, errnoName } from '../nl/errors.js';
import { FamilyNotFoundError } from '../nl/family.js';

/** Context for the message: which datapath or port a request named. */
export interface ErrorContext {
  datapath?: string;
  port?: string;
}

/** The same error with a message a person can act on; other errors pass through. */
export function explain(err: unknown, ctx: ErrorContext = {}): unknown {
  if (err instanceof FamilyNotFoundError && err.family.startsWith('ovs_')) {
    return rewrap(err, `the openvswitch kernel module is not loaded (try: modprobe openvswitch)`);
  }
  if (!(err instanceof NetlinkError)) return err;
  switch (errnoName(err.errno)) {
    case 'EPERM':
      return rewrap(err, `${what(err)}needs CAP_NET_ADMIN (run as root)`);
    case 'ENODEV':
    case 'ENOENT':
      if (ctx.port !== undefined) return rewrap(err, `no port named ${ctx.port}${ctx.datapath ? ` in datapath ${ctx.datapath}` : ''}`);
      if (ctx.datapath !== undefined) return rewrap(err, `no datapath named ${ctx.datapath}`);
      return err;
    case 'EEXIST':
      if (ctx.port !== undefined) return rewrap(err, `a port named ${ctx.port} already exists`);
      if (ctx.datapath !== undefined) return rewrap(err, `a datapath named ${ctx.datapath} already exists`);
      return err;
    default:
      return err;
  }
}

function what(err: NetlinkError): string {
  return err.operation ? `${err.operation.family} ${err.operation.command}: ` : '';
}

/** The same kernel error (errno, operation, reason, cause) with a message a person can act on. */
export function rewrap(err: NetlinkError, message: string): NetlinkError {
  const opts: ConstructorParameters<typeof NetlinkError>[2] = { cause: err };
  if (err.operation) opts.operation = err.operation;
  if (err.reason) opts.reason = err.reason;
  return new NetlinkError(err.errno, message, opts);
}
