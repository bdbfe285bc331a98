/**
 * What `inspect.ts` sees of a node: the `InspectHost` made from its transport (peers, each with
 * its link's round trip and load), groups, balancers, server and client. The node builds it
 * once; `node.inspect()`, `inspectPeer()`, `inspectCluster()` and the `$rpclb` module use it.
 */
import { type InspectHost, SYSTEM_MODULE } from './inspect.js';
import type { GroupReplicator } from './membership/groups.js';
import type { NodeBalancers } from './node-balancers.js';
import { linkOf } from './node-dispatch.js';
import type { RpcClient } from './rpc/client.js';
import type { RpcServer } from './rpc/server.js';
import type { Transport } from './transport/transport.js';

/** The parts of a node an inspection reads. */
export interface InspectedNode {
  readonly name: string;
  readonly transport: Transport;
  readonly replicator: GroupReplicator;
  readonly balancers: NodeBalancers;
  readonly server: RpcServer;
  readonly client: RpcClient;
}

/** The inspection host of a node. */
export function makeInspectHost(node: InspectedNode): InspectHost {
  const { transport, replicator, balancers, server, client } = node;
  return {
    name: node.name,
    address: () => transport.advertisedAddress,
    peers: function* () {
      for (const conn of transport.connections()) {
        const link = linkOf(conn);
        yield {
          name: conn.peerName as string,
          ready: conn.ready,
          address: conn.peer?.address ?? '',
          protocol: conn.protocol,
          rttMs: link?.rttMs,
          load: link?.load,
        };
      }
    },
    groups: () => replicator.list(),
    members: (group) => replicator.members(group),
    localJoins: (group) => replicator.localCount(group),
    balancers: () => balancers.values(),
    server: () => server.load,
    pendingCalls: () => client.pendingCount,
    call: (target, fn, timeout) => client.call(target, SYSTEM_MODULE, fn, [], { timeout }),
  };
}
