/**
 * Real etcd, Redis and DNS servers for discovery tests, from Debian's `etcd-server`,
 * `redis-server` and `dnsmasq-base` packages (installed by .ci/run): started on 127.0.0.1 on
 * claimed ports (no other process is handed them, so a restart on the same port binds; see
 * ports.ts) with a temporary data directory, frozen, killed and restarted by pid, always
 * cleaned up.
 *
 * ```ts
 * const why = EtcdServer.unavailable();
 * if (why) return t.skip(why);
 * const etcd = await EtcdServer.start(t);   // etcd.url: 'http://127.0.0.1:<port>'
 * etcd.signal('SIGSTOP');
 * ```
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { claimPort } from './ports.js';

interface TestContextLike {
  after(fn: () => unknown): void;
}

/** Why `binary` cannot run here, or `undefined`. */
function missing(binary: string, pkg: string): string | undefined {
  try {
    accessSync(binary, constants.X_OK);
    return undefined;
  } catch {
    return `${binary} is not installed (Debian package ${pkg}; .ci/run installs it)`;
  }
}

/** A server process: started, signalled and restarted by pid. */
abstract class ServerProcess {
  #child: ChildProcess | undefined;
  readonly #dir = mkdtempSync(join(tmpdir(), 'rpclb-server-'));
  #dataDirs = 0;

  protected constructor(
    readonly port: number,
    t: TestContextLike,
  ) {
    t.after(() => this.cleanup());
    process.once('exit', () => this.cleanup());
  }

  get pid(): number | undefined {
    return this.#child?.exitCode === null ? this.#child.pid : undefined;
  }

  protected abstract command(dataDir: string): [string, string[]];
  protected abstract ready(): Promise<boolean>;

  /** Starts the server (a fresh data directory when `fresh`) and waits until it answers. */
  async run(fresh = true): Promise<void> {
    if (fresh) this.#dataDirs++;
    const dataDir = join(this.#dir, `data${this.#dataDirs}`);
    const [binary, args] = this.command(dataDir);
    const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: this.#dir });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4_000);
    });
    this.#child = child;
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`${binary} exited: ${stderr}`);
      if (await this.ready()) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`${binary} did not answer within 15 s: ${stderr}`);
  }

  signal(signal: NodeJS.Signals): void {
    const pid = this.pid;
    if (pid !== undefined) process.kill(pid, signal);
  }

  /** SIGKILLs the server and waits for it to be gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(child.pid as number, 'SIGCONT');
    process.kill(child.pid as number, 'SIGKILL');
    await exited;
  }

  cleanup(): void {
    const pid = this.pid;
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGCONT');
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

export class EtcdServer extends ServerProcess {
  static readonly binary = '/usr/bin/etcd';

  static unavailable(): string | undefined {
    return missing(EtcdServer.binary, 'etcd-server');
  }

  static async start(t: TestContextLike): Promise<EtcdServer> {
    const server = new EtcdServer(await claimPort(), await claimPort(), t);
    await server.run();
    return server;
  }

  private constructor(
    port: number,
    readonly peerPort: number,
    t: TestContextLike,
  ) {
    super(port, t);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  protected command(dataDir: string): [string, string[]] {
    const peer = `http://127.0.0.1:${this.peerPort}`;
    return [
      EtcdServer.binary,
      [
        '--name=test',
        `--data-dir=${dataDir}`,
        `--listen-client-urls=${this.url}`,
        `--advertise-client-urls=${this.url}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=test=${peer}`,
        '--log-level=error',
      ],
    ];
  }

  protected async ready(): Promise<boolean> {
    try {
      const res = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(500) });
      return res.ok && ((await res.json()) as { health?: string }).health === 'true';
    } catch {
      return false;
    }
  }
}

export class RedisServer extends ServerProcess {
  static readonly binary = '/usr/bin/redis-server';

  static unavailable(): string | undefined {
    return missing(RedisServer.binary, 'redis-server');
  }

  /** `extra`: more server arguments, e.g. `['--notify-keyspace-events', 'Ex']`. */
  static async start(t: TestContextLike, extra: string[] = []): Promise<RedisServer> {
    const server = new RedisServer(await claimPort(), t, extra);
    await server.run();
    return server;
  }

  private constructor(
    port: number,
    t: TestContextLike,
    readonly extra: string[],
  ) {
    super(port, t);
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  protected command(dataDir: string): [string, string[]] {
    return [
      RedisServer.binary,
      [
        '--bind',
        '127.0.0.1',
        '--port',
        String(this.port),
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dirname(dataDir), // nothing is written there: no snapshots, no append-only file
        '--loglevel',
        'warning',
        ...this.extra,
      ],
    ];
  }

  protected ready(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = net.connect(this.port, '127.0.0.1');
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.setTimeout(500, () => done(false));
      socket.on('error', () => done(false));
      socket.on('connect', () => socket.write('PING\r\n'));
      socket.on('data', (data) => done(data.toString().startsWith('+PONG')));
    });
  }
}

/**
 * A DNS server (dnsmasq, from Debian's `dnsmasq-base`) answering for the `.test` domain only,
 * from `records`: `host-record` and `srv-host` lines as dnsmasq takes them. Its answers change
 * with {@link DnsServer.serve}, which restarts it on the same port with the new records.
 */
export class DnsServer extends ServerProcess {
  static readonly binary = '/usr/sbin/dnsmasq';
  #records: readonly string[];

  static unavailable(): string | undefined {
    return missing(DnsServer.binary, 'dnsmasq-base');
  }

  /** `records`: e.g. `['host-record=pods.test,127.0.0.1', 'srv-host=_x._tcp.pods.test,a.test,4370']`. */
  static async start(t: TestContextLike, records: readonly string[]): Promise<DnsServer> {
    const server = new DnsServer(await claimPort(), t, records);
    await server.run();
    return server;
  }

  private constructor(port: number, t: TestContextLike, records: readonly string[]) {
    super(port, t);
    this.#records = records;
  }

  /** `'127.0.0.1:<port>'`, as `dnsDiscovery({ servers })` takes it. */
  get server(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Answers with `records` from now on. */
  async serve(records: readonly string[]): Promise<void> {
    this.#records = records;
    await this.kill();
    await this.run(false);
  }

  protected command(): [string, string[]] {
    return [
      DnsServer.binary,
      [
        '--keep-in-foreground',
        '--conf-file=/dev/null',
        '--pid-file=', // none
        '--no-resolv',
        '--no-hosts',
        '--local=/test/', // answers for .test, forwards nothing
        '--listen-address=127.0.0.1',
        '--bind-interfaces',
        `--port=${this.port}`,
        '--local-ttl=0',
        '--host-record=ready.test,127.0.0.1',
        ...this.#records.map((record) => `--${record}`),
      ],
    ];
  }

  protected async ready(): Promise<boolean> {
    const resolver = new Resolver({ timeout: 200, tries: 1 });
    resolver.setServers([this.server]);
    return resolver.resolve4('ready.test').then(
      (found) => found.includes('127.0.0.1'),
      () => false,
    );
  }
}
