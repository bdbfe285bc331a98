import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aperture } from '../../../bench/lib/aperture.js';
import { spread, stats } from '../../../bench/lib/scale-report.js';
import {
  BASE_IDLE_PCT,
  calibrate,
  model,
  onDemandModel,
  redialsWithin,
  renderModel,
  renderOnDemandModel,
} from '../../../bench/scale-model.js';

const params = { nodes: 100, heartbeatTimeoutMs: 3_000, perMessageUs: 10, groupsPerNode: 1 };

describe('scale model', () => {
  it('counts connections and heartbeats of a full mesh from the ping interval rule', () => {
    const row = model(params);
    assert.equal(row.connectionsPerNode, 99);
    assert.equal(row.connectionsTotal, 4_950);
    // A ping every 600 ms (a fifth of 3 000) each way on 99 connections.
    assert.equal(row.heartbeatsPerNodePerS, 330);
    assert.equal(row.heartbeatsTotalPerS, 16_500);
    // 330 messages × 10 µs = 3.3 ms per second = 0.33 % of a core, over the base.
    assert.ok(Math.abs(row.idleCpuPctPerNode - (BASE_IDLE_PCT + 0.33)) < 1e-9);
    assert.equal(row.joinFrames, 9 * 99);
    assert.equal(row.groupChangeFrames, 99);
    assert.equal(row.gracefulLeaveFrames, 3 * 99);
    assert.equal(row.etcdEventsPerChange, 100);
    // Lease TTL 3 s, a keepalive every second per node.
    assert.equal(row.etcdKeepalivesPerS, 100);
  });

  it('grows per-node costs linearly and cluster totals quadratically', () => {
    const small = model(params);
    const large = model({ ...params, nodes: 1_000 });
    assert.equal(large.heartbeatsPerNodePerS / small.heartbeatsPerNodePerS, 999 / 99);
    assert.equal(large.connectionsTotal / small.connectionsTotal, (1_000 * 999) / (100 * 99));
  });

  it('counts re-dials with the transport backoff at its mean jitter', () => {
    // 75, 150, 300, 600, 1 200, 2 400 ms (4 725 ms in all), then 3 750 ms apart up to 60 s.
    assert.equal(redialsWithin(4_725), 6);
    assert.equal(redialsWithin(60_000), 6 + Math.floor((60_000 - 4_725) / 3_750));
  });

  it('calibrates the per-message cost back from a measured idle CPU', () => {
    const idle = model(params).idleCpuPctPerNode;
    assert.ok(Math.abs(calibrate(idle, 100, 3_000) - 10) < 1e-9);
    assert.equal(calibrate(BASE_IDLE_PCT / 2, 100, 3_000), 0);
  });

  it('renders one column per size', () => {
    const table = renderModel([model(params), model({ ...params, nodes: 10_000 })], 3_000);
    assert.match(table, /\| connections in all \| 4,950 \| 49,995,000 \|/);
    assert.match(table, /ping every 600 ms/);
  });
});

describe('scale report helpers', () => {
  it('spread is max over mean of the calls each worker served', () => {
    assert.deepEqual(spread([10, 20, 30]), {
      workers: 3,
      total: 60,
      mean: 20,
      max: 30,
      min: 10,
      maxOverMean: 1.5,
    });
    assert.ok(Number.isNaN(spread([0, 0]).maxOverMean));
  });

  it('stats take the middle of an even count as the median', () => {
    assert.deepEqual(stats([4, 1, 3, 2]), { median: 2.5, min: 1, max: 4, mean: 2.5 });
  });
});

describe('scale model, on demand with aperture subsetting', () => {
  const base = { heartbeatTimeoutMs: 3_000, perMessageUs: 10, groupsPerNode: 1, minAperture: 12 };
  // 20 nodes, 10 % callers: C = 2 callers, M = 18 workers. w = max(12/18, 1/2) = 2/3 of the
  // ring. Caller 0 keeps [0, 2/3): workers 0–11; caller 1 keeps [1/2, 7/6): workers 9–17, 0–2.
  // Workers 0–2 and 9–11 have both callers, the 12 others one.
  const small = onDemandModel({ ...base, nodes: 20, callerShare: 0.1 });

  it('places windows on the ring as computed by hand', () => {
    const ring = aperture(2, 18, 12);
    assert.equal(ring.width, 2 / 3);
    assert.deepEqual(ring.perCaller, [12, 12]);
    assert.deepEqual(ring.perMember, [2, 2, 2, 1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1]);
    // One call a second per caller, a twelfth to each of its workers.
    ring.loadPerMember.forEach((load, j) => {
      assert.ok(Math.abs(load - (ring.perMember[j] as number) / 12) < 1e-12);
    });
  });

  it('adds a member when a window ends inside an arc, and caps a window at the ring', () => {
    // C = 4, M = 18: windows of 2/3 start at 0, 1/4, 1/2, 3/4 of the ring; those at 1/4 and
    // 3/4 begin and end halfway through an arc (18/4 = 4.5), so they touch 13 workers.
    assert.deepEqual(aperture(4, 18, 12).perCaller, [12, 13, 12, 13]);
    const whole = aperture(2, 5, 12);
    assert.equal(whole.width, 1);
    assert.deepEqual(whole.perCaller, [5, 5]);
    assert.deepEqual(whole.perMember, [2, 2, 2, 2, 2]);
  });

  it('counts connections and heartbeats per caller and per worker', () => {
    assert.equal(small.callers, 2);
    assert.equal(small.workers, 18);
    assert.deepEqual(small.connectionsPerCaller, { mean: 12, min: 12, max: 12 });
    assert.deepEqual(small.connectionsPerWorker, { mean: 24 / 18, min: 1, max: 2 });
    assert.equal(small.connectionsTotal, 24);
    // Spread evenly, the shared workers get 2/12 of a caller's calls, the mean is 2/18:
    // max/mean 1.5. With the coverage weights a caller gives each shared worker 1/18 of its
    // calls and each of the others 1/9, so every worker gets 1/9 of a call a second: max/mean 1.
    assert.ok(Math.abs(small.loadMaxOverMean - 1.5) < 1e-12);
    assert.ok(Math.abs(small.weightedLoadMaxOverMean - 1) < 1e-12);
    // A ping every 600 ms each way: 12 connections → 40 a second; 1 or 2 → 3.33 or 6.67.
    assert.deepEqual(small.heartbeatsPerCallerPerS, { mean: 40, min: 40, max: 40 });
    assert.ok(Math.abs(small.heartbeatsPerWorkerPerS.mean - 40 / 9) < 1e-9);
    assert.ok(Math.abs(small.heartbeatsPerWorkerPerS.max - 20 / 3) < 1e-9);
    assert.equal(small.heartbeatsTotalPerS, 80);
  });

  it('turns heartbeats into idle CPU with the mesh calibration', () => {
    // 40 messages × 10 µs = 0.4 ms a second = 0.04 % over the base.
    assert.ok(Math.abs(small.idleCpuPctPerCaller.mean - (BASE_IDLE_PCT + 0.04)) < 1e-9);
    // 2 callers at the base + 0.04 %, 18 workers at the base + (6 × 6.67 + 12 × 3.33) × 10 µs.
    const callers = 2 * (BASE_IDLE_PCT + 0.04);
    assert.ok(Math.abs(small.idleCores - (callers + 18 * BASE_IDLE_PCT + 0.08) / 100) < 1e-9);
  });

  it('counts start, group change, leave and crash on the node own connections', () => {
    assert.equal(small.callerStartFrames, 9 * 12);
    // The caller lists up to 11 others to each of 12 workers; the 6 shared workers list 1.
    assert.equal(small.callerStartPeerListEntries, (2 * 12 * 11 + 6 * 2) / 2);
    assert.equal(small.workerStartFrames, 0);
    assert.equal(small.callerGroupChangeFrames, 12);
    assert.equal(small.workerGroupChangeFrames, 24 / 18);
    assert.equal(small.callerGracefulLeaveFrames, 36);
    assert.equal(small.callerCrashRedials, 12 * redialsWithin(60_000));
    assert.equal(small.workerCrashRedials, (24 / 18) * redialsWithin(60_000));
    assert.equal(small.leaseTtlS, 3);
    assert.equal(small.etcdEventsPerChange, 20);
  });

  it('keeps per-node figures flat as the cluster grows', () => {
    const large = onDemandModel({ ...base, nodes: 10_000, callerShare: 0.1 });
    assert.deepEqual(large.connectionsPerCaller, { mean: 12, min: 12, max: 12 });
    assert.equal(large.connectionsTotal, 12_000);
    const table = renderOnDemandModel([small, large], { ...base, nodes: 0, callerShare: 0.1 });
    assert.match(table, /\| connections in all \| 24 \| 12,000 \|/);
    assert.match(table, /\| connections per worker \| 1\.33 \(1–2\) \|/);
  });
});
