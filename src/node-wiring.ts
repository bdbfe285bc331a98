/**
 * How a node's discovery meets its transport and its groups: in a mesh, what the backend
 * reports is kept dialled; on demand (`connections: 'on-demand'`), it feeds the directory of
 * groups instead, and calls dial the nodes they need.
 */
import { DiscoveryDriver, makeDiscovery } from './discovery/driver.js';
import type { Discovery } from './discovery/types.js';
import type { GroupReplicator } from './membership/groups.js';
import type { IdleReaperHost } from './membership/idle-reaper.js';
import { OnDemandConnections } from './membership/on-demand.js';
import type { ResolvedNodeOptions } from './options.js';
import type { RpcLink } from './rpc/link.js';
import type { Connection } from './transport/connection.js';
import type { Transport } from './transport/transport.js';

/** What idle-connection closing needs of the RPC client. */
export interface BusyLinks {
  /** The connections with a call or probe waiting for its reply. */
  busyLinks(): ReadonlySet<RpcLink>;
}

/** A node's discovery, and its on-demand connections when it has them. */
export interface DiscoveryWiring {
  readonly driver: DiscoveryDriver;
  readonly onDemand: OnDemandConnections | undefined;
}

/**
 * Makes the node's discovery from its options. Throws a `TypeError` for a `discovery` option
 * that makes no backend, or for `connections: 'on-demand'` with a backend that carries no groups.
 */
export function wireDiscovery(
  options: ResolvedNodeOptions,
  transport: Transport,
  replicator: GroupReplicator,
  client: BusyLinks,
): DiscoveryWiring {
  const discovery = makeDiscovery(options.discovery, options.seeds);
  const onDemand =
    options.connections === 'on-demand'
      ? makeOnDemand(discovery, options, transport, replicator)
      : undefined;
  onDemand?.reapIdle(idleHost(transport, replicator, client, onDemand), options.idleTimeoutMs);
  const driver = new DiscoveryDriver(
    discovery,
    {
      keep: (address, peer, label) => {
        if (!onDemand) transport.keepDiscovered(address, peer, label);
      },
      forget: (address) => transport.forgetDiscovered(address),
      isSelf: (address) => transport.isSelfAddress(address),
    },
    {
      name: options.name,
      address: () => transport.advertisedAddress,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs,
      logger: options.logger,
      incarnation: transport.incarnation,
      groups: () => replicator.localState(),
    },
  );
  transport.dialLearntPeers = driver.peerExchange && !onDemand;
  if (onDemand) driver.onView = (entries) => onDemand.update(entries);
  replicator.observe((change) => {
    if (change.nodes.includes(options.name)) driver.groupsChanged();
  });
  return { driver, onDemand };
}

function makeOnDemand(
  discovery: Discovery,
  options: ResolvedNodeOptions,
  transport: Transport,
  replicator: GroupReplicator,
): OnDemandConnections {
  if (discovery.carriesGroups !== true) {
    throw new TypeError(
      `option "connections": 'on-demand' needs a discovery backend that carries groups ` +
        `(etcdDiscovery, redisDiscovery, or one with carriesGroups: true); ` +
        `${discovery.kind ?? 'this discovery'} does not`,
    );
  }
  return new OnDemandConnections(
    {
      logger: options.logger,
      isConnected: (name) => transport.connection(name) !== undefined,
      connect: (address) => transport.connect(address),
      applyGroups: (name, groups) => replicator.applyReported(name, groups),
      dropGroups: (name) => replicator.onPeerDown(name),
    },
    options.heartbeatTimeoutMs,
  );
}

/** The RPC state of a ready connection. */
function linkOf(conn: Connection): RpcLink | undefined {
  return conn.session as RpcLink | undefined;
}

/**
 * Idle closing on demand: the candidates are the ready connections to peers that take an idle
 * close as one (`idleClose` in their HELLO) and whose backend entry lists the groups their
 * connection told (so closing changes no group); closing refuses, as not executed, any call
 * still arriving on the connection.
 */
function idleHost(
  transport: Transport,
  replicator: GroupReplicator,
  client: BusyLinks,
  onDemand: OnDemandConnections,
): IdleReaperHost<Connection> {
  return {
    now: () => performance.now(),
    connections: function* () {
      for (const conn of transport.connections()) {
        if (conn.peer?.idleClose === true && linkOf(conn) !== undefined) yield conn;
      }
    },
    activity: (conn) => linkOf(conn)?.activity ?? 0,
    busy: () => {
      const waiting = client.busyLinks();
      return (conn) => {
        const link = linkOf(conn);
        return link === undefined || link.active.size > 0 || waiting.has(link);
      };
    },
    close: (conn, idleMs) => {
      const peer = conn.peerName as string;
      if (!onDemand.reports(peer, replicator.groupsOf(peer))) return false;
      const link = linkOf(conn) as RpcLink;
      if (!transport.closeIdle(conn, idleMs)) return false;
      link.closingIdle = true;
      return true;
    },
  };
}
