/**
 * What the demo prints: live per-node progress while an algorithm runs (bars redrawn in place
 * on a terminal, a plain line per second otherwise, for CI logs and pipes), then the result
 * tables and the comparison of the slow node's share.
 */
import type { NodeSummary, RunResult, RunStats } from './demo-stats.js';

/** Where the demo writes: `process.stdout` or anything with `write` (and maybe `isTTY`). */
export interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
  /** Where a closed pipe (`EPIPE`) is reported, as on a stream. */
  on?(event: 'error', listener: (err: NodeJS.ErrnoException) => void): unknown;
  off?(event: 'error', listener: (err: NodeJS.ErrnoException) => void): unknown;
}

/** Shows one algorithm's run as it goes. */
export interface LiveView {
  /** Called every {@link TICK_MS} while the run lasts. */
  update(stats: RunStats, elapsedMs: number, durationMs: number): void;
  /** Replaces the live display with a one-line summary. */
  finish(result: RunResult): void;
}

/** How often the demo refreshes its live view. */
export const TICK_MS = 100;
const BAR_WIDTH = 30;

const number = (n: number) => n.toLocaleString('en-US');
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const ms = (value: number) => (Number.isNaN(value) ? '-' : value.toFixed(1));
const percent = (share: number) => `${(share * 100).toFixed(1)}%`;

/** Labels nodes for display: the slow one gets a `(slow)` suffix. */
export class NodeLabels {
  readonly width: number;

  constructor(
    readonly nodes: readonly string[],
    readonly slow: string,
  ) {
    this.width = Math.max(4, ...nodes.map((n) => this.label(n).length));
  }

  label(node: string): string {
    return node === this.slow ? `${node} (slow)` : node;
  }

  short(node: string): string {
    return node.slice(0, node.indexOf('@'));
  }
}

/** A live view for `out`: redrawn bars on a terminal, periodic plain lines otherwise. */
export function createLiveView(out: Output, labels: NodeLabels, algorithm: string): LiveView {
  return out.isTTY ? new BarsView(out, labels, algorithm) : new LinesView(out, labels, algorithm);
}

function summaryLine(result: RunResult): string {
  const rate = result.calls / (result.durationMs / 1000);
  return (
    `  ${result.algorithm.padEnd(18)} ${number(result.calls)} calls in ${seconds(result.durationMs)}` +
    ` (${number(Math.round(rate))} calls/s), ${number(result.errors)} errors\n`
  );
}

class BarsView implements LiveView {
  #drawn = 0;

  constructor(
    readonly out: Output,
    readonly labels: NodeLabels,
    readonly algorithm: string,
  ) {}

  update(stats: RunStats, elapsedMs: number, durationMs: number): void {
    const { nodes, width } = this.labels;
    const max = Math.max(1, ...nodes.map((n) => stats.callsOf(n)));
    const lines = [
      `  ${this.algorithm.padEnd(18)} ${seconds(Math.min(elapsedMs, durationMs))} / ${seconds(durationMs)}` +
        `   ${number(stats.calls)} calls   ${number(stats.errors)} errors`,
    ];
    for (const node of nodes) {
      const calls = stats.callsOf(node);
      const bar = '█'.repeat(Math.round((calls / max) * BAR_WIDTH)).padEnd(BAR_WIDTH);
      lines.push(
        `    ${this.labels.label(node).padEnd(width)}  ${bar} ${number(calls).padStart(9)}`,
      );
    }
    // A wrapped line would throw off the cursor movement of the next redraw.
    const columns = this.out.columns ?? Number.POSITIVE_INFINITY;
    const fit = (line: string) => line.slice(0, columns - 1);
    this.#clear();
    this.out.write(`${lines.map(fit).join('\n')}\n`);
    this.#drawn = lines.length;
  }

  finish(result: RunResult): void {
    this.#clear();
    this.out.write(summaryLine(result));
  }

  /** Moves the cursor to the first line drawn and clears from there down. */
  #clear(): void {
    if (this.#drawn > 0) this.out.write(`\x1b[${this.#drawn}F\x1b[0J`);
    this.#drawn = 0;
  }
}

class LinesView implements LiveView {
  #printedSecond = 0;

  constructor(
    readonly out: Output,
    readonly labels: NodeLabels,
    readonly algorithm: string,
  ) {}

  update(stats: RunStats, elapsedMs: number): void {
    const second = Math.floor(elapsedMs / 1000);
    if (second <= this.#printedSecond) return;
    this.#printedSecond = second;
    const perNode = this.labels.nodes
      .map((n) => `${this.labels.short(n)}=${stats.callsOf(n)}`)
      .join(' ');
    this.out.write(
      `  ${this.algorithm.padEnd(18)} ${seconds(elapsedMs)}  ${perNode}  errors=${stats.errors}\n`,
    );
  }

  finish(result: RunResult): void {
    this.out.write(summaryLine(result));
  }
}

/** The result table of one algorithm. */
export function formatTable(result: RunResult, labels: NodeLabels, note?: string): string {
  const rate = Math.round(result.calls / (result.durationMs / 1000));
  const head =
    `${result.algorithm}: ${number(result.calls)} calls in ${seconds(result.durationMs)}` +
    ` (${number(rate)} calls/s), ${number(result.errors)} errors\n`;
  const w = labels.width;
  const columns = `  ${'node'.padEnd(w)}  ${'calls'.padStart(9)}  ${'share'.padStart(6)}  ${'p50 ms'.padStart(7)}  ${'p99 ms'.padStart(7)}  ${'errors'.padStart(6)}\n`;
  const row = (r: NodeSummary) =>
    `  ${labels.label(r.node).padEnd(w)}  ${number(r.calls).padStart(9)}  ${percent(r.share).padStart(6)}` +
    `  ${ms(r.p50).padStart(7)}  ${ms(r.p99).padStart(7)}  ${number(r.errors).padStart(6)}\n`;
  const codes = [...result.errorCodes].map(([code, n]) => `${code} x${n}`).join(', ');
  const lines = [head, columns, ...result.rows.map(row)];
  if (codes) lines.push(`  errors by code: ${codes}\n`);
  if (note) lines.push(`  ${note}\n`);
  return lines.join('');
}

/** How much of the load each algorithm sent to the slow node, against RoundRobin. */
export function formatComparison(results: RunResult[], labels: NodeLabels, slowMs: number): string {
  const slowShare = (r: RunResult) => r.rows.find((row) => row.node === labels.slow)?.share ?? 0;
  const slowCalls = (r: RunResult) => r.rows.find((row) => row.node === labels.slow)?.calls ?? 0;
  const baseline = results.find((r) => r.algorithm === 'RoundRobin');
  const lines = [
    `Share of calls sent to the slow node (${labels.slow}, +${slowMs} ms per call):\n`,
  ];
  for (const r of results) {
    const versus = baseline && r !== baseline ? compare(slowShare(baseline), slowShare(r)) : '';
    const row = `  ${r.algorithm.padEnd(18)} ${percent(slowShare(r)).padStart(6)}  ${number(slowCalls(r)).padStart(9)} calls  ${versus}`;
    lines.push(`${row.trimEnd()}\n`);
  }
  const ran = (name: string) => results.some((r) => r.algorithm === name);
  if (baseline && (ran('LeastConnections') || ran('PowerOfTwo'))) {
    lines.push(
      '\nRoundRobin gives every node the same share however slow it is. LeastConnections and\n' +
        'PowerOfTwo count the calls in flight per node; calls pile up on the slow node, so they\n' +
        'send it less and the fast nodes more.\n',
    );
  }
  if (baseline && ran('LeastLoaded')) {
    lines.push(
      'LeastLoaded (the default) also weighs each node by its recent latency: the slow node\n' +
        'looks slow even when no call is waiting on it, so it gets the least.\n',
    );
  }
  return lines.join('');
}

/** How a share compares with RoundRobin's, in words. */
function compare(baseline: number, share: number): string {
  if (share === 0) return '';
  const ratio = baseline / share;
  if (ratio >= 1.15) return `${ratio.toFixed(1)}x less than RoundRobin`;
  if (ratio <= 1 / 1.15) return `${(1 / ratio).toFixed(1)}x more than RoundRobin`;
  return 'about the same as RoundRobin';
}
