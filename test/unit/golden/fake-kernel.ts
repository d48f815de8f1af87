/**
 * A stand-in for the kernel, so the library's own request code (createDatapath, addVport,
 * FlowTable.put, ...) can run on the host and the bytes it would send be compared with
 * the golden fixtures. It takes the place of the GenlSocket under an OvsConnection,
 * records every request as the socket would write it (NLM_F_REQUEST, plus NLM_F_ACK on a
 * request and NLM_F_DUMP on a dump, as src/nl/socket.ts adds them) and answers the way
 * kernel 6.12 answered ovs-dpctl in the VM, just enough for the library to go on:
 *  - nlctrl GETFAMILY: the family's id as the fixtures recorded it;
 *  - a datapath NEW or SET asking for a feature the kernel lacks (bit 31, ovs-dpctl's
 *    probe): EOPNOTSUPP; otherwise the datapath (name, ifindex, features);
 *  - a datapath GET: the datapath with the features add-dp left it with (0xd);
 *  - a vport request: the port (the request's attributes, with a port number);
 *  - dumps: nothing; flow requests: only the ACK.
 */
import { decodeGenlMessage, ctrlFamily, genlRequest, type GenlFamilySpec } from '../../../src/nl/family.js';
import { NetlinkError, errnoNumber } from '../../../src/nl/errors.js';
import {
  GENL_ID_CTRL, type GenlRequest, type NetlinkMessage, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, encodeGenlRequest, parseMessages,
} from '../../../src/nl/message.js';
import type { AttrValues } from '../../../src/nl/schema.js';
import { OvsConnection } from '../../../src/client/connection.js';
import { DP_FEATURE_PROBE, datapathFamily } from '../../../src/ovs/datapath.js';
import { ctLimitFamily } from '../../../src/ovs/ct-limit.js';
import { vportFamily } from '../../../src/ovs/vport.js';
import { flowFamily } from '../../../src/ovs/flow.js';
import { packetFamily } from '../../../src/ovs/packet.js';

const SPECS: readonly GenlFamilySpec[] = [datapathFamily, vportFamily, flowFamily, packetFamily, ctLimitFamily];

/** The features kernel 6.12 reported after ovs-dpctl's add-dp: unaligned, tc_recirc_sharing, per-cpu dispatch. */
const NEGOTIATED_FEATURES = 0xd;

export interface FakeKernelOptions {
  /** Generic netlink family ids by name (ovs_datapath: 36, ...). */
  familyIds: Readonly<Record<string, number>>;
  /** The ifindex of the datapath the library works on. */
  dpIfindex: number;
}

export class FakeKernel {
  /** Every request but nlctrl's, as the socket would have written it (seq 0). */
  readonly sent: Buffer[] = [];
  private readonly ids: Readonly<Record<string, number>>;
  private readonly dpIfindex: number;

  constructor(options: FakeKernelOptions) {
    this.ids = options.familyIds;
    this.dpIfindex = options.dpIfindex;
  }

  /** An OvsConnection whose socket is this fake (no real socket is opened). */
  connection(): OvsConnection {
    const socket = {
      portId: 0,
      request: async (req: GenlRequest): Promise<NetlinkMessage[]> => this.answer(this.record(req, NLM_F_ACK)),
      batch: async (reqs: readonly GenlRequest[]) => reqs.map((req, i) => {
        try {
          return { replies: this.answer(this.record(req, i === reqs.length - 1 ? NLM_F_ACK : 0)) };
        } catch (error) {
          return { replies: [], error: error as NetlinkError };
        }
      }),
      dumpBatches: async function* (this: FakeKernel, req: GenlRequest): AsyncGenerator<NetlinkMessage[]> {
        this.record(req, NLM_F_DUMP);
      }.bind(this),
      close: () => undefined,
    };
    return Object.assign(Object.create(OvsConnection.prototype) as OvsConnection, { socket });
  }

  private record(req: GenlRequest, extraFlags: number): NetlinkMessage {
    const bytes = encodeGenlRequest({ ...req, flags: req.flags | NLM_F_REQUEST | extraFlags }, 0);
    if (req.family !== GENL_ID_CTRL) this.sent.push(bytes);
    return parseMessages(bytes)[0]!;
  }

  private reply(spec: GenlFamilySpec, command: string, header: Record<string, unknown>, attrs: AttrValues): NetlinkMessage {
    const id = spec === ctrlFamily ? GENL_ID_CTRL : this.ids[spec.name]!;
    return parseMessages(encodeGenlRequest(genlRequest(spec, id, command, { header, attrs }), 0))[0]!;
  }

  private answer(msg: NetlinkMessage): NetlinkMessage[] {
    if (msg.type === GENL_ID_CTRL) {
      const name = decodeGenlMessage(ctrlFamily, msg).attrs['family_name'] as string;
      const id = this.ids[name];
      if (id === undefined) throw new NetlinkError(errnoNumber('ENOENT')!, `no family ${name}`);
      return [this.reply(ctrlFamily, 'newfamily', {}, { family_id: id, family_name: name, version: 1 })];
    }
    const spec = SPECS.find((s) => this.ids[s.name] === msg.type);
    if (!spec) throw new Error(`the fake kernel has no family with id ${msg.type}`);
    const { cmd, attrs } = decodeGenlMessage(spec, msg);
    const header = { dp_ifindex: this.dpIfindex };
    if (spec === datapathFamily) {
      const features = attrs['user_features'] as number | undefined;
      if (features !== undefined && features & DP_FEATURE_PROBE) throw new NetlinkError(errnoNumber('EOPNOTSUPP')!, 'feature not supported');
      if (cmd === 'del') return [];
      return [this.reply(spec, cmd, header, { name: attrs['name'] ?? 'dp', user_features: features ?? NEGOTIATED_FEATURES })];
    }
    if (spec === vportFamily) {
      // Like the kernel, every vport reply (a DEL's included) describes the whole port.
      return [this.reply(spec, cmd, header, { port_no: 1, type: 'netdev', name: 'port', upcall_pid: [0], ...attrs })];
    }
    return [];
  }
}
