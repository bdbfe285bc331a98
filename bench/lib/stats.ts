/** Small, allocation-light statistics for benchmark samples. */

/** Sorted copy of the samples (ascending). */
export function sorted(samples: readonly number[]): number[] {
  return Array.from(samples).sort((a, b) => a - b);
}

/**
 * The `p`-th percentile (0..100) of already sorted samples, linearly interpolated between the
 * two closest ranks. `NaN` for no samples.
 */
export function percentileSorted(sortedSamples: ArrayLike<number>, p: number): number {
  const n = sortedSamples.length;
  if (n === 0) return Number.NaN;
  if (n === 1) return sortedSamples[0] as number;
  const rank = (Math.min(Math.max(p, 0), 100) / 100) * (n - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, n - 1);
  const a = sortedSamples[lo] as number;
  const b = sortedSamples[hi] as number;
  return a + (b - a) * (rank - lo);
}

/** The `p`-th percentile (0..100) of unsorted samples. */
export function percentile(samples: readonly number[], p: number): number {
  return percentileSorted(sorted(samples), p);
}

/** Median of the samples. */
export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

/** Arithmetic mean. `NaN` for no samples. */
export function mean(samples: ArrayLike<number>): number {
  if (samples.length === 0) return Number.NaN;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i] as number;
  return sum / samples.length;
}

/** Median with its spread: min–max and the interquartile range, over the samples (passes). */
export interface Summary {
  median: number;
  min: number;
  max: number;
  q1: number;
  q3: number;
  n: number;
}

/** Summarises samples (typically one value per pass). */
export function summarize(samples: readonly number[]): Summary {
  const s = sorted(samples);
  return {
    median: percentileSorted(s, 50),
    min: s.length > 0 ? (s[0] as number) : Number.NaN,
    max: s.length > 0 ? (s[s.length - 1] as number) : Number.NaN,
    q1: percentileSorted(s, 25),
    q3: percentileSorted(s, 75),
    n: s.length,
  };
}

/** Latency digest of one measurement (microseconds). */
export interface LatencyDigest {
  p50: number;
  p99: number;
  mean: number;
  count: number;
}

/** Digests raw per-call latencies given in microseconds. */
export function digestLatencies(latUs: Float64Array): LatencyDigest {
  const s = latUs.slice().sort();
  return {
    p50: percentileSorted(s, 50),
    p99: percentileSorted(s, 99),
    mean: mean(s),
    count: s.length,
  };
}
