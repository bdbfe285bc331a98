/**
 * rpc-load-balancer/metrics with real processes: node A (this process, the registry's) calls
 * worker nodes B, C (killed mid-call) and D (refuses, so calls are retried), and B calls A. Each
 * kind of outcome (ok, remote error, timeout, dead node, empty balancer, unknown method) and
 * each series is read back from the registry's text exposition, value by value.
 */
import assert from 'node:assert/strict';
import { tracingChannel } from 'node:diagnostics_channel';
import { after, before, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import {
  type AttemptTrace,
  algorithms,
  type LoadBalancer,
  type RpcNode,
  startNode,
  TRACING_CHANNELS,
} from '../../src/index.js';
import { type RpcMetrics, registerMetrics } from '../../src/metrics/index.js';
import { Cluster, COOKIE, type Worker } from '../helpers/cluster.js';

/** The value of the series `name{labels}` in Prometheus text `text` (labels matched exactly). */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-z_:]+)\{(.*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries(
      [...(m[2] as string).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((p) => [p[1], p[2]]),
    );
    const keys = Object.keys(labels);
    if (keys.length === Object.keys(got).length && keys.every((k) => got[k] === labels[k])) {
      return Number(m[3]);
    }
  }
  return undefined;
}

describe('Prometheus metrics across processes', () => {
  const cluster = new Cluster();
  const registry = new Registry();
  let metrics: RpcMetrics;
  let a: RpcNode;
  let b: Worker;
  let c: Worker;
  let d: Worker;
  let lb: LoadBalancer;
  let retried = 0;
  const countRetries = (ctx: unknown) => {
    if ((ctx as AttemptTrace).balancer === 'retry' && (ctx as AttemptTrace).attempt > 1) retried++;
  };
  const A = () => a.name;

  before(async () => {
    [b, c, d] = await Promise.all([
      cluster.spawn({ name: 'm-b@127.0.0.1' }),
      cluster.spawn({ name: 'm-c@127.0.0.1' }),
      cluster.spawn({ name: 'm-d@127.0.0.1', behaviour: { refuse: true } }),
    ]);
    a = await startNode({ name: 'm-a@127.0.0.1', cookie: COOKIE, logLevel: 'silent' });
    metrics = registerMetrics(registry, { nodes: [a] });
    tracingChannel(TRACING_CHANNELS.attempt).start.subscribe(countRetries);
    let release: () => void = () => {};
    a.expose('A', {
      hello: () => 'hi',
      hold: () => new Promise<void>((resolve) => (release = resolve)),
      release: () => release(),
    });
    await b.request('startLb', { name: 'lb' });
    await Promise.all([b, d].map((w) => w.request('startLb', { name: 'retry' })));
    for (const w of [b, c, d]) await a.connect(w.address);
    lb = await a.startLoadBalancer({ name: 'lb', nodeMatchList: [] });
    await lb.waitForMembers(1, { timeout: 10_000 });
    // RoundRobin: the retry test needs calls that hit the refusing member first
    const retryLb = await a.startLoadBalancer({
      name: 'retry',
      nodeMatchList: [],
      selectionAlgorithm: algorithms.RoundRobin,
    });
    await retryLb.waitForMembers(2, {
      timeout: 10_000,
    });
  });
  after(async () => {
    tracingChannel(TRACING_CHANNELS.attempt).start.unsubscribe(countRetries);
    metrics?.close();
    await a?.destroy();
    cluster.cleanup();
  });

  test('client calls: ok, remote error, timeout, dead node, empty balancer, unknown method', async () => {
    for (let i = 0; i < 3; i++) assert.equal(await lb.call('Test', 'echo', [i]), i);
    await assert.rejects(lb.call('Test', 'boom', ['x']), { code: 'internal_server_error' });
    await assert.rejects(a.call(b.name, 'Test', 'sleep', [5_000], { timeout: 100 }), {
      code: 'request_timeout',
    });
    await assert.rejects(a.call(b.name, 'Test', 'missing', []), { code: 'not_found' });
    const dying = a.call(c.name, 'RpcTest', 'nap', [10_000]);
    await c.waitForEvent((e) => e.event === 'nap-started');
    c.kill('SIGKILL');
    await assert.rejects(dying, { code: 'service_unavailable' });
    const nobody = await a.startLoadBalancer({
      name: 'nobody',
      waitForMembers: false,
      nodeMatchList: [],
    });
    await assert.rejects(nobody.call('Test', 'echo', [1]), { code: 'service_unavailable' });

    const text = await registry.metrics();
    const calls = (labels: Record<string, string>) =>
      sample(text, 'rpclb_client_calls_total', { node: A(), type: 'call', ...labels });
    const viaLb = { module: 'Test', balancer: 'lb', target: b.name };
    assert.equal(calls({ ...viaLb, function: 'echo', status: 'ok' }), 3);
    assert.equal(calls({ ...viaLb, function: 'boom', status: 'internal_server_error' }), 1);
    const direct = { balancer: '', target: b.name };
    assert.equal(
      calls({ module: 'Test', function: 'sleep', ...direct, status: 'request_timeout' }),
      1,
    );
    assert.equal(
      calls({ module: '_OTHER', function: '_OTHER', ...direct, status: 'not_found' }),
      1,
    );
    assert.equal(
      calls({
        module: 'RpcTest',
        function: 'nap',
        balancer: '',
        target: c.name,
        status: 'service_unavailable',
      }),
      1,
    );
    assert.equal(
      calls({
        module: 'Test',
        function: 'echo',
        balancer: 'nobody',
        target: '',
        status: 'service_unavailable',
      }),
      1,
    );
    const duration = { node: A(), type: 'call', ...viaLb, function: 'echo', status: 'ok' };
    assert.equal(sample(text, 'rpclb_client_call_duration_seconds_count', duration), 3);
    assert.equal(
      sample(text, 'rpclb_client_call_duration_seconds_bucket', { ...duration, le: '60' }),
      3,
    );
    assert.equal(
      sample(text, 'rpclb_client_call_duration_seconds_bucket', { ...duration, le: '5e-5' }) ??
        sample(text, 'rpclb_client_call_duration_seconds_bucket', {
          ...duration,
          le: '0.00005',
        }),
      0,
      'the first bucket is 50 µs, and no call over a socket is that fast',
    );
    const started = (labels: Record<string, string>) =>
      sample(text, 'rpclb_client_calls_started_total', { node: A(), type: 'call', ...labels });
    assert.equal(started({ module: 'Test', function: 'echo', balancer: 'lb' }), 3);
    assert.equal(started({ module: 'Test', function: 'echo', balancer: 'nobody' }), 1);

    const lbLabels = { node: A(), balancer: 'lb', algorithm: 'LeastLoaded' };
    assert.equal(
      sample(text, 'rpclb_balancer_selections_total', { ...lbLabels, target: b.name }),
      4,
    );
    assert.equal(
      sample(text, 'rpclb_balancer_empty_selections_total', {
        node: A(),
        balancer: 'nobody',
        algorithm: 'LeastLoaded',
        reason: 'no_members',
      }),
      1,
    );
    assert.equal(sample(text, 'rpclb_balancer_members', lbLabels), 1);
    assert.equal(sample(text, 'rpclb_balancer_members', { ...lbLabels, balancer: 'nobody' }), 0);
    assert.equal(sample(text, 'rpclb_peer_up_total', { node: A(), peer: c.name }), 1);
    assert.equal(
      sample(text, 'rpclb_peer_down_total', { node: A(), peer: c.name, reason: 'closed' }),
      1,
    );
    assert.equal(sample(text, 'rpclb_peers', { node: A() }), 2, 'b and d are still connected');
    assert.equal(sample(text, 'rpclb_peer_load_in_flight', { node: A(), peer: c.name }), undefined);
    const load = sample(text, 'rpclb_peer_load_event_loop_utilization_ratio', {
      node: A(),
      peer: b.name,
    });
    assert.ok(load !== undefined && load >= 0 && load <= 1, `b's reported ELU: ${load}`);
  });

  test('retries, and calls in flight per member, read at scrape time', async () => {
    for (let i = 0; i < 20 && retried === 0; i++) {
      assert.equal(await a.loadBalancer('retry')?.call('Refuse', 'maybe', []), b.name);
    }
    assert.ok(retried > 0, 'no call hit the refusing member first in 20 tries');
    const pending = lb.call('RpcTest', 'nap', [300]);
    await b.waitForEvent((e) => e.event === 'nap-started' && e.ms === 300);
    let text = await registry.metrics();
    assert.equal(
      sample(text, 'rpclb_balancer_retries_total', {
        node: A(),
        balancer: 'retry',
        module: 'Refuse',
        function: 'maybe',
      }),
      retried,
    );
    const member = { node: A(), balancer: 'lb', target: b.name };
    assert.equal(sample(text, 'rpclb_balancer_member_in_flight', member), 1);
    await pending;
    text = await registry.metrics();
    assert.equal(sample(text, 'rpclb_balancer_member_in_flight', member), 0);
  });

  test('server side: calls served by status, unknown names never a label, in flight', async () => {
    assert.equal(await b.request('call', a.name, 'A', 'hello', []), 'hi');
    await assert.rejects(b.request('call', a.name, 'A', `nope-${Date.now()}`, []), {
      code: 'not_found',
    });
    const held = b.request('call', a.name, 'A', 'hold', []);
    const inFlight = async () =>
      sample(await registry.metrics(), 'rpclb_server_calls_in_flight', { node: A() });
    for (let i = 0; i < 200 && (await inFlight()) !== 1; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const text = await registry.metrics();
    const served = (labels: Record<string, string>) =>
      sample(text, 'rpclb_server_calls_total', { node: A(), type: 'call', ...labels });
    assert.equal(served({ module: 'A', function: 'hello', status: 'ok' }), 1);
    assert.equal(served({ module: '_OTHER', function: '_OTHER', status: 'not_found' }), 1);
    assert.ok(!/function="nope-/.test(text), 'a name from the network is not a label value');
    assert.equal(sample(text, 'rpclb_server_calls_in_flight', { node: A() }), 1);
    assert.equal(
      sample(text, 'rpclb_server_call_duration_seconds_count', {
        node: A(),
        module: 'A',
        function: 'hello',
        status: 'ok',
      }),
      1,
    );
    await a.call(a.name, 'A', 'release', []);
    await held;
  });
});
