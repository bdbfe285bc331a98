/**
 * The server's load as peers see it: calls in flight (exact, read when a reply leaves) and
 * event-loop utilisation (sampled on a timer, never computed per call). Replies carry it at
 * most once per sample period per connection, and probes ask for it directly.
 */
import { performance } from 'node:perf_hooks';

export type { ServerLoad } from '../algorithms/types.js';

/** How often a node samples its event-loop utilisation. @default 100 ms */
export const LOAD_SAMPLE_INTERVAL_MS = 100;

type Elu = ReturnType<typeof performance.eventLoopUtilization>;

/** Samples event-loop utilisation; `epoch` changes at every sample. */
export class LoadSampler {
  /** Utilisation over the last sample period, 0..1. */
  elu = 0;
  /** Increases at every sample: a reply carries the load when its connection saw an older epoch. */
  epoch = 0;
  #last: Elu = performance.eventLoopUtilization();
  #timer: NodeJS.Timeout | undefined;

  /** Starts sampling every `intervalMs` (the timer does not keep the process alive). */
  start(intervalMs = LOAD_SAMPLE_INTERVAL_MS): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
  }

  /** Takes a sample now. */
  sample(): void {
    const now = performance.eventLoopUtilization();
    this.elu = performance.eventLoopUtilization(now, this.#last).utilization;
    this.#last = now;
    this.epoch++;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
