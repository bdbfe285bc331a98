/**
 * One timer per interval for every connection of the process, instead of one per connection:
 * the pings of a connection go on its ping interval, the checks of its peer's silence on its
 * check interval (`heartbeat.ts`), so a process with one heartbeat timeout runs two timers.
 *
 * A node in a mesh of N pings N−1 peers every interval. With a timer each, it wakes N−1 times
 * an interval, and so does each peer to read them; on an idle node those wake-ups, not the few
 * bytes, are most of the CPU. Here the connections that share an interval are ticked together,
 * and the ticks fall on the wall clock's multiples of the interval, so the nodes of a cluster
 * (whose clocks agree within a few milliseconds) ping at about the same moment and each reads
 * its peers' pings in a few wake-ups too.
 *
 * The heartbeat's bounds hold as before: each connection is ticked once an interval, its first
 * tick less than an interval after it joins. Timers are unref'd: heartbeats alone never keep a
 * process alive.
 */

interface Group {
  readonly ticks: Set<() => void>;
  timer: NodeJS.Timeout | undefined;
}

const groups = new Map<number, Group>();

/**
 * Calls `tick` once every `intervalMs` (with the other ticks of that interval) until the
 * returned function is called.
 */
export function everyInterval(intervalMs: number, tick: () => void): () => void {
  let group = groups.get(intervalMs);
  if (group === undefined) {
    group = { ticks: new Set(), timer: undefined };
    groups.set(intervalMs, group);
  }
  const entry = group;
  // A fresh function per registration, so the same tick registered twice counts twice.
  const own = () => tick();
  entry.ticks.add(own);
  if (entry.timer === undefined) schedule(intervalMs, entry);
  return () => {
    entry.ticks.delete(own);
    if (entry.ticks.size > 0 || groups.get(intervalMs) !== entry) return;
    clearTimeout(entry.timer);
    groups.delete(intervalMs);
  };
}

/**
 * Arms the group's timer for the next multiple of `intervalMs` on the wall clock; after a fire,
 * for the one after the multiple just served (a timer may fire a hair before the wall clock's
 * multiple, which must not give a second tick at once).
 */
function schedule(intervalMs: number, group: Group, afterFire = false): void {
  let delay = intervalMs - (Date.now() % intervalMs);
  if (afterFire && delay < intervalMs / 4) delay += intervalMs;
  group.timer = setTimeout(() => fire(intervalMs, group), delay);
  group.timer.unref();
}

function fire(intervalMs: number, group: Group): void {
  if (groups.get(intervalMs) !== group) return;
  schedule(intervalMs, group, true);
  let failure: { err: unknown } | undefined;
  // A copy: a tick may close its connection (and leave the group) or open another.
  for (const tick of [...group.ticks]) {
    try {
      tick();
    } catch (err) {
      failure ??= { err };
    }
  }
  // One tick's bug must not starve the others of their pings; it still surfaces.
  if (failure) throw failure.err;
}
