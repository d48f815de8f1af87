/** The ovsdp library: what `import ... from 'ovsdp'` gives. */
export { NetlinkError, SchemaError } from './nl/errors.js';
export { defineSet, defineStruct, type AttrSet, type AttrSpec, type AttrValues, type UnknownAttr } from './nl/schema.js';
export { encodeAttrs, decodeAttrs, encodeList, decodeList, toJSONValue } from './nl/codec.js';
export { GenlSocket, DumpInterruptedError } from './nl/socket.js';
export type { FamilyInfo, GenlFamilySpec, GenlMessage } from './nl/family.js';
export { datapathFamily, datapathAttrs, DP_FEATURES } from './ovs/datapath.js';
export { flowKeyAttrs, tunnelKeyAttrs, nshKeyAttrs, CT_STATE_FLAGS, FRAG_TYPES } from './ovs/keys.js';
export { actionAttrs, HASH_ALGS } from './ovs/actions.js';
export { flowFamily, flowAttrs, UFID_FLAGS } from './ovs/flow.js';
export { packetFamily, packetAttrs } from './ovs/packet.js';
export { OvsConnection } from './client/connection.js';
export { listOvsFamilies } from './client/families.js';
