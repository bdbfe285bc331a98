/**
 * The command lines of `rpclb dashboard`, `rpclb members`, `rpclb call` and `rpclb demo
 * --dashboard`: what each reads, and one clear line for each mistake.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCommandLine, UsageError } from '../../../src/cli/args.js';

function usageError(argv: string[]): string {
  try {
    parseCommandLine(argv);
  } catch (err) {
    assert.ok(err instanceof UsageError, `a UsageError, got ${String(err)}`);
    assert.doesNotMatch(err.message, /\n/, 'one line');
    return err.message;
  }
  assert.fail(`${argv.join(' ')} was accepted`);
}

const seed = ['--seed', '127.0.0.1:4370'];

test('members, call and dashboard read their flags', () => {
  assert.deepEqual(parseCommandLine(['members', ...seed, '--cookie', 'c', '--json']), {
    command: 'members',
    options: { seed: '127.0.0.1:4370', cookie: 'c', timeoutMs: 5_000, json: true },
  });
  assert.deepEqual(
    parseCommandLine(['call', 'My.Module.fn', '[1, {"a": "b"}]', ...seed, '--timeout', '900']),
    {
      command: 'call',
      options: {
        seed: '127.0.0.1:4370',
        cookie: undefined,
        timeoutMs: 900,
        module: 'My.Module',
        fn: 'fn',
        args: [1, { a: 'b' }],
        node: undefined,
      },
    },
  );
  const call = parseCommandLine(['call', 'M.f', ...seed, '--node', 'w2@127.0.0.1']);
  assert.deepEqual(call.command === 'call' && [call.options.args, call.options.node], [
    [],
    'w2@127.0.0.1',
  ]);
  assert.deepEqual(parseCommandLine(['dashboard', '--seed', '[::1]:4370', '--port', '8080']), {
    command: 'dashboard',
    options: {
      seed: '[::1]:4370',
      cookie: undefined,
      timeoutMs: 5_000,
      host: '127.0.0.1',
      port: 8080,
      token: undefined,
    },
  });
});

test('demo --dashboard: off by default, port 0 unless --dashboard-port says', () => {
  const port = (argv: string[]) => {
    const parsed = parseCommandLine(['demo', ...argv]);
    return parsed.command === 'demo' ? parsed.options.dashboardPort : 'not demo';
  };
  assert.equal(port([]), undefined);
  assert.equal(port(['--dashboard']), 0);
  assert.equal(port(['--dashboard', '--dashboard-port', '4380']), 4380);
  assert.equal(port(['--dashboard-port', '4380']), 4380);
  assert.match(usageError(['demo', '--dashboard-port', '70000']), /--dashboard-port must be/);
});

test('mistakes: one line naming what is wrong', () => {
  const cases: [string[], string | RegExp][] = [
    [['members'], '--seed HOST:PORT is required: a node of the cluster'],
    [['members', '--seed', 'localhost'], '--seed must be HOST:PORT, received "localhost"'],
    [['members', '--seed', 'h:99999'], '--seed must be HOST:PORT, received "h:99999"'],
    [['members', ...seed, '--port', '1'], 'unknown option --port for rpclb members'],
    [['members', ...seed, 'extra'], 'unexpected argument "extra"'],
    [['members', ...seed, '--timeout', '0'], /^--timeout must be an integer from 1 to 600,000/],
    [['members', ...seed, '--cookie', ''], '--cookie must not be empty'],
    [['call', ...seed], /^rpclb call needs Module\.function, e\.g\./],
    [['call', 'nodot', ...seed], /^rpclb call needs Module\.function.*received "nodot"$/],
    [['call', 'M.', ...seed], /received "M\."$/],
    [
      ['call', 'M.f', '[1,', ...seed],
      /^the arguments must be a JSON array, e\.g\. '\[1, "two"\]': /,
    ],
    [
      ['call', 'M.f', '{"a":1}', ...seed],
      /^the arguments must be a JSON array, e\.g\. '\[\{"a":1\}\]'/,
    ],
    [['call', 'M.f', '[]', 'more', ...seed], 'unexpected argument "more"'],
    [['call', 'M.f', ...seed, '--json'], 'unknown option --json for rpclb call'],
    [['dashboard', ...seed, '--token', 'short'], '--token must be at least 16 characters'],
    [['dashboard', ...seed, '--port', 'x'], /^--port must be an integer from 0 to 65,535/],
    [['demo', ...seed], 'unknown option --seed for rpclb demo'],
  ];
  for (const [argv, expected] of cases) {
    const message = usageError(argv);
    if (typeof expected === 'string') assert.equal(message, expected, argv.join(' '));
    else assert.match(message, expected, argv.join(' '));
  }
});
