/**
 * Moleculer configured for the benchmark: its TCP transporter (gossip over TCP), kept on
 * loopback, with the project codec as serializer so Moleculer is compared on transport and
 * framework, not on JSON.
 *
 * Loopback only, no exceptions:
 * - `udpDiscovery: false`: no UDP broadcast/multicast discovery; servers are given as static
 *   `urls` (127.0.0.1) to the client, and the servers learn the client from its gossip.
 * - every node advertises 127.0.0.1 (not its hostname or LAN addresses) as its address, and
 *   the transporter's TCP server listens on 127.0.0.1 (Moleculer 0.14 listens on all
 *   interfaces and has no host option, so the listen call is given a host).
 * - no logger, metrics or tracing.
 */
import { Server } from 'node:net';
import moleculer from 'moleculer';
import { decodeValue, encodeValue } from '../../src/rpc/codec.js';

const { ServiceBroker, Serializers, Transporters } = moleculer;

/** Serializes Moleculer's packets with the project codec. */
class CodecSerializer extends Serializers.Base {
  override serialize(obj: moleculer.GenericObject): Buffer {
    return encodeValue(obj);
  }
  override deserialize(buf: Buffer): moleculer.GenericObject {
    return decodeValue(buf) as moleculer.GenericObject;
  }
}

type ListenArgs = Parameters<Server['listen']>;

/** The TCP transporter with its server bound to 127.0.0.1. */
class LoopbackTcpTransporter extends Transporters.TCP {
  startTcpServer(): Promise<unknown> {
    const base = Transporters.TCP.prototype as unknown as { startTcpServer(): Promise<unknown> };
    const listen = Server.prototype.listen;
    // Moleculer calls server.listen({ port, exclusive }) synchronously inside startTcpServer;
    // the patch is in place only for that call.
    Server.prototype.listen = function (this: Server, ...args: ListenArgs) {
      const first = args[0];
      if (typeof first === 'object' && first !== null && !('host' in first)) {
        args[0] = { ...first, host: '127.0.0.1' };
      }
      return listen.apply(this, args);
    } as Server['listen'];
    try {
      return base.startTcpServer.call(this);
    } finally {
      Server.prototype.listen = listen;
    }
  }
}

/** Maximum Moleculer TCP packet: raised from its 1 MiB default so the 1 MiB echo fits. */
const MAX_PACKET = 8 * 2 ** 20;

export interface BenchBroker {
  broker: moleculer.ServiceBroker;
  /** The TCP port the broker's transporter listens on (known after `broker.start()`). */
  port(): number;
}

/** Extra broker settings for benchmarks that need them (the defaults are Moleculer's own). */
export interface BrokerTuning {
  /**
   * The host name the node reports. Only a label here (connections use its 127.0.0.1 address),
   * but Moleculer's Latency strategy measures per host name, so workers that stand for separate
   * machines need distinct ones. @default '127.0.0.1'
   */
  hostname?: string;
  /** The registry's balancing strategy (`registry.strategy`). @default Moleculer's (RoundRobin) */
  strategy?: string;
}

/** A broker named `nodeID` that knows `urls` (`127.0.0.1:port/nodeID`) statically. */
export function createBroker(
  nodeID: string,
  urls: string[],
  tuning: BrokerTuning = {},
): BenchBroker {
  const transporter = new LoopbackTcpTransporter({
    udpDiscovery: false,
    urls: urls.length > 0 ? urls : null,
    port: null,
    useHostname: false,
    gossipPeriod: 1,
    maxPacketSize: MAX_PACKET,
  });
  const broker = new ServiceBroker({
    nodeID,
    transporter,
    serializer: new CodecSerializer(),
    logger: false,
    metrics: false,
    tracing: false,
    ...(tuning.strategy ? { registry: { strategy: tuning.strategy } } : {}),
  });
  const registry = (broker as unknown as { registry: { nodes: { localNode: LocalNode } } })
    .registry;
  const localNode = registry.nodes.localNode;
  localNode.hostname = tuning.hostname ?? '127.0.0.1';
  localNode.ipList = ['127.0.0.1'];
  return {
    broker,
    port: () => Number((transporter as unknown as { opts: { port: number } }).opts.port),
  };
}

interface LocalNode {
  hostname: string;
  ipList: string[];
}
