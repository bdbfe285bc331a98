/**
 * Option names are checked: a misspelt or unknown name is refused, naming the closest valid
 * one, instead of being ignored (`seed:` for `seeds:` used to start an isolated node).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveBalancerOptions } from '../../../src/balancer/options.js';
import { type NodeOptions, resolveNodeOptions } from '../../../src/options.js';

const quiet = { cookie: 'c', logLevel: 'silent' } as const;

describe('startNode options', () => {
  test('a misspelt name is refused, naming the closest valid one', () => {
    for (const [wrong, right] of [
      ['seed', 'seeds'],
      ['Seeds', 'seeds'],
      ['heartbeatTimeout', 'heartbeatTimeoutMs'],
      ['callTimeoutMS', 'callTimeoutMs'],
      ['cokie', 'cookie'],
      ['loglevel', 'logLevel'],
    ]) {
      assert.throws(
        () => resolveNodeOptions({ ...quiet, [wrong]: 1 } as NodeOptions),
        (err: Error) =>
          err instanceof TypeError &&
          err.message === `unknown option "${wrong}"; did you mean "${right}"?`,
        wrong,
      );
    }
  });

  test('a name like no valid one is refused with the list of valid names', () => {
    assert.throws(
      () => resolveNodeOptions({ ...quiet, frobnicate: true } as NodeOptions),
      (err: Error) =>
        err instanceof TypeError &&
        err.message.startsWith('unknown option "frobnicate"; valid options: ') &&
        err.message.includes('"seeds"') &&
        err.message.includes('"heartbeatTimeoutMs"'),
    );
  });

  test('every documented option is accepted', () => {
    // (The build checks that the list of names matches NodeOptions field for field.)
    const all: NodeOptions = {
      name: 'all@127.0.0.1',
      host: '127.0.0.1',
      port: 0,
      cookie: 'c',
      seeds: [],
      heartbeatTimeoutMs: 3_000,
      maxFrameBytes: 2 ** 20,
      tls: {},
      callTimeoutMs: 1_000,
      drainTimeoutMs: 1_000,
      handshakeTimeoutMs: 1_000,
      captureCallSites: false,
      exposeErrorStacks: true,
      logger: { debug() {}, info() {}, warn() {}, error() {} },
      logLevel: 'silent',
    };
    assert.doesNotThrow(() => resolveNodeOptions(all));
  });
});

describe('startLoadBalancer options', () => {
  test('a misspelt name is refused, naming the closest valid one', () => {
    assert.throws(
      () => resolveBalancerOptions({ name: 'lb', nodeMatchlist: 'all' } as never),
      /^TypeError: unknown option "nodeMatchlist"; did you mean "nodeMatchList"\?$/,
    );
    assert.throws(
      () => resolveBalancerOptions({ name: 'lb', selectionAlgorithim: class {} } as never),
      /unknown option "selectionAlgorithim"; did you mean "selectionAlgorithm"\?/,
    );
    assert.throws(
      () => resolveBalancerOptions({ name: 'lb', algorithmOptions: {} } as never),
      /unknown option "algorithmOptions"; did you mean "algorithmOpts"\?/,
    );
  });
});
