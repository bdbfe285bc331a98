import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { spread, stats } from '../../../bench/lib/scale-report.js';
import {
  BASE_IDLE_PCT,
  calibrate,
  model,
  redialsWithin,
  renderModel,
} from '../../../bench/scale-model.js';

const params = { nodes: 100, heartbeatTimeoutMs: 3_000, perMessageUs: 10, groupsPerNode: 1 };

describe('scale model', () => {
  it('counts connections and heartbeats of a full mesh from the ping interval rule', () => {
    const row = model(params);
    assert.equal(row.connectionsPerNode, 99);
    assert.equal(row.connectionsTotal, 4_950);
    // A ping every 300 ms (a tenth of 3 000) each way on 99 connections.
    assert.equal(row.heartbeatsPerNodePerS, 660);
    assert.equal(row.heartbeatsTotalPerS, 33_000);
    // 660 messages × 10 µs = 6.6 ms per second = 0.66 % of a core, over the base.
    assert.ok(Math.abs(row.idleCpuPctPerNode - (BASE_IDLE_PCT + 0.66)) < 1e-9);
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
    assert.match(table, /ping every 300 ms/);
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
