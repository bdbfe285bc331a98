/**
 * A balancer's own work as OpenTelemetry metrics: members ejected by outlier detection
 * (`rpclb.balancer.ejections`, a counter) and load probes (`rpclb.balancer.probes`, a counter by
 * result, and `rpclb.balancer.probe.duration`, the round trip of those answered, in seconds),
 * from the `rpc-load-balancer:outlier` and `rpc-load-balancer:probe` channels.
 *
 * The RPC semantic conventions define nothing for these, so the names are this library's
 * (`rpclb.*` namespace), made as the general conventions ask: dot-separated namespaces, no
 * `_total` suffix, a pluralised name for a count with a `{thing}` unit, durations in seconds.
 * Attributes name the balancer (and the member, for an ejection), as `rpc.client.call.duration`
 * does; which node reports is the resource's business, not an attribute.
 *
 * How many members are ejected now is a state, not a stream of events (a member that leaves
 * while ejected never "returns"): read it where the state is, from `lb.ejected()` or
 * `node.inspect()`, or from the Prometheus gauge `rpclb_balancer_ejected_members`.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { Attributes } from '@opentelemetry/api';
import { type OutlierMessage, type ProbeMessage, TRACING_CHANNELS } from '../tracing.js';
import { ATTRIBUTES as A, type Instruments } from './conventions.js';

type Subscription = [diagnosticsChannel.Channel, (message: unknown) => void];

export class BalancerMetrics {
  readonly #subscriptions: Subscription[] = [];

  constructor(instruments: Instruments) {
    const { ejections, probes, probeDuration } = instruments;
    if (ejections !== undefined) {
      this.#subscriptions.push([
        diagnosticsChannel.channel(TRACING_CHANNELS.outlier),
        (message) => {
          const m = message as OutlierMessage;
          if (m.type !== 'eject') return;
          ejections.add(1, {
            [A.balancer]: m.balancer,
            [A.member]: m.member,
            [A.ejectionReason]: m.reason ?? '',
          });
        },
      ]);
    }
    if (probes !== undefined) {
      this.#subscriptions.push([
        diagnosticsChannel.channel(TRACING_CHANNELS.probe),
        (message) => {
          const m = message as ProbeMessage;
          const attributes: Attributes = {
            [A.balancer]: m.balancer,
            [A.probeResult]: m.ok ? 'ok' : 'failed',
          };
          probes.add(1, attributes);
          if (m.ok && m.rttMs !== undefined) {
            probeDuration?.record(m.rttMs / 1000, { [A.balancer]: m.balancer });
          }
        },
      ]);
    }
  }

  enable(): void {
    for (const [channel, handler] of this.#subscriptions) channel.subscribe(handler);
  }

  disable(): void {
    for (const [channel, handler] of this.#subscriptions) channel.unsubscribe(handler);
  }
}
