import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const TIME_BOUND_MS = 60_000;

interface Run {
  child: ChildProcess;
  stdout: () => string;
  /** Resolves when stdout matches `pattern`. */
  waitFor(pattern: RegExp): Promise<void>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** Starts `rpclb` with `args`; it is SIGKILLed if it outlives the time bound or the test. */
function rpclb(t: { after(fn: () => void): void }, args: string[]): Run {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const watchers = new Set<() => void>();
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const check of [...watchers]) check();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), TIME_BOUND_MS);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) =>
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stderr });
      }),
  );
  t.after(() => {
    child.kill('SIGKILL');
    for (const pid of workerPids(stdout)) kill(pid);
  });
  const waitFor = (pattern: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (pattern.test(stdout)) {
          watchers.delete(check);
          resolve();
        }
      };
      watchers.add(check);
      check();
      exit.then(() => {
        watchers.delete(check);
        reject(new Error(`rpclb exited before printing ${pattern}:\n${stdout}`));
      });
    });
  return { child, stdout: () => stdout, waitFor, exit };
}

/** The pids from the demo's `workers: <pid> <pid> ...` line. */
function workerPids(stdout: string): number[] {
  const line = /^workers: ([\d ]+)$/m.exec(stdout);
  return line ? (line[1] as string).trim().split(/\s+/).map(Number) : [];
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

test('rpclb demo runs a small cluster, prints every node, and leaves no process behind', {
  timeout: TIME_BOUND_MS + 5_000,
}, async (t) => {
  const run = rpclb(t, ['demo', '--nodes', '3', '--duration', '1', '--algorithm', 'RoundRobin']);
  const { code, stderr } = await run.exit;
  const stdout = run.stdout();
  assert.equal(code, 0, `exit code 0 expected\nstdout:\n${stdout}\nstderr:\n${stderr}`);

  const pids = workerPids(stdout);
  assert.equal(pids.length, 3, stdout);
  assert.deepEqual(pids.filter(isAlive), [], 'every worker process has exited when the demo ends');

  const table = stdout.slice(stdout.indexOf('\nResults'));
  assert.match(table, /^RoundRobin: [\d,]+ calls/m);
  for (const node of ['worker1@127.0.0.1', 'worker2@127.0.0.1', 'worker3@127.0.0.1']) {
    assert.match(table, new RegExp(`^  ${node}.*\\s\\d+$`, 'm'), `table row for ${node}`);
  }
  assert.match(table, /worker3@127\.0\.0\.1 \(slow\)/);
});

test('rpclb demo stops its workers and exits 130 on SIGINT', {
  timeout: TIME_BOUND_MS + 5_000,
}, async (t) => {
  const run = rpclb(t, ['demo', '--nodes', '2', '--duration', '20', '--algorithm', 'RoundRobin']);
  await run.waitFor(/^ {2}RoundRobin +1\.\d s /m); // load is flowing
  const pids = workerPids(run.stdout());
  assert.equal(pids.length, 2);
  assert.ok(pids.every(isAlive));

  run.child.kill('SIGINT');
  const { code, stderr } = await run.exit;
  assert.equal(code, 130, `stdout:\n${run.stdout()}\nstderr:\n${stderr}`);
  assert.match(run.stdout(), /stopped 2 worker processes/);
  assert.deepEqual(pids.filter(isAlive), [], 'no worker survives the interrupt');
});

test('rpclb demo | head: a closed output stops the demo quietly (141), workers included', {
  timeout: TIME_BOUND_MS + 5_000,
}, async (t) => {
  // A long run: only the closed pipe can end it within the bound below.
  const run = rpclb(t, ['demo', '--nodes', '2', '--duration', '600', '--algorithm', 'RoundRobin']);
  await run.waitFor(/^workers: [\d ]+$/m);
  const pids = workerPids(run.stdout());
  assert.equal(pids.length, 2);
  run.child.stdout?.destroy(); // what `head` does once it has its lines

  const bound = new Promise<never>((_, reject) =>
    setTimeout(
      () => reject(new Error('still running 20 s after its output closed')),
      20_000,
    ).unref(),
  );
  const { code, signal, stderr } = await Promise.race([run.exit, bound]);
  assert.equal(stderr, '', 'no stack trace, no message');
  assert.deepEqual({ code, signal }, { code: 141, signal: null });
  assert.deepEqual(pids.filter(isAlive), [], 'no worker survives the closed pipe');
});

test('rpclb demo --nodes -3: one line naming the flag and its range, exit 2', async (t) => {
  const run = rpclb(t, ['demo', '--nodes', '-3']);
  const { code, stderr } = await run.exit;
  assert.equal(code, 2);
  assert.equal(
    stderr,
    `rpclb: --nodes must be an integer from 2 to 32, received "-3" (see 'rpclb help')\n`,
  );
  assert.equal(run.stdout(), '');
});
