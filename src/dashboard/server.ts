/**
 * The dashboard's HTTP server (node:http only): one page and its two assets, a server-sent
 * event stream of views, and the latest view as JSON. It reads the node through
 * {@link DashboardSource} — the name, the cluster snapshot and the node events — and nothing
 * else, so no request can reach a user function, the node's options or its balancers' calls.
 *
 * Snapshots are gathered only while a page is open: one gather per interval for all pages,
 * none overlapping, plus one at once when the node sees a peer come or go.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ClusterSnapshot, InspectOptions } from '../inspect.js';
import type { DownReason } from '../transport/connection.js';
import { checkAccess } from './access.js';
import {
  type DashboardOptions,
  type ResolvedDashboardOptions,
  resolveDashboardOptions,
} from './options.js';
import { type DashboardView, ViewBuilder, type ViewEvent } from './view.js';

/**
 * What the dashboard reads of a node: an `RpcNode` is one. Narrow on purpose: the dashboard can
 * take snapshots and listen to node events, and has no way to make a call.
 */
export interface DashboardSource {
  readonly name: string;
  inspectCluster(options?: InspectOptions): Promise<ClusterSnapshot>;
  on(event: 'nodeup', listener: (name: string) => void): unknown;
  on(event: 'nodedown', listener: (name: string, reason: DownReason) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  off(event: 'nodeup' | 'nodedown' | 'close', listener: (...args: never[]) => void): unknown;
}

/** A running dashboard. */
export interface Dashboard {
  /** Where to open it: `http://host:port/`, with `?token=…` when it needs one. */
  readonly url: string;
  /** The address it listens on. */
  readonly host: string;
  /** The port it listens on (the real one when `port` was 0). */
  readonly port: number;
  /** The token requests must carry, or `undefined` when none is needed (loopback, no token given). */
  readonly token: string | undefined;
  /** Pages open now. */
  readonly clients: number;
  /** Closes the event streams and the server. Idempotent; also done when the node closes. */
  close(): Promise<void>;
}

const STATIC = new URL('./static/', import.meta.url);
const ASSETS = [
  ['/', 'index.html', 'text/html; charset=utf-8'],
  ['/app.js', 'app.js', 'text/javascript; charset=utf-8'],
  ['/app.css', 'app.css', 'text/css; charset=utf-8'],
] as const;
const MAX_EVENTS = 20;
const COMMON_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
} as const;
const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
  "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * Serves a live view of the cluster as `node` sees it.
 * @throws {TypeError} for a bad option (naming it).
 * @example
 * const dashboard = await startDashboard(node, { port: 4380 });
 * console.log(`dashboard: ${dashboard.url}`);
 */
export async function startDashboard(
  node: DashboardSource,
  options?: DashboardOptions,
): Promise<Dashboard> {
  const resolved = resolveDashboardOptions(options);
  const assets = new Map<string, { type: string; body: Buffer }>();
  for (const [path, file, type] of ASSETS) {
    assets.set(path, { type, body: await readFile(new URL(file, STATIC)) });
  }
  const dashboard = new DashboardServer(node, resolved, assets);
  await dashboard.listen();
  return dashboard;
}

class DashboardServer implements Dashboard {
  readonly #server: Server;
  readonly #clients = new Set<ServerResponse>();
  readonly #builder = new ViewBuilder();
  readonly #events: ViewEvent[] = [];
  #timer: NodeJS.Timeout | undefined;
  #gathering = false;
  #again = false;
  #latest: { view: DashboardView; frame: string } | undefined;
  #closing: Promise<void> | undefined;
  #port = 0;
  readonly #onUp = (name: string) => this.#nodeEvent(`${name} up`);
  readonly #onDown = (name: string, reason: DownReason) =>
    this.#nodeEvent(`${name} down (${reason})`);
  readonly #onClose = () => void this.close();

  readonly #node: DashboardSource;
  readonly #options: ResolvedDashboardOptions;
  readonly #assets: ReadonlyMap<string, { type: string; body: Buffer }>;

  constructor(
    node: DashboardSource,
    options: ResolvedDashboardOptions,
    assets: ReadonlyMap<string, { type: string; body: Buffer }>,
  ) {
    this.#node = node;
    this.#options = options;
    this.#assets = assets;
    this.#server = createServer((req, res) => this.#handle(req, res));
  }

  get host(): string {
    return this.#options.host;
  }
  get port(): number {
    return this.#port;
  }
  get token(): string | undefined {
    return this.#options.token;
  }
  get clients(): number {
    return this.#clients.size;
  }
  get url(): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    const query = this.token === undefined ? '' : `?token=${encodeURIComponent(this.token)}`;
    return `http://${host}:${this.port}/${query}`;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#options.port, this.#options.host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#port = (this.#server.address() as AddressInfo).port;
    this.#node.on('nodeup', this.#onUp);
    this.#node.on('nodedown', this.#onDown);
    this.#node.on('close', this.#onClose);
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#node.off('nodeup', this.#onUp);
    this.#node.off('nodedown', this.#onDown);
    this.#node.off('close', this.#onClose);
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const res of this.#clients) res.end();
    this.#clients.clear();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  /** One cookie per port: two dashboards on one host keep their own tokens. */
  get #cookie(): string {
    return `rpclb_dashboard_${this.#port}`;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    const access = checkAccess(req, url, this.token, this.#cookie);
    if (!access.ok) {
      const auth: Record<string, string> =
        access.status === 401 ? { 'www-authenticate': 'Bearer realm="rpclb"' } : {};
      return text(res, access.status, access.message, auth);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return text(res, 405, `${req.method} is not allowed: the dashboard is read-only`, {
        allow: 'GET, HEAD',
      });
    }
    if (url.pathname === '/events') return this.#stream(req, res);
    if (url.pathname === '/view.json') return void this.#viewJson(res);
    const asset = this.#assets.get(url.pathname);
    if (!asset) return text(res, 404, `no such page: ${url.pathname} (the dashboard is at /)`);
    const headers: Record<string, string> = { ...COMMON_HEADERS, 'content-type': asset.type };
    if (url.pathname === '/') headers['content-security-policy'] = PAGE_CSP;
    if (access.fromQuery && this.token !== undefined) {
      // The page's own requests (assets, the event stream) then carry the token as a cookie.
      headers['set-cookie'] =
        `${this.#cookie}=${encodeURIComponent(this.token)}; HttpOnly; SameSite=Strict; Path=/`;
    }
    res.writeHead(200, headers).end(req.method === 'HEAD' ? undefined : asset.body);
  }

  #stream(req: IncomingMessage, res: ServerResponse): void {
    if (this.#clients.size >= this.#options.maxClients) {
      return text(res, 503, `too many open dashboards (${this.#options.maxClients})`);
    }
    res.writeHead(200, {
      ...COMMON_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
    });
    res.write(`retry: ${this.#options.intervalMs}\n\n`);
    if (this.#latest) res.write(this.#latest.frame);
    this.#clients.add(res);
    req.socket.setNoDelay(true);
    res.on('close', () => {
      this.#clients.delete(res);
      if (this.#clients.size === 0) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    });
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => void this.#gather(), this.#options.intervalMs);
      void this.#gather();
    }
  }

  async #viewJson(res: ServerResponse): Promise<void> {
    const fresh = this.#latest && Date.now() - this.#latest.view.at < 2 * this.#options.intervalMs;
    try {
      // Without an open page, a one-off view: its rates are 0 (there is no previous snapshot).
      const view = fresh
        ? (this.#latest as { view: DashboardView }).view
        : new ViewBuilder().build(await this.#inspect(), this.#events);
      res.writeHead(200, { ...COMMON_HEADERS, 'content-type': 'application/json' });
      res.end(JSON.stringify(view));
    } catch (err) {
      text(res, 500, `could not take a snapshot: ${(err as Error).message}`);
    }
  }

  #inspect(): Promise<ClusterSnapshot> {
    // A frozen peer must not hold the view back past the next tick.
    return this.#node.inspectCluster({ timeout: this.#options.intervalMs });
  }

  #nodeEvent(what: string): void {
    this.#events.unshift({ at: Date.now(), text: what });
    if (this.#events.length > MAX_EVENTS) this.#events.pop();
    if (this.#clients.size > 0) void this.#gather();
  }

  /** Takes a snapshot and sends the view to every page; one at a time, a request during one runs after it. */
  async #gather(): Promise<void> {
    if (this.#gathering) {
      this.#again = true;
      return;
    }
    this.#gathering = true;
    try {
      const view = this.#builder.build(await this.#inspect(), this.#events);
      this.#latest = { view, frame: `event: view\ndata: ${JSON.stringify(view)}\n\n` };
      this.#broadcast(this.#latest.frame);
    } catch (err) {
      this.#broadcast(
        `event: failure\ndata: ${JSON.stringify(String((err as Error)?.message ?? err))}\n\n`,
      );
    } finally {
      this.#gathering = false;
      if (this.#again && this.#clients.size > 0 && this.#closing === undefined) {
        this.#again = false;
        void this.#gather();
      }
    }
  }

  #broadcast(frame: string): void {
    // A page that does not read keeps its backlog at one frame: the next view supersedes it.
    for (const res of this.#clients) if (!res.writableNeedDrain) res.write(frame);
  }
}

function text(
  res: ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  res
    .writeHead(status, {
      ...COMMON_HEADERS,
      'content-type': 'text/plain; charset=utf-8',
      ...headers,
    })
    .end(`${message}\n`);
}
