/**
 * One system's client process: `node dist/bench/driver.js <system>`. Started by bench/run.ts,
 * which hands it the servers' addresses, then asks it for one measurement at a time. Each
 * system gets its own driver process, so no system's allocations, timers or JIT state can
 * disturb another's measurements.
 */
import { deepStrictEqual } from 'node:assert/strict';
import { describe, guardLifetime, serveParent, tell } from './lib/child.js';
import { closedLoop } from './lib/load.js';
import { type PayloadKind, payload } from './lib/payloads.js';
import { type FromChild, SYSTEMS, type SystemName, type ToChild } from './lib/protocol.js';
import type { Connect, SystemClient } from './systems/types.js';

const connectors: Record<SystemName, () => Promise<Connect>> = {
  floor: async () => (await import('./systems/floor.js')).connectFloor,
  floorPlain: async () => (await import('./systems/floor.js')).connectFloorPlain,
  grpc: async () => (await import('./systems/grpc.js')).connectGrpc,
  moleculer: async () => (await import('./systems/moleculer.js')).connectMoleculer,
  rpclb: async () => (await import('./systems/rpclb.js')).connectRpclb,
  rpclbOtel: async () => (await import('./systems/rpclb.js')).observed('otel'),
  rpclbMetrics: async () => (await import('./systems/rpclb.js')).observed('metrics'),
};

/** Every payload must come back intact, directly and through the balancer. */
async function checkEcho(client: SystemClient): Promise<void> {
  for (const kind of ['small', 'medium', 'large'] as PayloadKind[]) {
    const sent = payload(kind);
    for (const call of [client.call, client.callBalanced]) {
      const got = await call(sent);
      if (sent instanceof Uint8Array) {
        if (!(got instanceof Uint8Array) || Buffer.compare(Buffer.from(got), sent) !== 0) {
          throw new Error(`the ${kind} payload did not come back intact`);
        }
      } else {
        deepStrictEqual(got, sent, `the ${kind} payload did not come back intact`);
      }
    }
  }
}

function main(): void {
  guardLifetime();
  const system = process.argv[2] as SystemName;
  if (!SYSTEMS.includes(system)) throw new Error(`usage: driver.js <${SYSTEMS.join('|')}>`);
  let client: SystemClient | undefined;
  serveParent<ToChild, FromChild>(
    async (msg) => {
      if (msg.type === 'init') {
        client = await (await connectors[system]())(msg.servers);
        await checkEcho(client);
        return { type: 'ready' };
      }
      if (msg.type === 'run') {
        if (!client) throw new Error('run before init');
        const spec = msg.spec;
        const call = spec.balanced ? client.callBalanced : client.call;
        const cpu = process.cpuUsage();
        const result = await closedLoop(call, payload(spec.payload), spec);
        const used = process.cpuUsage(cpu);
        return { type: 'result', result: { ...result, cpuUs: used.user + used.system } };
      }
      throw new Error(`driver cannot handle '${msg.type}'`);
    },
    async () => client?.close(),
  );
  tell({ type: 'ready', seq: 0 });
}

try {
  main();
} catch (err) {
  tell({ type: 'error', seq: 0, message: describe(err) });
  setImmediate(() => process.exit(1));
}
