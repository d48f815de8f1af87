/**
 * `ovsdp execute [DP] ACTIONS PACKET_HEX [--key KEY] [--probe]`: hand the datapath one packet
 * and the actions to apply to it (OVS_PACKET_CMD_EXECUTE). ovs-dpctl 3.1 has no such
 * command; the syntax of ACTIONS and KEY is its flow-string syntax.
 */
import type { Command } from 'commander';
import { type CliContext, UsageError } from './context.js';
import { checkArgCount, portMaps, splitDatapathArg } from './flow-args.js';

interface ExecuteOptions {
  key?: string;
  probe?: boolean;
}

/** PACKET_HEX: hex digits, with any spaces, colons or dots between bytes, optionally 0x-prefixed. */
export function packetArg(text: string): Buffer {
  const hex = text.replace(/^0x/i, '').replace(/[\s:.]/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(hex)) throw new UsageError(`"${text.length > 40 ? `${text.slice(0, 40)}...` : text}" is not a packet in hex (two digits a byte)`);
  if (hex.length === 0) throw new UsageError('the packet is empty');
  return Buffer.from(hex, 'hex');
}

export function define(program: Command, context: () => CliContext): void {
  program
    .command('execute')
    .description('execute ACTIONS on one packet (given in hex, from its Ethernet header) in DP (DP may be left out when there is only one datapath)')
    .argument('<args...>', '[dp] actions packet_hex, e.g. 2 020000000002020000000001080045...')
    .option('--key <key>', 'packet metadata in flow-key syntax: in_port(1),skb_mark(5),skb_priority(0),recirc_id(0),tunnel(...); the rest is read from the packet')
    .option('--probe', 'a probe: the kernel logs nothing if it refuses')
    .action(async (args: string[], opts: ExecuteOptions) => {
      context();
      checkArgCount('execute', args, 2, 3, '[DP] ACTIONS PACKET_HEX');
      const packet = packetArg(args[args.length - 1]!);
      const { parseActionsText } = await import('../client/flow-text.js');
      const { execute } = await import('../client/packets.js');
      const { OvsConnection } = await import('../client/connection.js');
      const conn = new OvsConnection();
      try {
        const { datapath, rest } = await splitDatapathArg(conn, args.slice(0, -1), 2, 1);
        const ports = await portMaps(conn, datapath);
        const actions = parseActionsText(rest[0]!, { portNumbers: ports.numbers });
        let key;
        if (opts.key !== undefined) {
          const { parseKey } = await import('../ovs/flowstr/keys.js');
          key = parseKey(opts.key, { portNumbers: ports.numbers }).key;
        }
        await execute(conn, { datapath, packet, actions, ...(key ? { key } : {}), ...(opts.probe ? { probe: true } : {}) });
      } finally {
        conn.close();
      }
    });
}
