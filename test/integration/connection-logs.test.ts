/**
 * Connection-level log lines: unreachable seeds and refusals warn (once per address a minute),
 * and every line about a connection is one line naming the remote address, the claimed node
 * name when known, and the reason in plain words (TLS refusals included). In-process nodes on
 * real sockets, with certificates made by openssl for the TLS cases.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, test } from 'node:test';
import { type Logger, type RpcNode, startNode } from '../../src/index.js';
import { createPki } from '../helpers/certs.js';
import { waitFor } from '../helpers/cluster.js';
import { unusedAddress } from '../helpers/ports.js';

interface Line {
  node: string;
  level: string;
  message: string;
}

const lines: Line[] = [];
const nodes: RpcNode[] = [];
after(() => Promise.all(nodes.map((n) => n.destroy())));

function capture(node: string): Logger {
  const line = (level: string) => (message: string) => lines.push({ node, level, message });
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
}

async function start(name: string, options: Parameters<typeof startNode>[0] = {}) {
  const node = await startNode({ cookie: 'logs', name, logger: capture(name), ...options });
  nodes.push(node);
  return node;
}

const warnings = (node: string, pattern: RegExp) =>
  lines.filter((l) => l.node === node && l.level === 'warn' && pattern.test(l.message));

/** Every connection-level line is one line, without OpenSSL internals. */
function assertClean(line: Line): void {
  assert.doesNotMatch(line.message, /\n/, line.message);
  assert.doesNotMatch(line.message, /deps\/openssl|\.c:\d+|:error:[0-9A-F]{8}:/, line.message);
}

test('an unreachable seed warns with its address and the reason, at most once a minute', async () => {
  const seed = await unusedAddress();
  await start('lonely@127.0.0.1', { seeds: [seed] });
  // Re-dials at 100, 200, 400, 800 ms...: several attempts, one warning.
  await new Promise((resolve) => setTimeout(resolve, 1_600));
  const warned = warnings('lonely@127.0.0.1', new RegExp(seed));
  assert.equal(warned.length, 1, JSON.stringify(warned));
  assert.match(warned[0]?.message ?? '', /seed/);
  assert.match(warned[0]?.message ?? '', /connection refused.*ECONNREFUSED/);
  assertClean(warned[0] as Line);
});

test('a refused duplicate name warns on both sides, naming address, name and reason', async () => {
  const hub = await start('hub@127.0.0.1');
  const first = await start('twin@127.0.0.1', { seeds: [hub.address] });
  await waitFor(() => hub.peers().includes(first.name), 5_000, 'first twin up');
  const second = await start('twin@127.0.0.1', { seeds: [hub.address], port: 0 });
  const refusing = await waitFor(
    () => warnings('hub@127.0.0.1', /twin@127\.0\.0\.1/)[0],
    3_000,
    'the hub warns',
  );
  assert.match(refusing.message, /refused/);
  assert.match(refusing.message, /in use by another live node/);
  assert.match(refusing.message, /127\.0\.0\.1:\d+/);
  assertClean(refusing);
  const refused = await waitFor(
    () =>
      lines.find(
        (l) =>
          l.level === 'warn' &&
          l.message.includes(hub.address) &&
          /in use/.test(l.message) &&
          l.node === 'twin@127.0.0.1',
      ),
    3_000,
    'the refused twin warns',
  );
  assertClean(refused);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  assert.equal(warnings('hub@127.0.0.1', /in use/).length, 1, 'rate-limited on the hub');
  await second.destroy();
});

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

test('TLS refusals and mismatches log one plain line with the remote address', async (t) => {
  if (!hasOpenssl) {
    t.diagnostic('openssl is not installed: TLS log lines not tested');
    t.skip('needs openssl');
    return;
  }
  const pki = createPki({ after: (fn) => t.after(fn) });
  const ca = pki.createCa('log-ca');
  const rogueCa = pki.createCa('log-rogue');
  const tlsFor = (name: string) => ({ ...pki.issue(ca, name), ca: ca.cert });
  const server = await start('tls-srv@127.0.0.1', { tls: tlsFor('tls-srv') });
  const cases: [string, Parameters<typeof startNode>[0], RegExp][] = [
    ['tls-anon@127.0.0.1', { tls: { ca: ca.cert } }, /sent no certificate/],
    [
      'tls-rogue@127.0.0.1',
      { tls: { ...pki.issue(rogueCa, 'r'), ca: ca.cert } },
      /certificate is not trusted/,
    ],
    ['tls-plain@127.0.0.1', { handshakeTimeoutMs: 1_000 }, /does not speak TLS/],
  ];
  for (const [name, options, reason] of cases) {
    const client = await start(name, options);
    const before = lines.length;
    await assert.rejects(client.connect(server.address));
    const line = await waitFor(
      () => lines.slice(before).find((l) => l.node === server.name && l.level === 'warn'),
      3_000,
      `${name}: the server's line`,
    );
    t.diagnostic(`${name}: ${line.message}`);
    assert.match(line.message, /^TLS connection from 127\.0\.0\.1:\d+ refused: /);
    assert.match(line.message, reason);
    assertClean(line);
  }
  // A TLS node dialling a plain one: the plain node says what it saw.
  const plain = lines.length;
  const plainNode = nodes.find((n) => n.name === 'tls-plain@127.0.0.1') as RpcNode;
  await assert.rejects(server.connect(plainNode.address), (err: Error) => {
    assert.match(err.message, /does not speak TLS|wrong version number/);
    assert.doesNotMatch(err.message, /\n|deps\/openssl/);
    return true;
  });
  const line = await waitFor(
    () => lines.slice(plain).find((l) => l.node === plainNode.name && l.level === 'warn'),
    3_000,
    'the plain node’s line',
  );
  t.diagnostic(`plain node: ${line.message}`);
  assert.match(line.message, /from 127\.0\.0\.1:\d+/);
  assert.match(line.message, /TLS/);
  assertClean(line);
});
