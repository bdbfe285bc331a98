/**
 * The default discovery: the `seeds` option, a fixed list of addresses dialled for as long as
 * the node runs, with peer exchange doing the rest (each node tells a new peer the peers it
 * knows, so one reachable seed leads to a full mesh).
 */
import type { Discovery } from './types.js';

/**
 * A discovery reporting a fixed list of `host:port` addresses, with peer exchange on: what
 * `startNode({ seeds })` uses. The addresses are checked by `startNode` (through `seeds`) or,
 * given here directly, by the node when it starts (malformed ones are left out with a warning).
 */
export function seedDiscovery(seeds: readonly string[]): Discovery {
  const addresses = Object.freeze([...seeds]);
  return {
    kind: 'seeds',
    peerExchange: true,
    start(host) {
      host.update(addresses.map((address) => ({ address })));
    },
    stop() {},
  };
}
