/** Monotonic milliseconds, the clock of a flow's `used` (CLOCK_MONOTONIC, as ovs-dpctl's time_msec()). */
export function monotonicMs(): bigint {
  return process.hrtime.bigint() / 1_000_000n;
}
