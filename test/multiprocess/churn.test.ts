/**
 * Randomised churn with real processes: nodes join and leave groups, crash (SIGKILL), close
 * gracefully and restart under the same name, without waiting for the cluster in between. Once
 * the operations stop, every live node's view must match the ground truth the test tracked, and
 * every monitor's stream of events, folded onto the members it started from, must give the same.
 *
 * Seeded: a failure prints the seed and the operation log; rerun it with CHURN_SEED=<seed>
 * (CHURN_LOG=debug shows the nodes' own logs).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cluster, type Worker } from '../helpers/cluster.js';
import { settleViews, spawnSeeded } from '../helpers/membership.js';
import { seededRandom } from '../helpers/random.js';

const SEED = Number(process.env.CHURN_SEED || 20_240_603);
const SLOTS = 7;
const INITIAL = 5;
const OPERATIONS = 160;
const GROUPS = ['g0', 'g1', 'g2'];
const LOG = process.env.CHURN_LOG ? { logLevel: process.env.CHURN_LOG } : {};

interface Live {
  worker: Worker;
  /** Ground truth: how many times this incarnation joined each group and has not left. */
  counts: Map<string, number>;
  /** What `watch` returned: members per group when its monitors started. */
  start: Record<string, string[]>;
}

/** The cluster under churn and the ground truth of who is live and joined where. */
class Churn {
  readonly slots = new Map<string, Live | undefined>();
  readonly log: string[] = [];
  readonly counts = { join: 0, leave: 0, crash: 0, close: 0, restart: 0, bounce: 0 };
  /**
   * Joins and leaves are not awaited: they overlap each other, crashes and restarts. Each node
   * still runs its own operations in order, so the ground truth stays exact.
   */
  readonly inFlight: Promise<unknown>[] = [];
  readonly #random: () => number;

  constructor(
    readonly cluster: Cluster,
    seed: number,
  ) {
    this.#random = seededRandom(seed);
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.#random() * items.length)] as T;
  }

  live(): Live[] {
    return [...this.slots.values()].filter((s): s is Live => s !== undefined);
  }

  dead(): string[] {
    return [...this.slots.entries()].filter(([, s]) => s === undefined).map(([name]) => name);
  }

  async adopt(worker: Worker): Promise<void> {
    const start = await worker.request<Record<string, string[]>>('watch', GROUPS);
    this.slots.set(worker.name, { worker, counts: new Map(), start });
  }

  /** One random operation. */
  async step(): Promise<void> {
    const r = this.#random();
    const node = this.pick(this.live());
    const group = this.pick(GROUPS);
    const canLose = this.live().length > 2;
    if (r < 0.42) this.#change(node, group, +1);
    else if (r < 0.7) this.#change(node, group, -1);
    else if (r < 0.77 && canLose) this.#crash(node);
    else if (r < 0.81 && canLose) await this.#close(node);
    else if (r < 0.86) {
      this.#crash(node);
      await this.#start(node.worker.name);
      this.counts.bounce++;
    } else if (this.dead().length > 0) await this.#start(this.pick(this.dead()));
  }

  #change(node: Live, group: string, by: 1 | -1): void {
    const { worker } = node;
    const op = by > 0 ? 'join' : 'leave';
    this.inFlight.push(
      worker.request(op, group).catch((err: Error) => {
        // A request to a node crashed meanwhile fails; its memberships died with it anyway.
        if (this.slots.get(worker.name)?.worker === worker) throw err;
      }),
    );
    const count = Math.max(0, (node.counts.get(group) ?? 0) + by);
    if (count > 0) node.counts.set(group, count);
    else node.counts.delete(group);
    this.log.push(`${worker.name} ${op} ${group}`);
    this.counts[op]++;
  }

  #crash(node: Live): void {
    node.worker.kill('SIGKILL');
    this.slots.set(node.worker.name, undefined);
    this.log.push(`${node.worker.name} SIGKILL`);
    this.counts.crash++;
  }

  async #close(node: Live): Promise<void> {
    this.slots.set(node.worker.name, undefined);
    await node.worker.request('close', 1_000);
    node.worker.kill('SIGKILL');
    this.log.push(`${node.worker.name} close`);
    this.counts.close++;
  }

  /**
   * Starts `name` again on a new port, seeded with every live node as a deployment lists
   * several seeds (a node whose only seed dies before it connects stays alone, rightly).
   */
  async #start(name: string): Promise<void> {
    const seeds = this.live().map((s) => s.worker.address);
    const worker = await this.cluster.spawn({ ...LOG, name, seeds });
    await this.adopt(worker);
    await worker.waitForEvent((e) => e.event === 'nodeup', 5_000, 'a first peer');
    this.log.push(`${name} restart`);
    this.counts.restart++;
  }

  /** Members per group that the ground truth says every live node must see. */
  expected(): Record<string, string[]> {
    const joined = (g: string) =>
      this.live()
        .filter((s) => (s.counts.get(g) ?? 0) > 0)
        .map((s) => s.worker.name)
        .sort();
    return Object.fromEntries(GROUPS.map((g) => [g, joined(g)]));
  }
}

test(`membership stays correct under churn (seed ${SEED})`, { timeout: 60_000 }, async (t) => {
  const cluster = new Cluster(t);
  const churn = new Churn(cluster, SEED);
  for (const w of await spawnSeeded(cluster, INITIAL, LOG, 'c')) await churn.adopt(w);
  for (let i = INITIAL; i < SLOTS; i++)
    churn.slots.set(`c${String(i).padStart(2, '0')}@127.0.0.1`, undefined);

  const startedAt = Date.now();
  for (let op = 0; op < OPERATIONS; op++) await churn.step();
  await Promise.all(churn.inFlight);
  const live = churn.live();
  t.diagnostic(
    `${OPERATIONS} operations in ${Date.now() - startedAt} ms: ${JSON.stringify(churn.counts)}; ` +
      `${live.length} nodes live`,
  );

  const expected = churn.expected();
  const settledFrom = Date.now();
  try {
    await settleViews(
      live.map((s) => s.worker),
      expected,
      20_000,
    );
    t.diagnostic(
      `views matched the ground truth ${Date.now() - settledFrom} ms after the last operation`,
    );
    for (const s of live) checkMonitors(s, expected);
  } catch (err) {
    t.diagnostic(`seed ${SEED}; operations:\n${churn.log.join('\n')}`);
    throw err;
  }
});

/**
 * Folds the group events `s` forwarded onto the members its monitors started from. A join of a
 * node already in, or a leave of one not in, means a change was reported twice or not at all.
 */
function checkMonitors(s: Live, expected: Record<string, string[]>): void {
  for (const group of GROUPS) {
    const members = new Set(s.start[group]);
    for (const e of s.worker.events) {
      if (e.event !== 'group' || e.group !== group) continue;
      for (const node of e.nodes as string[]) {
        const where = `${s.worker.name} monitor of ${group}: ${e.change} ${node}`;
        if (e.change === 'join') {
          assert.ok(!members.has(node), `${where}, already a member`);
          members.add(node);
        } else {
          assert.ok(members.delete(node), `${where}, not a member`);
        }
      }
    }
    assert.deepEqual([...members].sort(), expected[group], `${s.worker.name} monitor of ${group}`);
  }
}
