/**
 * The gauges of a node's state (members, calls in flight per member, ejected members, calls
 * being served, peers and the load they report), filled from the watched nodes' `inspect()`
 * snapshots when the registry is scraped.
 */
import type { Gauge } from 'prom-client';
import type { NodeSnapshot } from '../inspect.js';
import type { SeriesName } from './series.js';

/** Sets `gauge` (the series `name`) from `snapshots`, one per watched node. */
export function fillGauge(name: SeriesName, gauge: Gauge<string>, snapshots: NodeSnapshot[]): void {
  gauge.reset();
  for (const s of snapshots) {
    const node = s.node;
    switch (name) {
      case 'balancer_members':
        for (const b of s.balancers) {
          gauge.set({ node, balancer: b.name, algorithm: b.algorithm }, b.members.length);
        }
        break;
      case 'balancer_member_in_flight':
        for (const b of s.balancers) {
          for (const m of b.members) {
            gauge.set({ node, balancer: b.name, target: m.node }, m.inFlight);
          }
        }
        break;
      case 'balancer_ejected_members':
        for (const b of s.balancers) gauge.set({ node, balancer: b.name }, b.ejected.length);
        break;
      case 'server_calls_in_flight':
        gauge.set({ node }, s.server.inFlight);
        break;
      case 'peers':
        gauge.set({ node }, s.peers.length);
        break;
      case 'peer_load_in_flight':
      case 'peer_load_event_loop_utilization_ratio':
        for (const p of s.peers) {
          if (p.load === undefined) continue;
          const value = name === 'peer_load_in_flight' ? p.load.inFlight : p.load.elu;
          gauge.set({ node, peer: p.name }, value);
        }
        break;
    }
  }
}
