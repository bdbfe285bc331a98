/**
 * The collector's own bookkeeping: counts per label set (handed to prom-client at scrape time),
 * each with the histogram cell observed alongside it, and the cap on each label's distinct values.
 */
import type { HistogramCell } from './histogram.js';

/** The label value for a value past the limit. */
export const OTHER = '_other';

/**
 * Counts per label set, kept here and handed to prom-client when the registry is scraped (in
 * the counter's `collect`): a prom-client `inc()` per event costs a label hash, a validation and
 * several small objects, which is most of a call's own cost at 100 000 calls/s.
 */
export class Tally {
  readonly #counts = new Map<string, TallyEntry>();
  /**
   * The same entries by their raw label values, level by level: the hot path finds an entry
   * without building a key string (names are interned, so each level's hash is cached). Only
   * label sets within the limits are here, so it stays as bounded as the entries.
   */
  readonly #fast: Level = new Map();

  /** The entry of raw label values already seen within the limits, else `undefined`. */
  get(a: string, b: string, c: string, d?: string, e?: string, f?: string, g?: string) {
    let level = this.#fast.get(a) as Level | undefined;
    level = level?.get(b) as Level | undefined;
    if (d === undefined) return level?.get(c) as TallyEntry | undefined;
    level = level?.get(c) as Level | undefined;
    if (e === undefined) return level?.get(d) as TallyEntry | undefined;
    level = level?.get(d) as Level | undefined;
    if (f === undefined) return level?.get(e) as TallyEntry | undefined;
    level = level?.get(e) as Level | undefined;
    level = level?.get(f) as Level | undefined;
    return level?.get(g as string) as TallyEntry | undefined;
  }

  /** Remembers `entry` under its raw label values (when they were all within the limits). */
  remember(entry: TallyEntry, values: readonly string[]): void {
    let level = this.#fast;
    for (const value of values.slice(0, -1)) {
      let next = level.get(value) as Level | undefined;
      if (next === undefined) level.set(value, (next = new Map()));
      level = next;
    }
    level.set(values[values.length - 1] as string, entry);
  }

  /** The entry of `labels`, made if needed (keyed by the label values as limited, so bounded). */
  entry(key: string, labels: () => Record<string, string>): TallyEntry {
    let entry = this.#counts.get(key);
    if (entry === undefined) this.#counts.set(key, (entry = { labels: labels(), n: 0 }));
    return entry;
  }
  /** Counts `n` events of the label set `key` (its labels are built on first sight only). */
  add(key: string, labels: () => Record<string, string>, n = 1): void {
    this.entry(key, labels).n += n;
  }
  /** Sets `counter` to the totals (called from its `collect`). */
  writeTo(counter: { reset(): void; inc(labels: Record<string, string>, n: number): void }): void {
    counter.reset();
    for (const { labels, n } of this.#counts.values()) counter.inc(labels, n);
  }
}

type Level = Map<string, Level | TallyEntry>;

/** A label set's count, and the histogram cell observed with it (if any). */
export interface TallyEntry {
  readonly labels: Record<string, string>;
  n: number;
  /** The histogram cell of the events counted here (a duration, a round trip). */
  hist?: HistogramCell;
  /**
   * For a started call's label set within the limits: the entries of the calls that ended, by
   * target and status (how a call's end finds its entry in two lookups).
   */
  ends?: Map<string, Map<string, TallyEntry>>;
}

/** Keeps a label's distinct values under a limit. */
export class LabelLimit {
  readonly #seen = new Set<string>();
  constructor(readonly max: number) {}
  value(v: string | undefined): string {
    if (v === undefined) return '';
    if (this.#seen.has(v)) return v;
    if (this.#seen.size >= this.max) return OTHER;
    this.#seen.add(v);
    return v;
  }
}
