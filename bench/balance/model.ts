/**
 * The workers' service model for `npm run bench:balance`: a FIFO queue in front of a few service
 * slots, with exponential service times, run on a modelled clock.
 *
 * Why a modelled clock: Node's timers fire up to a millisecond or two early or late, and a loaded
 * machine delays them further. A worker that started its next call only when the previous call's
 * timer fired would serve slower than its nominal rate whenever the machine is busy, so the
 * offered load would drift above the configured fraction of capacity. Here every call's start and
 * end are computed when it arrives (Lindley's recursion: start = max(arrival, the earliest time a
 * slot is free), end = start + service), so the queue is exactly an M/M/k FIFO queue at the
 * nominal rate; the timer that sends the reply at `end` only adds its own jitter to the latency,
 * the same for every system measured.
 *
 * Pure: no timers, no I/O; time and randomness come from the caller.
 */

/** What one worker does with the calls it gets. */
export interface Behaviour {
  /** Mean service time of a normal worker, in ms. */
  meanMs: number;
  /** Service-time multiplier: 5 = five times slower. */
  factor: number;
  /** Probability that a call fails at once (no queueing, no service time). */
  failP: number;
  /** Calls served concurrently; the others wait in FIFO order. */
  slots: number;
  /** Seed of this worker's random stream (service times, failures). */
  seed: number;
}

/** How the model answers one arriving call. */
export type Admission = { fail: true } | { fail: false; startAt: number; endAt: number };

/** Seeded PRNG (mulberry32) with the signature of `Math.random`. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An exponential draw with the given mean, from a uniform draw in [0, 1). */
export function exponential(mean: number, u: number): number {
  return -Math.log(1 - u) * mean;
}

/** One worker's queue on the modelled clock (milliseconds, any origin). */
export class ServiceQueue {
  private readonly random: () => number;
  /** Per slot, the end times of the calls admitted to it that may not have ended yet (FIFO). */
  private readonly ends: number[][];
  private factor: number;
  /** The most calls that were in the worker (queued or in service) at once. */
  maxInSystem = 0;
  served = 0;
  failed = 0;

  constructor(readonly behaviour: Behaviour) {
    if (!(behaviour.meanMs > 0)) throw new TypeError('meanMs must be > 0');
    if (!Number.isInteger(behaviour.slots) || behaviour.slots < 1) {
      throw new TypeError('slots must be an integer >= 1');
    }
    this.random = seededRandom(behaviour.seed);
    this.ends = Array.from({ length: behaviour.slots }, () => []);
    this.factor = behaviour.factor;
  }

  /** Changes the service-time multiplier for calls arriving from now on (a degradation). */
  setFactor(factor: number): void {
    this.factor = factor;
  }

  /** Admits a call arriving at `now`: it fails at once, or is queued and served. */
  admit(now: number): Admission {
    // Both draws are always made, so a worker's stream of service times does not depend on
    // which calls failed.
    const failDraw = this.random();
    const service = exponential(this.behaviour.meanMs * this.factor, this.random());
    if (failDraw < this.behaviour.failP) {
      this.failed++;
      return { fail: true };
    }
    let best = 0;
    let bestFree = Number.POSITIVE_INFINITY;
    let inSystem = 1;
    for (let i = 0; i < this.ends.length; i++) {
      const list = this.ends[i] as number[];
      while (list.length > 0 && (list[0] as number) <= now) list.shift();
      inSystem += list.length;
      const free = list.length > 0 ? (list[list.length - 1] as number) : now;
      if (free < bestFree) {
        bestFree = free;
        best = i;
      }
    }
    const startAt = Math.max(now, bestFree);
    const endAt = startAt + service;
    (this.ends[best] as number[]).push(endAt);
    this.served++;
    if (inSystem > this.maxInSystem) this.maxInSystem = inSystem;
    return { fail: false, startAt, endAt };
  }

  /** Calls admitted and not yet ended at `now` (queued or in service). */
  inSystem(now: number): number {
    let n = 0;
    for (const list of this.ends) for (const end of list) if (end > now) n++;
    return n;
  }
}

/** Service rate of a worker relative to a normal one-slot worker (1 = one mean service time). */
export function capacityOf(b: Pick<Behaviour, 'factor' | 'slots'>): number {
  return b.slots / b.factor;
}
