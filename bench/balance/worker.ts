/**
 * One worker process of `npm run bench:balance`:
 * `node dist/bench/balance/worker.js <family> <slot> <gen> <config JSON>`.
 *
 * It serves `Work.serve` over one system (rpc-load-balancer, Moleculer or NATS) with the service
 * model of model.ts: calls wait (timers, no CPU) in a FIFO queue in front of the worker's slots.
 * The orchestrator sets the model's behaviour before each measurement (`reset`), may degrade it
 * mid-run, and reads its counters afterwards.
 */
import { describe, guardLifetime, serveParent, tell } from '../lib/child.js';
import { ServiceQueue } from './model.js';
import {
  FAMILIES,
  type Family,
  type FromWorker,
  failMessage,
  type Handle,
  type ToWorker,
  type WorkerConfig,
  type WorkerServer,
} from './types.js';

type Start = (
  slot: number,
  gen: number,
  handle: Handle,
  config: WorkerConfig,
) => Promise<WorkerServer>;

const starters: Record<Family, () => Promise<Start>> = {
  rpclb: async () => (await import('./systems/rpclb.js')).startRpclbWorker,
  moleculer: async () => (await import('./systems/moleculer.js')).startMoleculerWorker,
  nats: async () => (await import('./systems/nats.js')).startNatsWorker,
};

/** The worker's queue plus the timers that send its replies. */
class Worker {
  /** Replies waiting for their modelled end time, so a reset can send them at once. */
  private readonly pending = new Map<NodeJS.Timeout, () => void>();

  constructor(
    private readonly slot: number,
    private queue: ServiceQueue,
  ) {}

  readonly handle: Handle = () => {
    const admission = this.queue.admit(performance.now());
    if (admission.fail) throw new Error(failMessage(this.slot));
    return new Promise<number>((resolve) => {
      const done = () => {
        this.pending.delete(timer);
        resolve(this.slot);
      };
      const timer = setTimeout(done, admission.endAt - performance.now());
      this.pending.set(timer, done);
    });
  };

  /** Answers every queued call now (their callers have given up) and starts a fresh model. */
  reset(queue: ServiceQueue): void {
    for (const [timer, done] of this.pending) {
      clearTimeout(timer);
      done();
    }
    this.queue = queue;
  }

  degrade(factor: number): void {
    this.queue.setFactor(factor);
  }

  stats() {
    const q = this.queue;
    return { served: q.served, failed: q.failed, maxInSystem: q.maxInSystem };
  }
}

async function main(): Promise<void> {
  guardLifetime();
  const [family, slotArg, genArg, configArg] = process.argv.slice(2);
  const slot = Number(slotArg);
  const gen = Number(genArg);
  if (!FAMILIES.includes(family as Family) || !Number.isInteger(slot) || !Number.isInteger(gen)) {
    throw new Error(`usage: worker.js <${FAMILIES.join('|')}> <slot> <gen> <config JSON>`);
  }
  const config = JSON.parse(configArg ?? '{}') as WorkerConfig;
  const worker = new Worker(slot, new ServiceQueue(config.behaviour));
  const start = await starters[family as Family]();
  const server = await start(slot, gen, worker.handle, config);
  serveParent<ToWorker, FromWorker>(
    async (msg) => {
      switch (msg.type) {
        case 'reset':
          worker.reset(new ServiceQueue(msg.behaviour));
          return { type: 'ok' };
        case 'degrade':
          worker.degrade(msg.factor);
          return { type: 'ok' };
        case 'stats':
          return { type: 'stats', ...worker.stats() };
        default:
          throw new Error(`worker cannot handle '${msg.type}'`);
      }
    },
    () => server.close(),
  );
  tell<FromWorker>({
    type: 'ready',
    seq: 0,
    info: { ...server.info, slot, gen, pid: process.pid },
  });
}

main().catch((err: unknown) => {
  tell({ type: 'error', seq: 0, message: describe(err) });
  setImmediate(() => process.exit(1));
});
