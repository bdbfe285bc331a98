/**
 * Call timeouts without a timer per call.
 *
 * Calls that share a timeout value expire in the order they started, so each distinct value
 * keeps a FIFO "lane" with a single timer aimed at its oldest entry. Starting a call is an
 * array push; settling one marks it and advances the lane's head past settled entries. The
 * timer is not cleared when a lane empties: it fires at most once per timeout period, finds
 * nothing or re-aims, so even one call at a time pays no timer per call. A lane whose timer
 * finds it empty is dropped. Memory stays proportional to the calls in flight even when a lane
 * never empties (a steady load): the slots behind the head are cut off once they are as many
 * as those ahead of it, and a lane whose head is stuck behind a long call compacts itself once
 * settled entries outnumber live ones. Each entry is copied at most once per cut on average,
 * so both stay amortised O(1) per call. (A `setTimeout` per call cost about a sixth of the
 * caller's CPU at 256 in flight.)
 */

/** Something with a deadline that may settle before it. */
export interface Expiring {
  /** `performance.now()` time at which it expires. */
  deadline: number;
  /** Set by the owner when it settled; the queue then forgets it. */
  settled: boolean;
}

/**
 * Entries beyond this many settled ones (and more than the live ones) trigger a compaction;
 * slots behind the head beyond this many (and as many as those ahead) are cut off.
 */
const COMPACT_MIN = 1024;

class Lane<T extends Expiring> {
  items: T[] = [];
  head = 0;
  settledInside = 0;
  timer: NodeJS.Timeout | undefined;

  constructor(
    readonly onExpire: (item: T) => void,
    /** Called when the lane's timer found it empty: the lane can be forgotten. */
    readonly onIdle: () => void,
  ) {}

  push(item: T): void {
    this.items.push(item);
    if (this.timer === undefined) this.arm();
    else if (this.items.length - this.head === 1) this.timer.ref();
  }

  /** One entry settled: drop settled entries from the head, compact if the head is stuck. */
  settled(): void {
    this.settledInside++;
    while (this.head < this.items.length && (this.items[this.head] as T).settled) {
      this.head++;
      this.settledInside--;
    }
    if (this.head === this.items.length) {
      this.reset();
      // Idle: the timer stays armed (cheaper than re-arming per call) but holds nothing open.
      this.timer?.unref();
    } else if (
      this.settledInside > COMPACT_MIN &&
      this.settledInside * 2 > this.items.length - this.head
    ) {
      this.compact();
    } else {
      this.trimHead();
    }
  }

  /** Expires everything due, then aims the timer at the next live entry. */
  sweep(): void {
    this.timer = undefined;
    const now = performance.now();
    while (this.head < this.items.length) {
      const item = this.items[this.head] as T;
      if (!item.settled && item.deadline > now) break;
      this.head++;
      if (item.settled) this.settledInside--;
      else this.onExpire(item);
    }
    if (this.head < this.items.length) {
      this.trimHead();
      return this.arm();
    }
    this.reset();
    this.onIdle();
  }

  arm(): void {
    const first = this.items[this.head] as T;
    // Like a per-call timer, a pending call keeps the process alive until it settles or expires.
    this.timer = setTimeout(
      sweepLane,
      Math.max(1, Math.ceil(first.deadline - performance.now())),
      this,
    );
  }

  reset(): void {
    this.items = [];
    this.head = 0;
    this.settledInside = 0;
  }

  /**
   * Under a steady load the lane never empties, so `reset()` never runs: without this, every
   * entry that ever passed the head would stay in `items` (and its call object in memory).
   */
  trimHead(): void {
    if (this.head >= COMPACT_MIN && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  compact(): void {
    this.items = this.items.slice(this.head).filter((item) => !item.settled);
    this.head = 0;
    this.settledInside = 0;
  }
}

function sweepLane(lane: { sweep(): void }): void {
  lane.sweep();
}

/** Tracks the deadlines of pending calls; calls `onExpire` for each one that times out. */
export class DeadlineQueue<T extends Expiring> {
  readonly #lanes = new Map<number, Lane<T>>();
  readonly #onExpire: (item: T) => void;

  constructor(onExpire: (item: T) => void) {
    this.#onExpire = onExpire;
  }

  /** Starts tracking `item`, which expires `timeoutMs` from now. */
  add(item: T, timeoutMs: number): void {
    let lane = this.#lanes.get(timeoutMs);
    if (!lane) {
      const created = new Lane<T>(this.#onExpire, () => {
        if (this.#lanes.get(timeoutMs) === created) this.#lanes.delete(timeoutMs);
      });
      this.#lanes.set(timeoutMs, (lane = created));
    }
    item.deadline = performance.now() + timeoutMs;
    lane.push(item);
  }

  /** `item` (added with `timeoutMs`) settled: the queue may forget it. Set `item.settled` first. */
  settled(timeoutMs: number): void {
    this.#lanes.get(timeoutMs)?.settled();
  }

  /** Lanes (distinct timeout values) currently held, for tests. */
  get lanes(): number {
    return this.#lanes.size;
  }

  /** Entries held (live and not yet dropped), for tests. */
  get size(): number {
    let n = 0;
    for (const lane of this.#lanes.values()) n += lane.items.length - lane.head;
    return n;
  }

  /** Stops every timer (the owner is closing). */
  clear(): void {
    for (const lane of this.#lanes.values()) clearTimeout(lane.timer);
    this.#lanes.clear();
  }
}
