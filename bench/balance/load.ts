/**
 * Open-loop load for `npm run bench:balance`: calls arrive as a Poisson process at a fixed rate,
 * whatever the replies do, so a slow worker really builds a queue (a closed loop would slow its
 * own arrivals down instead). Latency is measured from the moment a call is sent. How late that
 * was after its scheduled arrival is recorded apart (`lagMs`): on a shared machine most of it is
 * other processes' CPU, which would otherwise be charged to the system under test.
 */
import { percentileSorted } from '../lib/stats.js';
import { exponential, seededRandom } from './model.js';
import { type CallerResult, type ErrorCounts, FAIL_PATTERN, type LoadSpec } from './types.js';

/** Arrival times (ms from the start) of a Poisson process at `ratePerSec`, up to `untilMs`. */
export function poissonArrivals(ratePerSec: number, untilMs: number, seed: number): Float64Array {
  if (!(ratePerSec > 0)) throw new TypeError('ratePerSec must be > 0');
  const random = seededRandom(seed);
  const meanGapMs = 1000 / ratePerSec;
  const out: number[] = [];
  for (
    let t = exponential(meanGapMs, random());
    t < untilMs;
    t += exponential(meanGapMs, random())
  ) {
    out.push(t);
  }
  return Float64Array.from(out);
}

/** Sorts an error into the kinds the report counts (see {@link ErrorCounts}). */
export function classify(err: unknown): { kind: keyof ErrorCounts; slot?: number } {
  const e = err as { code?: unknown; name?: unknown; message?: unknown; details?: unknown };
  const remote = (e.details as { remote?: { message?: unknown } } | undefined)?.remote;
  const text = `${String(e.message ?? '')} ${String(remote?.message ?? '')}`;
  const failed = FAIL_PATTERN.exec(text);
  if (failed) return { kind: 'failed', slot: Number(failed[1]) };
  const tag = `${String(e.code ?? '')} ${String(e.name ?? '')} ${text}`.toLowerCase();
  if (/timeout|timed out|408|504/.test(tag)) return { kind: 'timeout' };
  if (/unavailable|no responders|503|rejected|not available|disconnect|closed|lost/.test(tag)) {
    return { kind: 'unavailable' };
  }
  return { kind: 'other' };
}

type Call = (i: number) => Promise<number>;

/** Runs one measurement: warm-up then the window, then waits for every call to settle. */
export async function openLoop(call: Call, spec: LoadSpec, slots: number): Promise<CallerResult> {
  const windowStart = spec.warmupMs;
  const arrivals = poissonArrivals(spec.ratePerSec, spec.warmupMs + spec.durationMs, spec.seed);
  const result: CallerResult = {
    sent: arrivals.length,
    issued: 0,
    ok: 0,
    errors: { failed: 0, timeout: 0, unavailable: 0, other: 0 },
    latenciesMs: [],
    perSlot: new Array<number>(slots).fill(0),
    lagMs: { p99: 0, max: 0 },
    samples: [],
    cpuUs: 0,
  };
  const cpu = process.cpuUsage();
  const lags: number[] = [];
  const inFlight = new Set<Promise<void>>();
  let measuredInFlight = 0;
  const start = performance.now();

  const send = (i: number) => {
    const scheduled = start + (arrivals[i] as number);
    const measured = (arrivals[i] as number) >= windowStart;
    const sent = performance.now();
    if (measured) {
      result.issued++;
      measuredInFlight++;
      lags.push(sent - scheduled);
    }
    const settled = call(i).then(
      (slot) => {
        if (!measured) return;
        measuredInFlight--;
        result.ok++;
        result.latenciesMs.push(performance.now() - sent);
        if (slot >= 0 && slot < slots) (result.perSlot[slot] as number)++;
      },
      (err: unknown) => {
        if (!measured) return;
        measuredInFlight--;
        const { kind, slot } = classify(err);
        result.errors[kind]++;
        if (slot !== undefined && slot < slots) (result.perSlot[slot] as number)++;
        if (result.samples.length < 4 && !result.samples.some((s) => s.startsWith(kind))) {
          result.samples.push(`${kind}: ${(err as Error).message ?? String(err)}`);
        }
      },
    );
    inFlight.add(settled);
    settled.finally(() => inFlight.delete(settled));
  };

  await new Promise<void>((resolve) => {
    let next = 0;
    const tick = () => {
      const now = performance.now() - start;
      // Everything due is sent now; Node's timers fire up to ~1 ms off, and a late tick catches up.
      while (next < arrivals.length && (arrivals[next] as number) <= now) send(next++);
      if (next >= arrivals.length) resolve();
      else setTimeout(tick, (arrivals[next] as number) - now);
    };
    tick();
  });
  // Every system enforces the same per-call timeout, so this ends; the bound is a safety net.
  const limit = new Promise((resolve) => setTimeout(resolve, spec.timeoutMs + 5_000).unref());
  await Promise.race([Promise.all(inFlight), limit]);
  const stuck = measuredInFlight;
  if (stuck > 0) {
    result.errors.timeout += stuck;
    result.samples.push(`timeout: ${stuck} call(s) never settled`);
  }
  const used = process.cpuUsage(cpu);
  result.cpuUs = used.user + used.system;
  lags.sort((a, b) => a - b);
  result.lagMs = { p99: percentileSorted(lags, 99) || 0, max: lags[lags.length - 1] ?? 0 };
  return result;
}
