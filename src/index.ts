/** The ovsdp library: what `import ... from 'ovsdp'` gives. */
export { NetlinkError, SchemaError } from './nl/errors.js';
export { defineSet, defineStruct, type AttrSet, type AttrSpec, type AttrValues, type UnknownAttr } from './nl/schema.js';
export { encodeAttrs, decodeAttrs, encodeList, decodeList, toJSONValue } from './nl/codec.js';
export { GenlSocket, DumpInterruptedError } from './nl/socket.js';
export type { FamilyInfo, GenlFamilySpec, GenlMessage } from './nl/family.js';
export { datapathFamily, datapathAttrs, DP_FEATURES, featureNames, featureBits } from './ovs/datapath.js';
export { vportFamily, vportAttrs, VPORT_TYPES, VportOptionError, type TunnelOptions, type VportTypeName } from './ovs/vport.js';
export { flowKeyAttrs, tunnelKeyAttrs, nshKeyAttrs, CT_STATE_FLAGS, FRAG_TYPES } from './ovs/keys.js';
export { actionAttrs, HASH_ALGS } from './ovs/actions.js';
export { parseActions, formatActions, type ParseActionsOptions, type FormatActionsOptions } from './ovs/flowstr/actions.js';
export { FlowParseError } from './ovs/flowstr/scanner.js';
export { flowFamily, flowAttrs, UFID_FLAGS } from './ovs/flow.js';
export { packetFamily, packetAttrs } from './ovs/packet.js';
export { ctLimitFamily, ctLimitAttrs } from './ovs/ct-limit.js';
export { getCtLimits, setCtLimits, deleteCtLimits, type CtLimits, type CtLimitChanges, type ZoneLimit } from './client/ct-limits.js';
export { OvsConnection } from './client/connection.js';
export { listOvsFamilies } from './client/families.js';
export {
  listDatapaths, getDatapath, createDatapath, deleteDatapath, setDatapath,
  type Datapath, type DatapathRef, type CreateDatapathOptions, type DatapathChanges,
} from './client/datapaths.js';
export {
  listVports, getVport, addVport, deleteVport, setVport, setLinkUp,
  type Vport, type VportStats, type PortRef, type AddVportOptions, type VportChanges,
} from './client/vports.js';
export { Monitor, type MonitorEvent, type MonitorKind, type MonitorOptions } from './client/monitor.js';
export {
  FlowTable, flowFromMessage, flowPayloads, explainFlowError,
  type Flow, type FlowSpec, type FlowTarget, type FlowKey, type FlowActions, type FlowStats, type FlowOp,
  type PutMode, type PutOptions, type BulkOptions, type BulkResult, type FlowTableOptions,
} from './client/flows.js';
export {
  parseFlowMatch, parseFlowText, parseActionsText, formatFlowLine, formatFlowMatch, formatFlowStats,
  type FlowTextOptions, type FlowFormatOptions,
} from './client/flow-text.js';
export { FlowCheckError, checkFlowActions, checkFlowMatch } from './ovs/flow-check.js';
export { KernelLog, type KernelLogRecord } from './client/kernel-log.js';
export {
  UpcallListener, UpcallsTakenError, decodeUpcall, type Upcall, type UpcallStats, type UpcallListenerOptions, type DispatchMode, type FeatureChange,
} from './client/upcalls.js';
export { execute, executeMany, type ExecuteSpec, type ExecuteManyResult } from './client/packets.js';
export { summarizePacket } from './ovs/packet-summary.js';
export {
  Controller, megaflowUfid, type ControllerOptions, type ControllerStats, type InstalledFlow, type ReloadResult,
} from './client/controller.js';
export { parseRules, RuleParseError, DEFAULT_PRIORITY, type Rule, type RuleAction, type MatchEntry } from './ovs/openflow/rules.js';
export { Pipeline, RecircIds, type Translation, type RecircTarget } from './ovs/openflow/pipeline.js';
export { traceKey, upcallKey, parseCtState, TraceInputError, type Trace, type TracePass, type Recirculation } from './ovs/openflow/trace.js';
