/**
 * A test node process. Started by {@link ../helpers/cluster.ts} with its node options as JSON in
 * argv[2]; it exposes the `Test` module, forwards node and group events to the parent over IPC,
 * and runs commands the parent sends (`{ id, op, args }` → `{ id, ok, value | error }`).
 * Values cross IPC with the `advanced` serialization, so Date/Map/Set/BigInt survive.
 */

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isDeepStrictEqual } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { LoadBalancer, RpcNode } from '../../src/index.js';
import { algorithms, currentCall, RpcError, startNode } from '../../src/index.js';
import { resolveNodeOptions } from '../../src/options.js';
import { transportSocketStats } from '../../src/transport/transport.js';

interface Command {
  id: number;
  op: string;
  args: unknown[];
}

// Events carry the moment this process emitted them: what a test times is the node, not the IPC
// hop or the test process's own scheduling.
const send = (message: { type?: string; [key: string]: unknown }) =>
  process.send?.(message.type === 'event' ? { at: Date.now(), ...message } : message);
/** How late this process's timers run (ops `resetLateness` and `lateness`); off until asked. */
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
const options = JSON.parse(process.argv[2] ?? '{}');
const behaviour = (options.behaviour ?? {}) as {
  delayMs?: number;
  captureLogs?: boolean;
  /** Node event listeners registered first that throw (or reject), as buggy user code would. */
  throwingListeners?: boolean;
  /** Set up the OpenTelemetry SDK (test/helpers/otel.ts) and expose the `Otel` module. */
  otel?: boolean;
  /** `Refuse.maybe` refuses as if draining (not executed, so lb.call retries elsewhere). */
  refuse?: boolean;
};
delete options.behaviour;
// A discovery backend described in JSON (the options cross a process boundary as JSON).
if (options.discovery) options.discovery = await testDiscovery(options.discovery);
// captureLogs: every log line from info up is also sent to the parent as a 'log' event.
if (behaviour.captureLogs) options.logger = captureLogger(options.name ?? 'node');

let counter = 0;
const otel = behaviour.otel ? (await import('./otel.js')).setupOtel() : undefined;
const node: RpcNode = await startNode({ logLevel: 'error', ...options });
if (behaviour.throwingListeners) {
  // Before the listeners below, which must still run.
  node.on('nodeup', (peer) => {
    throw new Error(`nodeup listener boom (${peer})`);
  });
  node.on('nodeup', async () => {
    throw new Error('async nodeup listener boom');
  });
  node.on('nodedown', (peer) => {
    throw new Error(`nodedown listener boom (${peer})`);
  });
  node.once('close', () => {
    throw new Error('close listener boom');
  });
}
if (otel) {
  node.expose('Otel', {
    /** Starts a span inside the handler: its parent shows whether the server span is active. */
    nested: () =>
      otel.tracer.startActiveSpan('inner', (span) => {
        span.end();
        return node.name;
      }),
  });
}
node.expose('Refuse', {
  /** With `behaviour.refuse`, refuses as if draining (not executed, so lb.call retries). */
  maybe: () => {
    if (behaviour.refuse)
      throw new RpcError('service_unavailable', 'refused', { notExecuted: true });
    return node.name;
  },
});
/** Set by the `setUnhealthy` op: `Health.check` then fails as an unhealthy node would. */
let unhealthy = false;
node.expose('Health', {
  /** Fails with service_unavailable (which may have run: not retried) while unhealthy. */
  check: () => {
    if (unhealthy) throw new RpcError('service_unavailable', `${node.name} is unhealthy`);
    return node.name;
  },
});
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      send({ type: 'event', event: 'handler-aborted', ms });
      reject(signal.reason);
    });
  });

node.expose('Test', {
  echo: (value: unknown) => value,
  upcase: (s: string) => s.toUpperCase(),
  whoami: () => node.name,
  boom: (message: string) => {
    throw new TypeError(message);
  },
  sleep: async (ms: number) => {
    await sleep(ms, currentCall()?.signal);
    return node.name;
  },
  work: async (ms: number) => {
    await sleep((behaviour.delayMs ?? 0) + (ms ?? 0));
    return node.name;
  },
  block: (ms: number) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {}
    return ms;
  },
  context: () => {
    const ctx = currentCall();
    return { caller: ctx?.caller, deadline: ctx?.deadline, fn: ctx?.function };
  },
  count: () => ++counter,
  counter: () => counter,
  /** Returns the call's metadata and sends it back in the trailer too, with its own name. */
  meta: () => {
    const ctx = currentCall();
    const meta = { ...ctx?.meta };
    ctx?.setTrailer('servedBy', node.name);
    ctx?.setTrailer('sawMeta', meta);
    return meta;
  },
  /** For casts: reports the metadata it was sent as a 'cast-meta' event. */
  recordMeta: () => {
    send({ type: 'event', event: 'cast-meta', meta: { ...currentCall()?.meta } });
  },
  record: (value: unknown) => {
    counter++;
    send({ type: 'event', event: 'cast', value });
  },
  rpcError: () => {
    throw new RpcError('not_found', 'no such thing', { details: { reason: 'custom' } });
  },
  unencodableResult: () => () => 1,
});

node.on('nodeup', (peer) => send({ type: 'event', event: 'nodeup', peer }));
node.on('nodedown', (peer, reason) => send({ type: 'event', event: 'nodedown', peer, reason }));

const ops: Record<string, (...args: never[]) => unknown> = {
  call: (
    target: string,
    module: string,
    fn: string,
    args: unknown[],
    opts?: { timeout?: number },
  ) => node.call(target, module, fn, args, opts),
  callAbort: async (
    target: string,
    module: string,
    fn: string,
    args: unknown[],
    abortAfterMs: number,
  ) => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('aborted by test')), abortAfterMs);
    return node.call(target, module, fn, args, { signal: controller.signal });
  },
  /** Starts `count` calls at once and reports each outcome with the time it settled. */
  burst: async (
    target: string,
    module: string,
    fn: string,
    args: unknown[],
    count: number,
    timeout: number,
  ) => {
    const start = Date.now();
    const settle = (p: Promise<unknown>) =>
      p.then(
        (value) => ({ ok: true, value, ms: Date.now() - start }),
        (err: RpcError) => ({ ok: false, code: err.code, ms: Date.now() - start }),
      );
    const calls = Array.from({ length: count }, () =>
      settle(node.call(target, module, fn, args, { timeout })),
    );
    send({ type: 'event', event: 'burst-started', count });
    return Promise.all(calls);
  },
  cast: (target: string, module: string, fn: string, args: unknown[]) =>
    node.cast(target, module, fn, args),
  connect: (address: string) => node.connect(address),
  peers: () => node.peers(),
  join: (group: string) => node.groups.join(group),
  leave: (group: string) => node.groups.leave(group),
  members: (group: string) => node.groups.members(group),
  monitor: (group: string) => {
    node.groups.monitor(group, (event) =>
      send({ type: 'event', event: 'group', group, change: event.type, nodes: event.nodes }),
    );
  },
  close: async (drainTimeoutMs?: number) => {
    await node.close(drainTimeoutMs === undefined ? {} : { drainTimeoutMs });
    send({ type: 'event', event: 'closed' });
  },
  exit: () => setTimeout(() => process.exit(0), 10),
  setUnhealthy: (value: boolean) => {
    unhealthy = value;
  },
  // --- load balancer ops (test/multiprocess/balancer*.test.ts) ---
  startLb: async (options: Record<string, unknown> & { algorithm?: string; match?: string[] }) => {
    const { algorithm, match, ...rest } = options;
    const selectionAlgorithm = algorithm
      ? algorithms[algorithm as keyof typeof algorithms]
      : undefined;
    const lb = await node.startLoadBalancer({
      name: 'lb',
      ...rest,
      ...(selectionAlgorithm ? { selectionAlgorithm } : {}),
      ...(match
        ? { nodeMatchList: match.map((m) => (m.startsWith('/') ? new RegExp(m.slice(1, -1)) : m)) }
        : {}),
    } as Parameters<RpcNode['startLoadBalancer']>[0]);
    return lb.members();
  },
  lbMembers: (name = 'lb') => balancer(name).members(),
  lbCall: (
    module: string,
    fn: string,
    args: unknown[],
    opts?: Record<string, unknown>,
    name = 'lb',
  ) => balancer(name).call(module, fn, args, opts),
  lbCallAbort: (module: string, fn: string, args: unknown[], abortAfterMs: number, name = 'lb') => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('aborted by test')), abortAfterMs);
    return balancer(name).call(module, fn, args, { signal: controller.signal });
  },
  lbCast: (module: string, fn: string, args: unknown[], name = 'lb') =>
    balancer(name).cast(module, fn, args),
  lbSelect: (opts?: Record<string, unknown>, name = 'lb') => balancer(name).selectNode(opts),
  lbRelease: (target: string, name = 'lb') => balancer(name).releaseNode(target),
  /** Manual select → call → release (the how-to's pattern) for `count` concurrent calls. */
  lbManual: async (module: string, fn: string, args: unknown[], count: number, name = 'lb') => {
    const lb = balancer(name);
    const one = async () => {
      const target = lb.selectNode();
      try {
        return await node.call(target, module, fn, args);
      } finally {
        lb.releaseNode(target);
      }
    };
    return Promise.all(Array.from({ length: count }, one));
  },
  lbCounters: (name = 'lb') => {
    const algorithm = balancer(name).algorithm as { snapshot?: () => Map<string, number> };
    return algorithm.snapshot ? Object.fromEntries(algorithm.snapshot()) : null;
  },
  /** Keeps `concurrency` lb.calls in flight for `durationMs`; returns per-node counts and errors. */
  lbLoad: async (
    module: string,
    fn: string,
    args: unknown[],
    durationMs: number,
    concurrency: number,
    name = 'lb',
  ) => {
    const lb = balancer(name);
    const perNode: Record<string, number> = {};
    const errors: Record<string, number> = {};
    const end = Date.now() + durationMs;
    const loop = async () => {
      while (Date.now() < end) {
        try {
          const who = (await lb.call(module, fn, args)) as string;
          perNode[who] = (perNode[who] ?? 0) + 1;
        } catch (err) {
          const code = (err as RpcError).code ?? String(err);
          errors[code] = (errors[code] ?? 0) + 1;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, loop));
    return { perNode, errors };
  },
  lbStop: (name = 'lb') => balancer(name).stop(),
  otelSpans: () => otel?.spans() ?? [],
  otelPoints: () => otel?.points() ?? [],
  // --- end load balancer ops ---
};

function balancer(name: string): LoadBalancer {
  const lb = node.loadBalancer(name);
  if (!lb) throw new Error(`no balancer ${name}`);
  return lb;
}

// --- membership ops (issue #3: mesh / membership / churn tests) -------------------------------
Object.assign(ops, {
  /** `{ group: members }` for several groups, read in one tick. */
  membersOf: (groups: string[]) =>
    Object.fromEntries(groups.map((group) => [group, node.groups.members(group)])),
  /** Peers and members of `groups`, read in one tick. */
  view: (groups: string[]) => ({
    peers: node.peers(),
    members: Object.fromEntries(groups.map((group) => [group, node.groups.members(group)])),
  }),
  /**
   * Monitors each group and returns its members read in the same tick, so the parent can fold
   * the forwarded events onto that snapshot and compare the result with a later `members()`.
   */
  watch: (groups: string[]) =>
    Object.fromEntries(
      groups.map((group) => {
        node.groups.monitor(group, (event) =>
          send({ type: 'event', event: 'group', group, change: event.type, nodes: event.nodes }),
        );
        return [group, node.groups.members(group)];
      }),
    ),
  /** `connect(address)` started at wall-clock time `atMs`, to make two nodes dial at once. */
  connectAt: (address: string, atMs: number) =>
    new Promise((resolve, reject) => {
      setTimeout(() => node.connect(address).then(resolve, reject), Math.max(0, atMs - Date.now()));
    }),
  /** Sockets the transport opened in this process, and those still open (socket-level check). */
  sockets: () => transportSocketStats(),
  /** `join(group)` `times` times in one tick. */
  joinMany: (group: string, times: number) => {
    for (let i = 0; i < times; i++) node.groups.join(group);
  },
});
// --- end of membership ops --------------------------------------------------------------------

// --- rpc / security / close ops (issue #2: rpc*, security*, close* tests) ----------------------
node.expose('RpcTest', {
  pid: () => process.pid,
  /** Like Test.sleep, but announces that it started (so a test knows the call is in flight). */
  nap: async (ms: number) => {
    send({ type: 'event', event: 'nap-started', ms });
    await sleep(ms, currentCall()?.signal);
    return node.name;
  },
  bytes: (n: number) => new Uint8Array(n),
  context: () => {
    const ctx = currentCall();
    return (
      ctx && { caller: ctx.caller, module: ctx.module, fn: ctx.function, deadline: ctx.deadline }
    );
  },
});
Object.assign(ops, {
  // Values that cannot cross IPC are made here, in the worker.
  callWithFunctionArg: (target: string) =>
    node.call(target, 'Test', 'echo', [{ nested: [() => 1] }]),
  callWithSymbolArg: (target: string) => node.call(target, 'Test', 'echo', [Symbol('s')]),
  castWithFunctionArg: (target: string) => node.cast(target, 'Test', 'record', [() => 1]),
  callWithBadSignal: (target: string) =>
    node.call(target, 'Test', 'echo', [1], { signal: 'nope' as unknown as AbortSignal }),
  callPreAborted: (target: string) =>
    node.call(target, 'Test', 'echo', [1], { signal: AbortSignal.abort(new Error('already')) }),
  /** Like burst, with each outcome's absolute settle time (`at`) and error reason. */
  burstTimed: async (
    target: string,
    module: string,
    fn: string,
    args: unknown[],
    count: number,
    timeout: number,
  ) => {
    const settle = (p: Promise<unknown>) =>
      p.then(
        (value) => ({ ok: true, value, at: Date.now() }),
        (err: RpcError) => ({
          ok: false,
          code: err.code,
          reason: err.details?.reason,
          node: err.details?.node,
          at: Date.now(),
        }),
      );
    const calls = Array.from({ length: count }, () =>
      settle(node.call(target, module, fn, args, { timeout })),
    );
    send({ type: 'event', event: 'burst-started', count });
    return Promise.all(calls);
  },
  /** Starts close() and returns once new calls are already refused (the close goes on). */
  startClose: async (drainTimeoutMs?: number) => {
    node.close(drainTimeoutMs === undefined ? {} : { drainTimeoutMs }).then(
      () => send({ type: 'event', event: 'closed' }),
      (err: Error) => send({ type: 'event', event: 'close-failed', message: err.message }),
    );
    await new Promise((resolve) => setImmediate(resolve));
    return node.closing;
  },
  destroy: async () => {
    await node.destroy();
    send({ type: 'event', event: 'destroyed' });
  },
  /**
   * Makes `count` concurrent echo calls to `target` with seeded payloads of mixed sizes (some
   * past socket chunk sizes) and checks every result here; returns how many came back wrong.
   */
  echoStress: async (target: string, count: number, seed: number) => {
    let state = seed >>> 0;
    const random = () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state / 2 ** 32;
    };
    const payload = (i: number) => {
      const size =
        random() < 0.1 ? 50_000 + Math.floor(random() * 200_000) : Math.floor(random() * 2_000);
      const bytes = new Uint8Array(size).map(() => Math.floor(random() * 256));
      const tag = `#${i}`.repeat(1 + (i % 7));
      return { i, bytes, when: new Date(i), tag, big: BigInt(i) ** 5n };
    };
    const values = Array.from({ length: count }, (_, i) => payload(i));
    const results = await Promise.all(
      values.map((v) => node.call(target, 'Test', 'echo', [v], { timeout: 30_000 })),
    );
    return results.filter((r, i) => !isDeepStrictEqual(r, values[i])).length;
  },
  /** The options this node was started with, resolved as `startNode` resolves them (secrets left out). */
  resolvedOptions: () => {
    const { logger: _logger, tls: _tls, cookie: _cookie, ...rest } = resolveNodeOptions(options);
    return rest;
  },
});

function captureLogger(name: string) {
  const line = (level: string) => (message: string) => {
    send({ type: 'event', event: 'log', level, message });
    if (level === 'error') process.stderr.write(`[rpclb ${name}] ${level}: ${message}\n`);
  };
  return { debug: () => {}, info: line('info'), warn: line('warn'), error: line('error') };
}
// --- end of rpc / security / close ops ----------------------------------------------------------

// --- production-readiness ops (issue #11: memory, listeners, close budget) ---------------------
Object.assign(ops, {
  /**
   * Starts keeping `inFlight` calls going until `loadStop`. Call n goes to `plan[n % length]`:
   * `Test.echo(n)` on its target, or `Test.work(delayMs)` when the entry has a delay.
   */
  loadStart: (plan: { target: string; delayMs?: number }[], inFlight: number) => {
    const state = { completed: 0, failed: 0, stop: false, done: Promise.resolve() };
    let n = 0;
    const loop = async () => {
      while (!state.stop) {
        const { target, delayMs } = plan[n % plan.length] as (typeof plan)[number];
        const call =
          delayMs === undefined
            ? node.call(target, 'Test', 'echo', [n])
            : node.call(target, 'Test', 'work', [delayMs]);
        n++;
        await call.then(
          () => state.completed++,
          () => state.failed++,
        );
      }
    };
    state.done = Promise.all(Array.from({ length: inFlight }, loop)).then(() => {});
    load = state;
  },
  /** Calls completed and failed so far. */
  loadStatus: () => ({ completed: load?.completed ?? 0, failed: load?.failed ?? 0 }),
  /** Stops the load started by `loadStart` once its calls in flight have ended. */
  loadStop: async () => {
    if (!load) return { completed: 0, failed: 0 };
    load.stop = true;
    await load.done;
    return { completed: load.completed, failed: load.failed };
  },
  /** Monitors `group` with listeners that throw: an `Error`, and a non-Error value (`null`). */
  monitorThrowing: (group: string) => {
    node.groups.monitor(group, (event) => {
      throw new Error(`monitor boom (${event.type} ${event.nodes.join(',')})`);
    });
    node.groups.monitor(group, () => {
      throw null;
    });
  },
  /** The Node.js this process runs on. */
  runtime: () => ({ version: process.version, execPath: process.execPath }),
  /** Starts (again) measuring how late this process's timers run. */
  resetLateness: () => {
    loopDelay.enable();
    loopDelay.reset();
  },
  /** The most a timer of this process ran late since `resetLateness`, in ms. */
  lateness: () => Math.max(0, loopDelay.max / 1e6 - 10),
  /** Live heap after a full garbage collection, in bytes. */
  heapAfterGc: () => {
    collectGarbage();
    collectGarbage();
    return process.memoryUsage().heapUsed;
  },
});

let load: { completed: number; failed: number; stop: boolean; done: Promise<void> } | undefined;

/** `global.gc` without starting the process with `--expose-gc`. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}
// --- end of production-readiness ops ------------------------------------------------------------
// --- transport ops (issue 11: send queue, network faults) --------------------------------------
Object.assign(ops, {
  /**
   * Starts `count` requests of `bytes` bytes each in one tick — `call` or `cast` to `target`, or
   * `lb` (an `lb.call` of `Test.whoami`, which returns the serving node) — and reports how they
   * ended (`ok`, a node name for `lb`, or `code/reason/notExecuted`) and how much buffer memory
   * was held right after they were started.
   */
  flood: async (
    target: string,
    kind: 'call' | 'cast' | 'lb',
    count: number,
    bytes: number,
    timeout: number,
  ) => {
    const before = process.memoryUsage().arrayBuffers;
    const payload = new Uint8Array(bytes);
    const settled: Promise<string>[] = [];
    for (let i = 0; i < count; i++) {
      const request =
        kind === 'call'
          ? node.call(target, 'Test', 'echo', [payload], { timeout })
          : kind === 'cast'
            ? node.cast(target, 'Test', 'record', [payload])
            : balancer('lb').call('Test', 'whoami', [payload], { timeout });
      settled.push(
        request.then(
          (value) => (kind === 'lb' ? String(value) : 'ok'),
          (err: RpcError) => `${err.code}/${err.details?.reason}/${err.notExecuted}`,
        ),
      );
    }
    const heldBytes = process.memoryUsage().arrayBuffers - before;
    const outcomes: Record<string, number> = {};
    for (const outcome of await Promise.all(settled))
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    return { heldBytes, outcomes };
  },
  /**
   * Calls `Test.echo` on `target` with `bytes` bytes every `everyMs` for `durationMs`, each with
   * `timeout`; reports every outcome with its duration (all calls are awaited).
   */
  steady: async (
    target: string,
    bytes: number,
    everyMs: number,
    durationMs: number,
    timeout: number,
  ) => {
    const payload = new Uint8Array(bytes);
    const calls: Promise<{ ok: boolean; ms: number; code?: string }>[] = [];
    for (const end = Date.now() + durationMs; Date.now() < end; ) {
      const started = Date.now();
      calls.push(
        node.call(target, 'Test', 'echo', [payload], { timeout }).then(
          () => ({ ok: true, ms: Date.now() - started }),
          (err: RpcError) => ({ ok: false, ms: Date.now() - started, code: err.code }),
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
    return Promise.all(calls);
  },
  /** Buffer memory, heap and resident size of this process, after a full garbage collection. */
  memory: () => {
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
    const { arrayBuffers, rss, heapUsed } = process.memoryUsage();
    return { arrayBuffers, rss, heapUsed };
  },
});
// --- end of transport ops ------------------------------------------------------------------------

process.on('message', async (message: Command) => {
  const op = ops[message.op] as ((...args: unknown[]) => unknown) | undefined;
  try {
    if (!op) throw new Error(`unknown op ${message.op}`);
    const value = await op(...message.args);
    send({ id: message.id, ok: true, value });
  } catch (err) {
    const e = err as RpcError;
    send({
      id: message.id,
      ok: false,
      error: {
        name: e.name,
        code: e.code,
        statusCode: e.statusCode,
        message: e.message,
        details: e.details,
        notExecuted: e.notExecuted,
      },
    });
  }
});
process.on('disconnect', () => process.exit(0));

send({
  type: 'ready',
  name: node.name,
  address: node.address,
  advertisedAddress: node.advertisedAddress,
  pid: process.pid,
});

/** Makes the discovery a test asked for: `{ kind: 'etcd' | 'redis', ...its options }`. */
async function testDiscovery(spec: { kind: string; [option: string]: unknown }) {
  const { kind, ...rest } = spec;
  if (kind === 'etcd') {
    const { etcdDiscovery } = await import('../../src/discovery/etcd.js');
    return etcdDiscovery(rest as unknown as Parameters<typeof etcdDiscovery>[0]);
  }
  if (kind === 'redis') {
    const { redisDiscovery } = await import('../../src/discovery/redis.js');
    return redisDiscovery(rest as unknown as Parameters<typeof redisDiscovery>[0]);
  }
  throw new Error(`unknown discovery kind ${kind}`);
}
