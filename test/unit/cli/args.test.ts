import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HELP, NUMERIC_FLAGS, parseCommandLine, UsageError } from '../../../src/cli/args.js';
import { DEMO_ALGORITHMS, DEMO_DEFAULTS } from '../../../src/cli/demo.js';

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

test('the defaults, and every flag read', () => {
  assert.deepEqual(parseCommandLine(['demo']), { command: 'demo', options: DEMO_DEFAULTS });
  const argv = ['demo', '--nodes', '5', '--duration=0.5', '--algorithm', 'roundrobin,HASHRING'];
  const more = ['--concurrency', '8', '--work-ms', '0', '--slow-ms', '7.5'];
  assert.deepEqual(parseCommandLine([...argv, ...more]), {
    command: 'demo',
    options: {
      nodes: 5,
      durationMs: 500,
      algorithms: ['RoundRobin', 'HashRing'],
      concurrency: 8,
      workMs: 0,
      slowMs: 7.5,
    },
  });
  assert.deepEqual(parseCommandLine(['help']), { command: 'help' });
  assert.deepEqual(parseCommandLine(['demo', '--help']), { command: 'help' });
  assert.deepEqual(parseCommandLine(['-v']), { command: 'version' });
  assert.deepEqual(parseCommandLine([]), { command: 'usage' });
});

test('a negative number gets the range check, not the parser message, in either spelling', () => {
  const expected = '--nodes must be an integer from 2 to 32, received "-3"';
  assert.equal(usageError(['demo', '--nodes', '-3']), expected);
  assert.equal(usageError(['demo', '--nodes=-3']), expected);
  assert.equal(
    usageError(['demo', '--duration', '-1']),
    '--duration must be a number from 0.1 to 600, received "-1"',
  );
  assert.equal(
    usageError(['demo', '--slow-ms', '-.5']),
    '--slow-ms must be a number from 0 to 10,000, received "-.5"',
  );
});

test('every numeric flag refuses values out of range, fractions where integers, and non-decimals', () => {
  const cases: [string, string][] = [
    ['nodes', '1'],
    ['nodes', '33'],
    ['nodes', '4.5'],
    ['nodes', '0x4'],
    ['duration', '0'],
    ['duration', '601'],
    ['duration', 'Infinity'],
    ['concurrency', '0'],
    ['concurrency', '1e3'],
    ['concurrency', '1025'],
    ['work-ms', '10001'],
    ['work-ms', ' '],
    ['slow-ms', 'NaN'],
    ['slow-ms', '-1'],
  ];
  for (const [flag, value] of cases) {
    const f = NUMERIC_FLAGS[flag];
    assert.ok(f);
    const message = usageError(['demo', `--${flag}`, value]);
    assert.ok(message.startsWith(`--${flag} must be `), message);
    assert.ok(message.includes(`from ${f.min} to ${f.max.toLocaleString('en-US')}`), message);
    assert.ok(message.endsWith(`received ${JSON.stringify(value)}`), message);
  }
});

test('the bounds themselves are accepted', () => {
  for (const [flag, f] of Object.entries(NUMERIC_FLAGS)) {
    for (const value of [f.min, f.max]) {
      const parsed = parseCommandLine(['demo', `--${flag}`, String(value)]);
      assert.equal(parsed.command, 'demo');
      if (parsed.command === 'demo') assert.equal(parsed.options[f.option], value * f.scale);
    }
  }
});

test('a missing value, an unknown option, command or algorithm: one line naming it', () => {
  assert.equal(usageError(['demo', '--nodes']), '--nodes needs a value: an integer from 2 to 32');
  assert.equal(
    usageError(['demo', '--nodes', '--duration', '3']),
    '--nodes needs a value: an integer from 2 to 32',
  );
  assert.equal(usageError(['demo', '--algorithm']), '--algorithm needs a value');
  assert.equal(usageError(['demo', '--node', '3']), 'unknown option --node for rpclb demo');
  assert.equal(usageError(['demo', '--nodez', '3']), 'unknown option --nodez');
  assert.equal(usageError(['frob']), 'unknown command "frob"');
  assert.equal(usageError(['demo', 'extra']), 'unexpected argument "extra"');
  assert.match(usageError(['demo', '--algorithm', 'Random,Nope']), /unknown algorithm "Nope"/);
});

test('the help shows each numeric flag with its range and default, within 100 columns', () => {
  for (const [flag, f] of Object.entries(NUMERIC_FLAGS)) {
    const at = HELP.indexOf(`--${flag} ${f.placeholder}`);
    assert.ok(at >= 0, `--${flag} in the help`);
    const entry = HELP.slice(at).split('\n').slice(0, 2).join('\n');
    const dflt = DEMO_DEFAULTS[f.option] / f.scale;
    assert.ok(entry.includes(`from ${f.min} to ${f.max.toLocaleString('en-US')}`), entry);
    assert.ok(entry.includes(`(default ${dflt})`), entry);
  }
  for (const algorithm of DEMO_ALGORITHMS) assert.ok(HELP.includes(algorithm), algorithm);
  for (const line of HELP.split('\n')) assert.ok(line.length <= 100, line);
});

test('--metrics-port: an integer from 0 to 65,535, absent by default', () => {
  const demo = (argv: string[]) => {
    const parsed = parseCommandLine(['demo', ...argv]);
    assert.equal(parsed.command, 'demo');
    return (parsed as { options: { metricsPort?: number } }).options.metricsPort;
  };
  assert.equal(demo([]), undefined);
  assert.equal(demo(['--metrics-port', '0']), 0);
  assert.equal(demo(['--metrics-port', '9464']), 9464);
  for (const bad of ['65536', '-1', '1.5', 'x', '']) {
    assert.throws(
      () => demo(['--metrics-port', bad]),
      /--metrics-port must be an integer from 0 to 65,535/,
    );
  }
});
