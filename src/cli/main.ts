#!/usr/bin/env node
/**
 * The `rpclb` command.
 *
 * ```
 * rpclb demo [--nodes 4] [--duration 3] [--algorithm all] [--concurrency 32] [--slow-ms 15]
 *            [--metrics-port N] [--dashboard [--dashboard-port N]]
 * rpclb dashboard --seed HOST:PORT [--cookie C] [--host 127.0.0.1] [--port 0] [--token T]
 * rpclb members --seed HOST:PORT [--cookie C] [--json]
 * rpclb call Module.fn '[json args]' --seed HOST:PORT [--cookie C] [--node NAME] [--timeout ms]
 * rpclb help | --help
 * rpclb --version
 * ```
 *
 * Exit codes: 0 success, 1 failure, 2 bad usage, 130/143 interrupted by SIGINT/SIGTERM, 141 the
 * output was closed (`rpclb demo | head`).
 */
import { readFileSync } from 'node:fs';
import { HELP, parseCommandLine, UsageError } from './args.js';
import { runCall, runDashboard, runMembers } from './cluster.js';
import { runDemo } from './demo.js';

function version(): string {
  const pkg = new URL('../../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}

/** Runs the command line `argv` (without `node` and the script); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`rpclb: ${err.message} (see 'rpclb help')\n`);
    return 2;
  }
  switch (parsed.command) {
    case 'version':
      process.stdout.write(`${version()}\n`);
      return 0;
    case 'help':
      process.stdout.write(HELP);
      return 0;
    case 'usage':
      process.stderr.write(HELP);
      return 2;
    case 'demo':
      return await runDemo(parsed.options);
    case 'dashboard':
      return await runDashboard(parsed.options);
    case 'members':
      return await runMembers(parsed.options);
    case 'call':
      return await runCall(parsed.options);
  }
}

// A reader that goes away (`rpclb help | head -1`) is not an error worth a stack trace; the demo
// notices it through its own listener and stops.
const ignoreClosedPipe = (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
};
process.stdout.on('error', ignoreClosedPipe);
process.stderr.on('error', ignoreClosedPipe);

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Everything is closed by now; if some handle still holds the loop open, do not hang on it.
setTimeout(() => process.exit(code), 2_000).unref();
