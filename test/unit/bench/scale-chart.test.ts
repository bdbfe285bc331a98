import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { niceMax, renderScaleSvg, scalePanels } from '../../../bench/lib/scale-chart.js';
import type { ModeResult, ScaleResults } from '../../../bench/lib/scale-report.js';
import { spread, stats } from '../../../bench/lib/scale-report.js';

const run = { command: 'x', startedAt: 't', durationS: 1, loadBefore: [], loadAfter: [] };

function measured(mode: string, sockets: number[], convergeMs: number | null) {
  const result: ModeResult = {
    mode: mode as ModeResult['mode'],
    convergeMs,
    completeAfterIdle: 4,
    startMs: 1_000,
    sockets: stats(sockets),
    idleCpuPct: stats([0.7, 0.8, 1.2]),
    rssMiB: stats([50, 55, 60]),
    heapMiB: stats([10, 11]),
    totalRssMiB: 200,
    freeBeforeMiB: 1_000,
    freeAtPeakMiB: 800,
    kill: { killed: 1, goneMs: stats([20, 30]), callersTimedOut: 0, boundMs: 3_300 },
    spreads: [{ algorithm: 'RoundRobin', ...spread([10, 12, 14]) }],
    calls: 36,
    failures: 0,
  };
  return { ...result, run };
}

function results(modes: ScaleResults['modes']): ScaleResults {
  return {
    machine: { cpu: 'c', cores: 2, memoryGiB: 1, os: 'o', node: 'v20', packages: {}, commit: 'c' },
    options: {
      nodes: 4,
      callers: 1,
      kill: 1,
      idleS: 1,
      settleS: 1,
      convergeS: 5,
      loadS: 1,
      rate: 1,
      heartbeatTimeoutMs: 3_000,
      modes: ['mesh', 'etcd'],
      algorithms: ['LeastLoaded', 'RoundRobin'],
    },
    pingIntervalMs: 600,
    checkIntervalMs: 300,
    modes,
  };
}

const bars = (svg: string) => svg.match(/<rect class="bar"/g)?.length ?? 0;

describe('scale chart', () => {
  it('draws one bar per mode in each panel, and says what is missing', () => {
    const r = results([
      measured('mesh', [3, 3, 3], 120),
      measured('etcd', [3, 3, 4], null),
      measured('etcd-subset', [1, 1, 2], 80),
    ]);
    const svg = renderScaleSvg(r);
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*>/);
    assert.match(svg, /<\/svg>\n$/);
    assert.equal(svg.match(/<svg/g)?.length, 1);
    // 7 panels (2 algorithms): 3 modes each, less etcd's convergence and every LeastLoaded.
    assert.equal(scalePanels(r).length, 7);
    assert.equal(bars(svg), 7 * 3 - 1 - 3);
    assert.match(svg, /not within 5 s/);
    assert.match(svg, />not measured</);
    assert.match(svg, /on demand \+ subsets/);
    assert.match(svg, /target 1\.15/);
  });

  it('shows a skipped mode without bars, and survives figures that are not numbers', () => {
    const broken = measured('mesh', [], 100);
    const svg = renderScaleSvg(
      results([broken, { mode: 'etcd', skipped: 'etcd <missing>' }, measured('x', [2], 50)]),
    );
    assert.match(svg, /no figure/);
    assert.match(svg, />skipped</);
    assert.doesNotMatch(svg, /NaN|undefined|Infinity/);
    // The broken mode loses its connections bar, the skipped one every bar, both others LeastLoaded.
    assert.equal(bars(svg), 7 * 3 - 1 - 7 - 2);
  });

  it('rounds an axis up to 1, 2 or 5 times a power of ten', () => {
    assert.deepEqual([0.7, 1, 1.6, 3, 7.2, 99, 101, 0].map(niceMax), [1, 1, 2, 5, 10, 100, 200, 1]);
  });
});
