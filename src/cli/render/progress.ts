/**
 * A progress line on stderr for long bulk runs, only for a person at a terminal: it
 * appears once a run has taken a while, redraws at most ten times a second, and is wiped
 * before anything else is written to stderr.
 */
import type { CliContext } from '../context.js';
import { isTerminal } from '../stdio.js';

export interface ProgressState {
  /** items handled so far */
  done: number;
  failed: number;
  /** input bytes consumed and the input's size, when known (a file, not a pipe) */
  bytes?: number;
  totalBytes?: number;
}

const BAR_WIDTH = 30;

/** The progress line: a bar when the total is known, the count and rate always. */
export function progressLine(state: ProgressState, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? Math.round((state.done * 1000) / elapsedMs) : 0;
  const counts = `${state.done} done, ${state.failed} failed, ${rate}/s`;
  if (!state.totalBytes || state.bytes === undefined) return counts;
  const fraction = Math.min(1, state.bytes / state.totalBytes);
  const filled = Math.round(fraction * BAR_WIDTH);
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}% ${counts}`;
}

export class Progress {
  private readonly ctx: CliContext;
  private readonly started = Date.now();
  private lastDraw = 0;
  private shown = false;
  /** How long a run goes before the line appears. */
  private readonly delayMs: number;

  /** Off when stderr is no terminal: nothing is drawn, nothing computed. */
  readonly active: boolean;

  constructor(ctx: CliContext, delayMs = 500, active = isTerminal(2)) {
    this.ctx = ctx;
    this.delayMs = delayMs;
    this.active = active;
  }

  update(state: ProgressState): void {
    if (!this.active) return;
    const now = Date.now();
    if (now - this.started < this.delayMs || now - this.lastDraw < 100) return;
    this.lastDraw = now;
    this.shown = true;
    this.ctx.status(progressLine(state, now - this.started));
  }

  /** Wipes the line (before a message, or at the end). */
  clear(): void {
    if (!this.shown) return;
    this.ctx.clearStatus();
    this.shown = false;
  }
}
