/**
 * A worker process of `rpclb demo`, forked by `demo.ts` (not meant to be run by hand).
 *
 * It starts a node, exposes `Demo.work` (which takes `delayMs` and answers with the node's
 * name, so the caller sees who served it), starts one balancer per algorithm so it joins each
 * balancer's group, and reports `{ type: 'ready', name, address, pid }` over IPC.
 *
 * The cookie arrives in `RPCLB_DEMO_COOKIE`, the rest of the configuration as JSON in argv[2]
 * (see `demo-protocol.ts`). The process ends on SIGTERM or SIGINT, and by
 * itself when its parent goes away (the IPC channel closes), so it can never outlive the demo.
 */
import { algorithms, startNode } from '../index.js';
import { DEMO_COOKIE_ENV, type DemoWorkerConfig } from './demo-protocol.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const cookie = process.env[DEMO_COOKIE_ENV];
  const send = process.send?.bind(process);
  if (!cookie || !send || !process.argv[2]) {
    process.stderr.write('demo-worker is started by `rpclb demo`, not by hand\n');
    process.exit(2);
  }
  const config = JSON.parse(process.argv[2]) as DemoWorkerConfig;
  const node = await startNode({
    name: config.name,
    host: '127.0.0.1',
    port: 0,
    cookie,
    seeds: config.seeds,
    logLevel: 'error',
  });

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    // The demo has stopped calling by now; a short drain is plenty, and exit regardless.
    setTimeout(() => process.exit(0), 2_000).unref();
    node.close({ drainTimeoutMs: 500 }).finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('disconnect', stop);

  node.expose('Demo', {
    work: async () => {
      await sleep(config.delayMs);
      return node.name;
    },
  });
  for (const b of config.balancers) {
    await node.startLoadBalancer({
      name: b.name,
      selectionAlgorithm: algorithms[b.algorithm],
      algorithmOpts: b.algorithmOpts as Record<string, unknown>,
    });
  }
  send({ type: 'ready', name: node.name, address: node.address, pid: process.pid });
}

await main();
