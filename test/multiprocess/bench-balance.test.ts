/**
 * Smoke tests of the `npm run bench:balance` harness: a tiny run per test (one scenario, one
 * caller, a short window, two contenders), checking that the workers, callers and nats-server
 * do what the report says, and that every process the run started is gone when it ends,
 * normally or on SIGINT.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findNatsServer } from '../../bench/balance/nats-server.js';
import type { BalanceResults } from '../../bench/balance/results.js';

const SCRIPT = fileURLToPath(new URL('../../bench/balance.js', import.meta.url));
const NO_NATS = findNatsServer()
  ? false
  : 'nats-server is not installed (apt-get install -y nats-server)';

/** Pids of the processes whose environment carries `tag` (every process the run started). */
function survivors(tag: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').includes(tag)) found.push(Number(entry));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

interface Run {
  code: number | null;
  output: string;
  results: BalanceResults;
  /** Processes of the run still alive 5 s after it exited. */
  leftover: number[];
}

/** Runs the bench with `args`; `onOutput` may act on its output (e.g. interrupt it). */
function bench(
  t: { after(fn: () => void): void },
  args: string[],
  onOutput?: (text: string, pid: number) => void,
): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-balance-'));
  const out = join(dir, 'raw.json');
  const tag = `BENCH_BALANCE_TEST=${process.pid}-${Math.random().toString(36).slice(2)}`;
  const [key, value] = tag.split('=') as [string, string];
  const child = spawn(process.execPath, [SCRIPT, `--out=${out}`, ...args], {
    env: { ...process.env, [key]: value },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    for (const pid of survivors(tag)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    onOutput?.(output, child.pid as number);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  return new Promise((resolve) => {
    child.on('exit', async (code) => {
      // The children exit on their own when their parent goes; give them a moment, then none
      // may be left, nats-server included.
      const deadline = Date.now() + 5_000;
      while (survivors(tag).length > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const leftover = survivors(tag);
      let results = {} as BalanceResults;
      try {
        results = JSON.parse(readFileSync(out, 'utf8')) as BalanceResults;
      } catch {
        // Checked by the caller when it expects results.
      }
      resolve({ code, output, results, leftover });
    });
  });
}

const SHORT = ['--callers=1', '--duration=1000', '--warmup=200', '--no-docs'];

test('a fast-failing worker: both systems serve, wait and fail as modelled', async (t) => {
  const run = await bench(t, [
    ...SHORT,
    '--scenarios=fast_fail',
    '--systems=rpclb,moleculer',
    '--algorithms=LeastConnections,RoundRobin',
  ]);
  assert.equal(run.code, 0, run.output);
  assert.deepEqual(run.leftover, [], 'processes left behind');
  const ids = run.results.measurements.map((m) => m.contender).sort();
  assert.deepEqual(ids, ['moleculer:RoundRobin', 'rpclb:LeastConnections', 'rpclb:RoundRobin']);
  for (const m of run.results.measurements) {
    assert.equal(m.error, undefined, `${m.contender}: ${m.error}`);
    // About 0.7 x 8 / 5 ms = 1 120 calls/s for one second.
    assert.ok(m.issued > 700, `${m.contender}: only ${m.issued} calls`);
    // Calls waited for their modelled service (mean 5 ms), they were not answered at once.
    assert.ok((m.latencyMs?.p50 ?? 0) >= 1, `${m.contender}: p50 ${m.latencyMs?.p50} ms`);
    // w0 failed some of its calls, the callers saw them as failures of w0, and nothing else.
    assert.ok(m.errors.failed > 0, `${m.contender}: no failed calls`);
    assert.ok(m.errors.failed / m.issued < 0.3, `${m.contender}: ${m.errors.failed} failed`);
    assert.equal(m.errors.other, 0, `${m.contender}: ${m.samples?.join('; ')}`);
    assert.equal(m.shares.length, 8);
    assert.ok(Math.abs(m.shares.reduce((a, b) => a + b, 0) - 1) < 0.01);
    assert.ok(
      m.shares.every((s) => s > 0),
      `${m.contender}: shares ${m.shares.join(', ')}`,
    );
  }
  assert.equal(run.results.complete, false);
});

test('NATS and a worker killed mid-run: the run goes on and nats-server is stopped', {
  skip: NO_NATS,
}, async (t) => {
  const run = await bench(t, [
    ...SHORT,
    '--scenarios=kill',
    '--systems=rpclb,nats',
    '--algorithms=LeastConnections,queue group',
  ]);
  assert.equal(run.code, 0, run.output);
  assert.deepEqual(run.leftover, [], 'processes left behind');
  assert.match(run.results.natsServer, /^v?\d+\.\d+/);
  assert.equal(run.results.measurements.length, 2);
  for (const m of run.results.measurements) {
    assert.equal(m.error, undefined, `${m.contender}: ${m.error}`);
    assert.ok(m.ok > 0.8 * m.issued, `${m.contender}: ${m.ok} of ${m.issued} succeeded`);
    // The killed worker's calls up to the kill still count in its slot's share.
    assert.ok((m.shares[0] ?? 0) > 0.02, `${m.contender}: shares ${m.shares.join(', ')}`);
  }
});

test('SIGINT during a run kills every process it started (nats-server too, when installed)', async (t) => {
  // Without nats-server the run is rpc-load-balancer alone, so the cleanup is checked everywhere.
  const systems = NO_NATS ? 'rpclb' : 'rpclb,nats';
  let sent = false;
  const run = await bench(
    t,
    [
      '--callers=1',
      '--duration=20000',
      '--scenarios=equal',
      `--systems=${systems}`,
      '--algorithms=Random,queue group',
    ],
    (text, pid) => {
      if (!sent && text.includes(`started ${systems.replace(',', ', ')}`)) {
        sent = true;
        setTimeout(() => process.kill(pid, 'SIGINT'), 500);
      }
    },
  );
  assert.equal(sent, true, run.output);
  assert.equal(run.code, 130, run.output);
  assert.deepEqual(run.leftover, [], 'processes left behind');
});
