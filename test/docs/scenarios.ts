/**
 * Pages whose code is several programs used together (the tutorial's workers and client, the
 * deployment guide's server under SIGTERM): a scenario runs them the way the page tells the
 * reader to, and checks that each step prints what the page shows. The programs themselves
 * come from the page (`doctest: file` blocks); only the ports differ: port 0 instead of the
 * page's fixed ones, so that the test never collides with anything else on the machine.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startNode } from '../../src/index.js';
import type { Page } from './markdown.js';
import type { Proc, ProcessGroup } from './processes.js';

export interface ScenarioContext {
  page: Page;
  /** The page's project directory, holding its `doctest: file` blocks. */
  dir: string;
  procs: ProcessGroup;
}

/** Fails unless the page itself shows `text`, so scenario and page cannot drift apart. */
function pageShows(page: Page, text: string): string {
  assert.ok(
    page.text.includes(text),
    `${page.path} no longer shows "${text}"; update the scenario with the page`,
  );
  return text;
}

const lines = (text: string) => text.split('\n').filter(Boolean);

/** docs/tutorial/getting-started.md, steps 3 to 7. */
async function tutorial({ page, procs }: ScenarioContext): Promise<void> {
  const node = process.execPath;
  const worker = (id: string, seed?: string) =>
    procs.start(node, ['worker.mjs', id, '0', ...(seed ? [seed] : [])]);
  /** Output of `proc` after this point only. */
  const from = (proc: Proc) => proc.stdout.length;

  // 3. Start three workers; the second and third connect to each other through the first.
  const w1 = worker('w1');
  await w1.waitFor(' listening on ');
  const seed = /listening on (\S+)/.exec(w1.stdout)?.[1] as string;
  assert.match(
    lines(w1.stdout)[0] as string,
    new RegExp(`^w1@127\\.0\\.0\\.1 listening on ${seed} \\(pid ${w1.child.pid}\\)$`),
  );
  pageShows(page, 'w1@127.0.0.1 listening on 127.0.0.1:4370');
  const w2 = worker('w2', seed);
  let w3 = worker('w3', seed);
  await w1.waitFor(pageShows(page, 'nodeup   w2@127.0.0.1'));
  await w1.waitFor(pageShows(page, 'nodeup   w3@127.0.0.1'));
  await w2.waitFor('nodeup   w3@127.0.0.1');

  // 4. The client: all three are members, and LeastConnections gives each four of the twelve calls.
  const client = async (members: string) => {
    const exit = await procs.run(node, ['client.mjs', seed]);
    assert.ok(
      exit.code === 0 && exit.stderr === '',
      `client: ${exit.code}\n${exit.stdout}\n${exit.stderr}`,
    );
    const out = lines(exit.stdout);
    assert.equal(out[0], pageShows(page, `members: ${members}`));
    assert.equal(out.length, 13, exit.stdout);
    return out.slice(1);
  };
  const marks = [w1, w2, w3].map(from);
  const results = await client("[ 'w1@127.0.0.1', 'w2@127.0.0.1', 'w3@127.0.0.1' ]");
  for (const id of ['w1', 'w2', 'w3']) {
    assert.equal(
      results.filter((r) => r.endsWith(`from ${id}@127.0.0.1`)).length,
      4,
      results.join('\n'),
    );
  }
  assert.deepEqual(
    results.map((r) => Number(r.split(' ')[0])).sort((a, b) => a - b),
    [0, 1, 4, 9, 16, 25, 36, 49, 64, 81, 100, 121],
  );
  const goodbye = pageShows(page, 'nodedown client@127.0.0.1 (goodbye)');
  await Promise.all([w1, w2, w3].map((w, i) => w.waitFor(goodbye, marks[i])));
  pageShows(page, 'square(1) called by client@127.0.0.1');
  assert.ok([w1, w2, w3].some((w) => w.stdout.includes('square(1) called by client@127.0.0.1')));

  // 5. Ctrl-C in w2: it closes gracefully; the client carries on with the two that are left.
  let mark = from(w1);
  w2.kill('SIGINT');
  await w2.waitFor(pageShows(page, 'closing gracefully...'));
  assert.equal((await w2.exit).code, 0, w2.stderr);
  await w1.waitFor(pageShows(page, 'nodedown w2@127.0.0.1 (goodbye)'), mark);
  const two = "[ 'w1@127.0.0.1', 'w3@127.0.0.1' ]";
  const after = await client(two);
  assert.ok(
    after.every((r) => /from w[13]@/.test(r)),
    after.join('\n'),
  );

  // 6. kill -9 w3: w1 notices at once, through the closed socket.
  mark = from(w1);
  w3.kill('SIGKILL');
  await w1.waitFor(pageShows(page, 'nodedown w3@127.0.0.1 (closed)'), mark);

  // 7. Start w3 again with the same command: welcomed back, and a member again.
  mark = from(w1);
  w3 = worker('w3', seed);
  await w1.waitFor('nodeup   w3@127.0.0.1', mark);
  await client(two);

  for (const w of [w1, w3]) w.kill('SIGINT');
  for (const w of [w1, w3]) assert.equal((await w.exit).code, 0, w.stderr);
}

/**
 * docs/how-to/deployment.md: two nodes run the page's server.mjs (on 127.0.0.1, which needs no
 * advertised address), a caller keeps calls in flight through their balancer, and one node gets
 * SIGTERM: it prints what the page shows, exits 0 within its drain budget, and no call fails.
 */
async function deployment({ page, procs }: ScenarioContext): Promise<void> {
  const cookie = 'docs-deployment';
  const drainMs = 3_000;
  const server = (name: string, seeds: string) =>
    procs.start(process.execPath, ['server.mjs'], 30_000, {
      RPC_NODE_NAME: name,
      RPC_LISTEN_HOST: '127.0.0.1',
      RPC_PORT: '0',
      RPC_SEEDS: seeds,
      RPC_DRAIN_MS: String(drainMs),
      RPCLB_COOKIE: cookie,
    });
  const address = async (proc: Proc, name: string) => {
    await proc.waitFor(`${name} listening on `);
    pageShows(page, 'api1@10.0.0.5 listening on ');
    return /listening on (\S+)/.exec(proc.stdout)?.[1] as string;
  };
  const a = server('a@127.0.0.1', '');
  const seed = await address(a, 'a@127.0.0.1');
  const b = server('b@127.0.0.1', seed);
  await address(b, 'b@127.0.0.1');

  const caller = await startNode({
    name: 'caller@127.0.0.1',
    cookie,
    seeds: [seed],
    logLevel: 'error',
  });
  try {
    const lb = await caller.startLoadBalancer({ name: 'jobs', nodeMatchList: [] });
    await lb.waitForMembers(2, { timeout: 10_000 });
    let ok = 0;
    const failures: string[] = [];
    const until = Date.now() + 1_500;
    const loop = async () => {
      while (Date.now() < until) {
        await lb.call('Jobs', 'run', [20]).then(
          () => ok++,
          (err: Error) => failures.push(err.message),
        );
      }
    };
    const load = Promise.all(Array.from({ length: 16 }, loop));
    await sleep(400);
    const stopped = performance.now();
    b.kill('SIGTERM');
    const exit = await b.exit;
    const tookMs = performance.now() - stopped;
    await load;
    assert.equal(exit.code, 0, exit.stderr);
    assert.equal(exit.stderr, '');
    const shutdownLines = [`SIGTERM: closing, draining for up to ${drainMs} ms`, 'closed'];
    pageShows(page, 'SIGTERM: closing, draining for up to 25000 ms\nclosed');
    assert.deepEqual(exit.stdout.split('\n').filter(Boolean).slice(1), shutdownLines);
    // The supervisor's SIGKILL would come after the grace period: close must end well before.
    assert.ok(tookMs < drainMs + 1_000, `closed in ${tookMs} ms, budget ${drainMs} ms`);
    assert.deepEqual(failures, [], `${failures.length} calls failed, ${ok} succeeded`);
    assert.ok(ok > 0);
  } finally {
    await caller.close();
  }
  a.kill('SIGINT');
  const exitA = await a.exit;
  assert.equal(exitA.code, 0, exitA.stderr);
  assert.match(exitA.stdout, /SIGINT: closing/);
}

export const SCENARIOS: Readonly<Record<string, (ctx: ScenarioContext) => Promise<void>>> = {
  tutorial,
  deployment,
};
