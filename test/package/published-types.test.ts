/**
 * The published types (`dist/src/index.d.ts`, what `import 'rpc-load-balancer'` resolves to)
 * show the public API only: no `@internal` member, no constructor users must not call, no
 * secret-holding options. Checked the way a user would meet them: a consumer file compiled
 * against the package by name, with `@ts-expect-error` on each thing that must not be there
 * (an exposed one makes the directive unused, which fails the compile), and no `skipLibCheck`,
 * so a declaration left pointing at a stripped one fails too.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/** The repository root (dist/test/package/ → ../../../). */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const CONSUMER = `
import { LoadBalancer, RpcNode, startNode, type Groups } from 'rpc-load-balancer';
import { type Dashboard, startDashboard } from 'rpc-load-balancer/dashboard';

const node = await startNode({ cookie: 'c' });
const name: string = node.name;
const address: string = node.address;
const groups: Groups = node.groups;
// @ts-expect-error the resolved options hold the cookie and TLS key
node.options;
// @ts-expect-error internal
node.replicator;
// @ts-expect-error internal
node.listen();
// @ts-expect-error internal
node.addService({ stopWithin: async () => {} });
// @ts-expect-error nodes are made by startNode()
new RpcNode({} as never);
// @ts-expect-error internal (balancers' observer of group changes)
node.groups.observe(() => {});

const lb = await node.startLoadBalancer({ name: 'lb' });
// @ts-expect-error internal
lb.onStopped = () => {};
// @ts-expect-error internal
lb.stopWithin(1);
// @ts-expect-error balancers are made by node.startLoadBalancer()
new LoadBalancer({} as never, {} as never, {} as never);

// Both classes still work with instanceof, and narrow.
const values: unknown[] = [node, lb];
for (const value of values) {
  if (value instanceof RpcNode) value.peers();
  if (value instanceof LoadBalancer) value.members();
}
// The dashboard takes a node as it is published, and shows nothing of it.
const dashboard: Dashboard = await startDashboard(node, { port: 0, host: '127.0.0.1' });
// @ts-expect-error the node it reads is not reachable through it
dashboard.node;
await dashboard.close();

await lb.stop();
await node.close();
console.log(name, address, groups);
`;

/** The `.d.ts` files reachable from `entry` through relative imports and re-exports. */
function declarationGraph(entry: string): Map<string, string> {
  const files = new Map<string, string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (files.has(file)) continue;
    const text = readFileSync(file, 'utf8');
    files.set(file, text);
    for (const [, spec] of text.matchAll(/from '(\.[^']+)\.js'/g)) {
      pending.push(resolve(dirname(file), `${spec}.d.ts`));
    }
  }
  return files;
}

test('the published declarations do not mention internal members', () => {
  const graph = declarationGraph(join(ROOT, 'dist/src/index.d.ts'));
  for (const [file, text] of declarationGraph(join(ROOT, 'dist/src/dashboard/index.d.ts'))) {
    graph.set(file, text);
  }
  assert.ok(graph.size > 5, `the graph was found (${graph.size} files)`);
  for (const [file, text] of graph) {
    for (const internal of [
      /\breplicator\b/,
      /\blisten\(\)/,
      /\baddService\(/,
      /\bonStopped\b/,
      /\bstopWithin\(/,
      /@internal/,
    ]) {
      assert.doesNotMatch(text, internal, `${file.slice(ROOT.length)} exposes ${internal}`);
    }
  }
});

test('a consumer compiles against the package as published, internals out of reach', (t) => {
  const dir = join(ROOT, 'dist/.published-types');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'consumer.ts'), CONSUMER);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: ['node'],
      },
      files: ['consumer.ts'],
    }),
  );
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  assert.ok(existsSync(tsc), 'typescript is installed (a devDependency)');
  const result = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(result.status, 0, `tsc failed:\n${result.stdout}${result.stderr}`);
});
