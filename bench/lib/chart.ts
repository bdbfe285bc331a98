/**
 * The summary chart: grouped horizontal bars, one group per case, one bar per system, length =
 * calls/s relative to the floor measured in the same passes (the floor is the line at 1.0;
 * the dashed line is the 0.7× target). Whiskers span the interquartile range of the per-pass
 * ratios (min–max would mostly show the one pass that met a busy moment of the machine).
 */
import type { Analysis, BenchResults } from './analyze.js';
import { OBSERVED_SYSTEMS, SYSTEM_LABELS, type SystemName } from './protocol.js';
import { esc } from './svg.js';

const COLORS: Record<SystemName, string> = {
  floor: '#333333',
  floorPlain: '#888888',
  grpc: '#4c78a8',
  moleculer: '#f58518',
  rpclb: '#54a24b',
  rpclbOtel: '#72b7b2',
  rpclbMetrics: '#b279a2',
};

const LABEL_W = 250;
const PLOT_W = 400;
const RIGHT = 70;
const BAR_H = 12;
const BAR_GAP = 3;
const GROUP_GAP = 14;
const TOP = 76;
const BOTTOM = 44;

export function renderSvg(results: BenchResults, analysis: Analysis): string {
  const systems = results.systems.filter(
    (s) =>
      s !== 'floor' &&
      !OBSERVED_SYSTEMS.includes(s) &&
      results.cases.some((c) => analysis.get(c.id)?.get(s)?.ratio),
  );
  const groupH = Math.max(systems.length, 1) * (BAR_H + BAR_GAP) - BAR_GAP;
  const height = TOP + results.cases.length * (groupH + GROUP_GAP) + BOTTOM;
  const width = LABEL_W + PLOT_W + RIGHT;
  let maxRatio = 1.2;
  for (const c of results.cases) {
    for (const s of systems)
      maxRatio = Math.max(maxRatio, analysis.get(c.id)?.get(s)?.ratio?.q3 ?? 0);
  }
  const xMax = Math.min(Math.ceil(maxRatio * 5) / 5, 3);
  const x = (v: number) => LABEL_W + (Math.min(v, xMax) / xMax) * PLOT_W;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="12" y="20" font-size="15" font-weight="bold">Calls/s relative to the node:net floor (same run, higher is better)</text>`,
  );
  let lx = 12;
  for (const s of systems) {
    out.push(`<rect x="${lx}" y="34" width="12" height="12" fill="${COLORS[s]}"/>`);
    out.push(`<text x="${lx + 17}" y="44">${esc(SYSTEM_LABELS[s])}</text>`);
    lx += 30 + SYSTEM_LABELS[s].length * 7;
  }
  out.push(
    `<text x="${lx + 10}" y="44" fill="#666">${esc(`${results.mode} run, median of ${results.config.passesDone} passes, whiskers: IQR`)}</text>`,
  );
  const plotTop = TOP - 6;
  const plotBottom = height - BOTTOM + 4;
  for (let t = 0; t <= xMax + 1e-9; t += xMax > 2 ? 0.5 : 0.2) {
    out.push(
      `<line x1="${x(t).toFixed(1)}" y1="${plotTop}" x2="${x(t).toFixed(1)}" y2="${plotBottom}" stroke="#e5e5e5"/>`,
      `<text x="${x(t).toFixed(1)}" y="${plotBottom + 14}" text-anchor="middle" fill="#555">${t.toFixed(1)}×</text>`,
    );
  }
  let y = TOP;
  for (const c of results.cases) {
    out.push(
      `<text x="${LABEL_W - 8}" y="${(y + groupH / 2 + 4).toFixed(1)}" text-anchor="end">${esc(c.title)}</text>`,
    );
    systems.forEach((s, i) => {
      const by = y + i * (BAR_H + BAR_GAP);
      const r = analysis.get(c.id)?.get(s)?.ratio;
      if (!r || Number.isNaN(r.median)) {
        out.push(`<text x="${LABEL_W + 4}" y="${by + BAR_H - 2}" fill="#999">not measured</text>`);
        return;
      }
      const w = Math.max(x(r.median) - LABEL_W, 1);
      out.push(
        `<rect x="${LABEL_W}" y="${by}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${COLORS[s]}"><title>${esc(`${SYSTEM_LABELS[s]}: ${r.median.toFixed(3)}× floor`)}</title></rect>`,
        `<line x1="${x(r.q1).toFixed(1)}" y1="${by + BAR_H / 2}" x2="${x(r.q3).toFixed(1)}" y2="${by + BAR_H / 2}" stroke="#222" stroke-width="1"/>`,
        `<text x="${(Math.max(x(r.median), x(r.q3)) + 4).toFixed(1)}" y="${by + BAR_H - 2}" fill="#222">${r.median.toFixed(2)}${r.median > xMax ? ' →' : ''}</text>`,
      );
    });
    y += groupH + GROUP_GAP;
  }
  out.push(
    `<line x1="${x(1).toFixed(1)}" y1="${plotTop}" x2="${x(1).toFixed(1)}" y2="${plotBottom}" stroke="#000" stroke-width="1.5"/>`,
    `<text x="${(x(1) + 3).toFixed(1)}" y="${plotTop - 3}" font-size="11">floor = 1.0</text>`,
    `<line x1="${x(0.7).toFixed(1)}" y1="${plotTop}" x2="${x(0.7).toFixed(1)}" y2="${plotBottom}" stroke="#c00" stroke-dasharray="4 3"/>`,
    `<text x="${(x(0.7) - 3).toFixed(1)}" y="${plotTop - 3}" font-size="11" fill="#c00" text-anchor="end">target 0.7×</text>`,
    `<line x1="${LABEL_W}" y1="${plotTop}" x2="${LABEL_W}" y2="${plotBottom}" stroke="#000"/>`,
    '</svg>',
  );
  return `${out.join('\n')}\n`;
}
