#!/usr/bin/env node
/**
 * The `rpclb` command.
 *
 * ```
 * rpclb demo [--nodes 4] [--duration 3] [--algorithm all] [--concurrency 32] [--slow-ms 15]
 * rpclb help | --help
 * rpclb --version
 * ```
 *
 * Exit codes: 0 success, 1 failure, 2 bad usage, 130/143 interrupted by SIGINT/SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  DEMO_ALGORITHMS,
  DEMO_DEFAULTS,
  type DemoAlgorithm,
  type DemoOptions,
  runDemo,
} from './demo.js';

class UsageError extends Error {}

function version(): string {
  const pkg = new URL('../../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}

const HELP = `rpclb: call functions on other Node.js processes, with a pluggable load balancer

Usage:
  rpclb demo [options]   start a local cluster and compare the selection algorithms
  rpclb help             show this help (also: rpclb --help, rpclb demo --help)
  rpclb --version        print the version

Demo options:
  --nodes <n>            worker processes to start, 2 to 32; the last is slow  (default ${DEMO_DEFAULTS.nodes})
  --duration <s>         seconds of load per algorithm                        (default ${DEMO_DEFAULTS.durationMs / 1000})
  --algorithm <names>    'all' or a comma-separated list of:                  (default all)
                         ${DEMO_ALGORITHMS.join(', ')}
  --concurrency <n>      calls in flight at once                              (default ${DEMO_DEFAULTS.concurrency})
  --work-ms <ms>         time a normal worker spends per call                 (default ${DEMO_DEFAULTS.workMs})
  --slow-ms <ms>         extra time the slow worker spends per call           (default ${DEMO_DEFAULTS.slowMs})

The demo forks worker processes on 127.0.0.1 with a cookie made for the run, joins them as a
node that only selects, and drives load through each algorithm in turn. It stops every
process it started when it ends, fails, or is interrupted (Ctrl-C).

Docs: README.md and docs/ in the repository.
`;

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
  nodes: { type: 'string' },
  duration: { type: 'string' },
  algorithm: { type: 'string' },
  concurrency: { type: 'string' },
  'work-ms': { type: 'string' },
  'slow-ms': { type: 'string' },
} as const;

/** Parses a numeric flag; `integer` rejects fractions. */
function numberFlag(
  flag: string,
  raw: string | undefined,
  fallback: number,
  { min, max, integer }: { min: number; max: number; integer: boolean },
): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  const kind = integer ? 'an integer' : 'a number';
  if (raw.trim() === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new UsageError(`--${flag} must be ${kind} from ${min} to ${max}, received "${raw}"`);
  }
  if (value < min || value > max) {
    throw new UsageError(`--${flag} must be ${kind} from ${min} to ${max}, received ${raw}`);
  }
  return value;
}

function algorithmsFlag(raw: string | undefined): readonly DemoAlgorithm[] {
  if (raw === undefined || raw.toLowerCase() === 'all') return DEMO_ALGORITHMS;
  return raw.split(',').map((part) => {
    const found = DEMO_ALGORITHMS.find((a) => a.toLowerCase() === part.trim().toLowerCase());
    if (!found) {
      throw new UsageError(
        `--algorithm: unknown algorithm "${part.trim()}"; expected all or ${DEMO_ALGORITHMS.join(', ')}`,
      );
    }
    return found;
  });
}

type Flags = {
  [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string;
};

function demoOptions(flags: Flags): DemoOptions {
  const d = DEMO_DEFAULTS;
  return {
    nodes: numberFlag('nodes', flags.nodes, d.nodes, { min: 2, max: 32, integer: true }),
    durationMs:
      1000 *
      numberFlag('duration', flags.duration, d.durationMs / 1000, {
        min: 0.1,
        max: 600,
        integer: false,
      }),
    algorithms: algorithmsFlag(flags.algorithm),
    concurrency: numberFlag('concurrency', flags.concurrency, d.concurrency, {
      min: 1,
      max: 1024,
      integer: true,
    }),
    workMs: numberFlag('work-ms', flags['work-ms'], d.workMs, {
      min: 0,
      max: 10_000,
      integer: false,
    }),
    slowMs: numberFlag('slow-ms', flags['slow-ms'], d.slowMs, {
      min: 0,
      max: 10_000,
      integer: false,
    }),
  };
}

/** Runs the command line `argv` (without `node` and the script); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
    const [command, ...extra] = positionals;
    if (values.version) {
      process.stdout.write(`${version()}\n`);
      return 0;
    }
    if (values.help || command === 'help') {
      process.stdout.write(HELP);
      return 0;
    }
    if (command === undefined) {
      process.stderr.write(HELP);
      return 2;
    }
    if (command !== 'demo') throw new UsageError(`unknown command "${command}"`);
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    return await runDemo(demoOptions(values));
  } catch (err) {
    const usage =
      err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    if (!usage) throw err;
    process.stderr.write(`rpclb: ${(err as Error).message}\nRun 'rpclb help' for usage.\n`);
    return 2;
  }
}

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Everything is closed by now; if some handle still holds the loop open, do not hang on it.
setTimeout(() => process.exit(code), 2_000).unref();
