/**
 * `rpclb members`, `rpclb call`, `rpclb dashboard` and `rpclb demo --dashboard` as real
 * processes against a cluster of real node processes: what they print, their exit codes, and
 * one line on stderr for each failure (unknown function, a handler that throws, bad JSON, an
 * unreachable seed, a wrong cookie, an unknown node).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { DashboardView } from '../../src/dashboard/index.js';
import { Cluster, COOKIE } from '../helpers/cluster.js';
import { unusedAddress } from '../helpers/ports.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const TIME_BOUND_MS = 30_000;

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Started {
  child: ChildProcess;
  /** Resolves with stdout once it matches `pattern`. */
  printed(pattern: RegExp): Promise<string>;
  exit: Promise<Outcome>;
}

/** Starts `rpclb` with `args`; SIGKILLed if it outlives the time bound or the test. */
function start(t: { after(fn: () => void): void }, args: string[]): Started {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), TIME_BOUND_MS);
  const exit = new Promise<Outcome>((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
  t.after(() => void child.kill('SIGKILL'));
  const printed = async (pattern: RegExp) => {
    while (!pattern.test(stdout)) {
      if (child.exitCode !== null) throw new Error(`rpclb exited first:\n${stdout}\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return stdout;
  };
  return { child, printed, exit };
}

const oneLine = (text: string) => assert.match(text, /^[^\n]+\n$/, `one line: ${text}`);

test('rpclb members, call and dashboard against a running cluster', async (t) => {
  const cluster = new Cluster(t);
  const w1 = await cluster.spawn({ name: 'cli-w1@127.0.0.1' });
  const w2 = await cluster.spawn({ name: 'cli-w2@127.0.0.1', seeds: [w1.address] });
  await Promise.all([w1.request('startLb', { name: 'jobs' }), w2.request('join', 'solo')]);
  await w1.waitForEvent((e) => e.event === 'nodeup' && e.peer === w2.name);
  const seed = ['--seed', w1.address, '--cookie', COOKIE];
  const run = (...args: string[]) => start(t, [...args, ...seed]).exit;
  // Not a port that was free a moment ago: the commands' own nodes listen on port 0 meanwhile.
  const dead = await unusedAddress();

  // Alone first: the other commands' nodes would be members of the cluster while they run.
  const members = await run('members');
  const [json, upcase, onW2, missing, thrown, badJson, refused, wrongCookie, nobody] =
    await Promise.all([
      run('members', '--json'),
      run('call', 'Test.upcase', '["hi"]'),
      run('call', 'Test.whoami', '--node', w2.name),
      run('call', 'Test.nope', '[]'),
      run('call', 'Test.boom', '["kaput"]'),
      run('call', 'Test.echo', '[1,'),
      start(t, ['call', 'Test.echo', '[1]', '--seed', dead]).exit,
      start(t, ['members', '--seed', w1.address, '--cookie', 'not-the-cookie']).exit,
      run('call', 'Test.whoami', '--node', 'nobody@127.0.0.1', '--timeout', '500'),
    ]);

  assert.equal(members.code, 0, members.stderr);
  assert.match(members.stdout, /^2 nodes, as cli-w1@127\.0\.0\.1 sees the cluster:\n/);
  assert.match(members.stdout, /^ {2}cli-w1@127\.0\.0\.1 +127\.0\.0\.1:\d+ +groups: jobs$/m);
  assert.match(members.stdout, /^ {2}cli-w2@127\.0\.0\.1 +127\.0\.0\.1:\d+ +groups: solo$/m);
  assert.match(members.stdout, /^groups:\n {2}jobs: cli-w1@127\.0\.0\.1\n {2}solo: cli-w2@/m);
  assert.doesNotMatch(members.stdout, /rpclb-members-/, 'its own node is left out');
  assert.equal(json.code, 0);
  assert.deepEqual(JSON.parse(json.stdout).groups, [
    { name: 'jobs', members: [w1.name] },
    { name: 'solo', members: [w2.name] },
  ]);

  assert.deepEqual([upcase.code, upcase.stdout, upcase.stderr], [0, '"HI"\n', '']);
  assert.deepEqual([onW2.code, onW2.stdout], [0, `"${w2.name}"\n`]);

  const failures: [Outcome, number, RegExp][] = [
    [missing, 1, /^rpclb call: not_found: .*Test\.nope/],
    [thrown, 1, /^rpclb call: internal_server_error: .*kaput/],
    [badJson, 2, /^rpclb: the arguments must be a JSON array/],
    [
      refused,
      1,
      /^rpclb call: cannot join the cluster through 127\.0\.0\.1:\d+: service_unavailable: .*ECONNREFUSED/,
    ],
    [wrongCookie, 1, /^rpclb members: cannot join the cluster through .*wrong cookie/],
    [nobody, 1, /^rpclb call: node nobody@127\.0\.0\.1 is not in the cluster \(connected: /],
  ];
  for (const [outcome, code, message] of failures) {
    assert.equal(outcome.code, code, outcome.stderr);
    assert.match(outcome.stderr, message);
    oneLine(outcome.stderr);
    assert.equal(outcome.stdout, '');
  }

  await t.test('rpclb dashboard serves the cluster until SIGTERM', async () => {
    const dashboard = start(t, ['dashboard', ...seed, '--host', '0.0.0.0']);
    const out = await dashboard.printed(/Ctrl-C to stop\n/);
    const [, dashPort, token] =
      /^rpclb dashboard: http:\/\/0\.0\.0\.0:(\d+)\/\?token=([\w-]+)\n/.exec(out) ?? ['', '', ''];
    assert.match(
      out,
      new RegExp(`^ {2}token \\(generated, required off loopback\\): ${token}$`, 'm'),
    );
    const url = `http://127.0.0.1:${dashPort}/view.json`;
    assert.equal((await fetch(url)).status, 401);
    const view = (await (await fetch(`${url}?token=${token}`)).json()) as DashboardView;
    assert.deepEqual(
      view.nodes.filter((n) => !n.observer).map((n) => [n.name, n.state]),
      [
        [w1.name, 'up'],
        [w2.name, 'up'],
      ],
    );
    assert.match(view.observer, /^rpclb-dashboard-[0-9a-f]{12}@127\.0\.0\.1$/);
    dashboard.child.kill('SIGTERM');
    assert.equal((await dashboard.exit).code, 0);
  });

  await t.test('rpclb demo --dashboard serves the demo node’s view', async () => {
    const args = ['demo', '--dashboard', '--nodes', '2', '--duration', '2'];
    const demo = start(t, [...args, '--algorithm', 'RoundRobin']);
    const out = await demo.printed(/^dashboard: http:\/\/127\.0\.0\.1:\d+\/\n/m);
    const dashPort = /^dashboard: http:\/\/127\.0\.0\.1:(\d+)\//m.exec(out)?.[1];
    const view = (await (
      await fetch(`http://127.0.0.1:${dashPort}/view.json`)
    ).json()) as DashboardView;
    assert.equal(view.observer, 'demo@127.0.0.1');
    assert.deepEqual(
      view.nodes.map((n) => n.name),
      ['demo@127.0.0.1', 'worker1@127.0.0.1', 'worker2@127.0.0.1'],
    );
    assert.deepEqual(
      view.balancers.map((b) => [b.node, b.name, b.members.length]),
      [['demo@127.0.0.1', 'demo-RoundRobin', 2]],
    );
    const done = await demo.exit;
    assert.equal(done.code, 0, done.stderr);
  });
});
