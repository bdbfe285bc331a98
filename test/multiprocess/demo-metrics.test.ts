/**
 * `rpclb demo --metrics-port`: /metrics answers with the demo node's series while the demo runs;
 * without prom-client the flag fails at once with one clear line and a non-zero exit, before any
 * worker starts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** Runs `rpclb demo ...args` (killed after 60 s), calling `onLine` with each stdout line. */
function demo(
  t: { after(fn: () => void): void },
  args: string[],
  nodeArgs: string[] = [],
  onLine: (line: string) => void = () => {},
) {
  const child = spawn(process.execPath, [...nodeArgs, CLI, 'demo', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    for (const line of chunk.split('\n')) if (line) onLine(line);
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  t.after(() => {
    child.kill('SIGKILL');
    const pids = /^workers: ([\d ]+)$/m.exec(stdout)?.[1]?.split(' ').map(Number) ?? [];
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  });
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

test('demo --metrics-port serves the demo node’s series on /metrics while it runs', async (t) => {
  let scraped: Promise<string> | undefined;
  const exit = await demo(
    t,
    ['--nodes', '2', '--duration', '1.5', '--algorithm', 'RoundRobin', '--metrics-port', '0'],
    [],
    (line) => {
      const url = /^metrics: (http:\/\/127\.0\.0\.1:\d+\/metrics)$/.exec(line)?.[1];
      // wait for some calls, then scrape while the load runs
      if (url) {
        scraped = new Promise((r) => setTimeout(r, 800)).then(async () => {
          const res = await fetch(url);
          assert.equal(res.status, 200);
          assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
          return res.text();
        });
      }
    },
  );
  assert.equal(exit.code, 0, exit.stderr);
  assert.ok(scraped, `no metrics line in:\n${exit.stdout}`);
  const text = await scraped;
  assert.match(
    text,
    /^rpclb_client_calls_total\{node="demo@127\.0\.0\.1",type="call",module="Demo",function="work",balancer="demo-RoundRobin",target="worker1@127\.0\.0\.1",status="ok"\} [1-9]\d*$/m,
  );
  assert.match(text, /^rpclb_balancer_members\{[^}]*balancer="demo-RoundRobin"[^}]*\} 2$/m);
});

test('demo --metrics-port without prom-client: one line, exit 1, no worker started', async (t) => {
  // A resolve hook that makes prom-client unresolvable, as in a project that did not install it.
  // `module.registerHooks` (Node ≥ 22.15) where it exists: `module.register` is deprecated from
  // Node 26 on and its warning would be a second line on stderr.
  const dir = mkdtempSync(join(tmpdir(), 'rpclb-no-prom-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'hook.mjs'),
    `export function resolve(specifier, context, next) {
      if (specifier === 'prom-client') {
        throw Object.assign(new Error("Cannot find package 'prom-client'"), { code: 'ERR_MODULE_NOT_FOUND' });
      }
      return next(specifier, context);
    }\n`,
  );
  writeFileSync(
    join(dir, 'register.mjs'),
    `import * as mod from 'node:module';
    import { resolve } from ${JSON.stringify(pathToFileURL(join(dir, 'hook.mjs')).href)};
    if (typeof mod.registerHooks === 'function') mod.registerHooks({ resolve });
    else mod.register(${JSON.stringify(pathToFileURL(join(dir, 'hook.mjs')).href)});\n`,
  );
  const exit = await demo(t, ['--metrics-port', '0'], ['--import', join(dir, 'register.mjs')]);
  assert.equal(exit.code, 1);
  assert.equal(exit.stdout, '');
  const lines = exit.stderr.trim().split('\n');
  assert.equal(lines.length, 1, exit.stderr);
  assert.match(
    lines[0] as string,
    /--metrics-port needs the optional package prom-client.*npm install prom-client/,
  );
});
