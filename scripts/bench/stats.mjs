/** The figures the benchmarks take of repeated measures. */

/** The middle value (the mean of the two middle ones for an even count); NaN for none. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The arithmetic mean; NaN for none. */
export function mean(xs) {
  return xs.reduce((sum, x) => sum + x, 0) / xs.length;
}

/** A measure's median, its spread and how many repetitions it has. */
export function stats(xs) {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}
