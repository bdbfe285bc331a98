import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LeastCpu, type LeastCpuOptions } from '../../../src/algorithms/least-cpu.js';
import { type FakeClock, fakeClock } from '../../helpers/clock.js';
import { seededRandom } from '../../helpers/random.js';

const NODES = Object.freeze(['a', 'b', 'c', 'd']);

function make(options: LeastCpuOptions = {}, clock: FakeClock = fakeClock(1_000)) {
  const probes: string[] = [];
  const algo = new LeastCpu({
    balancerName: 't',
    options,
    random: seededRandom(4),
    now: clock.now,
    probe: (node) => probes.push(node),
  });
  algo.onNodeChange({ type: 'join', nodes: NODES, members: NODES });
  return { algo, clock, probes };
}

const load = (elu: number, at: number) => ({ inFlight: 0, elu, at });

function picks(algo: LeastCpu, n = 4_000): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const node = algo.chooseFromNodes(NODES, {});
    out[node] = (out[node] ?? 0) + 1;
  }
  return out;
}

describe('LeastCpu', () => {
  it('picks uniformly among members within the band above the lowest reading', () => {
    const { algo, clock } = make({ thresholdPercent: 5 });
    algo.onProbeResult('a', load(0.2, clock.now()));
    algo.onProbeResult('b', load(0.24, clock.now()));
    algo.onProbeResult('c', load(0.26, clock.now()));
    algo.onProbeResult('d', load(0.9, clock.now()));
    clock.advance(100);
    const counts = picks(algo);
    assert.deepEqual(Object.keys(counts).sort(), ['a', 'b']);
    assert.ok(Math.abs(counts.a - counts.b) < 300, JSON.stringify(counts));
  });

  it('counts missing and stale readings as 50 %', () => {
    const { algo, clock } = make({ staleAfterMs: 10_000 });
    algo.onProbeResult('a', load(0.6, clock.now()));
    algo.onProbeResult('b', load(0.7, clock.now()));
    clock.advance(100);
    assert.deepEqual(Object.keys(picks(algo)).sort(), ['c', 'd'], 'unknown = 50 % < 60 %');
    assert.equal(algo.cpuPercent('c'), 50);
    algo.onProbeResult('c', load(0.1, clock.now()));
    clock.advance(100);
    assert.deepEqual(Object.keys(picks(algo)), ['c']);
    clock.advance(10_001);
    assert.equal(algo.cpuPercent('c'), 50, 'stale');
    assert.deepEqual(Object.keys(picks(algo)).sort(), ['a', 'b', 'c', 'd']);
  });

  it('reads the load of reply trailers', () => {
    const { algo, clock } = make();
    for (const node of NODES) {
      algo.releaseNode(node, {
        ok: true,
        latencyMs: 1,
        load: load(node === 'd' ? 0.05 : 0.5, clock.now()),
      });
    }
    clock.advance(100);
    assert.deepEqual(Object.keys(picks(algo)), ['d']);
  });

  it('polls members not heard from within the interval, from picks, no timers', () => {
    const { algo, clock, probes } = make({ pollIntervalMs: 5_000 });
    algo.chooseFromNodes(NODES, {});
    assert.deepEqual(probes.sort(), ['a', 'b', 'c', 'd'], 'the first pick polls everyone');
    probes.length = 0;
    clock.advance(1_000);
    algo.releaseNode('a', { ok: true, latencyMs: 1, load: load(0.3, clock.now()) });
    algo.chooseFromNodes(NODES, {});
    assert.deepEqual(probes, [], 'not before the interval');
    clock.advance(4_000);
    algo.chooseFromNodes(NODES, {});
    assert.deepEqual(probes.sort(), ['b', 'c', 'd'], 'a was heard from 4 s ago');
  });

  it('follows new readings at the next pick with few members', () => {
    const { algo, clock } = make();
    algo.chooseFromNodes(NODES, {});
    algo.onProbeResult('b', load(0.01, clock.now()));
    assert.deepEqual(Object.keys(picks(algo, 400)), ['b']);
  });

  it('with many members, rebuilds its band once picks have paid for it, or after 100 ms', () => {
    const clock = fakeClock(1_000);
    const many = Object.freeze(
      Array.from({ length: 320 }, (_, i) => `m${String(i).padStart(3, '0')}`),
    );
    const algo = new LeastCpu({
      balancerName: 't',
      options: {},
      random: seededRandom(5),
      now: clock.now,
    });
    algo.onNodeChange({ type: 'join', nodes: many, members: many });
    algo.chooseFromNodes(many, {});
    algo.onProbeResult('m007', load(0.01, clock.now()));
    const next = () => algo.chooseFromNodes(many, {});
    const before = Array.from({ length: 75 }, next); // (320 - 16) / 4 = 76 picks pay for a rebuild
    assert.ok(
      before.some((n) => n !== 'm007'),
      'the old band, for now',
    );
    assert.deepEqual([...new Set(Array.from({ length: 150 }, next))], ['m007']);
    algo.onProbeResult('m007', load(0.9, clock.now()));
    algo.onProbeResult('m008', load(0.0, clock.now()));
    assert.equal(next(), 'm008', 'the picks since the last rebuild paid for this one');
    algo.onProbeResult('m008', load(0.9, clock.now()));
    algo.onProbeResult('m009', load(0.0, clock.now()));
    assert.equal(next(), 'm008', 'one pick later: the band of a moment ago');
    clock.advance(100);
    assert.equal(next(), 'm009', '100 ms later at the latest');
  });

  it("accepts the simulator's reports (utilisation from the queue length)", () => {
    const { algo, clock } = make();
    const report = (queue: number) => ({ queue, svcMs: 10, estLatencyMs: 10, at: clock.now() });
    for (const node of NODES) {
      algo.releaseNode(node, {
        ok: true,
        latencyMs: 1,
        report: report(node === 'c' ? 0 : 3),
      } as never);
    }
    clock.advance(100);
    assert.deepEqual(Object.keys(picks(algo)), ['c']);
  });

  it('validates its options, naming the field', () => {
    assert.throws(() => make({ pollIntervalMs: 0 }), /pollIntervalMs must be a number >= 1/);
    assert.throws(() => make({ staleAfterMs: Number.NaN }), /staleAfterMs/);
    assert.throws(
      () => make({ thresholdPercent: 101 }),
      /thresholdPercent must be a number between 0 and 100/,
    );
  });
});
