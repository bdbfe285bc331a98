/**
 * The scale chart (docs/benchmarks-scale.svg): small panels of horizontal bars, one panel per
 * figure of bench/results/scale.json and one bar per mode in each, the median with a whisker
 * over min–max where the figure has a spread. A mode that was skipped, or lacks a figure, says
 * so in place of its bar.
 */
import type { ModeResult, RunInfo, ScaleResults, Stats } from './scale-report.js';
import { esc } from './svg.js';

type Measured = ModeResult & { run: RunInfo };
type AnyMode = ScaleResults['modes'][number];

/** One bar: its length, its whisker, and the text beside it; or why there is none. */
export type Figure =
  | { value: number; low?: number; high?: number; text: string }
  | { missing: string };

/** One panel: a figure per measured mode, and an optional reference line. */
export interface Panel {
  title: string;
  figure(m: Measured): Figure;
  target?: { value: number; label: string };
}

const MODE_LABELS: Readonly<Record<string, string>> = {
  mesh: 'mesh, seeds',
  etcd: 'mesh, etcd',
  'etcd-subset': 'on demand + subsets',
};
const PALETTE = ['#4c78a8', '#f58518', '#54a24b', '#b279a2', '#72b7b2', '#e45756'];
const MODE_COLORS: Readonly<Record<string, string>> = {
  mesh: '#4c78a8',
  etcd: '#f58518',
  'etcd-subset': '#54a24b',
};

const PANEL_W = 410;
const LABEL_W = 150;
const VALUE_W = 78;
const PLOT_W = PANEL_W - LABEL_W - VALUE_W - 12;
const BAR_H = 13;
const BAR_GAP = 5;
const PANEL_HEAD = 34;
const PANEL_GAP = 18;
const COLUMNS = 2;
const TOP = 52;
const LEFT = 12;

const labelOf = (mode: string) => MODE_LABELS[mode] ?? mode;
const colorOf = (mode: string, i: number) =>
  MODE_COLORS[mode] ?? (PALETTE[i % PALETTE.length] as string);
const finite = (...v: number[]) => v.every((x) => Number.isFinite(x));

/** A median with its min–max as a whisker, or missing when the run has no such figure. */
function spreadFigure(s: Stats | undefined, digits: number, unit: string, scale = 1): Figure {
  if (s === undefined || !finite(s.median, s.min, s.max)) return { missing: 'no figure' };
  return {
    value: s.median * scale,
    low: s.min * scale,
    high: s.max * scale,
    text: `${(s.median * scale).toFixed(digits)}${unit}`,
  };
}

/** The panels drawn from a results file. */
export function scalePanels(r: ScaleResults): Panel[] {
  const spreads = r.options.algorithms.map(
    (algorithm): Panel => ({
      title: `${algorithm}: calls per worker, max/mean`,
      figure: (m) => {
        const s = m.spreads.find((x) => x.algorithm === algorithm);
        if (s === undefined || !Number.isFinite(s.maxOverMean)) return { missing: 'not measured' };
        return { value: s.maxOverMean, text: s.maxOverMean.toFixed(2) };
      },
      target: { value: 1.15, label: '1.15' },
    }),
  );
  return [
    {
      title: 'Views complete after the last start, s',
      figure: (m) =>
        m.convergeMs === null
          ? { missing: `not within ${r.options.convergeS} s` }
          : { value: m.convergeMs / 1_000, text: `${(m.convergeMs / 1_000).toFixed(1)} s` },
      target: { value: 5, label: '5 s' },
    },
    {
      title: 'Connections per caller',
      figure: (m) => spreadFigure(m.callerSockets ?? m.sockets, 0, ''),
      target: { value: 16, label: '16 (subset)' },
    },
    {
      title: 'Idle CPU per node, % of a core',
      figure: (m) => spreadFigure(m.idleCpuPct, 2, ' %'),
      target: { value: 1, label: '1 %' },
    },
    {
      title: 'RSS per node, MiB',
      figure: (m) => spreadFigure(m.rssMiB, 1, ''),
    },
    {
      title: `${r.options.kill} workers SIGKILLed → unselectable, s`,
      figure: (m) => spreadFigure(m.kill?.windowGoneMs ?? m.kill?.goneMs, 3, ' s', 1 / 1_000),
      target: {
        value: (r.options.heartbeatTimeoutMs + r.checkIntervalMs) / 1_000,
        label: `${((r.options.heartbeatTimeoutMs + r.checkIntervalMs) / 1_000).toFixed(1)} s`,
      },
    },
    ...spreads,
  ];
}

/** A round upper bound for an axis: 1, 2 or 5 times a power of ten. */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function panelHeight(modes: number): number {
  return PANEL_HEAD + Math.max(modes, 1) * (BAR_H + BAR_GAP) + 8;
}

function renderPanel(panel: Panel, modes: AnyMode[], x0: number, y0: number): string[] {
  const figures = modes.map((m) => ('skipped' in m ? undefined : panel.figure(m)));
  let top = panel.target?.value ?? 0;
  for (const f of figures) {
    if (f && 'value' in f) top = Math.max(top, f.high ?? f.value, f.value);
  }
  const xMax = niceMax(top);
  const px = x0 + LABEL_W;
  const x = (v: number) => px + (Math.max(0, Math.min(v, xMax)) / xMax) * PLOT_W;
  const plotBottom = y0 + panelHeight(modes.length) - 8;
  const lineTop = y0 + PANEL_HEAD - 6;
  const target = panel.target
    ? `<tspan font-weight="normal" fill="#c00"> · target ${esc(panel.target.label)}</tspan>`
    : '';
  const out = [
    `<text x="${x0}" y="${y0 + 14}" font-weight="bold">${esc(panel.title)}${target}</text>`,
  ];
  for (const t of [xMax / 2, xMax]) {
    const gx = x(t).toFixed(1);
    out.push(
      `<line x1="${gx}" y1="${lineTop}" x2="${gx}" y2="${plotBottom}" stroke="#e5e5e5"/>`,
      `<text x="${gx}" y="${lineTop - 3}" text-anchor="middle" font-size="10" fill="#777">${t}</text>`,
    );
  }
  out.push(`<line x1="${px}" y1="${lineTop}" x2="${px}" y2="${plotBottom}" stroke="#000"/>`);
  modes.forEach((m, i) => {
    const by = y0 + PANEL_HEAD + i * (BAR_H + BAR_GAP);
    const ty = by + BAR_H - 3;
    out.push(`<text x="${px - 6}" y="${ty}" text-anchor="end">${esc(labelOf(m.mode))}</text>`);
    const f = figures[i];
    if (f === undefined || 'missing' in f) {
      const why = f === undefined ? 'skipped' : f.missing;
      out.push(`<text x="${px + 4}" y="${ty}" fill="#999">${esc(why)}</text>`);
      return;
    }
    const w = Math.max(x(f.value) - px, 1);
    out.push(
      `<rect class="bar" x="${px}" y="${by}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${colorOf(m.mode, i)}"><title>${esc(`${labelOf(m.mode)}: ${f.text}`)}</title></rect>`,
    );
    if (f.low !== undefined && f.high !== undefined && f.high > f.low) {
      const wy = by + BAR_H / 2;
      out.push(
        `<line x1="${x(f.low).toFixed(1)}" y1="${wy}" x2="${x(f.high).toFixed(1)}" y2="${wy}" stroke="#222"/>`,
      );
    }
    const tx = Math.max(x(f.value), x(f.high ?? f.value)) + 4;
    out.push(
      `<text x="${tx.toFixed(1)}" y="${ty}" fill="#222">${esc(f.text)}${f.value > xMax ? ' →' : ''}</text>`,
    );
  });
  if (panel.target) {
    const tx = x(panel.target.value).toFixed(1);
    out.push(
      `<line x1="${tx}" y1="${lineTop}" x2="${tx}" y2="${plotBottom}" stroke="#c00" stroke-dasharray="4 3"/>`,
    );
  }
  return out;
}

/** The chart of every mode in `r` (measured or skipped), one panel per figure. */
export function renderScaleSvg(r: ScaleResults): string {
  const panels = scalePanels(r);
  const modes = r.modes;
  const ph = panelHeight(modes.length);
  const rows = Math.ceil(panels.length / COLUMNS);
  const width = LEFT * 2 + COLUMNS * PANEL_W + (COLUMNS - 1) * PANEL_GAP;
  const height = TOP + rows * (ph + PANEL_GAP) + 8;
  const o = r.options;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${LEFT}" y="20" font-size="15" font-weight="bold">${esc(`Scale: ${o.nodes} node processes on one machine, per mode`)}</text>`,
    `<text x="${LEFT}" y="38" fill="#666">${esc(`${o.nodes - o.callers} workers, ${o.callers} callers; heartbeatTimeoutMs ${o.heartbeatTimeoutMs}; bars: median, whiskers: min–max over nodes or callers; dashed red: target`)}</text>`,
  ];
  panels.forEach((panel, i) => {
    const x0 = LEFT + (i % COLUMNS) * (PANEL_W + PANEL_GAP);
    const y0 = TOP + Math.floor(i / COLUMNS) * (ph + PANEL_GAP);
    out.push(...renderPanel(panel, modes, x0, y0));
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
