/**
 * What a balancer does on its own — outlier ejection, retries the budget allows or denies, load
 * probes — as Prometheus series (read back from the registry's text exposition) and OpenTelemetry
 * metrics and span events, with real worker processes: a worker made unhealthy is ejected, a
 * worker that refuses calls with the retry budget spent fails them with a denied retry, and a
 * probing balancer probes a frozen worker (SIGSTOP) in vain.
 */
import assert from 'node:assert/strict';
import { channel } from 'node:diagnostics_channel';
import { after, before, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import {
  algorithms,
  type ProbeMessage,
  type RetryMessage,
  type RpcNode,
  startNode,
  TRACING_CHANNELS,
} from '../../src/index.js';
import { type RpcMetrics, registerMetrics } from '../../src/metrics/index.js';
import { Cluster, COOKIE, type Worker } from '../helpers/cluster.js';
import { setupOtel, type TestOtel } from '../helpers/otel.js';

/** The value of `name{labels}` in Prometheus text (labels matched exactly), if present. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',');
  for (const line of text.split('\n')) {
    const m = /^([a-z_:]+)\{(.*)\} (\S+)$/.exec(line);
    if (m?.[1] === name && (m[2] as string).split(',').sort().join(',') === wanted) {
      return Number(m[3]);
    }
  }
  return undefined;
}

describe('balancer metrics across processes: ejections, retries, probes', () => {
  const cluster = new Cluster();
  const registry = new Registry();
  let otel: TestOtel;
  let metrics: RpcMetrics;
  let caller: RpcNode;
  let w1: Worker;
  let w2: Worker;
  let w3: Worker;
  let refusing: Worker;
  const A = () => caller.name;

  before(async () => {
    otel = setupOtel();
    [w1, w2, w3, refusing] = await Promise.all([
      cluster.spawn({ name: 'mb-w1@127.0.0.1' }),
      cluster.spawn({ name: 'mb-w2@127.0.0.1' }),
      cluster.spawn({ name: 'mb-w3@127.0.0.1' }),
      cluster.spawn({ name: 'mb-refuse@127.0.0.1', behaviour: { refuse: true } }),
    ]);
    caller = await startNode({ name: 'mb-caller@127.0.0.1', cookie: COOKIE, logLevel: 'silent' });
    metrics = registerMetrics(registry, { nodes: [caller] });
    for (const w of [w1, w2, w3, refusing]) await caller.connect(w.address);
    for (const w of [w1, w2, w3]) await w.request('startLb', { name: 'ej' });
    for (const w of [w2, refusing]) await w.request('startLb', { name: 'retry' });
    for (const w of [w2, w3]) await w.request('startLb', { name: 'probe' });
  });
  after(async () => {
    metrics?.close();
    await caller?.destroy();
    cluster.cleanup();
    await otel?.shutdown();
  });

  test('a worker failing as an unhealthy node does is ejected: counted, and in the gauge', async () => {
    const lb = await caller.startLoadBalancer({
      name: 'ej',
      nodeMatchList: [],
      selectionAlgorithm: algorithms.RoundRobin,
      outlierDetection: {
        consecutiveFailures: 3,
        baseEjectionTimeMs: 60_000,
        maxEjectionPercent: 50,
        failurePercentage: false,
        successRate: false,
      },
    });
    try {
      await lb.waitForMembers(3, { timeout: 5_000 });
      await w1.request('setUnhealthy', true);
      let failures = 0;
      for (let i = 0; i < 15; i++) await lb.call('Health', 'check', []).catch(() => failures++);
      assert.equal(failures, 3);
      assert.deepEqual(lb.ejected(), [w1.name]);

      const text = await registry.metrics();
      const ejection = { node: A(), balancer: 'ej', member: w1.name };
      assert.equal(
        sample(text, 'rpclb_balancer_ejections_total', {
          ...ejection,
          reason: 'consecutive_failures',
        }),
        1,
      );
      assert.equal(
        sample(text, 'rpclb_balancer_ejected_members', { node: A(), balancer: 'ej' }),
        1,
      );
      assert.equal(
        sample(text, 'rpclb_client_calls_total', {
          node: A(),
          type: 'call',
          module: 'Health',
          function: 'check',
          balancer: 'ej',
          target: w1.name,
          status: 'service_unavailable',
        }),
        3,
      );
      assert.equal(caller.inspect().balancers.find((b) => b.name === 'ej')?.ejected[0], w1.name);

      const points = (await otel.points()).filter((p) => p.metric === 'rpclb.balancer.ejections');
      assert.deepEqual(
        points.map((p) => [p.attributes, p.count]),
        [
          [
            {
              'rpclb.balancer': 'ej',
              'rpclb.member': w1.name,
              'rpclb.ejection.reason': 'consecutive_failures',
            },
            1,
          ],
        ],
      );
    } finally {
      await w1.request('setUnhealthy', false);
      await lb.stop();
    }
    const text = await registry.metrics();
    assert.equal(
      sample(text, 'rpclb_balancer_ejected_members', { node: A(), balancer: 'ej' }),
      undefined,
    );
  });

  test('retries: denied by a spent budget (and a span event), then allowed', async () => {
    const decisions = (text: string, outcome: string) =>
      sample(text, 'rpclb_balancer_retry_decisions_total', {
        node: A(),
        balancer: 'retry',
        module: 'Refuse',
        function: 'maybe',
        outcome,
      });
    const retries = (text: string) =>
      sample(text, 'rpclb_balancer_retries_total', {
        node: A(),
        balancer: 'retry',
        module: 'Refuse',
        function: 'maybe',
      });
    const start = (retryBudget?: { minRetriesPerSecond: number; percentCanRetry: number }) =>
      caller.startLoadBalancer({
        name: 'retry',
        nodeMatchList: [],
        selectionAlgorithm: algorithms.RoundRobin,
        outlierDetection: false,
        ...(retryBudget ? { retryBudget } : {}),
      });
    // no retry allowed at all: the refusing member's calls fail with its own error
    let lb = await start({ minRetriesPerSecond: 0, percentCanRetry: 0 });
    otel.reset();
    try {
      await lb.waitForMembers(2, { timeout: 5_000 });
      let refused = 0;
      for (let i = 0; i < 4; i++) await lb.call('Refuse', 'maybe', []).catch(() => refused++);
      assert.equal(refused, 2, 'round robin sends 2 of 4 calls to the refusing member');
      const text = await registry.metrics();
      assert.equal(decisions(text, 'budget_exhausted'), 2);
      assert.equal(decisions(text, 'allowed'), undefined);
      assert.equal(retries(text), undefined);
      const failed = otel.spans().filter((s) => s.attributes['rpc.status_code'] !== 'ok');
      assert.equal(failed.length, 2);
      for (const span of failed) {
        assert.deepEqual(
          span.events.map((e) => [e.name, e.attributes['rpclb.attempt']]),
          [
            ['rpclb.attempt', 1],
            ['rpclb.retry.budget_exhausted', 1],
          ],
        );
        assert.deepEqual(span.events[1]?.attributes, {
          'rpclb.attempt': 1,
          'rpclb.target': refusing.name,
          'rpc.status_code': 'service_unavailable',
          'error.type': 'service_unavailable',
        });
      }
    } finally {
      await lb.stop();
    }
    // The default budget (10 retries a second): every refused call is retried on the other
    // member. How many calls meet the refusing member first depends on where round robin starts
    // and on the retries' own picks: the retry channel says.
    let allowed = 0;
    const count = (m: unknown) => {
      if ((m as RetryMessage).balancer === 'retry' && (m as RetryMessage).allowed) allowed++;
    };
    channel(TRACING_CHANNELS.retry).subscribe(count);
    lb = await start();
    try {
      await lb.waitForMembers(2, { timeout: 5_000 });
      for (let i = 0; i < 4; i++) assert.equal(await lb.call('Refuse', 'maybe', []), w2.name);
      const text = await registry.metrics();
      assert.ok(allowed >= 2, `${allowed} retries`);
      assert.equal(decisions(text, 'allowed'), allowed);
      assert.equal(retries(text), allowed, 'retries made: attempts after the first');
      assert.equal(decisions(text, 'budget_exhausted'), 2, 'unchanged');
    } finally {
      channel(TRACING_CHANNELS.retry).unsubscribe(count);
      await lb.stop();
    }
  });

  test('probes: answered ones with their round trip, and those a frozen worker never answers', async () => {
    const seen = { ok: 0, failed: 0 };
    const count = (m: unknown) => {
      const probe = m as ProbeMessage;
      if (probe.balancer === 'probe') seen[probe.ok ? 'ok' : 'failed']++;
    };
    channel(TRACING_CHANNELS.probe).subscribe(count);
    const lb = await caller.startLoadBalancer({
      name: 'probe',
      nodeMatchList: [],
      selectionAlgorithm: algorithms.ProbingLeastLoaded,
      algorithmOpts: { probes: 2 },
      probeTimeoutMs: 100,
    });
    try {
      await lb.waitForMembers(2, { timeout: 5_000 });
      for (let i = 0; i < 5; i++) await lb.call('Test', 'echo', [i]);
      w3.kill('SIGSTOP');
      try {
        // The frozen worker's probe goes unanswered (100 ms). The other's answer is too old to
        // use by then, so the pick may still be the frozen one: a short timeout bounds that.
        for (let i = 0; i < 2; i++) {
          await lb.call('Test', 'whoami', [], { timeout: 300 }).catch(() => {});
        }
      } finally {
        w3.kill('SIGCONT');
      }
    } finally {
      channel(TRACING_CHANNELS.probe).unsubscribe(count);
      await lb.stop();
    }
    assert.ok(seen.ok > 0 && seen.failed > 0, `probes seen: ${JSON.stringify(seen)}`);
    const text = await registry.metrics();
    const lb_ = { node: A(), balancer: 'probe' };
    assert.equal(sample(text, 'rpclb_balancer_probes_total', { ...lb_, result: 'ok' }), seen.ok);
    assert.equal(
      sample(text, 'rpclb_balancer_probes_total', { ...lb_, result: 'failed' }),
      seen.failed,
    );
    assert.equal(sample(text, 'rpclb_balancer_probe_duration_seconds_count', lb_), seen.ok);
    assert.equal(
      sample(text, 'rpclb_balancer_probe_duration_seconds_bucket', { ...lb_, le: '+Inf' }),
      seen.ok,
    );
    const sum = sample(text, 'rpclb_balancer_probe_duration_seconds_sum', lb_) ?? 0;
    assert.ok(sum > 0 && sum < seen.ok * 0.1, `round trips over loopback: ${sum} s in all`);

    const points = await otel.points();
    const probes = (result: string) =>
      points.find(
        (p) =>
          p.metric === 'rpclb.balancer.probes' &&
          p.attributes['rpclb.balancer'] === 'probe' &&
          p.attributes['rpclb.probe.result'] === result,
      )?.count;
    assert.equal(probes('ok'), seen.ok);
    assert.equal(probes('failed'), seen.failed);
    const duration = points.find((p) => p.metric === 'rpclb.balancer.probe.duration');
    assert.equal(duration?.unit, 's');
    assert.equal(duration?.count, seen.ok);
    assert.deepEqual(duration?.attributes, { 'rpclb.balancer': 'probe' });
    assert.equal(duration?.boundaries[0], 0.00005, 'buckets from 50 µs');
  });
});
