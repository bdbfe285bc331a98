/**
 * The `rpclb` command line: what it accepts, the help text, and the parsing. Pure (no I/O), so
 * every usage error can be tested without starting a process.
 *
 * The numeric flags are described once, in {@link NUMERIC_FLAGS}: the same entry checks a value
 * and writes its line of `--help`, so the ranges in the help are the ones enforced.
 */
import { parseArgs } from 'node:util';
import {
  CLUSTER_FLAGS,
  type ClusterCommand,
  type ClusterCommandName,
  parseClusterCommand,
  UsageError,
} from './cluster-args.js';
import { DEMO_ALGORITHMS, DEMO_DEFAULTS, type DemoAlgorithm, type DemoOptions } from './demo.js';

export { UsageError };

/** One numeric flag of `rpclb demo`. */
interface NumericFlag {
  /** The key of {@link DemoOptions} it sets. */
  option: 'nodes' | 'durationMs' | 'concurrency' | 'workMs' | 'slowMs';
  /** What the value is in the help, e.g. `<n>`. */
  placeholder: string;
  min: number;
  max: number;
  integer: boolean;
  /** Flag value = option value / scale (`--duration` is in seconds, the option in ms). */
  scale: number;
  help: string;
}

/** The numeric flags of `rpclb demo`, in help order. */
export const NUMERIC_FLAGS: Readonly<Record<string, NumericFlag>> = Object.freeze({
  nodes: {
    option: 'nodes',
    placeholder: '<n>',
    min: 2,
    max: 32,
    integer: true,
    scale: 1,
    help: 'worker processes to start; the last one is slow',
  },
  duration: {
    option: 'durationMs',
    placeholder: '<s>',
    min: 0.1,
    max: 600,
    integer: false,
    scale: 1000,
    help: 'seconds of load per algorithm',
  },
  concurrency: {
    option: 'concurrency',
    placeholder: '<n>',
    min: 1,
    max: 1024,
    integer: true,
    scale: 1,
    help: 'calls kept in flight',
  },
  'work-ms': {
    option: 'workMs',
    placeholder: '<ms>',
    min: 0,
    max: 10_000,
    integer: false,
    scale: 1,
    help: 'time a normal worker spends per call',
  },
  'slow-ms': {
    option: 'slowMs',
    placeholder: '<ms>',
    min: 0,
    max: 10_000,
    integer: false,
    scale: 1,
    help: 'extra time the slow worker spends per call',
  },
});

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
  algorithm: { type: 'string' },
  'metrics-port': { type: 'string' },
  dashboard: { type: 'boolean' },
  'dashboard-port': { type: 'string' },
  seed: { type: 'string' },
  cookie: { type: 'string' },
  timeout: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  token: { type: 'string' },
  node: { type: 'string' },
  json: { type: 'boolean' },
  ...Object.fromEntries(Object.keys(NUMERIC_FLAGS).map((flag) => [flag, { type: 'string' }])),
} as const;

const range = (f: NumericFlag) =>
  `${f.integer ? 'an integer' : 'a number'} from ${f.min} to ${f.max.toLocaleString('en-US')}`;

function optionLine(flagAndValue: string, text: string, detail: string): string {
  return `  ${flagAndValue.padEnd(22)} ${text}\n  ${''.padEnd(22)} ${detail}\n`;
}

const metricsPortHelp = optionLine(
  '--metrics-port <port>',
  'serve Prometheus metrics on 127.0.0.1:<port>/metrics while running',
  'an integer from 0 (any free port) to 65,535; needs prom-client',
);
const dashboardHelp = optionLine(
  '--dashboard',
  'serve the live web view of the demo cluster on 127.0.0.1 while running',
  '--dashboard-port <port>: its port, 0 (any free port, the default) to 65,535',
);

const CLUSTER_HELP = `
Cluster commands (they start a node on 127.0.0.1 that joins the cluster through the seed):
  --seed <host:port>     a node of the cluster (required)
  --cookie <cookie>      the cluster's cookie (default: RPCLB_COOKIE, else the cookie file;
                         prefer RPCLB_COOKIE: a command line is visible to other users)
  --timeout <ms>         wait for the seed and for a reply (default 5000)
  dashboard: --host <address> (default 127.0.0.1; elsewhere a token is required),
             --port <port> (default 0: any free port), --token <token> (default: generated
             when not on loopback); prints the URL and serves until Ctrl-C
  members:   --json (the seed's snapshot as JSON)
  call:      rpclb call Module.function '[json, args]' [--node <name>] (default: the seed);
             prints the result as JSON
`;

function helpText(): string {
  const numeric = Object.entries(NUMERIC_FLAGS).map(([flag, f]) => {
    const dflt = DEMO_DEFAULTS[f.option] / f.scale;
    return optionLine(`--${flag} ${f.placeholder}`, f.help, `${range(f)} (default ${dflt})`);
  });
  const algorithm = optionLine(
    '--algorithm <names>',
    "'all' (the default) or a comma-separated list, case-insensitive, of",
    // Two lines, to stay within 100 columns.
    `${DEMO_ALGORITHMS.slice(0, 4).join(', ')},\n${''.padEnd(25)}${DEMO_ALGORITHMS.slice(4).join(', ')}`,
  );
  return `rpclb: call functions on other Node.js processes, with a pluggable load balancer

Usage:
  rpclb demo [options]   start a local cluster and compare the selection algorithms
  rpclb dashboard --seed <host:port> [options]   a live web view of a running cluster
  rpclb members --seed <host:port> [--json]      who is in the cluster, in which groups
  rpclb call Module.fn '[args]' --seed <host:port>   call an exposed function
  rpclb help             show this help (also: rpclb --help, rpclb demo --help)
  rpclb --version        print the version

Demo options:
${[numeric[0], numeric[1], algorithm, ...numeric.slice(2), metricsPortHelp, dashboardHelp].join('')}
The demo forks worker processes on 127.0.0.1 with a cookie made for the run, joins them as a
node that only selects, and drives load through each algorithm in turn. It stops every
process it started when it ends, fails, or is interrupted (Ctrl-C), and ends quietly when its
output is closed (rpclb demo | head).

${CLUSTER_HELP}
Exit codes: 0 done, 1 failed (unreachable seed, a failed call...), 2 bad usage, 130 SIGINT,
143 SIGTERM, 141 output closed.

Docs: README.md and docs/ in the repository.
`;
}

/** The text of `rpclb help`. */
export const HELP = helpText();

/** What the command line asks for. */
export type Command =
  | { command: 'help' }
  | { command: 'version' }
  | { command: 'usage' }
  | { command: 'demo'; options: DemoOptions }
  | ClusterCommand;

/** The flags of `rpclb demo` (besides --help). */
const DEMO_FLAGS = new Set([
  'algorithm',
  'metrics-port',
  'dashboard',
  'dashboard-port',
  ...Object.keys(NUMERIC_FLAGS),
]);

/** A plain decimal number: no hex, no exponent, no `Infinity`, no blank. */
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;
/** What a negative number looks like, so `--nodes -3` reads -3 as the value (see below). */
const NEGATIVE = /^-(\d|\.\d)/;

function numberFlag(flag: string, raw: string | undefined): number {
  const f = NUMERIC_FLAGS[flag] as NumericFlag;
  if (raw === undefined) return DEMO_DEFAULTS[f.option];
  const value = Number(raw);
  const ok = DECIMAL.test(raw) && (!f.integer || Number.isInteger(value));
  if (!ok || value < f.min || value > f.max) {
    throw new UsageError(`--${flag} must be ${range(f)}, received ${JSON.stringify(raw)}`);
  }
  return value * f.scale;
}

function algorithmsFlag(raw: string | undefined): readonly DemoAlgorithm[] {
  if (raw === undefined || raw.toLowerCase() === 'all') return DEMO_ALGORITHMS;
  return raw.split(',').map((part) => {
    const found = DEMO_ALGORITHMS.find((a) => a.toLowerCase() === part.trim().toLowerCase());
    if (!found) {
      throw new UsageError(
        `--algorithm: unknown algorithm ${JSON.stringify(part.trim())}; expected all or ${DEMO_ALGORITHMS.join(', ')}`,
      );
    }
    return found;
  });
}

/**
 * `parseArgs` refuses a value that starts with a dash (`--nodes -3` is "ambiguous"), which would
 * hide the range check behind the parser's own message: glue a negative number to its flag.
 */
function glueNegativeValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const next = argv[i + 1];
    const flag = arg.startsWith('--') ? arg.slice(2) : '';
    if (OPTIONS[flag as keyof typeof OPTIONS]?.type === 'string' && next && NEGATIVE.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

function parse(argv: readonly string[]) {
  try {
    return parseArgs({
      args: glueNegativeValues(argv),
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    // "argument missing" or "ambiguous" (`--nodes --duration 3`): say what the flag needs.
    const flag = /'--([\w-]+)/.exec((err as Error).message)?.[1] ?? '';
    const f = NUMERIC_FLAGS[flag];
    if ((err as { code?: string }).code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      throw new UsageError(`--${flag} needs a value${f ? `: ${range(f)}` : ''}`);
    }
    const option = /'(-[^']*)'/.exec((err as Error).message)?.[1];
    if ((err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) {
      throw new UsageError(`unknown option ${option}`);
    }
    // The parser's other messages may span lines; a usage error is one.
    throw new UsageError((err as Error).message.replace(/\s*\n\s*/g, ' '));
  }
}

/**
 * Parses the command line `argv` (without `node` and the script).
 * @throws {UsageError} naming the flag or argument at fault.
 */
export function parseCommandLine(argv: readonly string[]): Command {
  const { values, positionals } = parse(argv);
  const [command, ...extra] = positionals;
  if (values.version) return { command: 'version' };
  if (values.help || command === 'help') return { command: 'help' };
  if (command === undefined) return { command: 'usage' };
  if (Object.hasOwn(CLUSTER_FLAGS, command)) {
    return parseClusterCommand(command as ClusterCommandName, extra, values);
  }
  if (command !== 'demo') throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
  for (const [name, value] of Object.entries(values)) {
    if (value !== undefined && name !== 'help' && !DEMO_FLAGS.has(name)) {
      throw new UsageError(`unknown option --${name} for rpclb demo`);
    }
  }
  const flags = values as Record<string, string | undefined>;
  const options: DemoOptions = { ...DEMO_DEFAULTS, algorithms: algorithmsFlag(flags.algorithm) };
  for (const flag of Object.keys(NUMERIC_FLAGS)) {
    const f = NUMERIC_FLAGS[flag] as NumericFlag;
    options[f.option] = numberFlag(flag, flags[flag]);
  }
  const port = flags['metrics-port'];
  if (port !== undefined) {
    if (!/^\d+$/.test(port) || Number(port) > 65_535) {
      throw new UsageError(
        `--metrics-port must be an integer from 0 to 65,535, received ${JSON.stringify(port)}`,
      );
    }
    options.metricsPort = Number(port);
  }
  const dashboardPort = flags['dashboard-port'];
  if (dashboardPort !== undefined || values.dashboard) {
    if (
      dashboardPort !== undefined &&
      (!/^\d+$/.test(dashboardPort) || Number(dashboardPort) > 65_535)
    ) {
      throw new UsageError(
        `--dashboard-port must be an integer from 0 to 65,535, received ${JSON.stringify(dashboardPort)}`,
      );
    }
    options.dashboardPort = Number(dashboardPort ?? 0);
  }
  return { command: 'demo', options };
}
