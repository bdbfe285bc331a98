/**
 * Child processes of the benchmark: forked with an IPC channel, tracked by pid, and killed by
 * pid on every way out (normal exit, error, SIGINT, SIGTERM, overall deadline). Children also
 * exit by themselves when the IPC channel to this process closes (see child.ts), so even a
 * SIGKILLed orchestrator leaves nothing behind.
 */
import { type ChildProcess, fork } from 'node:child_process';
import type { FromChild, ToChild } from './protocol.js';

const live = new Map<number, ChildProcess>();
let nextSeq = 1;

/** What every IPC message carries; replies match requests by `seq` (0: unsolicited). */
export interface IpcMessage {
  type: string;
  seq: number;
}

/** The replies every child may send besides its own: a failure, and the answer to `close`. */
type BaseReply = { type: 'error'; seq: number; message: string } | { type: 'closed'; seq: number };

/**
 * A forked child with request/response over IPC. The message types default to the side-by-side
 * benchmark's; other benchmarks give their own (they must accept `close` and may answer `error`).
 */
export class Child<To extends IpcMessage = ToChild, From extends IpcMessage = FromChild> {
  readonly proc: ChildProcess;
  readonly label: string;
  private readonly waiters = new Map<number, (msg: From | BaseReply) => void>();
  private exitError: Error | undefined;

  constructor(
    script: string,
    args: string[],
    label: string,
    env: NodeJS.ProcessEnv = {},
    /** Node.js flags for the child (e.g. `--expose-gc`), after this process's own. */
    execArgv: string[] = [],
  ) {
    this.label = label;
    this.proc = fork(script, args, {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, ...env },
      execArgv: [...process.execArgv, ...execArgv],
    });
    const pid = this.proc.pid;
    if (pid !== undefined) live.set(pid, this.proc);
    this.proc.on('message', (msg: From) => {
      const waiter = this.waiters.get(msg.seq);
      if (waiter) {
        this.waiters.delete(msg.seq);
        waiter(msg);
      }
    });
    // A failed send or spawn is reported through the pending request's timeout or exit; an
    // unhandled 'error' event must not take the orchestrator (and its cleanup) down.
    this.proc.on('error', (err) => console.error(`${label}: ${err.message}`));
    this.proc.on('exit', (code, signal) => {
      if (pid !== undefined) live.delete(pid);
      this.exitError = new Error(`${label} exited (code ${code}, signal ${signal})`);
      for (const [seq, waiter] of this.waiters) {
        this.waiters.delete(seq);
        waiter({ type: 'error', seq, message: this.exitError.message });
      }
    });
  }

  /** Waits for the child's unsolicited first message (seq 0), e.g. a server's `ready`. */
  first(timeoutMs: number): Promise<From> {
    return this.await(0, timeoutMs, 'start');
  }

  /** Sends a message and waits for the reply with the same sequence number. */
  request(msg: DistributiveOmit<To, 'seq'>, timeoutMs: number): Promise<From> {
    if (this.exitError) return Promise.reject(this.exitError);
    if (!this.proc.connected) return Promise.reject(new Error(`${this.label}: IPC channel closed`));
    const seq = nextSeq++;
    const reply = this.await(seq, timeoutMs, msg.type);
    this.proc.send({ ...msg, seq });
    return reply;
  }

  private await(seq: number, timeoutMs: number, what: string): Promise<From> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(seq);
        reject(new Error(`${this.label}: no reply to '${what}' within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(seq, (msg) => {
        clearTimeout(timer);
        if (msg.type === 'error') {
          reject(new Error(`${this.label}: ${(msg as BaseReply & { message: string }).message}`));
        } else resolve(msg as From);
      });
    });
  }

  /** Asks the child to close, then kills it by pid if it has not exited within `graceMs`. */
  async stop(graceMs = 3_000): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    try {
      if (this.proc.connected) {
        await this.request({ type: 'close' } as DistributiveOmit<To, 'seq'>, graceMs);
      }
    } catch {
      // Killed below.
    }
    const timer = setTimeout(() => kill(this.proc, 'SIGKILL'), graceMs);
    kill(this.proc, 'SIGTERM');
    await exited;
    clearTimeout(timer);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function kill(proc: ChildProcess, signal: NodeJS.Signals): void {
  if (proc.pid === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
  try {
    process.kill(proc.pid, signal);
  } catch {
    // Already gone.
  }
}

/** Processes started by a child (e.g. a broker its guard spawned), killed with the children. */
const extraPids = new Set<number>();

/**
 * Kills `pid` with the children on every way out. For a process a child started: the child
 * kills it when it exits normally, but `killAll` ends children with SIGKILL, which they cannot
 * clean up after.
 */
export function trackPid(pid: number): void {
  extraPids.add(pid);
}

/** Stops tracking `pid` (it has been stopped). */
export function untrackPid(pid: number): void {
  extraPids.delete(pid);
}

/** Kills every live child by pid, synchronously. */
export function killAll(): void {
  for (const proc of live.values()) kill(proc, 'SIGKILL');
  live.clear();
  for (const pid of extraPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  extraPids.clear();
}

/** Number of children still running. */
export function liveChildren(): number {
  return live.size;
}

/**
 * Installs the cleanup paths once: children are killed on exit, on SIGINT/SIGTERM, on an
 * uncaught error, and when `deadlineMs` passes (the run then fails loudly).
 */
export function installCleanup(deadlineMs: number): void {
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      console.error(`\nbench: ${signal}, killing ${live.size} child process(es)`);
      killAll();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (err) => {
    console.error('bench: uncaught error', err);
    killAll();
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    console.error('bench: unhandled rejection', err);
    killAll();
    process.exit(1);
  });
  const timer = setTimeout(() => {
    console.error(`bench: overall deadline of ${Math.round(deadlineMs / 1000)} s passed, aborting`);
    killAll();
    process.exit(2);
  }, deadlineMs);
  timer.unref();
}
