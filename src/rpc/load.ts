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

/**
 * Samples event-loop utilisation when it is read, at most once per `intervalMs`: no timer, so an
 * idle node does not wake up for it (a 100 ms timer was most of an idle node's CPU). `elu` is
 * the utilisation between the last two samples: over the last `intervalMs` while the node is
 * read often (it serves calls), over the quiet time before when it was read after a pause.
 * `epoch` changes at every sample.
 */
export class LoadSampler {
  #elu = 0;
  #epoch = 0;
  #last: Elu = performance.eventLoopUtilization();
  #lastAt = performance.now();
  #intervalMs = LOAD_SAMPLE_INTERVAL_MS;
  #running = false;

  /** Utilisation between the last two samples, 0..1 (sampling first when one is due). */
  get elu(): number {
    this.#refresh();
    return this.#elu;
  }

  /** Increases at every sample: a reply carries the load when its connection saw an older epoch. */
  get epoch(): number {
    this.#refresh();
    return this.#epoch;
  }

  /** Starts sampling, at most every `intervalMs`, as the load is read. */
  start(intervalMs = LOAD_SAMPLE_INTERVAL_MS): void {
    if (this.#running) return;
    this.#intervalMs = intervalMs;
    this.#running = true;
    this.sample();
  }

  /** Takes a sample now. */
  sample(now = performance.now()): void {
    const elu = performance.eventLoopUtilization();
    this.#elu = performance.eventLoopUtilization(elu, this.#last).utilization;
    this.#last = elu;
    this.#lastAt = now;
    this.#epoch++;
  }

  stop(): void {
    this.#running = false;
  }

  #refresh(): void {
    if (!this.#running) return;
    const now = performance.now();
    if (now - this.#lastAt >= this.#intervalMs) this.sample(now);
  }
}
