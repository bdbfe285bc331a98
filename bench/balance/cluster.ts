/**
 * One system's processes in `npm run bench:balance`: its workers (one per slot) and its callers,
 * started, reset, degraded, killed and replaced by pid, and stopped.
 */
import { fileURLToPath } from 'node:url';
import { Child } from '../lib/procs.js';
import type { Behaviour } from './model.js';
import type {
  CallerInfo,
  CallerResult,
  Contender,
  Family,
  FromCaller,
  FromWorker,
  LoadSpec,
  ToCaller,
  ToWorker,
  WorkerConfig,
  WorkerInfo,
} from './types.js';

const script = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const WORKER_SCRIPT = script('./worker.js');
const CALLER_SCRIPT = script('./caller.js');
const START_TIMEOUT_MS = 30_000;

interface LiveWorker {
  child: Child<ToWorker, FromWorker>;
  info: WorkerInfo;
}

type Caller = Child<ToCaller, FromCaller>;

/** Per-slot counters a worker reported after a measurement (undefined: it was killed). */
export type WorkerStats = ({ served: number; failed: number; maxInSystem: number } | undefined)[];

async function startWorker(
  family: Family,
  slot: number,
  gen: number,
  config: WorkerConfig,
): Promise<LiveWorker> {
  const args = [family, String(slot), String(gen), JSON.stringify(config)];
  const child = new Child<ToWorker, FromWorker>(WORKER_SCRIPT, args, `${family} w${slot}-g${gen}`);
  try {
    const msg = await child.first(START_TIMEOUT_MS);
    if (msg.type !== 'ready') throw new Error(`${child.label}: unexpected '${msg.type}'`);
    return { child, info: msg.info };
  } catch (err) {
    await child.stop(500);
    throw err;
  }
}

export class FamilyCluster {
  private replacing: Promise<void> | undefined;
  /** Calls the last killed worker had received when it was killed, by slot. */
  private killed: { slot: number; received: number } | undefined;

  private constructor(
    readonly family: Family,
    private readonly workers: LiveWorker[],
    private readonly callers: Caller[],
    private readonly callerInfos: CallerInfo[],
    private readonly natsUrl: string | undefined,
  ) {}

  /** Starts `behaviours.length` workers, then `callers` callers connected to them. */
  static async start(
    family: Family,
    behaviours: Behaviour[],
    callers: number,
    natsUrl: string | undefined,
    strategies: string[],
  ): Promise<FamilyCluster> {
    const started: { stop(grace?: number): Promise<void> }[] = [];
    try {
      const workers = await Promise.all(
        behaviours.map(async (behaviour, slot) => {
          const w = await startWorker(family, slot, 0, { join: [], natsUrl, behaviour });
          started.push(w.child);
          return w;
        }),
      );
      const infos = workers.map((w) => w.info);
      const children = Array.from({ length: callers }, (_, i) => {
        const c: Caller = new Child(CALLER_SCRIPT, [family, String(i)], `${family} caller ${i}`);
        started.push(c);
        return c;
      });
      const callerInfos = await Promise.all(
        children.map(async (c) => {
          await c.first(START_TIMEOUT_MS);
          const msg = await c.request(
            { type: 'init', workers: infos, natsUrl, strategies },
            START_TIMEOUT_MS,
          );
          if (msg.type !== 'ready' || !msg.info) throw new Error(`${c.label}: not ready`);
          return msg.info;
        }),
      );
      return new FamilyCluster(family, workers, children, callerInfos, natsUrl);
    } catch (err) {
      await Promise.all(started.map((c) => c.stop(500)));
      throw err;
    }
  }

  /** The current workers' names, by slot. */
  names(): string[] {
    return this.workers.map((w) => w.info.name);
  }

  /** Every worker drops its queue and takes its behaviour for the next measurement. */
  async reset(behaviours: Behaviour[]): Promise<void> {
    await this.settled();
    await Promise.all(
      this.workers.map((w, slot) =>
        w.child.request({ type: 'reset', behaviour: behaviours[slot] as Behaviour }, 5_000),
      ),
    );
  }

  async degrade(slot: number, factor: number): Promise<void> {
    await this.workers[slot]?.child.request({ type: 'degrade', factor }, 5_000);
  }

  /**
   * Kills worker `slot` with SIGKILL and starts a fresh process for the slot (next generation),
   * which joins through the callers and the other workers, with `behaviour` from its first call.
   * The calls the worker had received are read just before, since they die with it.
   */
  async killAndReplace(slot: number, behaviour: Behaviour): Promise<void> {
    const old = this.workers[slot] as LiveWorker;
    const [before] = await this.counts([old]);
    this.killed = { slot, received: before ?? 0 };
    try {
      process.kill(old.info.pid, 'SIGKILL');
    } catch {
      // Already gone; start the replacement all the same.
    }
    const others = this.workers.filter((_, i) => i !== slot).map((w) => w.info);
    const join =
      this.family === 'rpclb'
        ? [...this.callerInfos.flatMap((c) => c.addresses), ...others.map((w) => w.address)]
        : this.family === 'moleculer'
          ? [
              ...this.callerInfos.flatMap((c) => c.addresses),
              ...others.map((w) => `${w.address}/${w.name}`),
            ]
          : [];
    const config: WorkerConfig = { join, natsUrl: this.natsUrl, behaviour };
    const gen = old.info.gen + 1;
    // One retry: a start can fail on a busy machine, and without a worker in the slot every
    // later measurement of this system would wait for it in vain.
    this.replacing = startWorker(this.family, slot, gen, config)
      .catch(() => startWorker(this.family, slot, gen, config))
      .then((fresh) => {
        this.workers[slot] = fresh;
      });
  }

  /** Waits for a replacement in progress to be up. */
  async settled(): Promise<void> {
    const pending = this.replacing;
    this.replacing = undefined;
    await pending;
  }

  /** Switches the first `callers` callers to `contender`; the longest wait for membership (ms). */
  async prepare(callers: number, contender: Contender): Promise<number> {
    await this.settled();
    const expect = this.workers.map((w) => w.info);
    const waits = await Promise.all(
      this.callers.slice(0, callers).map(async (c) => {
        const msg = await c.request({ type: 'prepare', contender, expect }, 40_000);
        return msg.type === 'prepared' ? msg.waitedMs : 0;
      }),
    );
    return Math.max(...waits);
  }

  /** Runs `specs[i]` on caller i, all at once. */
  async run(specs: LoadSpec[], keyed: boolean): Promise<CallerResult[]> {
    return Promise.all(
      specs.map(async (spec, i) => {
        const c = this.callers[i] as Caller;
        const timeout = spec.warmupMs + spec.durationMs + spec.timeoutMs + 15_000;
        const msg = await c.request({ type: 'run', spec, keyed }, timeout);
        if (msg.type !== 'result') throw new Error(`${c.label}: unexpected '${msg.type}'`);
        return msg.result;
      }),
    );
  }

  /** Calls each worker has received since its last reset (undefined: no answer). */
  async counts(workers = this.workers): Promise<(number | undefined)[]> {
    return Promise.all(
      workers.map(async (w) => {
        try {
          const msg = await w.child.request({ type: 'stats' }, 1_000);
          return msg.type === 'stats' ? msg.served + msg.failed : undefined;
        } catch {
          return undefined;
        }
      }),
    );
  }

  /**
   * Calls each slot received between `start` (counts at the start of the window) and now. A slot
   * whose worker was killed counts what the old process had received, plus the fresh one's.
   */
  async receivedSince(start: (number | undefined)[]): Promise<number[]> {
    await this.settled();
    const now = await this.counts();
    const killed = this.killed;
    this.killed = undefined;
    return now.map((n, slot) => {
      const base = start[slot] ?? 0;
      if (killed?.slot === slot) return Math.max(0, killed.received - base) + (n ?? 0);
      return Math.max(0, (n ?? 0) - base);
    });
  }

  /** Counters of the workers alive now (a killed worker's are gone with it). */
  async stats(): Promise<WorkerStats> {
    await this.settled();
    return Promise.all(
      this.workers.map(async (w) => {
        try {
          const msg = await w.child.request({ type: 'stats' }, 5_000);
          return msg.type === 'stats' ? msg : undefined;
        } catch {
          return undefined;
        }
      }),
    ).then((all) =>
      all.map((s) =>
        s ? { served: s.served, failed: s.failed, maxInSystem: s.maxInSystem } : undefined,
      ),
    );
  }

  async stop(): Promise<void> {
    await this.settled().catch(() => {});
    await Promise.all(this.callers.map((c) => c.stop(2_000)));
    await Promise.all(this.workers.map((w) => w.child.stop(2_000)));
  }
}
