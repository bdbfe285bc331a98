/**
 * What an open dashboard costs the node it runs on: CPU time per second of that process with no
 * page open and with one page open (an event-stream client reading every view), measured
 * alternately in one run, idle and under a steady load (`--rate` lb.calls per second).
 *
 * Three processes: this one (the harness, and the page: an HTTP client of `/events`), the
 * observed node (a node with a balancer over the workers and `startDashboard()`), and four
 * worker nodes in one process. Only the observed process is measured (`process.cpuUsage()`).
 *
 *   npm run bench:dashboard -- [--rounds=10] [--window=5] [--rate=2000]
 *
 * Run it alone on the machine (`flock /work/.heavy.lock` on the shared one): the figures are
 * milliseconds of CPU per second, small enough for another process's work to show.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { startDashboard } from '../src/dashboard/index.js';
import { type LoadBalancer, startNode } from '../src/index.js';

const SELF = fileURLToPath(import.meta.url);
const COOKIE = 'bench-dashboard';
const WORKERS = 4;
const option = (name: string, fallback: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The four workers, in one process: each serves `Bench.work` (1 ms) and joins the group `lb`. */
async function workers(): Promise<void> {
  let seed: string | undefined;
  for (let i = 1; i <= WORKERS; i++) {
    const node = await startNode({
      name: `worker${i}@127.0.0.1`,
      cookie: COOKIE,
      logLevel: 'error',
      ...(seed ? { seeds: [seed] } : {}),
    });
    node.expose('Bench', { work: () => sleep(1).then(() => node.name) });
    await node.startLoadBalancer({ name: 'lb' });
    seed ??= node.address;
  }
  process.send?.({ seed });
}

/** The observed node: answers `cpu`, starts load on `load`, serves the dashboard. */
async function observed(seed: string): Promise<void> {
  const node = await startNode({ name: 'observed@127.0.0.1', cookie: COOKIE, logLevel: 'error' });
  await node.connect(seed);
  const lb: LoadBalancer = await node.startLoadBalancer({ name: 'lb', nodeMatchList: [] });
  await lb.waitForMembers(WORKERS, { timeout: 10_000 });
  const dashboard = await startDashboard(node);
  process.on('message', (m: { op: string; rate?: number }) => {
    if (m.op === 'cpu') {
      const { user, system } = process.cpuUsage();
      process.send?.({ cpuUs: user + system, at: performance.now() });
    } else if (m.op === 'load') {
      // A fixed rate, not a closed loop: the work to do is then the same in every window.
      const perTick = (m.rate ?? 2_000) / 100;
      setInterval(() => {
        for (let i = 0; i < perTick; i++) lb.call('Bench', 'work', []).catch(() => {});
      }, 10);
    }
  });
  process.send?.({ port: dashboard.port });
}

function ask<T>(child: ChildProcess, message: object): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', resolve);
    if (Object.keys(message).length > 0) child.send(message);
  });
}

/** A page: reads `/events` until closed; counts the views and their bytes. */
function openPage(port: number) {
  const stats = { views: 0, bytes: 0 };
  const req = request({ host: '127.0.0.1', port, path: '/events' }, (res) => {
    res.setEncoding('utf8').on('data', (chunk: string) => {
      stats.views += chunk.match(/^event: view$/gm)?.length ?? 0;
      stats.bytes += Buffer.byteLength(chunk);
    });
  });
  req.on('error', () => {}).end();
  return { stats, close: () => req.destroy() };
}

/** CPU of the observed process over `windowMs`, in ms per second. */
async function cpuPerSecond(child: ChildProcess, windowMs: number): Promise<number> {
  const a = await ask<{ cpuUs: number; at: number }>(child, { op: 'cpu' });
  await sleep(windowMs);
  const b = await ask<{ cpuUs: number; at: number }>(child, { op: 'cpu' });
  return (b.cpuUs - a.cpuUs) / (b.at - a.at);
}

const quantile = (xs: number[], q: number) =>
  [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(xs.length * q))] ?? NaN;

/**
 * Rounds of two windows side by side, no page then one page (in alternating order, so a drift
 * in the machine's load hits both alike). The cost is taken per round, as the difference of its
 * two windows, which cancels most of what drifts between rounds.
 */
async function scenario(child: ChildProcess, port: number, rounds: number, windowMs: number) {
  const none: number[] = [];
  const one: number[] = [];
  const diffs: number[] = [];
  const views = { count: 0, bytes: 0 };
  for (let round = 0; round < rounds; round++) {
    const cpu = { none: 0, one: 0 };
    for (const withPage of round % 2 === 0 ? [false, true] : [true, false]) {
      const page = withPage ? openPage(port) : undefined;
      await sleep(1_500);
      const before = { ...page?.stats };
      cpu[withPage ? 'one' : 'none'] = await cpuPerSecond(child, windowMs);
      if (page) {
        views.count += page.stats.views - (before.views ?? 0);
        views.bytes += page.stats.bytes - (before.bytes ?? 0);
        page.close();
      }
      await sleep(1_000);
    }
    none.push(cpu.none);
    one.push(cpu.one);
    diffs.push(cpu.one - cpu.none);
  }
  return {
    none: quantile(none, 0.5),
    one: quantile(one, 0.5),
    cost: quantile(diffs, 0.5),
    spread: [quantile(diffs, 0.25), quantile(diffs, 0.75)],
    viewBytes: views.bytes / views.count,
    viewsPerS: (views.count * 1000) / (rounds * windowMs),
  };
}

async function main(): Promise<void> {
  const rounds = option('rounds', 10);
  const windowMs = option('window', 5) * 1000;
  const rate = option('rate', 2_000);
  const stdio = ['ignore', 'inherit', 'inherit', 'ipc'] as const;
  const peers = fork(SELF, ['workers'], { stdio: [...stdio] });
  const children = [peers];
  process.on('exit', () => {
    for (const c of children) c.kill('SIGKILL');
  });
  const { seed } = await ask<{ seed: string }>(peers, {});
  const node = fork(SELF, ['observed', seed], { stdio: [...stdio] });
  children.push(node);
  const { port } = await ask<{ port: number }>(node, {});
  console.log(
    `dashboard cost on the observed node (${WORKERS} workers), ${rounds} rounds of two ${windowMs / 1000} s windows, Node.js ${process.version}`,
  );
  console.log(
    '| cluster | no page open | one page open | cost of the page (median; middle half of rounds) | views/s | view size |',
  );
  console.log('|---|---|---|---|---|---|');
  const ms = (x: number) => `${x.toFixed(2)} ms/s`;
  const row = (name: string, r: Awaited<ReturnType<typeof scenario>>) =>
    console.log(
      `| ${name} | ${ms(r.none)} | ${ms(r.one)} | ${ms(r.cost)} (${(r.cost / 10).toFixed(2)} % of a core; ${r.spread.map((x) => x.toFixed(1)).join(' to ')}) | ${r.viewsPerS.toFixed(2)} | ${Math.round(r.viewBytes)} B |`,
    );
  // Warm-up, not measured: the first views compile the dashboard's code paths.
  const warmUp = openPage(port);
  await sleep(3_000);
  warmUp.close();
  await sleep(1_000);
  row('idle', await scenario(node, port, rounds, windowMs));
  node.send({ op: 'load', rate });
  await sleep(2_000);
  row(`${rate} lb.calls/s`, await scenario(node, port, rounds, windowMs));
  for (const c of children) c.kill('SIGKILL');
}

const [role, arg] = process.argv.slice(2);
if (role === 'workers') await workers();
else if (role === 'observed') await observed(arg as string);
else await main();
