/**
 * Processes the docs test starts: each is bounded in time, killed by pid on timeout and at the
 * end of the test, and its output kept for assertions.
 */
import { type ChildProcess, spawn } from 'node:child_process';

/** How a finished process ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A running process with its output so far. */
export class Proc {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exit: Promise<Exit>;
  readonly #watchers = new Set<() => void>();

  constructor(
    command: string,
    args: string[],
    opts: { cwd: string; env: NodeJS.ProcessEnv },
    timeoutMs: number,
  ) {
    this.child = spawn(command, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
      for (const check of [...this.#watchers]) check();
    });
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
      for (const check of [...this.#watchers]) check();
    });
    const timer = setTimeout(() => this.kill('SIGKILL'), timeoutMs);
    this.exit = new Promise((resolve) =>
      this.child.once('close', (code, signal) => {
        clearTimeout(timer);
        for (const check of [...this.#watchers]) check();
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
      }),
    );
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** Resolves once stdout (from `from` on) contains `text`; rejects if the process ends first. */
  waitFor(text: string, from = 0, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => done(new Error(`no "${text}" within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.#watchers.delete(check);
        if (err)
          reject(new Error(`${err.message}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`));
        else resolve();
      };
      const check = () => {
        if (this.stdout.indexOf(text, from) >= 0) done();
        else if (!this.running) done(new Error(`exited before printing "${text}"`));
      };
      this.#watchers.add(check);
      check();
    });
  }
}

/** Starts processes and kills every one still running at {@link ProcessGroup.cleanup}. */
export class ProcessGroup {
  readonly #all: Proc[] = [];

  constructor(
    readonly cwd: string,
    readonly env: NodeJS.ProcessEnv,
  ) {}

  /** Starts `command`; `env` adds to (or overrides) the group's environment. */
  start(command: string, args: string[], timeoutMs = 30_000, env: NodeJS.ProcessEnv = {}): Proc {
    const proc = new Proc(
      command,
      args,
      { cwd: this.cwd, env: { ...this.env, ...env } },
      timeoutMs,
    );
    this.#all.push(proc);
    return proc;
  }

  /** Runs to completion; resolves with how it ended. */
  run(command: string, args: string[], timeoutMs = 30_000): Promise<Exit> {
    return this.start(command, args, timeoutMs).exit;
  }

  async cleanup(): Promise<void> {
    const living = this.#all.filter((p) => p.running);
    for (const proc of living) proc.kill('SIGKILL');
    await Promise.all(living.map((p) => p.exit));
  }
}
