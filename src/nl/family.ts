/**
 * Generic netlink families described as data, and the generic request/decode glue that
 * works for any of them: resolve the family id once per socket, build a request from a
 * command name and attribute values, decode replies back into values.
 */
import { decodeAttrs, decodeStruct, encodeStruct, unknownAttrsKept } from './codec.js';
import { NetlinkError, SchemaError, errnoNumber, type NetlinkOperation } from './errors.js';
import { type GenlRequest, type NetlinkMessage, GENL_HDRLEN, GENL_ID_CTRL, parseGenlHeader } from './message.js';
import { type AttrSet, type AttrValues, type StructSpec, defineSet, structSize } from './schema.js';
import type { GenlSocket } from './socket.js';

export interface GenlFamilySpec {
  name: string;
  version: number;
  /** The fixed header after the genl header, e.g. struct ovs_header { int dp_ifindex }. */
  fixedHeader?: StructSpec;
  attrs: AttrSet;
  commands: Readonly<Record<string, number>>;
  mcastGroups?: readonly string[];
}

export interface FamilyInfo {
  name: string;
  id: number;
  version: number;
  hdrsize: number;
  maxattr: number;
  groups: { name: string; id: number }[];
}

/** A decoded generic netlink message of a family. */
export interface GenlMessage {
  cmd: string;
  cmdId: number;
  version: number;
  header: Record<string, unknown>;
  attrs: AttrValues;
  /**
   * Whether decoding kept an unknown attribute ("#<type>") anywhere in the attributes:
   * false lets a reader skip looking for them. Absent when not known (a message made by hand).
   */
  unknownKept?: boolean;
}

// ---------------------------------------------------------------- nlctrl

const ctrlOp = defineSet('ctrl-op', [
  { id: 1, name: 'id', type: 'u32' },
  { id: 2, name: 'flags', type: 'u32' },
]);

const ctrlGroup = defineSet('ctrl-mcast-group', [
  { id: 1, name: 'name', type: 'string' },
  { id: 2, name: 'id', type: 'u32' },
]);

export const ctrlFamily: GenlFamilySpec = {
  name: 'nlctrl',
  version: 2,
  attrs: defineSet('ctrl', [
    { id: 1, name: 'family_id', type: 'u16' },
    { id: 2, name: 'family_name', type: 'string' },
    { id: 3, name: 'version', type: 'u32' },
    { id: 4, name: 'hdrsize', type: 'u32' },
    { id: 5, name: 'maxattr', type: 'u32' },
    { id: 6, name: 'ops', type: 'nested', set: ctrlOp, indexed: true },
    { id: 7, name: 'mcast_groups', type: 'nested', set: ctrlGroup, indexed: true },
    { id: 8, name: 'policy', type: 'binary' },
    { id: 9, name: 'op_policy', type: 'binary' },
    { id: 10, name: 'op', type: 'u32' },
  ]),
  commands: { newfamily: 1, delfamily: 2, getfamily: 3 },
};

function familyInfo(attrs: AttrValues): FamilyInfo {
  const groups = (attrs['mcast_groups'] as { name: string; id: number }[] | undefined) ?? [];
  return {
    name: attrs['family_name'] as string,
    id: attrs['family_id'] as number,
    version: (attrs['version'] as number | undefined) ?? 0,
    hdrsize: (attrs['hdrsize'] as number | undefined) ?? 0,
    maxattr: (attrs['maxattr'] as number | undefined) ?? 0,
    groups: groups.map((g) => ({ name: g.name, id: g.id })),
  };
}

const resolved = new WeakMap<GenlSocket, Map<string, Promise<FamilyInfo>>>();

export class FamilyNotFoundError extends NetlinkError {
  readonly family: string;
  constructor(family: string, cause: NetlinkError) {
    super(cause.errno, `generic netlink family "${family}" is not registered in the kernel`, { operation: { family: 'nlctrl', command: 'getfamily' }, cause });
    this.family = family;
  }
}

/** The kernel's id, version and groups of a family; asked once per socket, then cached. */
export function resolveFamily(sock: GenlSocket, name: string): Promise<FamilyInfo> {
  let cache = resolved.get(sock);
  if (!cache) resolved.set(sock, (cache = new Map()));
  let info = cache.get(name);
  if (!info) {
    info = sock
      .request(
        { family: GENL_ID_CTRL, cmd: ctrlFamily.commands['getfamily']!, version: ctrlFamily.version, flags: 0, set: ctrlFamily.attrs, attrs: { family_name: name } },
        { family: 'nlctrl', command: 'getfamily' },
      )
      .then((replies) => familyInfo(decodeGenlMessage(ctrlFamily, replies[0]!).attrs))
      .catch((err: unknown) => {
        cache!.delete(name);
        if (err instanceof NetlinkError && err.errno === errnoNumber('ENOENT')) throw new FamilyNotFoundError(name, err);
        throw err;
      });
    cache.set(name, info);
  }
  return info;
}

/** Every family the kernel has registered (a CTRL_CMD_GETFAMILY dump). */
export async function listFamilies(sock: GenlSocket): Promise<FamilyInfo[]> {
  const out: FamilyInfo[] = [];
  const req: GenlRequest = { family: GENL_ID_CTRL, cmd: ctrlFamily.commands['getfamily']!, version: ctrlFamily.version, flags: 0 };
  for await (const msg of sock.dump(req, { family: 'nlctrl', command: 'getfamily' })) {
    out.push(familyInfo(decodeGenlMessage(ctrlFamily, msg).attrs));
  }
  return out;
}

// ---------------------------------------------------------------- requests and replies

/** Command names by number, per family spec: every decoded message looks its name up. */
const commandNames = new WeakMap<GenlFamilySpec, Map<number, string>>();

/*
 * The family looked up last, its command names and header size: a dump decodes thousands
 * of replies of one family in a row, which then skip the WeakMap lookup and the size sum.
 */
let lastSpec: GenlFamilySpec | undefined;
let lastNames = new Map<number, string>();
let lastHeaderSize = 0;

function rememberFamily(spec: GenlFamilySpec): void {
  if (spec === lastSpec) return;
  let names = commandNames.get(spec);
  if (!names) {
    names = new Map();
    for (const [name, id] of Object.entries(spec.commands)) if (!names.has(id)) names.set(id, name);
    commandNames.set(spec, names);
  }
  lastNames = names;
  lastHeaderSize = spec.fixedHeader ? structSize(spec.fixedHeader) : 0;
  lastSpec = spec;
}

export function commandName(spec: GenlFamilySpec, cmd: number): string {
  rememberFamily(spec);
  return lastNames.get(cmd) ?? `cmd${cmd}`;
}

export function operation(spec: GenlFamilySpec, command: string): NetlinkOperation {
  return { family: spec.name, command };
}

/** A request of family `spec` (whose kernel id is `familyId`) for a named command. */
export function genlRequest(
  spec: GenlFamilySpec, familyId: number, command: string,
  options: { flags?: number; header?: Record<string, unknown>; attrs?: AttrValues } = {},
): GenlRequest {
  const cmd = spec.commands[command];
  if (cmd === undefined) throw new SchemaError(spec.name, `no command "${command}"`);
  const req: GenlRequest = { family: familyId, cmd, version: spec.version, flags: options.flags ?? 0 };
  if (spec.fixedHeader) req.fixedHeader = encodeStruct(spec.fixedHeader, options.header ?? {}, spec.name);
  if (options.attrs) {
    req.set = spec.attrs;
    req.attrs = options.attrs;
  }
  return req;
}

/** Decodes a reply (or notification, or upcall) of family `spec`. */
export function decodeGenlMessage(spec: GenlFamilySpec, msg: NetlinkMessage): GenlMessage {
  rememberFamily(spec);
  const { payload } = msg;
  const { cmd, version } = parseGenlHeader(payload);
  let off = GENL_HDRLEN;
  let header: Record<string, unknown> = {};
  if (spec.fixedHeader) {
    const size = lastHeaderSize;
    if (payload.length < off + size) throw new SchemaError(spec.name, `message of ${payload.length} bytes has no room for its ${size}-byte header`);
    header = decodeStruct(spec.fixedHeader, payload, off);
    off += size;
  }
  const kept = unknownAttrsKept;
  const attrs = decodeAttrs(spec.attrs, payload, off, payload.length, spec.name);
  return { cmd: commandName(spec, cmd), cmdId: cmd, version, header, attrs, unknownKept: unknownAttrsKept !== kept };
}
