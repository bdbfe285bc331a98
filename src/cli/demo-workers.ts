/**
 * The demo's worker processes (`demo-worker.ts`), forked with the run's cookie and tracked by pid
 * until they have exited: stopped with SIGTERM then SIGKILL, or SIGKILLed at once from the
 * `exit` handler as a last resort.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DEMO_COOKIE_ENV, type DemoWorkerConfig, type DemoWorkerReady } from './demo-protocol.js';

/** How long a worker, or the cluster's views, may take to be ready. */
export const STARTUP_TIMEOUT_MS = 15_000;

const WORKER_SCRIPT = fileURLToPath(new URL('./demo-worker.js', import.meta.url));

const alive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

/** The demo's worker processes, tracked by pid until they have exited. */
export class Workers {
  readonly #children = new Map<number, ChildProcess>();

  constructor(readonly cookie: string) {}

  get pids(): number[] {
    return [...this.#children.keys()];
  }

  /** Forks a worker and resolves once it reports ready. */
  spawn(config: DemoWorkerConfig, signal: AbortSignal): Promise<DemoWorkerReady> {
    const child = fork(WORKER_SCRIPT, [JSON.stringify(config)], {
      env: { ...process.env, [DEMO_COOKIE_ENV]: this.cookie },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    if (child.pid !== undefined) this.#children.set(child.pid, child);
    return new Promise((resolve, reject) => {
      const settle = (err: unknown, ready?: DemoWorkerReady) => {
        clearTimeout(timer);
        child.off('message', onMessage).off('exit', onExit).off('error', settle);
        signal.removeEventListener('abort', onAbort);
        if (ready) resolve(ready);
        else reject(err);
      };
      const onMessage = (m: DemoWorkerReady) => m?.type === 'ready' && settle(undefined, m);
      const onExit = (code: number | null, sig: string | null) =>
        settle(new Error(`${config.name} exited (${code ?? sig}) before it was ready`));
      const onAbort = () => settle(signal.reason);
      const timer = setTimeout(
        () => settle(new Error(`${config.name} did not start in ${STARTUP_TIMEOUT_MS} ms`)),
        STARTUP_TIMEOUT_MS,
      );
      child.on('message', onMessage).on('exit', onExit).on('error', settle);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** SIGTERM every living worker, SIGKILL the ones still there after `graceMs`; waits for all. */
  async stopAll(graceMs = 2_000): Promise<void> {
    const living = [...this.#children.values()].filter(alive);
    for (const child of living) child.kill('SIGTERM');
    await waitForExit(living, graceMs);
    const stubborn = living.filter(alive);
    for (const child of stubborn) child.kill('SIGKILL');
    await waitForExit(stubborn, 2_000);
  }

  /** Synchronous last resort (from the `exit` handler): SIGKILL every worker still alive. */
  killNow(): void {
    for (const child of this.#children.values()) if (alive(child)) child.kill('SIGKILL');
  }
}

function waitForExit(children: ChildProcess[], timeoutMs: number): Promise<void> {
  const exits = children.filter(alive).map((c) => new Promise((r) => c.once('exit', r)));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise((r) => (timer = setTimeout(r, timeoutMs)));
  return Promise.race([Promise.all(exits), timeout]).then(() => clearTimeout(timer));
}
