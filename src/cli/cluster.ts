/**
 * The commands that join a running cluster: `rpclb dashboard`, `rpclb members`, `rpclb call`.
 * Each starts a node of its own on 127.0.0.1 (port 0, a name that says what it is), connects to
 * the seed within the timeout, does its work and closes the node. Failures are one line on
 * stderr and exit code 1; the node's own log is silenced so that stays true.
 */
import { randomBytes } from 'node:crypto';
import { type Dashboard, startDashboard } from '../dashboard/index.js';
import { RpcError, type RpcNode, startNode } from '../index.js';
import type {
  CallCommandOptions,
  ClusterOptions,
  DashboardCommandOptions,
  MembersCommandOptions,
} from './cluster-args.js';

/** Where the commands write. */
export interface CommandOutput {
  out: (text: string) => void;
  err: (text: string) => void;
}

const STDIO: CommandOutput = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** A failure the command reports as one line (exit code 1). */
class CommandFailed extends Error {}

/** The first line of an error's message, with its code when it is an `RpcError`. */
function oneLine(err: unknown): string {
  const message = String((err as Error)?.message ?? err).split('\n')[0];
  return err instanceof RpcError ? `${err.code}: ${message}` : (message as string);
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CommandFailed(`${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Starts this command's node and connects it to the seed; resolves with the node and the seed's name. */
async function join(
  options: ClusterOptions,
  role: string,
  keepSeed: boolean,
): Promise<{ node: RpcNode; seed: string }> {
  const node = await startNode({
    // 48 random bits: commands joining one cluster at once must not pick the same name (with 24
    // bits, two of six concurrent ones would, about one time in a million).
    name: `rpclb-${role}-${randomBytes(6).toString('hex')}@127.0.0.1`,
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    ...(options.cookie === undefined ? {} : { cookie: options.cookie }),
    // The dashboard lives on: it keeps re-dialling the seed if the connection drops.
    ...(keepSeed ? { seeds: [options.seed] } : {}),
  });
  try {
    const what = `no answer from the seed ${options.seed}`;
    const seed = await withTimeout(node.connect(options.seed), options.timeoutMs, what);
    return { node, seed };
  } catch (err) {
    await node.destroy();
    throw new CommandFailed(`cannot join the cluster through ${options.seed}: ${oneLine(err)}`);
  }
}

/** Runs `run` with a joined node, closing it after; resolves with the exit code. */
async function withNode(
  command: string,
  options: ClusterOptions,
  io: CommandOutput,
  run: (node: RpcNode, seed: string) => Promise<void>,
  keepSeed = false,
): Promise<number> {
  let joined: { node: RpcNode; seed: string } | undefined;
  try {
    joined = await join(options, command, keepSeed);
    await run(joined.node, joined.seed);
    return 0;
  } catch (err) {
    io.err(`rpclb ${command}: ${oneLine(err)}\n`);
    return 1;
  } finally {
    await joined?.node.close({ drainTimeoutMs: 500 }).catch(() => joined?.node.destroy());
  }
}

/** `rpclb members`: the nodes and groups the seed knows. */
export function runMembers(options: MembersCommandOptions, io = STDIO): Promise<number> {
  return withNode('members', options, io, async (node, seed) => {
    const snapshot = await node.inspectPeer(seed, { timeout: options.timeoutMs });
    // This command's own node is a peer of the seed by now: it is not part of the answer.
    const peers = snapshot.peers.filter((p) => p.name !== node.name);
    const nodes = [{ name: snapshot.node, address: snapshot.address }, ...peers]
      .map((p) => ({ name: p.name, address: p.address }))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    const groups = snapshot.groups.map((g) => ({ name: g.name, members: [...g.members] }));
    if (options.json) {
      io.out(`${JSON.stringify({ seed: snapshot.node, nodes, groups }, null, 2)}\n`);
      return;
    }
    const width = Math.max(...nodes.map((n) => n.name.length));
    const lines = nodes.map((n) => {
      const mine = groups.filter((g) => g.members.includes(n.name)).map((g) => g.name);
      const where = mine.length > 0 ? `  groups: ${mine.join(', ')}` : '';
      return `  ${n.name.padEnd(width)}  ${n.address}${where}\n`;
    });
    io.out(`${nodes.length} nodes, as ${snapshot.node} sees the cluster:\n${lines.join('')}`);
    io.out(groups.length === 0 ? 'no groups\n' : 'groups:\n');
    for (const g of groups) io.out(`  ${g.name}: ${g.members.join(', ')}\n`);
  });
}

/** JSON for values the codec carries and JSON does not: BigInt, Map, Set, bytes, undefined. */
function toJson(value: unknown): string {
  const seen = JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (typeof v === 'bigint') return v.toString();
      if (v instanceof Map) return Object.fromEntries(v);
      if (v instanceof Set) return [...v];
      if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
      return v;
    },
    2,
  );
  return seen ?? 'null';
}

async function waitForPeer(node: RpcNode, name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!node.peers().includes(name)) {
    if (Date.now() > deadline) {
      const known = node.peers().join(', ');
      throw new CommandFailed(`node ${name} is not in the cluster (connected: ${known})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** `rpclb call`: one call, its result printed as JSON. */
export function runCall(options: CallCommandOptions, io = STDIO): Promise<number> {
  return withNode('call', options, io, async (node, seed) => {
    const target = options.node ?? seed;
    if (target !== seed) await waitForPeer(node, target, options.timeoutMs);
    const result = await node.call(target, options.module, options.fn, options.args, {
      timeout: options.timeoutMs,
    });
    io.out(`${toJson(result)}\n`);
  });
}

/** `rpclb dashboard`: serves the dashboard until SIGINT or SIGTERM. */
export function runDashboard(options: DashboardCommandOptions, io = STDIO): Promise<number> {
  return withNode(
    'dashboard',
    options,
    io,
    async (node, seed) => {
      let dashboard: Dashboard;
      try {
        const { host, port, token } = options;
        dashboard = await startDashboard(node, { host, port, ...(token ? { token } : {}) });
      } catch (err) {
        throw new CommandFailed(`cannot serve the dashboard: ${oneLine(err)}`);
      }
      io.out(`rpclb dashboard: ${dashboard.url}\n`);
      if (dashboard.token !== undefined && options.token === undefined) {
        io.out(`  token (generated, required off loopback): ${dashboard.token}\n`);
      }
      io.out(`  as ${node.name}, joined through ${seed}; Ctrl-C to stop\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve).once('SIGTERM', resolve);
      });
      await dashboard.close();
    },
    true,
  );
}
