/**
 * What the registering backends (etcd, Redis) share: the entry each node writes about itself,
 * loading their optional client package with a clear error, and logging an outage once.
 */
import type { Logger } from '../logger.js';
import { isValidNodeName } from '../options.js';
import type { DiscoveredNode } from './types.js';

/** The value a node registers: its name and advertised address, as JSON. */
export function encodeEntry(name: string, address: string): string {
  return JSON.stringify({ name, address });
}

/** The node an entry describes, or `undefined` when it is not one (another writer's key). */
export function decodeEntry(value: string | null | undefined): DiscoveredNode | undefined {
  if (typeof value !== 'string' || value.length > 4_096) return undefined;
  try {
    const { name, address } = JSON.parse(value) as { name?: unknown; address?: unknown };
    if (isValidNodeName(name) && typeof address === 'string') return { name, address };
  } catch {
    // not JSON: left out
  }
  return undefined;
}

/**
 * Imports an optional peer dependency; a missing package is an `Error` saying what to install,
 * not a module-resolution stack.
 */
export async function importOptional<T>(
  pkg: string,
  entry: string,
  load: () => Promise<T>,
): Promise<T> {
  try {
    return await load();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new Error(
        `${entry} needs the "${pkg}" package, an optional peer dependency of rpc-load-balancer: npm install ${pkg}`,
        { cause: err },
      );
    }
    throw err;
  }
}

/** One warning when a backend becomes unreachable, one line when it is back. */
export class OutageLog {
  readonly #kind: string;
  readonly #logger: Logger;
  #down = false;

  constructor(kind: string, logger: Logger) {
    this.#kind = kind;
    this.#logger = logger;
  }

  get down(): boolean {
    return this.#down;
  }

  /** An operation failed: warns on the first failure of an outage. */
  failed(what: string, err: unknown, viewSize: number): void {
    if (this.#down) {
      this.#logger.debug(`${this.#kind}: ${what} failed: ${messageOf(err)}`);
      return;
    }
    this.#down = true;
    this.#logger.warn(
      `${this.#kind}: ${what} failed (${messageOf(err)}); keeping the last view (${viewSize} nodes), connections are judged by heartbeats; retrying`,
    );
  }

  /** An operation succeeded: ends an outage. */
  ok(): void {
    if (!this.#down) return;
    this.#down = false;
    this.#logger.info(`${this.#kind}: reachable again`);
  }
}

/** Resolves after `ms` (unref'd: a pending retry does not keep the process alive). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** An error's message on one line (log lines and wrapped errors carry no stacks). */
export function messageOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0] ?? text;
}
