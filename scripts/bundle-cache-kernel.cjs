// A stand-in for the netlink package's native binding, for scripts/bundle-cache.cjs: the
// commands run through it at build time execute the same JavaScript as against the kernel
// (socket, family resolution, datapath lookup, flow requests, dumps, printing), so that the
// code cache holds those functions compiled, and no socket is ever opened on the machine
// that builds. It answers as the openvswitch module does, just enough for the commands to
// run: the families ovs_datapath, ovs_vport, ovs_flow; one datapath; flows kept as put and
// dumped back; an ACK (error 0) for every request that asks for one.
'use strict';

const GENL_ID_CTRL = 0x10;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLM_F_MULTI = 0x2;
const NLM_F_ACK = 0x4;
const NLM_F_DUMP = 0x300;
const NLM_F_CAPPED = 0x100;
const CTRL_CMD_NEWFAMILY = 1;
const CTRL_CMD_GETFAMILY = 3;
const CTRL_ATTR_FAMILY_ID = 1;
const CTRL_ATTR_FAMILY_NAME = 2;
const CTRL_ATTR_VERSION = 3;
const CMD_NEW = 1;
const CMD_DEL = 2;
const CMD_GET = 3;
const OVS_DP_ATTR_NAME = 1;
const OVS_FLOW_ATTR_KEY = 1;
/** What the kernel gives back of a flow put: KEY, ACTIONS, MASK, UFID. */
const FLOW_ATTRS_KEPT = new Set([1, 2, 7, 9]);

/** The families by name: their ids (as kernel 6.12 gave them in the test VM) and versions. */
const FAMILIES = { ovs_datapath: [36, 2], ovs_vport: [37, 1], ovs_flow: [38, 1], ovs_packet: [39, 1] };
const DATAPATH_IFINDEX = 5;
/** The flows put so far, by their key's bytes: the attributes the kernel gives back. */
const flows = new Map();

function attr(type, payload) {
  const out = Buffer.alloc((4 + payload.length + 3) & ~3);
  out.writeUInt16LE(4 + payload.length, 0);
  out.writeUInt16LE(type, 2);
  payload.copy(out, 4);
  return out;
}

const u16 = (n) => { const b = Buffer.alloc(2); b.writeUInt16LE(n); return b; };
const u32 = (n) => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };
const string = (s) => Buffer.from(`${s}\0`);

function message(type, flags, seq, pid, payload) {
  const head = Buffer.alloc(16);
  head.writeUInt32LE(16 + payload.length, 0);
  head.writeUInt16LE(type, 4);
  head.writeUInt16LE(flags, 6);
  head.writeUInt32LE(seq, 8);
  head.writeUInt32LE(pid, 12);
  return Buffer.concat([head, payload]);
}

/** A generic netlink message: genlmsghdr, then the family's fixed header and attributes. */
const genl = (type, flags, seq, pid, cmd, version, rest) => message(type, flags, seq, pid, Buffer.concat([Buffer.from([cmd, version, 0, 0]), ...rest]));

/** The attributes of a message's payload after `skip` bytes, as [type, payload] pairs. */
function attrsOf(payload, skip) {
  const out = [];
  for (let at = skip; at + 4 <= payload.length;) {
    const len = payload.readUInt16LE(at);
    out.push([payload.readUInt16LE(at + 2) & 0x3fff, payload.subarray(at + 4, at + len)]);
    at += (len + 3) & ~3;
  }
  return out;
}

/** The flow table's key for ovs_flow attributes (each [type, payload]): their KEY's hex, if any. */
function flowKeyOf(attrs) {
  return attrs.find(([t]) => t === OVS_FLOW_ATTR_KEY)?.[1].toString('hex');
}

/** Keeps a flow as a put of these ovs_flow attributes would. */
function keepFlow(attrs) {
  const key = flowKeyOf(attrs);
  if (key) flows.set(key, attrs.filter(([t]) => FLOW_ATTRS_KEPT.has(t)));
}

class NativeNetlink {
  constructor(_protocol, _msgBuffer, receive) {
    this.receive = receive;
    this.port = 0;
  }

  bind(port) { this.port = port; }
  address() { return { port: this.port }; }
  close() {}
  ref() {}
  unref() {}
  addMembership() {}
  dropMembership() {}
  getRecvBufferSize() { return 4 << 20; }
  getSendBufferSize() { return 4 << 20; }
  setRecvBufferSize() {}
  setSendBufferSize() {}

  send(_port, _groups, datagram, callback) {
    const replies = [];
    for (let at = 0; at + 16 <= datagram.length;) {
      const len = datagram.readUInt32LE(at);
      const request = datagram.subarray(at, at + len);
      at += (len + 3) & ~3;
      const type = request.readUInt16LE(4);
      const flags = request.readUInt16LE(6);
      const seq = request.readUInt32LE(8);
      const answers = this.answer(type, flags, seq, request.subarray(16));
      if (flags & NLM_F_DUMP) answers.push(message(NLMSG_DONE, NLM_F_MULTI, seq, this.port, u32(0)));
      else if (flags & NLM_F_ACK) answers.push(message(NLMSG_ERROR, NLM_F_CAPPED, seq, this.port, Buffer.concat([u32(0), request.subarray(0, 16)])));
      replies.push(...answers);
    }
    // Like the kernel's: after the send, each reply a datagram of its own.
    setImmediate(() => {
      callback(undefined);
      for (const reply of replies) this.receive(reply, {});
    });
  }

  /** The replies to one request, before its ACK or a dump's DONE. */
  answer(type, flags, seq, payload) {
    const cmd = payload[0];
    if (type === GENL_ID_CTRL && cmd === CTRL_CMD_GETFAMILY) {
      const asked = attrsOf(payload, 4).find(([t]) => t === CTRL_ATTR_FAMILY_NAME);
      const names = asked ? [asked[1].toString('latin1').replace(/\0.*$/s, '')] : Object.keys(FAMILIES);
      return names.filter((name) => FAMILIES[name]).map((name) => genl(GENL_ID_CTRL, flags & NLM_F_DUMP ? NLM_F_MULTI : 0, seq, this.port, CTRL_CMD_NEWFAMILY, 2, [
        attr(CTRL_ATTR_FAMILY_ID, u16(FAMILIES[name][0])), attr(CTRL_ATTR_FAMILY_NAME, string(name)), attr(CTRL_ATTR_VERSION, u32(FAMILIES[name][1])),
      ]));
    }
    const [family, version] = Object.values(FAMILIES).find(([id]) => id === type) ?? [];
    const multi = flags & NLM_F_DUMP ? NLM_F_MULTI : 0;
    if (family === FAMILIES.ovs_datapath[0] && cmd === CMD_GET) {
      return [genl(family, multi, seq, this.port, CMD_NEW, version, [u32(DATAPATH_IFINDEX), attr(OVS_DP_ATTR_NAME, string('ovsdp-cache'))])];
    }
    if (family !== FAMILIES.ovs_flow[0]) return [];
    const attrs = attrsOf(payload, 8);
    if (cmd === CMD_NEW) keepFlow(attrs);
    else if (cmd === CMD_DEL) {
      const key = flowKeyOf(attrs);
      if (key) flows.delete(key);
      else flows.clear();
    } else if (cmd === CMD_GET && multi) {
      return [...flows.values()].map((flow) => genl(family, multi, seq, this.port, CMD_NEW, version, [u32(DATAPATH_IFINDEX), ...flow.map(([t, p]) => attr(t, p))]));
    }
    return [];
  }
}

/**
 * The native code of the bundle (dist/bundle/cli.js) as `Native`, a NativeNetlink: returns
 * the require to give the bundle (which hands it over for the binding and node-gyp-build,
 * refuses koffi and takes anything else from `bundleRequire`), and makes process.dlopen,
 * which the bundle loads netlink's prebuilt binding with, hand it over too. No other native
 * module loads.
 */
function standInRequire(bundleRequire, Native) {
  const standIn = (id) => {
    if (id.endsWith('.node')) return { NativeNetlink: Native };
    if (id === 'node-gyp-build') return () => ({ NativeNetlink: Native });
    if (id === 'koffi') throw new Error('no native module but the netlink stand-in');
    return bundleRequire(id);
  };
  standIn.resolve = bundleRequire.resolve;
  process.dlopen = (module, file) => {
    if (!/[\\/]netlink[\\/]prebuilds[\\/]/.test(file)) throw new Error(`no native module but the netlink stand-in (${file})`);
    module.exports = { NativeNetlink: Native };
  };
  return standIn;
}

/**
 * Puts a flow straight into the stand-in's table, from the bytes of an ovs_flow request's
 * attributes: for runs that dump flows without the put path's code coming along.
 */
function putFlowAttrs(bytes) {
  keepFlow(attrsOf(bytes, 0));
}

module.exports = { NativeNetlink, DATAPATH_NAME: 'ovsdp-cache', standInRequire, putFlowAttrs };
