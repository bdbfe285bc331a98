/**
 * Outlier ejection and the retry budget with real worker processes: a worker whose calls keep
 * failing as an unhealthy node's would is left out of the picks for the ejection time, then
 * comes back (and, healthy again, takes its share); a handler's own exception never ejects
 * anyone; a spent retry budget fails calls with their real error.
 */
import assert from 'node:assert/strict';
import { channel } from 'node:diagnostics_channel';
import { after, before, describe, test } from 'node:test';
import {
  algorithms,
  type OutlierMessage,
  type RetryMessage,
  type RpcNode,
  startNode,
  TRACING_CHANNELS,
} from '../../src/index.js';
import { Cluster, COOKIE, type Worker } from '../helpers/cluster.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

describe('outlier ejection across processes', () => {
  let cluster: Cluster;
  let workers: Worker[];
  let caller: RpcNode;

  before(async () => {
    cluster = new Cluster();
    workers = await Promise.all(
      ['ej-w1', 'ej-w2', 'ej-w3'].map((name) => cluster.spawn({ name: `${name}@127.0.0.1` })),
    );
    caller = await startNode({ name: 'ej-caller@127.0.0.1', cookie: COOKIE, logger: quiet });
    for (const w of workers) {
      await caller.connect(w.address);
      await w.request('startLb', {});
    }
  });
  after(async () => {
    await caller.destroy();
    cluster.cleanup();
  });

  test('a failing worker is ejected for the ejection time, then returns and takes its share again', async () => {
    const events: OutlierMessage[] = [];
    const listener = (m: unknown) => events.push(m as OutlierMessage);
    channel(TRACING_CHANNELS.outlier).subscribe(listener);
    const lb = await caller.startLoadBalancer({
      name: 'lb',
      nodeMatchList: [],
      selectionAlgorithm: algorithms.RoundRobin,
      outlierDetection: {
        consecutiveFailures: 3,
        baseEjectionTimeMs: 1_500,
        maxEjectionPercent: 50,
        failurePercentage: false,
        successRate: false,
      },
    });
    try {
      await lb.waitForMembers(3, { timeout: 5_000 });
      const sick = workers[0] as Worker;
      await sick.request('setUnhealthy', true);
      const served: string[] = [];
      let failures = 0;
      for (let i = 0; i < 30; i++) {
        await lb.call<string>('Health', 'check', []).then(
          (who) => served.push(who),
          () => failures++,
        );
      }
      assert.equal(failures, 3, 'three failures in a row, then the worker is left out');
      assert.deepEqual(lb.ejected(), [sick.name]);
      assert.equal(served.filter((n) => n === sick.name).length, 0);
      assert.deepEqual(
        events.map((e) => [e.type, e.member, e.reason]),
        [['eject', sick.name, 'consecutive_failures']],
      );
      // healthy again: after the ejection time it is back in the picks
      await sick.request('setUnhealthy', false);
      await new Promise((resolve) => setTimeout(resolve, 1_600));
      const after: string[] = [];
      for (let i = 0; i < 30; i++) after.push(await lb.call<string>('Health', 'check', []));
      assert.deepEqual(lb.ejected(), []);
      assert.equal(after.filter((n) => n === sick.name).length, 10, 'a fair third again');
      assert.deepEqual(events.at(-1), {
        node: caller.name,
        balancer: 'lb',
        type: 'return',
        member: sick.name,
      });
    } finally {
      channel(TRACING_CHANNELS.outlier).unsubscribe(listener);
      await lb.stop();
    }
  });

  test('a handler’s own exceptions never eject a member', async () => {
    const lb = await caller.startLoadBalancer({
      name: 'lb',
      nodeMatchList: [],
      selectionAlgorithm: algorithms.RoundRobin,
      outlierDetection: { consecutiveFailures: 2 },
    });
    try {
      await lb.waitForMembers(3, { timeout: 5_000 });
      for (let i = 0; i < 12; i++) {
        await assert.rejects(lb.call('Test', 'boom', ['bug']), { code: 'internal_server_error' });
      }
      assert.deepEqual(lb.ejected(), []);
    } finally {
      await lb.stop();
    }
  });

  test('with the retry budget spent, a refused call fails with its real error', async () => {
    const retries: RetryMessage[] = [];
    const listener = (m: unknown) => retries.push(m as RetryMessage);
    channel(TRACING_CHANNELS.retry).subscribe(listener);
    // no allowance per second and 0 % of calls: not a single retry
    const lb = await caller.startLoadBalancer({
      name: 'lb',
      nodeMatchList: [],
      selectionAlgorithm: algorithms.RoundRobin,
      outlierDetection: false,
      retryBudget: { minRetriesPerSecond: 0, percentCanRetry: 0 },
    });
    const refusing = await cluster.spawn({
      name: 'ej-refuse@127.0.0.1',
      behaviour: { refuse: true },
    });
    try {
      await caller.connect(refusing.address);
      await refusing.request('startLb', {});
      await lb.waitForMembers(4, { timeout: 5_000 });
      let refused = 0;
      for (let i = 0; i < 8; i++) {
        await lb.call('Refuse', 'maybe', []).catch((err) => {
          assert.equal(err.code, 'service_unavailable');
          assert.equal(err.message, 'refused', 'the real error, not a budget error');
          assert.equal(err.details.node, refusing.name);
          refused++;
        });
      }
      assert.equal(refused, 2, 'round robin sends 2 of 8 calls to the refusing member');
      assert.deepEqual(
        retries.map((r) => [r.target, r.code, r.allowed]),
        [
          [refusing.name, 'service_unavailable', false],
          [refusing.name, 'service_unavailable', false],
        ],
      );
    } finally {
      channel(TRACING_CHANNELS.retry).unsubscribe(listener);
      await lb.stop();
      refusing.kill('SIGKILL');
    }
  });
});
