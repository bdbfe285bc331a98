/**
 * The "Balancing under faults" chart: one panel per scenario, one row per contender, bar = p99
 * latency with the most callers measured, tick = p99 with the fewest, on a log scale (a tail that
 * reached the timeout is 100× a balanced one). A red mark flags 1 % errors or more.
 */
import type { BalanceMeasurement, BalanceResults } from './results.js';
import { SCENARIOS } from './scenarios.js';
import { FAMILY_LABELS, type Family } from './types.js';

const COLORS: Record<Family, string> = { rpclb: '#54a24b', moleculer: '#f58518', nats: '#7a5195' };
const LABEL_W = 230;
const PANEL_W = 150;
const GAP = 14;
const ROW_H = 17;
const TOP = 92;
const BOTTOM = 40;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));

/** Finds one measurement. */
export function find(
  results: BalanceResults,
  scenario: string,
  callers: number,
  contender: string,
): BalanceMeasurement | undefined {
  return results.measurements.find(
    (m) => m.scenario === scenario && m.callers === callers && m.contender === contender,
  );
}

export function renderBalanceSvg(results: BalanceResults): string {
  const callers = [...new Set(results.measurements.map((m) => m.callers))].sort((a, b) => a - b);
  const many = callers[callers.length - 1] ?? 4;
  const few = callers[0] ?? many;
  const rows = results.contenders;
  const scenarios = results.scenarios;
  const lo = 1;
  const hi = Math.max(results.model.timeoutMs, 10);
  const x0 = (i: number) => LABEL_W + i * (PANEL_W + GAP);
  const x = (i: number, ms: number) =>
    x0(i) + (Math.log10(Math.min(Math.max(ms, lo), hi) / lo) / Math.log10(hi / lo)) * PANEL_W;
  const width = x0(scenarios.length) + 10;
  const height = TOP + rows.length * ROW_H + BOTTOM;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="12" y="20" font-size="15" font-weight="bold">p99 latency when one of ${results.model.workers} workers misbehaves (ms, log scale, shorter is better)</text>`,
    `<text x="12" y="38" fill="#555">${esc(`bar: ${many} caller process${many > 1 ? 'es' : ''}; black tick: ${few}; red dot: ≥ 1 % of calls failed; ${results.mode} run, mean service ${results.model.meanMs} ms, load ${Math.round(results.model.util * 100)} %, timeout ${results.model.timeoutMs} ms`)}</text>`,
  ];
  let lx = 12;
  for (const f of Object.keys(COLORS) as Family[]) {
    out.push(`<rect x="${lx}" y="48" width="11" height="11" fill="${COLORS[f]}"/>`);
    out.push(`<text x="${lx + 15}" y="58">${esc(FAMILY_LABELS[f])}</text>`);
    lx += 30 + FAMILY_LABELS[f].length * 6.5;
  }
  const plotTop = TOP - 8;
  const plotBottom = TOP + rows.length * ROW_H;
  scenarios.forEach((id, i) => {
    out.push(
      `<text x="${(x0(i) + PANEL_W / 2).toFixed(1)}" y="${TOP - 14}" text-anchor="middle" font-weight="bold">${esc(SCENARIOS[id].title)}</text>`,
    );
    for (let t = lo; t <= hi * 1.0001; t *= 10) {
      out.push(
        `<line x1="${x(i, t).toFixed(1)}" y1="${plotTop}" x2="${x(i, t).toFixed(1)}" y2="${plotBottom}" stroke="#e5e5e5"/>`,
        `<text x="${x(i, t).toFixed(1)}" y="${plotBottom + 14}" text-anchor="middle" fill="#555">${t}</text>`,
      );
    }
    out.push(
      `<line x1="${x0(i)}" y1="${plotTop}" x2="${x0(i)}" y2="${plotBottom}" stroke="#000"/>`,
    );
  });
  rows.forEach((c, r) => {
    const y = TOP + r * ROW_H;
    out.push(
      `<text x="${LABEL_W - 8}" y="${y + 11}" text-anchor="end">${esc(`${FAMILY_LABELS[c.family]} ${c.label}`)}</text>`,
    );
    scenarios.forEach((id, i) => {
      const m = find(results, id, many, c.id);
      const p99 = m?.latencyMs?.p99;
      if (p99 === undefined) {
        out.push(`<text x="${x0(i) + 4}" y="${y + 11}" fill="#999">–</text>`);
      } else {
        const w = Math.max(x(i, p99) - x0(i), 1);
        out.push(
          `<rect x="${x0(i)}" y="${y + 2}" width="${w.toFixed(1)}" height="${ROW_H - 5}" fill="${COLORS[c.family]}"><title>${esc(`${c.id}, ${SCENARIOS[id].title}, ${many} callers: p99 ${fmt(p99)} ms, errors ${((m?.errorRate ?? 0) * 100).toFixed(2)} %`)}</title></rect>`,
          `<text x="${(x0(i) + w + 3).toFixed(1)}" y="${y + 11}" font-size="9" fill="#222">${fmt(p99)}</text>`,
        );
        if ((m?.errorRate ?? 0) >= 0.01) {
          out.push(`<circle cx="${x0(i) + PANEL_W - 4}" cy="${y + 8}" r="3.5" fill="#d62728"/>`);
        }
      }
      const p99few = few !== many ? find(results, id, few, c.id)?.latencyMs?.p99 : undefined;
      if (p99few !== undefined) {
        const tx = x(i, p99few).toFixed(1);
        out.push(
          `<line x1="${tx}" y1="${y + 1}" x2="${tx}" y2="${y + ROW_H - 2}" stroke="#000" stroke-width="1.5"/>`,
        );
      }
    });
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
