/**
 * What the demo measures for one algorithm: calls, latencies and errors per node, and for keyed
 * runs whether every key stayed on one node. Pure bookkeeping, no I/O.
 */

/** One row of an algorithm's result table. */
export interface NodeSummary {
  node: string;
  calls: number;
  /** Fraction of all successful calls (0..1). */
  share: number;
  /** Median latency seen by the caller, in ms (NaN without calls). */
  p50: number;
  /** 99th percentile latency seen by the caller, in ms (NaN without calls). */
  p99: number;
  errors: number;
}

/** The result of driving load through one algorithm. */
export interface RunResult {
  algorithm: string;
  durationMs: number;
  calls: number;
  errors: number;
  /** Error counts by code (`service_unavailable`, ...). */
  errorCodes: Map<string, number>;
  rows: NodeSummary[];
  /** For keyed runs: distinct keys seen, and how many of them reached more than one node. */
  keys?: { distinct: number; split: number };
}

/** The error a call may end with; only `code` and `details.node` are read. */
interface ErrorLike {
  code?: unknown;
  details?: { node?: unknown };
}

class NodeStats {
  calls = 0;
  errors = 0;
  latencies: number[] = [];
}

/** Collects the outcome of every call of one algorithm's run. */
export class RunStats {
  readonly #nodes = new Map<string, NodeStats>();
  readonly #errorCodes = new Map<string, number>();
  readonly #keyOwners = new Map<string, string>();
  readonly #splitKeys = new Set<string>();
  #calls = 0;
  #errors = 0;

  constructor(
    readonly algorithm: string,
    nodes: readonly string[],
  ) {
    for (const node of nodes) this.#nodes.set(node, new NodeStats());
  }

  /** Successful calls so far. */
  get calls(): number {
    return this.#calls;
  }

  /** Failed calls so far. */
  get errors(): number {
    return this.#errors;
  }

  /** Successful calls of `node` so far. */
  callsOf(node: string): number {
    return this.#nodes.get(node)?.calls ?? 0;
  }

  /** A call served by `node` in `latencyMs`; `key` is the routing key, if any. */
  record(node: string, latencyMs: number, key?: string): void {
    const stats = this.#stats(node);
    stats.calls++;
    stats.latencies.push(latencyMs);
    this.#calls++;
    if (key === undefined) return;
    const owner = this.#keyOwners.get(key);
    if (owner === undefined) this.#keyOwners.set(key, node);
    else if (owner !== node) this.#splitKeys.add(key);
  }

  /** A failed call; counted against its target node when the error names one. */
  fail(err: unknown): void {
    const e = (err ?? {}) as ErrorLike;
    const code = typeof e.code === 'string' ? e.code : 'other';
    this.#errorCodes.set(code, (this.#errorCodes.get(code) ?? 0) + 1);
    this.#errors++;
    const node = e.details?.node;
    if (typeof node === 'string') this.#stats(node).errors++;
  }

  /** The result table, nodes in name order. */
  result(durationMs: number): RunResult {
    const rows = [...this.#nodes.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([node, s]) => {
        const sorted = Float64Array.from(s.latencies).sort();
        return {
          node,
          calls: s.calls,
          share: this.#calls === 0 ? 0 : s.calls / this.#calls,
          p50: percentile(sorted, 0.5),
          p99: percentile(sorted, 0.99),
          errors: s.errors,
        };
      });
    const result: RunResult = {
      algorithm: this.algorithm,
      durationMs,
      calls: this.#calls,
      errors: this.#errors,
      errorCodes: new Map(this.#errorCodes),
      rows,
    };
    if (this.#keyOwners.size > 0) {
      result.keys = { distinct: this.#keyOwners.size, split: this.#splitKeys.size };
    }
    return result;
  }

  #stats(node: string): NodeStats {
    let stats = this.#nodes.get(node);
    if (!stats) this.#nodes.set(node, (stats = new NodeStats()));
    return stats;
  }
}

/** Nearest-rank percentile of an ascending array; NaN when empty. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)));
  return sorted[rank - 1] as number;
}
