/**
 * Starts real node processes on 127.0.0.1 for tests, and always cleans them up.
 *
 * ```ts
 * const cluster = new Cluster(t);            // kills every process it started when the test ends
 * const a = await cluster.spawn({ name: 'a@127.0.0.1' });
 * await a.request('call', 'b@127.0.0.1', 'Test', 'echo', [1]);
 * a.kill('SIGKILL');
 * ```
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));
export const COOKIE = 'test-cookie';

export interface WorkerEvent {
  event: string;
  /** When the worker emitted it (its `Date.now()`: the same clock as the test's). */
  at: number;
  [key: string]: unknown;
}

/** What a failed request reports (an `RpcError` flattened for IPC). */
export interface RemoteFailure {
  name: string;
  code?: string;
  statusCode?: number;
  message: string;
  details?: Record<string, unknown>;
  notExecuted?: boolean;
}

export class RequestFailed extends Error {
  constructor(readonly failure: RemoteFailure) {
    super(failure.message);
  }
  get code(): string | undefined {
    return this.failure.code;
  }
}

export class Worker {
  readonly events: WorkerEvent[] = [];
  #nextId = 1;
  readonly #pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: unknown) => void }
  >();
  #listeners = new Set<() => void>();
  exited = false;

  constructor(
    readonly child: ChildProcess,
    readonly name: string,
    readonly address: string,
    /** Where peers dial it (differs from `address` on a wildcard host or behind a proxy). */
    readonly advertisedAddress: string = address,
  ) {
    child.on(
      'message',
      (message: {
        id?: number;
        ok?: boolean;
        value?: unknown;
        error?: RemoteFailure;
        type?: string;
      }) => {
        if (message.type === 'event') {
          const event = message as unknown as WorkerEvent;
          this.events.push({ ...event, at: typeof event.at === 'number' ? event.at : Date.now() });
          for (const listener of [...this.#listeners]) listener();
          return;
        }
        const pending = message.id === undefined ? undefined : this.#pending.get(message.id);
        if (!pending) return;
        this.#pending.delete(message.id as number);
        if (message.ok) pending.resolve(message.value);
        else pending.reject(new RequestFailed(message.error as RemoteFailure));
      },
    );
    child.on('exit', () => {
      this.exited = true;
      for (const p of this.#pending.values()) p.reject(new Error(`worker ${name} exited`));
      this.#pending.clear();
      for (const listener of [...this.#listeners]) listener();
    });
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** Runs an op in the worker (see worker.ts) and resolves with its value. */
  request<T = unknown>(op: string, ...args: unknown[]): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`worker ${this.name} has exited`));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, op, args });
    });
  }

  /** Resolves with the first event (already seen or future) matching `predicate`. */
  waitForEvent(
    predicate: (e: WorkerEvent) => boolean,
    timeoutMs = 10_000,
    what = 'event',
  ): Promise<WorkerEvent> {
    return waitFor(
      () => this.events.find(predicate),
      timeoutMs,
      `${this.name}: ${what}`,
      this.#listeners,
    );
  }

  kill(signal: NodeJS.Signals): void {
    if (!this.exited) this.child.kill(signal);
  }
}

/** Polls `check` on every event and every 20 ms until it returns a value, or rejects after `timeoutMs`. */
export function waitFor<T>(
  check: () => T | undefined | false,
  timeoutMs: number,
  what: string,
  listeners?: Set<() => void>,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const first = check();
    if (first) return resolve(first);
    const finish = (value: T | undefined, err?: Error) => {
      clearInterval(interval);
      clearTimeout(timer);
      listeners?.delete(poll);
      if (err) reject(err);
      else resolve(value as T);
    };
    const poll = () => {
      const value = check();
      if (value) finish(value);
    };
    const interval = setInterval(poll, 20);
    const timer = setTimeout(
      () => finish(undefined, new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
      timeoutMs,
    );
    listeners?.add(poll);
  });
}

interface TestContextLike {
  after(fn: () => unknown): void;
}

export class Cluster {
  readonly workers: Worker[] = [];

  /** Registers cleanup on `t` (a node:test context or suite) so every process is killed at the end. */
  constructor(t?: TestContextLike) {
    t?.after(() => this.cleanup());
    process.once('exit', () => this.cleanup());
  }

  /**
   * Starts a node process with `options` (cookie defaults to the test cookie). `launcher` runs
   * it through a command that then executes node in place, keeping its pid (e.g.
   * `['ip', 'netns', 'exec', ns]`). `script`: another worker program speaking the same IPC
   * protocol (a `ready` message, then `{ id, op, args }` requests).
   */
  async spawn(
    options: Record<string, unknown> = {},
    timeoutMs = 15_000,
    launcher?: readonly string[],
    script: string = WORKER,
  ): Promise<Worker> {
    const args = [JSON.stringify({ cookie: COOKIE, host: '127.0.0.1', port: 0, ...options })];
    const stdio: ('ignore' | 'inherit' | 'ipc')[] = ['ignore', 'inherit', 'inherit', 'ipc'];
    const child = launcher
      ? spawn(
          launcher[0] as string,
          [...launcher.slice(1), process.execPath, ...process.execArgv, script, ...args],
          { serialization: 'advanced', stdio },
        )
      : fork(script, args, { serialization: 'advanced', stdio });
    const ready = await new Promise<{ name: string; address: string; advertisedAddress: string }>(
      (resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error('worker did not start in time')),
          timeoutMs,
        );
        child.once(
          'message',
          (m: { type: string; name: string; address: string; advertisedAddress: string }) => {
            clearTimeout(timer);
            if (m.type === 'ready') resolve(m);
            else reject(new Error(`unexpected first message ${JSON.stringify(m)}`));
          },
        );
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`worker exited with ${code} before it was ready`));
        });
      },
    );
    const worker = new Worker(child, ready.name, ready.address, ready.advertisedAddress);
    this.workers.push(worker);
    return worker;
  }

  /** Kills every process this cluster started (SIGCONT first, so a frozen one can die). */
  cleanup(): void {
    for (const worker of this.workers) {
      if (worker.exited) continue;
      try {
        process.kill(worker.pid, 'SIGCONT');
        process.kill(worker.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}
