/**
 * The collector fed hand-made channel events (as the library publishes them): retries counted
 * from a balanced call's attempts when it settles, retry decisions by outcome, ejections, probes
 * with their round trips, the ejected-members gauge read from `inspect()`, and options checked.
 * The same series with real processes are in test/multiprocess/metrics-balancing.test.ts.
 */
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import {
  type CallTrace,
  type NodeSnapshot,
  type OutlierMessage,
  type ProbeMessage,
  type RetryMessage,
  type RpcNode,
  TRACING_CHANNELS,
} from '../../../src/index.js';
import { registerMetrics } from '../../../src/metrics/index.js';

const NODE = 'a@127.0.0.1';
const call = diagnosticsChannel.tracingChannel<CallTrace>(TRACING_CHANNELS.call);
const publish = (name: 'outlier' | 'retry' | 'probe', message: object) =>
  diagnosticsChannel.channel(TRACING_CHANNELS[name]).publish(message);

/** The lines of `text` for series `name` (exactly that name), without HELP/TYPE. */
const lines = (text: string, name: string) =>
  text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));

/** A settled balanced call with `attempts` attempts, as the balancer traces it. */
function balancedCall(attempts: number): void {
  const trace: CallTrace = {
    node: NODE,
    balancer: 'lb',
    target: undefined,
    module: 'M',
    function: 'f',
    meta: {},
    attempts: 0,
  };
  call.start.publish(trace);
  trace.attempts = attempts;
  trace.target = 'w2@127.0.0.1';
  trace.result = 1;
  call.asyncEnd.publish(trace);
}

test('durationBuckets must be increasing positive numbers', () => {
  for (const bad of [[], [0.1, 0.1], [0.2, 0.1], [0, 1], ['1'] as unknown as number[]]) {
    assert.throws(() => registerMetrics(new Registry(), { durationBuckets: bad }), {
      name: 'TypeError',
      message: /durationBuckets/,
    });
  }
});

test('retries from the attempts of settled calls; retry decisions by outcome', async () => {
  const registry = new Registry();
  const metrics = registerMetrics(registry);
  try {
    balancedCall(1);
    balancedCall(3);
    const retry = {
      node: NODE,
      balancer: 'lb',
      module: 'M',
      function: 'f',
      attempt: 1,
      target: 'w1@127.0.0.1',
      code: 'service_unavailable',
    } as const;
    publish('retry', { ...retry, allowed: true } satisfies RetryMessage);
    publish('retry', { ...retry, attempt: 2, allowed: true } satisfies RetryMessage);
    publish('retry', { ...retry, allowed: false } satisfies RetryMessage);
    const text = await registry.metrics();
    const labels = `node="${NODE}",balancer="lb",module="M",function="f"`;
    assert.deepEqual(lines(text, 'rpclb_balancer_retries_total'), [
      `rpclb_balancer_retries_total{${labels}} 2`,
    ]);
    assert.deepEqual(lines(text, 'rpclb_balancer_retry_decisions_total'), [
      `rpclb_balancer_retry_decisions_total{${labels},outcome="allowed"} 2`,
      `rpclb_balancer_retry_decisions_total{${labels},outcome="budget_exhausted"} 1`,
    ]);
  } finally {
    metrics.close();
  }
});

test('ejections by member and reason (returns are not counted); the ejected gauge from inspect()', async () => {
  const registry = new Registry();
  const snapshot = {
    node: NODE,
    peers: [],
    server: { inFlight: 0, elu: 0 },
    balancers: [
      { name: 'lb', algorithm: 'RoundRobin', members: [], ejected: ['w1@127.0.0.1'] },
      { name: 'other', algorithm: 'RoundRobin', members: [], ejected: [] },
    ],
  } as unknown as NodeSnapshot;
  const node = { name: NODE, closing: false, inspect: () => snapshot } as unknown as RpcNode;
  const metrics = registerMetrics(registry, { nodes: [node] });
  try {
    const eject = { node: NODE, balancer: 'lb', member: 'w1@127.0.0.1', durationMs: 30_000 };
    publish('outlier', {
      ...eject,
      type: 'eject',
      reason: 'consecutive_failures',
      timesEjected: 1,
    } satisfies OutlierMessage);
    publish('outlier', { node: NODE, balancer: 'lb', type: 'return', member: 'w1@127.0.0.1' });
    publish('outlier', {
      ...eject,
      type: 'eject',
      reason: 'failure_percentage',
      timesEjected: 2,
    } satisfies OutlierMessage);
    publish('outlier', { ...eject, node: 'not-watched', type: 'eject', reason: 'success_rate' });
    const text = await registry.metrics();
    const member = `node="${NODE}",balancer="lb",member="w1@127.0.0.1"`;
    assert.deepEqual(lines(text, 'rpclb_balancer_ejections_total'), [
      `rpclb_balancer_ejections_total{${member},reason="consecutive_failures"} 1`,
      `rpclb_balancer_ejections_total{${member},reason="failure_percentage"} 1`,
    ]);
    assert.deepEqual(lines(text, 'rpclb_balancer_ejected_members'), [
      `rpclb_balancer_ejected_members{node="${NODE}",balancer="lb"} 1`,
      `rpclb_balancer_ejected_members{node="${NODE}",balancer="other"} 0`,
    ]);
  } finally {
    metrics.close();
  }
});

test('probes by result, and the round trip of those answered', async () => {
  const registry = new Registry();
  const metrics = registerMetrics(registry, { durationBuckets: [0.0001, 0.001] });
  try {
    const probe = { node: NODE, balancer: 'lb', target: 'w1@127.0.0.1' };
    const load = { inFlight: 1, elu: 0.5, at: 0 };
    for (const rttMs of [0.05, 0.5, 2]) {
      publish('probe', { ...probe, ok: true, rttMs, load } satisfies ProbeMessage);
    }
    publish('probe', { ...probe, ok: false } satisfies ProbeMessage);
    const text = await registry.metrics();
    const lb = `node="${NODE}",balancer="lb"`;
    assert.deepEqual(lines(text, 'rpclb_balancer_probes_total'), [
      `rpclb_balancer_probes_total{${lb},result="ok"} 3`,
      `rpclb_balancer_probes_total{${lb},result="failed"} 1`,
    ]);
    assert.deepEqual(
      text.split('\n').filter((l) => l.startsWith('rpclb_balancer_probe_duration_seconds')),
      [
        `rpclb_balancer_probe_duration_seconds_bucket{le="0.0001",${lb}} 1`,
        `rpclb_balancer_probe_duration_seconds_bucket{le="0.001",${lb}} 2`,
        `rpclb_balancer_probe_duration_seconds_bucket{le="+Inf",${lb}} 3`,
        `rpclb_balancer_probe_duration_seconds_sum{${lb}} ${0.05 / 1000 + 0.5 / 1000 + 2 / 1000}`,
        `rpclb_balancer_probe_duration_seconds_count{${lb}} 3`,
      ],
    );
  } finally {
    metrics.close();
  }
});
