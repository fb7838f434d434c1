/** Shared benchmark plumbing: sample statistics, a readable table, and bench/results/<scenario>.json. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Stats {
  count: number;
  median: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
}

export function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;
  return {
    count: sorted.length,
    median: at(0.5),
    p99: at(0.99),
    mean: sorted.reduce((s, v) => s + v, 0) / Math.max(1, sorted.length),
    min: sorted[0] ?? 0,
    max: sorted.at(-1) ?? 0,
  };
}

export interface Row {
  metric: string;
  value: string;
  reference?: string;
  note?: string;
}

export function printTable(title: string, rows: Row[]): void {
  console.log(`\n== ${title} ==`);
  const widths = [
    Math.max(6, ...rows.map((r) => r.metric.length)),
    Math.max(5, ...rows.map((r) => r.value.length)),
    Math.max(9, ...rows.map((r) => (r.reference ?? '').length)),
  ];
  const line = (a: string, b: string, c: string, d: string) =>
    `${a.padEnd(widths[0])}  ${b.padStart(widths[1])}  ${c.padEnd(widths[2])}  ${d}`;
  console.log(line('metric', 'value', 'reference', 'note'));
  for (const r of rows) console.log(line(r.metric, r.value, r.reference ?? '', r.note ?? ''));
}

export function writeResult(scenario: string, result: unknown): string {
  const dir = join(process.cwd(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${scenario}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ scenario, measuredAt: new Date().toISOString(), ...(result as object) }, null, 2)}\n`,
  );
  return file;
}

export const fmt = (n: number, digits = 1) => n.toFixed(digits);
