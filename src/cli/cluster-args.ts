/**
 * The command lines of the commands that join a running cluster — `rpclb dashboard`,
 * `rpclb members`, `rpclb call` — checked into their options. Pure (no I/O), like `args.ts`.
 */

/** A mistake on the command line: printed as one line, exit code 2. */
export class UsageError extends Error {}

/** How a command reaches the cluster. */
export interface ClusterOptions {
  /** `host:port` of any node of the cluster. */
  seed: string;
  /** The cluster's cookie; `undefined`: `RPCLB_COOKIE`, else the cookie file, as `startNode` does. */
  cookie: string | undefined;
  /** How long to wait for the seed, and for a call's reply, in ms. @default 5 000 */
  timeoutMs: number;
}

/** `rpclb dashboard` */
export interface DashboardCommandOptions extends ClusterOptions {
  /** @default 127.0.0.1 */
  host: string;
  /** @default 0 (any free port) */
  port: number;
  token: string | undefined;
}

/** `rpclb members` */
export interface MembersCommandOptions extends ClusterOptions {
  /** Print the seed's snapshot of nodes and groups as JSON. */
  json: boolean;
}

/** `rpclb call` */
export interface CallCommandOptions extends ClusterOptions {
  module: string;
  fn: string;
  args: unknown[];
  /** The node to call; default: the seed. */
  node: string | undefined;
}

/** The flags each cluster command accepts (besides --help). */
export const CLUSTER_FLAGS = {
  dashboard: ['seed', 'cookie', 'timeout', 'host', 'port', 'token'],
  members: ['seed', 'cookie', 'timeout', 'json'],
  call: ['seed', 'cookie', 'timeout', 'node'],
} as const;

export type ClusterCommandName = keyof typeof CLUSTER_FLAGS;

/** What a cluster command line asks for. */
export type ClusterCommand =
  | { command: 'dashboard'; options: DashboardCommandOptions }
  | { command: 'members'; options: MembersCommandOptions }
  | { command: 'call'; options: CallCommandOptions };

export const DEFAULT_CLUSTER_TIMEOUT_MS = 5_000;

type Flags = Record<string, string | boolean | undefined>;

function str(flags: Flags, name: string): string | undefined {
  const value = flags[name];
  return typeof value === 'string' ? value : undefined;
}

function cluster(flags: Flags): ClusterOptions {
  const seed = str(flags, 'seed');
  if (seed === undefined)
    throw new UsageError('--seed HOST:PORT is required: a node of the cluster');
  if (
    !/^(\[[0-9a-fA-F:.]+\]|[^:[\]\s]+):\d{1,5}$/.test(seed) ||
    Number(seed.split(':').pop()) > 65_535
  ) {
    throw new UsageError(`--seed must be HOST:PORT, received ${JSON.stringify(seed)}`);
  }
  const timeout = str(flags, 'timeout');
  let timeoutMs = DEFAULT_CLUSTER_TIMEOUT_MS;
  if (timeout !== undefined) {
    timeoutMs = Number(timeout);
    if (!/^\d+$/.test(timeout) || timeoutMs < 1 || timeoutMs > 600_000) {
      throw new UsageError(
        `--timeout must be an integer from 1 to 600,000 (ms), received ${JSON.stringify(timeout)}`,
      );
    }
  }
  const cookie = str(flags, 'cookie');
  if (cookie === '') throw new UsageError('--cookie must not be empty');
  return { seed, cookie, timeoutMs };
}

function port(raw: string | undefined): number {
  if (raw === undefined) return 0;
  if (!/^\d+$/.test(raw) || Number(raw) > 65_535) {
    throw new UsageError(
      `--port must be an integer from 0 to 65,535, received ${JSON.stringify(raw)}`,
    );
  }
  return Number(raw);
}

function callArgs(raw: string | undefined): unknown[] {
  if (raw === undefined) return [];
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw new UsageError(
      `the arguments must be a JSON array, e.g. '[1, "two"]': ${(err as Error).message}`,
    );
  }
  if (!Array.isArray(value)) {
    throw new UsageError(
      `the arguments must be a JSON array, e.g. '[${raw}]', received ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

/** Parses a cluster command's positionals and flags (already split by the main parser). */
export function parseClusterCommand(
  command: ClusterCommandName,
  positionals: readonly string[],
  flags: Flags,
): ClusterCommand {
  const allowed: readonly string[] = CLUSTER_FLAGS[command];
  for (const [name, value] of Object.entries(flags)) {
    if (value !== undefined && name !== 'help' && !allowed.includes(name)) {
      throw new UsageError(`unknown option --${name} for rpclb ${command}`);
    }
  }
  const maxPositionals = command === 'call' ? 2 : 0;
  if (positionals.length > maxPositionals) {
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[maxPositionals])}`);
  }
  if (command === 'dashboard') {
    const host = str(flags, 'host') ?? '127.0.0.1';
    const token = str(flags, 'token');
    if (token !== undefined && token.length < 16) {
      throw new UsageError('--token must be at least 16 characters');
    }
    return {
      command,
      options: { ...cluster(flags), host, port: port(str(flags, 'port')), token },
    };
  }
  if (command === 'members') {
    return { command, options: { ...cluster(flags), json: flags.json === true } };
  }
  const target = positionals[0];
  const dot = target?.lastIndexOf('.') ?? -1;
  if (target === undefined || dot <= 0 || dot === target.length - 1) {
    throw new UsageError(
      `rpclb call needs Module.function, e.g. rpclb call Math.add '[1, 2]'; received ${JSON.stringify(target ?? '')}`,
    );
  }
  return {
    command,
    options: {
      ...cluster(flags),
      module: target.slice(0, dot),
      fn: target.slice(dot + 1),
      args: callArgs(positionals[1]),
      node: str(flags, 'node'),
    },
  };
}
