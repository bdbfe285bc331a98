/**
 * Helpers for the multi-process membership tests: start a cluster seeded from its first node,
 * wait for views to converge, and read what each node sees.
 */
import type { Cluster, Worker, WorkerEvent } from './cluster.js';

/** What a worker's `view` op returns. */
export interface View {
  peers: string[];
  members: Record<string, string[]>;
}

/**
 * Starts `count` nodes named `<prefix><i>@127.0.0.1`: the first alone, the others in parallel,
 * each seeded only with the first.
 */
export async function spawnSeeded(
  cluster: Cluster,
  count: number,
  options: Record<string, unknown> = {},
  prefix = 'n',
): Promise<Worker[]> {
  const name = (i: number) => `${prefix}${String(i).padStart(2, '0')}@127.0.0.1`;
  const seed = await cluster.spawn({ ...options, name: name(0) });
  const rest = await Promise.all(
    Array.from({ length: count - 1 }, (_, i) =>
      cluster.spawn({ ...options, name: name(i + 1), seeds: [seed.address] }),
    ),
  );
  return [seed, ...rest];
}

/**
 * Calls `check` until it returns `true`, then resolves; rejects after `timeoutMs` with the last
 * mismatch `check` described. For state reached through several processes, where no single
 * event says "done".
 */
export async function settle(
  check: () => Promise<true | string>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'not checked';
  for (;;) {
    const result = await check();
    if (result === true) return;
    last = result;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}: ${last}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Every worker's view of `groups`, in parallel. */
export function views(workers: readonly Worker[], groups: string[] = []): Promise<View[]> {
  return Promise.all(workers.map((w) => w.request<View>('view', groups)));
}

/**
 * Resolves once every worker is connected to exactly the others and, for each group in
 * `expected`, sees exactly the expected members.
 */
export function settleViews(
  workers: readonly Worker[],
  expected: Record<string, string[]>,
  timeoutMs: number,
): Promise<void> {
  const groups = Object.keys(expected);
  const names = workers.map((w) => w.name);
  return settle(
    async () => {
      const seen = await views(workers, groups);
      for (const [i, view] of seen.entries()) {
        const peers = names.filter((n) => n !== names[i]).sort();
        if (!same(view.peers, peers))
          return `${names[i]} peers ${view.peers.join(',')} != ${peers.join(',')}`;
        for (const group of groups) {
          const want = [...(expected[group] ?? [])].sort();
          if (!same(view.members[group] ?? [], want))
            return `${names[i]} members(${group}) ${view.members[group]} != ${want}`;
        }
      }
      return true;
    },
    timeoutMs,
    'views to converge',
  );
}

/** `true` when both arrays hold the same strings in the same order. */
export function same(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The group events a worker forwarded for `group` that mention `node`. */
export function groupEvents(worker: Worker, group: string, node?: string): WorkerEvent[] {
  return worker.events.filter(
    (e) =>
      e.event === 'group' &&
      e.group === group &&
      (node === undefined || (e.nodes as string[]).includes(node)),
  );
}

/** A worker's `nodeup` / `nodedown` events about `peer`. */
export function nodeEvents(worker: Worker, peer: string, kind: 'nodeup' | 'nodedown') {
  return worker.events.filter((e) => e.event === kind && e.peer === peer);
}
