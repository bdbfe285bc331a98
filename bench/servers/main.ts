/**
 * One benchmark server process: `node dist/bench/servers/main.js <system> <index>`. Started by
 * bench/run.ts; reports where it listens over IPC, answers call-count queries, and exits when
 * the orchestrator goes away.
 */
import { describe, guardLifetime, serveParent, tell } from '../lib/child.js';
import { type FromChild, SYSTEMS, type SystemName, type ToChild } from '../lib/protocol.js';
import type { CallCounter, StartServer } from './types.js';

const loaders: Record<SystemName, () => Promise<StartServer>> = {
  floor: async () => (await import('./floor.js')).startFloorServer,
  floorPlain: async () => (await import('./floor.js')).startFloorPlainServer,
  grpc: async () => (await import('./grpc.js')).startGrpcServer,
  moleculer: async () => (await import('./moleculer.js')).startMoleculerServer,
  rpclb: async () => (await import('./rpclb.js')).startRpclbServer,
  rpclbOtel: async () => (await import('./rpclb.js')).observedServer('otel'),
  rpclbMetrics: async () => (await import('./rpclb.js')).observedServer('metrics'),
};

async function main(): Promise<void> {
  guardLifetime();
  const system = process.argv[2] as SystemName;
  const index = Number(process.argv[3]);
  if (!SYSTEMS.includes(system) || !Number.isInteger(index)) {
    throw new Error(`usage: servers/main.js <${SYSTEMS.join('|')}> <index>`);
  }
  const counter: CallCounter = { calls: 0 };
  const handle = await (await loaders[system]())(index, counter);
  serveParent<ToChild, FromChild>(
    async (msg) => {
      if (msg.type === 'count') {
        const cpu = process.cpuUsage();
        return { type: 'count', calls: counter.calls, cpuUs: cpu.user + cpu.system };
      }
      throw new Error(`server cannot handle '${msg.type}'`);
    },
    () => handle.close(),
  );
  tell({ type: 'ready', seq: 0, info: { ...handle.info, index, pid: process.pid } });
}

main().catch((err: unknown) => {
  tell({ type: 'error', seq: 0, message: describe(err) });
  setImmediate(() => process.exit(1));
});
