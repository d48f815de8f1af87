/**
 * Where bulk flow requests are laid out (src/client/flows.ts, flow-shapes.ts), one after
 * the other; each request's bytes are a view of it (no buffer allocated and copied per
 * request). A new one (twice REQUEST_ROOM) is started when less than REQUEST_ROOM is left;
 * an old one lives as long as requests laid out in it do. The first has room for a few
 * dozen requests only, so that the branch that starts one is taken again before V8
 * optimizes its callers (a branch first taken after that would deoptimize them, and
 * recompiling costs more than a short process gains).
 */

/** The room a bulk request may take (a larger one goes the codec's way). */
export const REQUEST_ROOM = 1 << 16;

let arena = Buffer.alloc(0);
let arenaOff = 0;

/** The arena, with at least REQUEST_ROOM bytes free from requestStart() on. */
export function requestArena(): Buffer {
  if (arena.length - arenaOff < REQUEST_ROOM) {
    arena = Buffer.allocUnsafeSlow(arena.length ? 2 * REQUEST_ROOM : REQUEST_ROOM + 8192);
    arenaOff = 0;
  }
  return arena;
}

/** Where the next request starts in requestArena(). */
export function requestStart(): number {
  return arenaOff;
}

/** The request laid out from requestStart() to `end` in requestArena(), as a view; the next starts after it. */
export function requestLaidOut(end: number): Buffer {
  const start = arenaOff;
  arenaOff = end;
  return arena.subarray(start, end);
}
