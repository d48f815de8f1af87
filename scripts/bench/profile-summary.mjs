/**
 * What a V8 CPU profile (node --cpu-prof) spent its time on: self time per function, and
 * per source file (where start-up goes: which modules load and compile).
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** The profiles in `dir`, merged into [name, ms] rows by self time, largest first. */
export function summarizeProfiles(dir, { top = 25, byFile = false } = {}) {
  const self = new Map();
  let total = 0;
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.cpuprofile'))) {
    const p = JSON.parse(readFileSync(path.join(dir, f), 'utf8'));
    const spent = new Map();
    p.samples.forEach((id, i) => spent.set(id, (spent.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
    for (const n of p.nodes) {
      const us = spent.get(n.id) ?? 0;
      total += us;
      const file = n.callFrame.url.replace(/^file:\/\//, '').split('/').slice(-3).join('/');
      const name = byFile ? (file || n.callFrame.functionName || '(native)') : `${n.callFrame.functionName || '(anonymous)'} ${file}:${n.callFrame.lineNumber + 1}`;
      self.set(name, (self.get(name) ?? 0) + us);
    }
  }
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, us]) => [name, us / 1000]);
  return { totalMs: total / 1000, rows };
}

/** The summary as text lines. */
export function formatSummary({ totalMs, rows }) {
  return [`${totalMs.toFixed(0)} ms sampled`, ...rows.map(([name, ms]) => `${ms.toFixed(1).padStart(9)} ms ${((100 * ms) / totalMs).toFixed(1).padStart(5)}%  ${name}`)].join('\n');
}
