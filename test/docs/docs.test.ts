/**
 * Every code block of the README and docs/ runs as written, against the built package, the way
 * a reader would run it: in a fresh project directory where `rpc-load-balancer` is installed
 * (a link to this repository, as `npm install /path/to/rpc-load-balancer` makes), with its own
 * cookie file. How blocks are treated, and how to mark one, is in test/docs/README.md.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Block, compareOutput, type Page, parsePage } from './markdown.js';
import { type Exit, ProcessGroup } from './processes.js';
import { SCENARIOS } from './scenarios.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

/** The tsconfig blocks are compiled with, unless a page brings its own. */
const TSCONFIG = {
  compilerOptions: {
    target: 'es2022',
    module: 'nodenext',
    strict: true,
    outDir: '.doctest-out',
    types: ['node'],
    skipLibCheck: true,
  },
};

function pages(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.md') ? [join(dir, e.name)] : [],
    );
  return ['README.md', ...walk('docs').sort()];
}

/**
 * Packages the observability and discovery how-tos tell the reader to install beside
 * rpc-load-balancer (its optional peer dependencies and the OpenTelemetry SDK), linked from the
 * repository's devDependencies.
 */
const READER_PACKAGES = [
  'prom-client',
  '@opentelemetry/api',
  '@opentelemetry/context-async-hooks',
  '@opentelemetry/core',
  '@opentelemetry/sdk-metrics',
  '@opentelemetry/sdk-trace-base',
  'etcd3',
  'ioredis',
];

/** A fresh project directory in which `rpc-load-balancer` (and TypeScript) are installed. */
function project(page: string): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(join(tmpdir(), `rpclb-doc-${page.replace(/\W+/g, '-')}-`));
  mkdirSync(join(dir, 'node_modules/.bin'), { recursive: true });
  symlinkSync(ROOT, join(dir, 'node_modules/rpc-load-balancer'));
  symlinkSync(join(ROOT, 'node_modules/typescript'), join(dir, 'node_modules/typescript'));
  mkdirSync(join(dir, 'node_modules/@types'));
  symlinkSync(join(ROOT, 'node_modules/@types/node'), join(dir, 'node_modules/@types/node'));
  symlinkSync(TSC, join(dir, 'node_modules/.bin/tsc'));
  for (const name of READER_PACKAGES) {
    mkdirSync(dirname(join(dir, 'node_modules', name)), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', name), join(dir, 'node_modules', name));
  }
  writeFileSync(join(dir, 'package.json'), `{ "private": true, "type": "module" }\n`);
  // the per-user cookie file an example without a cookie reads (RPCLB_COOKIE_FILE must exist)
  writeFileSync(join(dir, '.rpclb.cookie'), `${randomBytes(18).toString('base64url')}\n`, {
    mode: 0o600,
  });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // `node` in shell blocks is the one running this test (so a run on Node 24 tests Node 24).
    PATH: `${join(dir, 'node_modules/.bin')}:${dirname(process.execPath)}:${process.env.PATH}`,
    // Examples without a cookie use the per-user file: a file of this project, not ~/.rpclb.cookie.
    RPCLB_COOKIE_FILE: join(dir, '.rpclb.cookie'),
  };
  for (const name of ['RPCLB_COOKIE', 'RPCLB_LOG_LEVEL', 'RPCLB_CALL_SITES', 'NODE_OPTIONS'])
    delete env[name];
  return { dir, env };
}

function describeExit(what: string, exit: Exit): string {
  return `${what} ended with ${exit.signal ?? `exit code ${exit.code}`}\nstdout:\n${exit.stdout}\nstderr:\n${exit.stderr}`;
}

/** Runs one page's blocks in order; returns the blocks it left out, with their reasons. */
async function runPage(page: Page, dir: string, procs: ProcessGroup): Promise<string[]> {
  const skipped: string[] = [];
  let last: { block: Block; exit: Exit } | undefined;
  const at = (block: Block) => `${block.page}:${block.line}`;
  const node = async (block: Block, file: string) => {
    const exit = await procs.run(process.execPath, [file]);
    assert.ok(
      exit.code === 0 && exit.stderr === '',
      describeExit(`${at(block)} (node ${file})`, exit),
    );
    last = { block, exit };
  };
  const tsc = async (block: Block, file: string, emit: boolean) => {
    const config = {
      ...TSCONFIG,
      compilerOptions: { ...TSCONFIG.compilerOptions, noEmit: !emit },
      files: [file],
    };
    writeFileSync(join(dir, 'tsconfig.doctest.json'), JSON.stringify(config));
    const exit = await procs.run(process.execPath, [TSC, '-p', 'tsconfig.doctest.json']);
    assert.equal(exit.code, 0, describeExit(`${at(block)}: tsc`, exit));
  };
  for (const block of page.blocks) {
    const { action } = block;
    const base = `doc-L${block.line}`;
    switch (action.kind) {
      case 'file':
        writeFileSync(join(dir, action.name), block.code);
        break;
      case 'run':
        if (block.lang === 'ts') {
          writeFileSync(join(dir, `${base}.ts`), block.code);
          await tsc(block, `${base}.ts`, true);
          await node(block, `.doctest-out/${base}.js`);
        } else if (block.lang === 'sh' || block.lang === 'bash') {
          const exit = await procs.run('bash', ['-euo', 'pipefail', '-c', block.code], 60_000);
          assert.equal(exit.code, 0, describeExit(`${at(block)} (sh)`, exit));
          last = { block, exit };
        } else {
          writeFileSync(join(dir, `${base}.mjs`), block.code);
          await node(block, `${base}.mjs`);
        }
        break;
      case 'fragment': {
        const setup = page.setups.get(action.setup);
        assert.ok(setup, `${at(block)}: no "doctest: setup ${action.setup}" on the page`);
        writeFileSync(join(dir, `${base}.mjs`), `${setup.before}\n${block.code}\n${setup.after}`);
        await node(block, `${base}.mjs`);
        break;
      }
      case 'typecheck':
        writeFileSync(join(dir, `${base}.ts`), block.code);
        await tsc(block, `${base}.ts`, false);
        break;
      case 'output': {
        assert.ok(last, `${at(block)}: an output block with no program before it`);
        const diff = compareOutput(block.code, last.exit.stdout, action.vary);
        assert.equal(diff, undefined, `${at(block)}: output of ${at(last.block)} differs: ${diff}`);
        break;
      }
      case 'skip':
        skipped.push(`${at(block)} (${block.lang}): ${action.reason}`);
        break;
      case 'unmarked':
        assert.fail(
          `${at(block)}: shell commands need "<!-- doctest: run -->" or "<!-- doctest: skip: <reason> -->"`,
        );
        break;
      case 'scenario':
      case 'text':
        break;
    }
  }
  return skipped;
}

/** `DOCS_TEST_PAGES=tutorial,tls` runs only the pages whose path contains one of those words. */
const only = process.env.DOCS_TEST_PAGES?.split(',');

for (const path of pages().filter((p) => !only || only.some((word) => p.includes(word)))) {
  const page = parsePage(path, readFileSync(join(ROOT, path), 'utf8'));
  const code = page.blocks.filter((b) => b.action.kind !== 'text' && b.action.kind !== 'skip');
  if (code.length === 0 && page.scenario === undefined) continue;
  test(`${path}: every code block runs as written`, { timeout: 120_000 }, async (t) => {
    const missing = page.requires.filter(
      (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0,
    );
    if (missing.length > 0) {
      t.skip(`${path}: not run, this machine has no ${missing.join(', ')}`);
      return;
    }
    const { dir, env } = project(path);
    const procs = new ProcessGroup(dir, env);
    t.after(async () => {
      await procs.cleanup();
      rmSync(dir, { recursive: true, force: true });
    });
    const skipped = await runPage(page, dir, procs);
    if (page.scenario !== undefined) {
      const scenario = SCENARIOS[page.scenario];
      assert.ok(scenario, `${path}: no scenario "${page.scenario}" in test/docs/scenarios.ts`);
      await scenario({ page, dir, procs });
    }
    for (const line of skipped) t.diagnostic(`not run: ${line}`);
    t.diagnostic(
      `${relative(ROOT, join(ROOT, path))}: ${code.length} blocks exercised, ${skipped.length} not run`,
    );
  });
}
