/**
 * A fake millisecond clock for tests of time-based logic: inject `clock.now` where code takes a
 * `now: () => number`, and move time with `advance` instead of sleeping.
 */
export interface FakeClock {
  /** The current fake time, ms. */
  now: () => number;
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void;
  /** Sets the clock to `ms`. */
  set(ms: number): void;
}

/** A fake clock starting at `start` ms. */
export function fakeClock(start = 0): FakeClock {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
    set(ms: number) {
      t = ms;
    },
  };
}
