import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_MAX_SEND_QUEUE_BYTES, resolveNodeOptions } from '../../../src/options.js';

const base = { cookie: 'c', logLevel: 'silent' as const };

test('maxSendQueueBytes defaults to 16 MiB and accepts a positive integer', () => {
  assert.equal(DEFAULT_MAX_SEND_QUEUE_BYTES, 16 * 2 ** 20);
  assert.equal(resolveNodeOptions(base).maxSendQueueBytes, DEFAULT_MAX_SEND_QUEUE_BYTES);
  assert.equal(resolveNodeOptions({ ...base, maxSendQueueBytes: 1 }).maxSendQueueBytes, 1);
});

test('a bad maxSendQueueBytes is a TypeError naming the option', () => {
  for (const bad of [0, -1, 1.5, '1', Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => resolveNodeOptions({ ...base, maxSendQueueBytes: bad as number }), {
      name: 'TypeError',
      message: /option "maxSendQueueBytes" must be an integer from 1/,
    });
  }
});
