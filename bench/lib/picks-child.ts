/**
 * Runs the per-pick benchmark in its own process: every algorithm from bench/picks.ts (loaded
 * dynamically, so the rest of the benchmark works while that file is missing) next to the
 * floor of a bare random array index. `node dist/bench/lib/picks-child.js [--quick]`.
 */
import { describe, guardLifetime, tell } from './child.js';
import {
  PICK_FLOOR_NAME,
  PICK_MEMBER_COUNTS,
  type PickRow,
  type PicksReport,
} from './picks-types.js';
import { median } from './stats.js';

let sink = 0;

/** ns per `nodes[(Math.random() * n) | 0]`: the least any random pick can cost. */
function floorRow(members: number, quick: boolean): PickRow {
  const nodes = Object.freeze(Array.from({ length: members }, (_, i) => `node${i}@127.0.0.1`));
  const iterations = quick ? 200_000 : 1_000_000;
  const samples: number[] = [];
  for (let s = 0; s < (quick ? 5 : 15); s++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) {
      sink += (nodes[(Math.random() * members) | 0] as string).length;
    }
    samples.push(Number(process.hrtime.bigint() - t0) / iterations);
  }
  return { algorithm: PICK_FLOOR_NAME, members, nsPerOp: median(samples), samples };
}

async function main(): Promise<void> {
  guardLifetime();
  const quick = process.argv.includes('--quick');
  const report: PicksReport = { rows: [], floor: [] };
  const url = new URL('../picks.js', import.meta.url).href;
  let mod: Record<string, unknown> | undefined;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    const code = (err as { code?: string }).code;
    report.missing =
      code === 'ERR_MODULE_NOT_FOUND'
        ? 'bench/picks.ts is not there yet (no dist/bench/picks.js)'
        : `bench/picks.ts failed to load: ${describe(err)}`;
  }
  if (mod) {
    const run = mod.runPickBench;
    if (typeof run !== 'function') {
      report.missing = 'bench/picks.ts does not export runPickBench';
    } else {
      const rows = (await run({ quick })) as PickRow[];
      // picks.ts may measure the bare random index itself (exported name `FLOOR`); use its rows.
      const floorName = typeof mod.FLOOR === 'string' ? mod.FLOOR : undefined;
      report.rows = rows.filter((r) => r.algorithm !== floorName);
      report.floor = rows.filter((r) => r.algorithm === floorName);
      const targets = mod.pickTargetsNs;
      if (typeof targets === 'number' || (typeof targets === 'object' && targets !== null)) {
        report.targetsNs = targets as number | Record<string, number>;
      }
    }
  }
  if (report.floor.length === 0) {
    for (let round = 0; round < 2; round++) {
      // The first round is warm-up for the JIT.
      report.floor = PICK_MEMBER_COUNTS.map((n) => floorRow(n, quick));
    }
  }
  if (sink === -1) console.log(sink);
  tell({ type: 'picks', seq: 0, report });
}

main().catch((err: unknown) => {
  tell({ type: 'error', seq: 0, message: describe(err) });
  setImmediate(() => process.exit(1));
});
