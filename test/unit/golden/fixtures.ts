/**
 * The golden fixtures (fixtures/<family>/<case>.hex + .json, captured from ovs-dpctl 3.1
 * in the VM by scripts/capture-fixtures.mjs; see fixtures/README.md), read for the tests.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import type { GenlFamilySpec } from '../../../src/nl/family.js';
import { NLMSG_HDRLEN, GENL_HDRLEN, type NetlinkMessage, parseMessages } from '../../../src/nl/message.js';
import { datapathFamily } from '../../../src/ovs/datapath.js';
import { flowFamily } from '../../../src/ovs/flow.js';
import { packetFamily } from '../../../src/ovs/packet.js';
import { ctLimitFamily } from '../../../src/ovs/ct-limit.js';
import { vportFamily } from '../../../src/ovs/vport.js';

/** One captured message as the .json describes it. */
export interface FixtureMessage {
  cmd: string;
  nlmsg_flags: number;
  dp_ifindex: number;
  /** Our decoder's view of the attributes (toJSONValue)... */
  attrs?: unknown;
  /** ...or the error it gives for them. */
  decode_error?: string;
}

/** What a fixture's .json says. */
export interface FixtureJson {
  /** The ovs-dpctl command line that was captured. */
  command: string;
  /** Commands run before it (not captured): the case's own, and its section's. */
  setup?: string[];
  section_setup?: string[];
  captured_with: string;
  family: string;
  family_id: number;
  /** add-flow's FLOW and ACTIONS arguments (flow cases). */
  flow?: string;
  actions?: string;
  exit_status: number;
  stderr?: string;
  /** A command run right after (e.g. dump-flows), and what it printed. */
  after?: string;
  after_output?: string;
  /** Why our library deliberately sends something else. */
  expected_to_differ?: string;
  messages: FixtureMessage[];
}

export interface Fixture {
  /** "ovs_flow/key-ipv4-tcp" */
  id: string;
  family: string;
  name: string;
  bytes: Buffer;
  messages: NetlinkMessage[];
  json: FixtureJson;
}

export const FAMILY_SPECS: Readonly<Record<string, GenlFamilySpec>> = {
  ovs_datapath: datapathFamily,
  ovs_vport: vportFamily,
  ovs_flow: flowFamily,
  ovs_packet: packetFamily,
  ovs_ct_limit: ctLimitFamily,
};

/** The ports of the capture's flow datapath: `ovs-dpctl add-dp dpf v0` (fixtures/cases.json). */
export const FLOW_DP_PORTS: ReadonlyMap<string, number> = new Map([['dpf', 0], ['v0', 1]]);

// Tests run from dist/test/unit/golden; the fixtures stay in the source tree.
const ROOT = new URL('../../../../fixtures/', import.meta.url);

let cache: Fixture[] | undefined;

/** Every fixture, ordered by family and name. */
export function loadFixtures(): Fixture[] {
  if (cache) return cache;
  cache = [];
  for (const family of Object.keys(FAMILY_SPECS)) {
    const dir = new URL(`${family}/`, ROOT);
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.hex')).sort()) {
      const name = file.slice(0, -'.hex'.length);
      const bytes = Buffer.from(readFileSync(new URL(file, dir), 'utf8').replace(/\s+/g, ''), 'hex');
      const json = JSON.parse(readFileSync(new URL(`${name}.json`, dir), 'utf8')) as FixtureJson;
      cache.push({ id: `${family}/${name}`, family, name, bytes, messages: parseMessages(bytes), json });
    }
  }
  return cache;
}

/** The fixture of that family and name (throws when there is none). */
export function fixture(family: string, name: string): Fixture {
  const f = loadFixtures().find((x) => x.family === family && x.name === name);
  if (!f) throw new Error(`no fixture ${family}/${name}`);
  return f;
}

/**
 * The raw payloads of a message's top-level attributes by type id, read straight from the
 * bytes (independently of the codec under test). `headerSize` is the family's fixed header.
 */
export function rawAttrs(msg: NetlinkMessage, headerSize = 4): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  const p = msg.payload;
  for (let off = GENL_HDRLEN + headerSize; off + 4 <= p.length;) {
    const len = p.readUInt16LE(off);
    if (len < 4) break;
    out.set(p.readUInt16LE(off + 2) & 0x3fff, p.subarray(off + 4, off + len));
    off += (len + 3) & ~3;
  }
  return out;
}

/** A whole message's bytes (header included), given its parsed view into `bytes`. */
export function messageBytes(f: Fixture, msg: NetlinkMessage): Buffer {
  const start = msg.payload.byteOffset - f.bytes.byteOffset - NLMSG_HDRLEN;
  return f.bytes.subarray(start, start + NLMSG_HDRLEN + msg.payload.length);
}
