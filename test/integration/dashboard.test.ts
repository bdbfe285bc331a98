/**
 * The dashboard's HTTP server, with nodes in one process on real sockets: the page and its
 * assets, the event stream's content (and a view pushed as soon as a peer goes down), unknown
 * paths, the loopback-only `Host` rule, the token when bound to a non-loopback address (0.0.0.0,
 * reached through 127.0.0.1), and that no request can run a user function.
 */
import assert from 'node:assert/strict';
import { type IncomingHttpHeaders, request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { type Dashboard, type DashboardView, startDashboard } from '../../src/dashboard/index.js';
import { type LoadBalancer, type RpcNode, startNode } from '../../src/index.js';

const quiet = { logLevel: 'silent' as const, cookie: 'dashboard' };

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    // No keep-alive: each request is a connection of its own, as a refused one must be.
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject).end(method === 'POST' ? '{"module":"T","fn":"effect"}' : undefined);
  });
}

/** Opens the event stream and collects views until `done(views)` or `timeoutMs`. */
function stream(
  port: number,
  done: (views: DashboardView[], raw: string) => boolean,
  timeoutMs = 5_000,
): Promise<{ views: DashboardView[]; raw: string; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const views: DashboardView[] = [];
    let raw = '';
    const req = request({ host: '127.0.0.1', port, path: '/events' }, (res) => {
      const finish = () => {
        clearTimeout(timer);
        req.destroy();
        resolve({ views, raw, headers: res.headers });
      };
      const timer = setTimeout(finish, timeoutMs);
      res.setEncoding('utf8').on('data', (chunk: string) => {
        raw += chunk;
        for (const m of chunk.matchAll(/^event: view\ndata: (.*)$/gm)) {
          views.push(JSON.parse(m[1] as string));
        }
        if (done(views, raw)) finish();
      });
    });
    req.on('error', reject).end();
  });
}

describe('dashboard', () => {
  let a: RpcNode;
  let b: RpcNode;
  let lb: LoadBalancer;
  let effects = 0;

  before(async () => {
    a = await startNode({ name: 'd-a@127.0.0.1', ...quiet });
    b = await startNode({ name: 'd-b@127.0.0.1', ...quiet });
    for (const n of [a, b]) n.expose('T', { effect: () => ++effects, echo: (x: unknown) => x });
    await b.startLoadBalancer({ name: 'lb' });
    await a.connect(b.address);
    lb = await a.startLoadBalancer({ name: 'lb', nodeMatchList: [] });
    await lb.waitForMembers(1, { timeout: 5_000 });
    for (let i = 0; i < 5; i++) await lb.call('T', 'echo', [i]);
  });
  after(async () => {
    await Promise.all([a.destroy(), b.destroy()]);
  });

  describe('on loopback', () => {
    let dashboard: Dashboard;
    before(async () => {
      dashboard = await startDashboard(a, { intervalMs: 200 });
    });
    after(() => dashboard.close());

    test('serves the page and its assets, with no token', async () => {
      assert.equal(dashboard.token, undefined);
      assert.equal(dashboard.url, `http://127.0.0.1:${dashboard.port}/`);
      const page = await get(dashboard.port, '/');
      assert.equal(page.status, 200);
      assert.match(page.headers['content-type'] ?? '', /^text\/html/);
      assert.match(String(page.headers['content-security-policy']), /default-src 'none'/);
      assert.match(page.body, /<script src="app.js"/);
      assert.match((await get(dashboard.port, '/app.js')).body, /new EventSource\('events'\)/);
      assert.equal((await get(dashboard.port, '/app.css')).status, 200);
    });

    test('unknown paths are 404, other methods 405', async () => {
      for (const path of ['/nope', '/app.js/x', '/..%2fpackage.json', '/static/app.js']) {
        const reply = await get(dashboard.port, path);
        assert.equal(reply.status, 404, path);
      }
      const post = await get(dashboard.port, '/', {}, 'POST');
      assert.equal(post.status, 405);
      assert.equal(post.headers.allow, 'GET, HEAD');
    });

    test('requests naming another host are refused (DNS rebinding)', async () => {
      const evil = await get(dashboard.port, '/', { host: 'evil.example:80' });
      assert.equal(evil.status, 403);
      assert.match(evil.body, /loopback host only/);
      for (const host of [`localhost:${dashboard.port}`, '127.0.0.5', `[::1]:${dashboard.port}`]) {
        assert.equal((await get(dashboard.port, '/', { host })).status, 200, host);
      }
    });

    test('the event stream sends views of the cluster', async () => {
      const { views, raw, headers } = await stream(dashboard.port, (v) => v.length >= 2);
      assert.match(headers['content-type'] ?? '', /^text\/event-stream/);
      assert.match(raw, /^retry: 200\n\n/);
      assert.ok(views.length >= 2, `two views in time, got ${views.length}`);
      const view = views[views.length - 1] as DashboardView;
      assert.equal(view.observer, a.name);
      assert.deepEqual(
        view.nodes.map((n) => [n.name, n.state]),
        [
          [a.name, 'up'],
          [b.name, 'up'],
        ],
      );
      assert.deepEqual(view.nodes[1]?.groups, ['lb']);
      assert.equal(view.nodes[1]?.runtime?.nodeVersion, process.version);
      assert.deepEqual(view.links, [{ a: a.name, b: b.name, state: 'up' }]);
      const [mine] = view.balancers;
      assert.deepEqual(
        [mine?.node, mine?.name, mine?.members[0]?.node, mine?.members[0]?.calls],
        [a.name, 'lb', b.name, 5],
      );
      assert.deepEqual(view.idle, [`${b.name} / lb (${b.inspect().balancers[0]?.algorithm})`]);
    });

    test('a peer going down is pushed at once, not at the next tick', async () => {
      const slow = await startDashboard(a, { intervalMs: 60_000 });
      const c = await startNode({ name: 'd-c@127.0.0.1', ...quiet });
      await a.connect(c.address);
      try {
        let downAt = 0;
        const seen = stream(slow.port, (views) => {
          const last = views[views.length - 1];
          if (views.length === 1 && downAt === 0) {
            downAt = performance.now();
            void c.destroy();
          }
          return views.length > 1 && !last?.nodes.some((n) => n.name === c.name);
        });
        const { views } = await seen;
        const last = views[views.length - 1];
        assert.equal(
          last?.nodes.some((n) => n.name === c.name),
          false,
          'c left the graph',
        );
        assert.match(last?.events[0]?.text ?? '', /^d-c@127\.0\.0\.1 down \(closed\)$/);
        assert.ok(performance.now() - downAt < 2_000, 'long before the 60 s tick');
      } finally {
        await Promise.all([slow.close(), c.destroy()]);
      }
    });
  });

  describe('bound to 0.0.0.0', () => {
    let dashboard: Dashboard;
    before(async () => {
      dashboard = await startDashboard(a, { host: '0.0.0.0' });
    });
    after(() => dashboard.close());

    test('every path refuses a request without the token, or with a wrong one', async () => {
      const token = dashboard.token as string;
      assert.match(token, /^[\w-]{32}$/, 'a token was generated');
      assert.equal(dashboard.url, `http://0.0.0.0:${dashboard.port}/?token=${token}`);
      for (const path of ['/', '/app.js', '/events', '/view.json', '/nope']) {
        const none = await get(dashboard.port, path);
        assert.equal(none.status, 401, `${path} without a token`);
        assert.match(none.headers['www-authenticate'] ?? '', /^Bearer/);
        assert.doesNotMatch(none.body, /EventSource|observer/);
        // The last character changed to one it is not (a generated token ends in 'x' one time in 64).
        const other = token.endsWith('x') ? 'y' : 'x';
        const wrong = await get(dashboard.port, `${path}?token=${token.slice(0, -1)}${other}`);
        assert.equal(wrong.status, 401, `${path} with a wrong token`);
        const prefix = await get(dashboard.port, path, { authorization: `Bearer ${token}x` });
        assert.equal(prefix.status, 401, `${path} with the token and more`);
      }
    });

    test('the token opens it: in the query (which sets a cookie), the cookie, or a header', async () => {
      const token = dashboard.token as string;
      const page = await get(dashboard.port, `/?token=${token}`);
      assert.equal(page.status, 200);
      const cookie = (page.headers['set-cookie']?.[0] ?? '').split(';')[0] as string;
      assert.match(page.headers['set-cookie']?.[0] ?? '', /HttpOnly; SameSite=Strict; Path=\//);
      assert.equal((await get(dashboard.port, '/app.js', { cookie })).status, 200);
      const view = await get(dashboard.port, '/view.json', { authorization: `Bearer ${token}` });
      assert.equal(view.status, 200);
      assert.equal((JSON.parse(view.body) as DashboardView).observer, a.name);
    });
  });

  test('pages beyond maxClients are refused with 503; HEAD has no body', async () => {
    const dashboard = await startDashboard(a, { maxClients: 1 });
    try {
      const first = stream(dashboard.port, (views) => views.length >= 1);
      await first;
      const held = request({ host: '127.0.0.1', port: dashboard.port, path: '/events' });
      held.end();
      await new Promise((resolve) => held.once('response', resolve));
      const second = await get(dashboard.port, '/events');
      assert.equal(second.status, 503);
      assert.match(second.body, /too many open dashboards \(1\)/);
      held.destroy();
      const head = await get(dashboard.port, '/', {}, 'HEAD');
      assert.deepEqual([head.status, head.body], [200, '']);
    } finally {
      await dashboard.close();
    }
  });

  test('no request runs a user function', async () => {
    const dashboard = await startDashboard(a, { token: 'a-token-of-enough-length' });
    const auth = { authorization: 'Bearer a-token-of-enough-length' };
    try {
      const before = effects;
      const paths = [
        '/T/effect',
        '/call/T/effect',
        '/T.effect',
        '/events/T/effect',
        `/view.json/${encodeURIComponent(b.name)}/T/effect`,
        '/$rpclb/inspect',
        '/?module=T&function=effect',
      ];
      for (const path of paths) {
        const reply = await get(dashboard.port, path, auth);
        assert.ok(reply.status === 404 || reply.status === 200, `${path}: ${reply.status}`);
        const posted = await get(dashboard.port, path, auth, 'POST');
        assert.equal(posted.status, 405, `POST ${path}`);
      }
      assert.equal(effects, before, 'T.effect never ran');
      assert.equal(await lb.call('T', 'effect', []), before + 1, 'while a call does run it');
    } finally {
      await dashboard.close();
    }
  });

  test('it works from a source that can only be looked at, and stops with its node', async () => {
    // A source with no way to call anything: the dashboard needs nothing more.
    const c = await startNode({ name: 'd-d@127.0.0.1', ...quiet });
    const source = {
      name: c.name,
      inspectCluster: c.inspectCluster.bind(c),
      on: c.on.bind(c),
      off: c.off.bind(c),
    };
    const dashboard = await startDashboard(source);
    const view = JSON.parse((await get(dashboard.port, '/view.json')).body) as DashboardView;
    assert.equal(view.observer, c.name);
    await c.close();
    await assert.rejects(get(dashboard.port, '/'), { code: 'ECONNREFUSED' });
    await dashboard.close();
  });
});
