/** Closed-loop load: keep N calls in flight for a fixed time, count them, optionally time each. */
import type { RunResult, RunSpec } from './protocol.js';
import { digestLatencies } from './stats.js';

/**
 * Runs `call(value)` from `spec.concurrency` loops for `spec.durationMs`. Calls in flight when
 * time is up are finished and counted; the elapsed time includes them, so calls/elapsed is the
 * throughput. The first failure stops every loop and rejects.
 */
export async function closedLoop(
  call: (value: unknown) => Promise<unknown>,
  value: unknown,
  spec: Pick<RunSpec, 'concurrency' | 'durationMs' | 'recordLatency'>,
): Promise<RunResult> {
  let stop = false;
  let calls = 0;
  const latencies: number[] = [];
  const loop = async () => {
    try {
      if (spec.recordLatency) {
        while (!stop) {
          const t0 = performance.now();
          await call(value);
          latencies.push((performance.now() - t0) * 1000);
          calls++;
        }
      } else {
        while (!stop) {
          await call(value);
          calls++;
        }
      }
    } catch (err) {
      stop = true;
      throw err;
    }
  };
  const timer = setTimeout(() => {
    stop = true;
  }, spec.durationMs);
  const start = performance.now();
  try {
    const loops = [];
    for (let i = 0; i < spec.concurrency; i++) loops.push(loop());
    await Promise.all(loops);
  } finally {
    clearTimeout(timer);
  }
  const elapsedMs = performance.now() - start;
  const result: RunResult = { calls, elapsedMs };
  if (spec.recordLatency) result.latency = digestLatencies(Float64Array.from(latencies));
  return result;
}
