/**
 * The collector's own work per call, without the network: the events of one call — a direct
 * `node.call` (call and serve traces, as both ends in one process publish them) or an `lb.call`
 * (the same plus a selection) — published straight on the channels with contexts shaped as the
 * library builds them, once with `registerMetrics()` subscribed and once with no-op subscribers
 * on the same channels. The difference is what the collector adds per call, in ns. Companion of
 * bench/metrics-cost.ts (which measures whole calls); run `node dist/bench/metrics-collector.js`.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { Registry } from 'prom-client';
import { type CallTrace, type RpcNode, type ServeTrace, TRACING_CHANNELS } from '../src/index.js';
import { registerMetrics } from '../src/metrics/index.js';

const N = 2_000_000;
const call = diagnosticsChannel.tracingChannel<CallTrace>(TRACING_CHANNELS.call);
const serve = diagnosticsChannel.tracingChannel<ServeTrace>(TRACING_CHANNELS.serve);
const select = diagnosticsChannel.channel(TRACING_CHANNELS.select);
const targets = ['w1@127.0.0.1', 'w2@127.0.0.1', 'w3@127.0.0.1'];

function oneCall(i: number, balanced: boolean): void {
  const target = targets[i % 3] as string;
  const trace: CallTrace = {
    node: 'caller@127.0.0.1',
    balancer: balanced ? 'lb' : undefined,
    target: balanced ? undefined : target,
    module: 'Bench',
    function: 'echo',
    meta: {},
    attempts: balanced ? 0 : 1,
  };
  call.start.publish(trace);
  call.end.publish(trace);
  if (balanced) {
    select.publish({
      node: 'caller@127.0.0.1',
      balancer: 'lb',
      algorithm: 'LeastConnections',
      selected: target,
      members: 3,
    });
    trace.attempts = 1;
    trace.target = target;
  }
  const served: ServeTrace = {
    node: target,
    caller: 'caller@127.0.0.1',
    module: 'Bench',
    function: 'echo',
    meta: {},
    isCast: false,
  };
  serve.start.publish(served);
  serve.end.publish(served);
  served.result = i;
  serve.asyncStart.publish(served);
  serve.asyncEnd.publish(served);
  trace.result = i;
  call.asyncStart.publish(trace);
  call.asyncEnd.publish(trace);
}

function time(balanced: boolean): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) oneCall(i, balanced);
  return Number(process.hrtime.bigint() - start) / N;
}

function noopSubscribers(): () => void {
  const noop = () => {};
  const channels = [call.start, call.asyncEnd, serve.start, serve.asyncEnd, select];
  for (const channel of channels) channel.subscribe(noop);
  return () => {
    for (const channel of channels) channel.unsubscribe(noop);
  };
}

const registry = new Registry();
// the nodes watched, as an application names them (only their names are read until a scrape)
const nodes = ['caller@127.0.0.1', ...targets].map(
  (name) => ({ name, closing: false, inspect: () => undefined }) as unknown as RpcNode,
);
const samples: Record<string, number[]> = { direct: [], balanced: [] };
for (let round = 0; round < 7; round++) {
  for (const balanced of [false, true]) {
    const off = noopSubscribers();
    const base = time(balanced);
    off();
    const metrics = registerMetrics(registry, { nodes });
    const withMetrics = time(balanced);
    metrics.close();
    if (round >= 2) samples[balanced ? 'balanced' : 'direct']?.push(withMetrics - base);
  }
}
for (const [kind, xs] of Object.entries(samples)) {
  const sorted = xs.sort((a, b) => a - b);
  console.log(
    `collector, ${kind} call: ${sorted[2]?.toFixed(0)} ns per call (median of 5; ${sorted.map((x) => x.toFixed(0)).join(' ')})`,
  );
}
