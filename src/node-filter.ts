/**
 * Node filters, as `callOnRandomNode` and `nodeMatchList` use them: a string matches as a
 * substring of the node name, a RegExp by `test`. Excluded node patterns (the node option
 * `excludedNodePatterns`, like rpc_load_balancer's `excluded_node_patterns`) keep a class of
 * nodes out of general filters: a node whose short name (before `@`) contains an excluded
 * pattern matches only a filter that itself contains the pattern. With patterns `['_qa']`,
 * `'orders'` matches `orders@h1` but not `orders_qa@h2`, which `'orders_qa'` still reaches.
 *
 * A leaf: imports nothing from the layers (only the shared `errors.ts` and `options.ts`).
 */
import { RpcError } from './errors.js';
import { describe } from './options.js';

/** A node filter: a substring of the node name, or a RegExp tested against it. */
export type NodeFilter = string | RegExp;

/** `true` when node `name` matches `filter` and no excluded pattern keeps it out. */
export function matchesFilter(
  name: string,
  filter: NodeFilter,
  excludedPatterns: readonly string[] = [],
): boolean {
  if (!testFilter(filter, name)) return false;
  if (excludedPatterns.length === 0) return true;
  const at = name.indexOf('@');
  const short = at === -1 ? name : name.slice(0, at);
  const source = typeof filter === 'string' ? filter : filter.source;
  return !excludedPatterns.some((pattern) => short.includes(pattern) && !source.includes(pattern));
}

function testFilter(filter: NodeFilter, name: string): boolean {
  if (typeof filter === 'string') return name.includes(filter);
  // a global or sticky RegExp keeps state between tests: start each one afresh
  filter.lastIndex = 0;
  return filter.test(name);
}

/** `true` for a string or a RegExp. */
export function isNodeFilter(value: unknown): value is NodeFilter {
  return typeof value === 'string' || value instanceof RegExp;
}

/**
 * A random node among `candidates` (connected peers and this node) matching `filter`, or
 * `undefined` when none does. `random`: uniform in [0, 1).
 */
export function randomMatchingNode(
  candidates: readonly string[],
  filter: NodeFilter,
  excludedPatterns: readonly string[],
  random: () => number,
): string | undefined {
  const matching = candidates.filter((name) => matchesFilter(name, filter, excludedPatterns));
  return matching[Math.floor(random() * matching.length)];
}

/**
 * The target of `node.callOnRandomNode` / `castOnRandomNode`: a random node among `candidates`
 * (connected peers and this node) matching `filter`, or the error saying why there is none
 * (`bad_request` for a filter that is not one, `service_unavailable` for no match).
 */
export function randomTarget(
  filter: unknown,
  candidates: readonly string[],
  patterns: readonly string[],
  module: string,
  fn: string,
): string | RpcError {
  if (!isNodeFilter(filter)) {
    return new RpcError(
      'bad_request',
      `filter must be a string or a RegExp, received ${describe(filter)}`,
      { details: { module, function: fn, field: 'filter' }, notExecuted: true },
    );
  }
  const target = randomMatchingNode(candidates, filter, patterns, Math.random);
  if (target !== undefined) return target;
  const excluded = patterns.length > 0 ? ` (excluded node patterns: ${patterns.join(', ')})` : '';
  return new RpcError(
    'service_unavailable',
    `no connected node matches the filter ${String(filter)}${excluded}`,
    {
      details: { module, function: fn, reason: 'no_matching_node', filter: String(filter) },
      notExecuted: true,
    },
  );
}
