/** Tables for people: cli-table3 on a terminal, plain aligned columns when piped. */
import Table from 'cli-table3';
import type { CliContext } from '../context.js';

export function renderTable(ctx: CliContext, head: string[], rows: string[][]): string {
  if (!ctx.stdoutIsTTY) {
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
    return [line(head), ...rows.map(line)].join('\n');
  }
  const table = new Table({ head: head.map((h) => ctx.style.bold(h)), style: { head: [], border: [] } });
  table.push(...rows);
  return table.toString();
}
