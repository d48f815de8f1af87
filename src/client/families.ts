import type { FamilyInfo } from '../nl/family.js';
import { OvsConnection } from './connection.js';

/** The generic netlink families the openvswitch module registered (or all, with `all`). */
export async function listOvsFamilies(options: { all?: boolean } = {}): Promise<FamilyInfo[]> {
  const conn = new OvsConnection();
  try {
    const all = await conn.families();
    const wanted = options.all ? all : all.filter((f) => f.name.startsWith('ovs_'));
    return wanted.sort((a, b) => a.id - b.id);
  } finally {
    conn.close();
  }
}
