/**
 * Argument validation through the Standard Schema interface, with hand-written schemas (the
 * shape zod, valibot and arktype implement): invalid arguments fail with `bad_request` listing
 * the issues and the handler does not run; valid ones reach the handler as the schema's output;
 * both forms (one schema for the argument list, one per argument), sync and async schemas; bad
 * schemas are refused at expose time.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type ArgumentIssue,
  RpcError,
  type RpcNode,
  type StandardSchemaV1,
  startNode,
} from '../../src/index.js';

const quiet = { logLevel: 'silent' as const, cookie: 'schemas' };

/** A Standard Schema from a check returning an error message (or nothing when valid). */
function schema<T>(
  check: (value: unknown) => string | undefined,
  options: { async?: boolean; map?: (value: unknown) => T } = {},
): StandardSchemaV1<unknown, T> {
  const validate = (value: unknown) => {
    const message = check(value);
    const result =
      message === undefined
        ? { value: (options.map ? options.map(value) : value) as T }
        : { issues: [{ message }] };
    return options.async ? Promise.resolve(result) : result;
  };
  return { '~standard': { version: 1, vendor: 'test', validate } };
}

const num = schema<number>((v) => (typeof v === 'number' ? undefined : 'expected a number'));
const str = schema<string>((v) => (typeof v === 'string' ? undefined : 'expected a string'));
/** Accepts numbers and numeric strings; hands the handler a number. */
const coerced = schema<number>((v) => (Number.isFinite(Number(v)) ? undefined : 'not numeric'), {
  map: Number,
});
const slowNum = schema<number>((v) => (typeof v === 'number' ? undefined : 'expected a number'), {
  async: true,
});
/** A tuple schema with nested paths in its issues, as zod reports them. */
const point: StandardSchemaV1<unknown, [{ x: number; y: number }]> = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate: (value) => {
      const [p] = value as [Record<string, unknown>];
      const issues = ['x', 'y']
        .filter((k) => typeof p?.[k] !== 'number')
        .map((k) => ({ message: 'expected a number', path: [0, { key: k }] }));
      return issues.length > 0 ? { issues } : { value: value as [{ x: number; y: number }] };
    },
  },
};

describe('argument schemas', () => {
  let a: RpcNode;
  let b: RpcNode;
  let ran = 0;

  const Checked = {
    add: (x: number, y: number) => {
      ran++;
      return x + y;
    },
    greet: (name: string, times?: number) => {
      ran++;
      return name.repeat(times ?? 1);
    },
    double: (n: number) => {
      ran++;
      return n * 2;
    },
    slow: (n: number) => {
      ran++;
      return n;
    },
    norm: (p: { x: number; y: number }) => {
      ran++;
      return Math.hypot(p.x, p.y);
    },
    free: (v: unknown) => v,
  };

  before(async () => {
    a = await startNode({ name: 'sc-a@127.0.0.1', ...quiet });
    b = await startNode({ name: 'sc-b@127.0.0.1', ...quiet });
    b.expose('Checked', Checked, {
      schemas: {
        add: [num, num],
        greet: [
          str,
          schema<number | undefined>((v) =>
            v === undefined || typeof v === 'number' ? undefined : 'expected a number',
          ),
        ],
        double: [coerced],
        slow: [slowNum],
        norm: point,
      },
    });
    await a.connect(b.address);
  });
  after(async () => {
    await Promise.all([a.destroy(), b.destroy()]);
  });

  async function refused(fn: string, args: unknown[]): Promise<RpcError> {
    const before = ran;
    const err = await a.call(b.name, 'Checked', fn, args).then(
      () => assert.fail(`${fn} should have been refused`),
      (e: unknown) => e as RpcError,
    );
    assert.equal(ran, before, 'the handler did not run');
    assert.ok(err instanceof RpcError);
    assert.equal(err.code, 'bad_request');
    assert.equal(err.details.reason, 'invalid_arguments');
    assert.equal(err.notExecuted, true);
    return err;
  }

  test('valid arguments reach the handler', async () => {
    assert.equal(await a.call(b.name, 'Checked', 'add', [1, 2]), 3);
    assert.equal(await a.call(b.name, 'Checked', 'greet', ['ab']), 'ab');
    assert.equal(await a.call(b.name, 'Checked', 'greet', ['ab', 2]), 'abab');
    assert.equal(await a.call(b.name, 'Checked', 'norm', [{ x: 3, y: 4 }]), 5);
    assert.equal(await a.call(b.name, 'Checked', 'free', ['anything']), 'anything');
  });

  test('invalid arguments fail with bad_request listing each issue and where', async () => {
    const err = await refused('add', ['1', null]);
    assert.deepEqual(err.details.issues as ArgumentIssue[], [
      { message: 'expected a number', path: [0] },
      { message: 'expected a number', path: [1] },
    ]);
    assert.match(
      err.message,
      /invalid arguments for Checked\.add: 0: expected a number; 1: expected a number/,
    );
    assert.equal(err.details.node, b.name);
    assert.equal(err.details.function, 'add');
  });

  test('a tuple schema: its own paths, segments with keys included', async () => {
    const err = await refused('norm', [{ x: 1, y: 'no' }]);
    assert.deepEqual(err.details.issues, [{ message: 'expected a number', path: [0, 'y'] }]);
  });

  test('per-argument schemas refuse extra arguments', async () => {
    const err = await refused('add', [1, 2, 3]);
    assert.match(err.message, /expected at most 2 arguments, received 3/);
  });

  test("the handler gets the schema's output (a coercing schema)", async () => {
    assert.equal(await a.call(b.name, 'Checked', 'double', ['21']), 42);
    await refused('double', ['abc']);
  });

  test('async schemas: checked before the handler too', async () => {
    assert.equal(await a.call(b.name, 'Checked', 'slow', [7]), 7);
    await refused('slow', ['7']);
  });

  test('a local call is checked the same way', async () => {
    await assert.rejects(b.call(b.name, 'Checked', 'add', ['x', 1]), { code: 'bad_request' });
  });

  test('bad schemas and options are refused at expose time', () => {
    const handlers = { f: (n: number) => n };
    assert.throws(
      () => b.expose('Bad', handlers, { schemas: { f: { parse: () => 1 } as never } }),
      /must be a Standard Schema/,
    );
    assert.throws(
      () => b.expose('Bad', handlers, { schemas: { g: [num] } as never }),
      /schemas\.g names no function/,
    );
    assert.throws(() => b.expose('Bad', handlers, { schema: {} } as never), /schema/);
  });
});
