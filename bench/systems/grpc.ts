/**
 * The gRPC client: @grpc/grpc-js unary calls on a generic client built from the in-code
 * service definition. The balanced case is one channel over the three loopback addresses
 * (`ipv4:` target, a static resolution) with grpc-js's `round_robin` policy.
 */
import {
  type ChannelOptions,
  type Client,
  credentials,
  makeGenericClientConstructor,
  type ServiceError,
} from '@grpc/grpc-js';
import { benchService } from '../lib/grpc-service.js';
import type { Connect } from './types.js';

type EchoClient = Client & {
  echo(value: unknown, callback: (err: ServiceError | null, value?: unknown) => void): void;
};

const EchoClientCtor = makeGenericClientConstructor(benchService, 'Bench');

function newClient(target: string, options: ChannelOptions = {}): EchoClient {
  return new EchoClientCtor(target, credentials.createInsecure(), options) as unknown as EchoClient;
}

function echo(client: EchoClient, value: unknown): Promise<unknown> {
  return new Promise((resolve, reject) =>
    client.echo(value, (err, res) => (err ? reject(err) : resolve(res))),
  );
}

export const connectGrpc: Connect = async (servers) => {
  const first = servers[0];
  if (!first) throw new Error('no servers');
  const single = newClient(`${first.host}:${first.port}`);
  const balanced = newClient(`ipv4:${servers.map((s) => `${s.host}:${s.port}`).join(',')}`, {
    'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
  });
  const deadline = Date.now() + 10_000;
  await Promise.all(
    [single, balanced].map(
      (client) =>
        new Promise<void>((resolve, reject) =>
          client.waitForReady(deadline, (err) => (err ? reject(err) : resolve())),
        ),
    ),
  );
  // round_robin connects to every address in the background; a few calls get them going
  // (the orchestrator's warm-up does the rest before anything is measured).
  for (let i = 0; i < servers.length * 4; i++) await echo(balanced, 'warm-up');
  return {
    call: (value) => echo(single, value),
    callBalanced: (value) => echo(balanced, value),
    close: async () => {
      single.close();
      balanced.close();
    },
  };
};
