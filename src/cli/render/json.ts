import { toJSONValue } from '../../nl/codec.js';

/** Pretty JSON for scripts: bigints as numbers (or strings past 2^53), bytes as hex. */
export function formatJSON(value: unknown): string {
  return JSON.stringify(toJSONValue(value), null, 2);
}
