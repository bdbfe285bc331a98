/**
 * Pages whose code is several programs used together (the tutorial's workers and client, the
 * deployment guide's server under SIGTERM): a scenario runs them the way the page tells the
 * reader to, and checks that each step prints what the page shows. The programs themselves
 * come from the page (`doctest: file` blocks); only the ports differ: port 0 instead of the
 * page's fixed ones, so that the test never collides with anything else on the machine.
 */
import assert from 'node:assert/strict';
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

export const SCENARIOS: Readonly<Record<string, (ctx: ScenarioContext) => Promise<void>>> = {
  tutorial,
};
