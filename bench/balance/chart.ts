/**
 * The "Balancing under faults" chart: one panel per scenario (three to a row), one row per
 * contender, bar = p99 latency with the most callers measured, tick = p99 with the fewest, on a
 * log scale (a tail that reached the timeout is 100× a balanced one). Figures in red: 1 % or
 * more of the calls failed.
 */

import { esc } from '../lib/svg.js';
import type { BalanceMeasurement, BalanceResults } from './results.js';
import { SCENARIOS } from './scenarios.js';
import type { Contender, Family } from './types.js';

const COLORS: Record<Family, string> = { rpclb: '#54a24b', moleculer: '#f58518', nats: '#7a5195' };
const SHORT: Record<Family, string> = { rpclb: 'rpclb', moleculer: 'Moleculer', nats: 'NATS' };
const COLUMNS = 3;
const LABEL_W = 175;
const PANEL_W = 190;
const GAP = 36;
const ROW_H = 17;
const TOP = 100;
/** Room between two rows of panels: axis labels below, title above. */
const BAND_GAP = 62;

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

interface Layout {
  x0(panel: number): number;
  y0(panel: number): number;
  x(panel: number, ms: number): number;
  plotH: number;
}

function layout(results: BalanceResults): Layout {
  const lo = 1;
  const hi = Math.max(results.model.timeoutMs, 10);
  const plotH = results.contenders.length * ROW_H;
  const x0 = (i: number) => LABEL_W + (i % COLUMNS) * (PANEL_W + GAP);
  return {
    x0,
    y0: (i) => TOP + Math.floor(i / COLUMNS) * (plotH + BAND_GAP),
    x: (i, ms) =>
      x0(i) + (Math.log10(Math.min(Math.max(ms, lo), hi) / lo) / Math.log10(hi / lo)) * PANEL_W,
    plotH,
  };
}

function header(results: BalanceResults, many: number, few: number, width: number): string[] {
  const m = results.model;
  const out = [
    `<text x="12" y="20" font-size="15" font-weight="bold">p99 latency when one of ${m.workers} workers misbehaves (ms, log scale, shorter is better)</text>`,
    `<text x="12" y="38" fill="#555">${esc(`bar: ${many} caller process${many > 1 ? 'es' : ''}${few !== many ? `; black tick: ${few}` : ''}; red figure: ≥ 1 % of calls failed (share in brackets)`)}</text>`,
    `<text x="12" y="54" fill="#555">${esc(`${results.mode} run, mean service ${m.meanMs} ms, load ${Math.round(m.util * 100)} %, timeout ${m.timeoutMs} ms`)}</text>`,
  ];
  let lx = Math.max(12, width - 330);
  for (const f of Object.keys(COLORS) as Family[]) {
    out.push(`<rect x="${lx}" y="44" width="11" height="11" fill="${COLORS[f]}"/>`);
    out.push(
      `<text x="${lx + 15}" y="54">${esc(SHORT[f] === 'rpclb' ? 'rpc-load-balancer' : SHORT[f])}</text>`,
    );
    lx += 35 + (SHORT[f] === 'rpclb' ? 17 : SHORT[f].length) * 6.5;
  }
  return out;
}

function panel(results: BalanceResults, l: Layout, i: number, many: number, few: number): string[] {
  const id = results.scenarios[i] as keyof typeof SCENARIOS;
  const x0 = l.x0(i);
  const y0 = l.y0(i);
  const out = [
    `<text x="${(x0 + PANEL_W / 2).toFixed(1)}" y="${y0 - 12}" text-anchor="middle" font-weight="bold">${esc(SCENARIOS[id].short)}</text>`,
  ];
  for (let t = 1; t <= results.model.timeoutMs * 1.0001; t *= 10) {
    const tx = l.x(i, t).toFixed(1);
    out.push(
      `<line x1="${tx}" y1="${y0 - 4}" x2="${tx}" y2="${y0 + l.plotH}" stroke="#e5e5e5"/>`,
      `<text x="${tx}" y="${y0 + l.plotH + 13}" text-anchor="middle" fill="#555">${t}</text>`,
    );
  }
  out.push(`<line x1="${x0}" y1="${y0 - 4}" x2="${x0}" y2="${y0 + l.plotH}" stroke="#000"/>`);
  results.contenders.forEach((c: Contender, r) => {
    const y = y0 + r * ROW_H;
    const m = find(results, id, many, c.id);
    // The fewer-callers tick goes between the bar and its figure, so the figure stays legible.
    const p99few = few !== many ? find(results, id, few, c.id)?.latencyMs?.p99 : undefined;
    const tick =
      p99few === undefined
        ? ''
        : `<line x1="${l.x(i, p99few).toFixed(1)}" y1="${y + 1}" x2="${l.x(i, p99few).toFixed(1)}" y2="${y + ROW_H - 1}" stroke="#000" stroke-width="1.5"/>`;
    const p99 = m?.latencyMs?.p99;
    if (p99 === undefined || !m) {
      out.push(tick, `<text x="${x0 + 4}" y="${y + 11}" fill="#999">–</text>`);
    } else {
      const w = Math.max(l.x(i, p99) - x0, 1);
      const bad = m.errorRate >= 0.01;
      const label = `${fmt(p99)}${bad ? ` (${(m.errorRate * 100).toFixed(m.errorRate >= 0.1 ? 0 : 1)} %)` : ''}`;
      // A long bar carries its figure inside, so it never runs into the next panel.
      const inside = w > PANEL_W - 8 - label.length * 5.2;
      const tx = inside ? x0 + w - 3 : x0 + w + 3;
      const fill = inside ? (bad ? '#ffd6d6' : '#ffffff') : bad ? '#d62728' : '#222';
      out.push(
        `<rect x="${x0}" y="${y + 2}" width="${w.toFixed(1)}" height="${ROW_H - 4}" fill="${COLORS[c.family]}"><title>${esc(`${c.id}, ${SCENARIOS[id].title}, ${many} callers: p99 ${fmt(p99)} ms, errors ${(m.errorRate * 100).toFixed(2)} %`)}</title></rect>`,
        tick,
        `<text x="${tx.toFixed(1)}" y="${y + 12}" font-size="9.5" fill="${fill}"${inside ? ' text-anchor="end"' : ''}${bad ? ' font-weight="bold"' : ''}>${esc(label)}</text>`,
      );
    }
  });
  return out;
}

export function renderBalanceSvg(results: BalanceResults): string {
  const callers = [...new Set(results.measurements.map((m) => m.callers))].sort((a, b) => a - b);
  const many = callers[callers.length - 1] ?? 4;
  const few = callers[0] ?? many;
  const l = layout(results);
  const panels = results.scenarios.length;
  const bands = Math.ceil(panels / COLUMNS);
  const width = LABEL_W + Math.min(panels, COLUMNS) * (PANEL_W + GAP);
  const height = TOP + bands * (l.plotH + BAND_GAP) - 20;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...header(results, many, few, width),
  ];
  for (let band = 0; band < bands; band++) {
    results.contenders.forEach((c, r) => {
      const y = l.y0(band * COLUMNS) + r * ROW_H;
      out.push(
        `<text x="${LABEL_W - 8}" y="${y + 12}" text-anchor="end">${esc(`${SHORT[c.family]} ${c.label}`)}</text>`,
      );
    });
  }
  for (let i = 0; i < panels; i++) out.push(...panel(results, l, i, many, few));
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
