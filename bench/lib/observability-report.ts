/**
 * The "cost of observability" table: rpc-load-balancer with the OpenTelemetry integration and
 * with the Prometheus collector against plain rpc-load-balancer, in the same passes of one run.
 * Calls/s ratios are paired pass by pass; CPU per call is read per process.
 */
import type { Analysis, BenchResults } from './analyze.js';
import { OBSERVED_SYSTEMS, type RunResult, SYSTEM_CASES, SYSTEM_LABELS } from './protocol.js';
import { type Summary, summarize } from './stats.js';

const fmt = (n: number) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: n >= 100 ? 0 : n >= 10 ? 1 : 2 })
    : '–';
const spread = (s: Summary | undefined) =>
  s && s.n > 0 ? `${fmt(s.median)} <sub>${fmt(s.min)}–${fmt(s.max)}</sub>` : '–';
const perSec = (r: RunResult) => r.calls / (r.elapsedMs / 1000);

/** Throughput of `system` ÷ plain rpclb's, pass by pass, in case `caseId`. */
function pairedRatio(results: BenchResults, caseId: string, system: string): Summary | undefined {
  const base = new Map<number, RunResult>();
  for (const m of results.measurements) {
    if (m.caseId === caseId && m.system === 'rpclb' && m.result) base.set(m.pass, m.result);
  }
  const ratios: number[] = [];
  for (const m of results.measurements) {
    if (m.caseId !== caseId || m.system !== system || !m.result) continue;
    const b = base.get(m.pass);
    if (b) ratios.push(perSec(m.result) / perSec(b));
  }
  return ratios.length > 0 ? summarize(ratios) : undefined;
}

/** The table (Markdown), or a line saying why there is none. */
export function observabilityTable(results: BenchResults, analysis: Analysis): string {
  const observed = results.systems.filter((s) => OBSERVED_SYSTEMS.includes(s));
  if (observed.length === 0) return '_Not measured in this run._';
  const caseIds = [...new Set(observed.flatMap((s) => SYSTEM_CASES[s] ?? []))];
  const head = [
    'case',
    'system',
    'calls/s',
    'vs rpclb',
    'CPU µs/call (client + servers)',
    'extra CPU µs/call',
  ];
  const rows: string[][] = [];
  for (const caseId of caseIds) {
    const title = results.cases.find((c) => c.id === caseId)?.title ?? caseId;
    const base = analysis.get(caseId)?.get('rpclb');
    const cpu = (s?: { clientCpu?: Summary; serverCpu?: Summary }) =>
      (s?.clientCpu?.median ?? Number.NaN) + (s?.serverCpu?.median ?? Number.NaN);
    for (const system of ['rpclb' as const, ...observed]) {
      const cell = analysis.get(caseId)?.get(system);
      if (!cell || cell.throughput.n === 0) continue;
      const ratio = system === 'rpclb' ? undefined : pairedRatio(results, caseId, system);
      rows.push([
        title,
        SYSTEM_LABELS[system],
        spread(cell.throughput),
        system === 'rpclb'
          ? '1.00×'
          : ratio
            ? `${ratio.median.toFixed(2)}× <sub>${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)}</sub>`
            : '–',
        `${fmt(cell.clientCpu?.median ?? Number.NaN)} + ${fmt(cell.serverCpu?.median ?? Number.NaN)}`,
        system === 'rpclb' ? '–' : `+${fmt(cpu(cell) - cpu(base))}`,
      ]);
    }
  }
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}
