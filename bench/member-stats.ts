/**
 * The cost of the per-member bookkeeping behind `lb.inspect()`, per call: `selected()` when a
 * member is picked and `released(outcome)` when its call ends (what the balancer adds to every
 * `lb.call`), against an empty loop doing the same outcome bookkeeping without it. Run with
 * `node dist/bench/member-stats.js`; prints ns per call.
 */
import { MemberStats } from '../src/balancer/member-stats.js';
import type { CallOutcome } from '../src/index.js';

const N = 20_000_000;
const outcomes: CallOutcome[] = Array.from({ length: 64 }, (_, i) => ({
  ok: i % 17 !== 0,
  latencyMs: 0.1 + (i % 13) * 0.01,
}));
const members = Array.from({ length: 3 }, () => new MemberStats());
const byName = new Map(members.map((m, i) => [`srv${i}@127.0.0.1`, m]));
const names = [...byName.keys()];

function withStats(): number {
  let sink = 0;
  for (let i = 0; i < N; i++) {
    const stats = byName.get(names[i % 3] as string) as MemberStats;
    stats.selected();
    const outcome = outcomes[i & 63] as CallOutcome;
    stats.released(outcome);
    sink += outcome.latencyMs;
  }
  return sink;
}

function without(): number {
  let sink = 0;
  for (let i = 0; i < N; i++) {
    const name = names[i % 3] as string;
    const outcome = outcomes[i & 63] as CallOutcome;
    sink += outcome.latencyMs + name.length;
  }
  return sink;
}

function time(fn: () => number): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / N;
}

for (let round = 0; round < 2; round++) time(withStats) + time(without); // warm-up
const samples = Array.from({ length: 5 }, () => time(withStats) - time(without)).sort(
  (a, b) => a - b,
);
console.log(
  `member stats: ${samples[2]?.toFixed(1)} ns per call (median of 5; lookup, selected, released)`,
);
const snapshotStart = process.hrtime.bigint();
for (let i = 0; i < 1_000; i++) members[0]?.snapshot('srv0@127.0.0.1', 0);
console.log(
  `snapshot of one member (percentiles over 128 latencies): ${(Number(process.hrtime.bigint() - snapshotStart) / 1_000 / 1_000).toFixed(1)} µs`,
);
