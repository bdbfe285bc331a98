/**
 * `rpclb demo --metrics-port N`: Prometheus metrics of the demo node on
 * `http://127.0.0.1:N/metrics` while the demo runs (rpc-load-balancer/metrics on a prom-client
 * registry, served with node:http). prom-client is an optional dependency: without it the flag
 * fails with one clear line.
 */
import { createServer, type Server } from 'node:http';
import type { RpcNode } from '../index.js';

/** A running metrics endpoint. */
export interface MetricsServer {
  /** `http://127.0.0.1:<port>/metrics` */
  readonly url: string;
  close(): Promise<void>;
}

/** Thrown when prom-client cannot be loaded. */
export class MissingPromClient extends Error {}

/** Loads prom-client and the metrics module, or throws {@link MissingPromClient}. */
export async function loadMetrics() {
  try {
    const [prom, metrics] = await Promise.all([
      import('prom-client'),
      import('../metrics/index.js'),
    ]);
    return { Registry: prom.Registry, registerMetrics: metrics.registerMetrics };
  } catch (err) {
    throw new MissingPromClient(
      `--metrics-port needs the optional package prom-client, which cannot be loaded (${(err as Error).message.split('\n')[0]}); install it with: npm install prom-client`,
    );
  }
}

/** Serves `node`'s metrics on 127.0.0.1:`port` (0: any free port). */
export async function startMetricsServer(
  lib: Awaited<ReturnType<typeof loadMetrics>>,
  node: RpcNode,
  port: number,
): Promise<MetricsServer> {
  const registry = new lib.Registry();
  const metrics = lib.registerMetrics(registry, { nodes: [node] });
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('try /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${bound.port}/metrics`,
    close: async () => {
      metrics.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
