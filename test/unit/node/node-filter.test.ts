/**
 * Node filters and excluded node patterns: substring and RegExp matching, a node carrying an
 * excluded pattern (in its short name) matched only by a filter naming the pattern, and
 * `nodeMatchList` following the same rule.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { matchesNode } from '../../../src/balancer/options.js';
import { matchesFilter, randomMatchingNode } from '../../../src/node-filter.js';
import { resolveNodeOptions } from '../../../src/options.js';

describe('matchesFilter', () => {
  test('a string matches as a substring, a RegExp by test', () => {
    assert.equal(matchesFilter('orders1@10.0.0.1', 'orders'), true);
    assert.equal(matchesFilter('billing@10.0.0.1', 'orders'), false);
    assert.equal(matchesFilter('orders1@10.0.0.1', /^orders\d@/), true);
    assert.equal(matchesFilter('orders@10.0.0.1', /^orders\d@/), false);
  });

  test('a global RegExp gives the same answer every time (its lastIndex is reset)', () => {
    const filter = /orders/g;
    for (let i = 0; i < 4; i++) assert.equal(matchesFilter('orders@h', filter), true);
  });

  test('an excluded pattern keeps a node out unless the filter names the pattern', () => {
    const patterns = ['_qa'];
    assert.equal(matchesFilter('orders_qa@h', 'orders', patterns), false);
    assert.equal(matchesFilter('orders@h', 'orders', patterns), true);
    assert.equal(matchesFilter('orders_qa@h', 'orders_qa', patterns), true);
    assert.equal(matchesFilter('orders_qa@h', /orders_qa/, patterns), true);
    assert.equal(matchesFilter('orders_qa@h', /orders/, patterns), false);
  });

  test('only the short name (before @) carries a pattern', () => {
    assert.equal(matchesFilter('orders@host_qa', 'orders', ['_qa']), true);
  });
});

describe('randomMatchingNode', () => {
  test('picks among the matching candidates only, each of them in turn', () => {
    const candidates = ['a1@h', 'a2@h', 'b1@h'];
    const picks = [0, 0.5, 0.99].map((r) => randomMatchingNode(candidates, 'a', [], () => r));
    assert.deepEqual(picks, ['a1@h', 'a2@h', 'a2@h']);
    assert.equal(randomMatchingNode(candidates, 'zzz', [], Math.random), undefined);
  });
});

describe('nodeMatchList and excludedNodePatterns', () => {
  test("a node carrying an excluded pattern joins only a list naming it ('all' still joins)", () => {
    assert.equal(matchesNode(['orders'], 'orders_qa@h', ['_qa']), false);
    assert.equal(matchesNode(['orders_qa'], 'orders_qa@h', ['_qa']), true);
    assert.equal(matchesNode(['orders'], 'orders_qa@h'), true);
    assert.equal(matchesNode('all', 'orders_qa@h', ['_qa']), true);
  });

  test('the node option is validated', () => {
    assert.deepEqual(resolveNodeOptions({ cookie: 'c' }).excludedNodePatterns, []);
    assert.deepEqual(
      resolveNodeOptions({ cookie: 'c', excludedNodePatterns: ['_qa'] }).excludedNodePatterns,
      ['_qa'],
    );
    assert.throws(
      () => resolveNodeOptions({ cookie: 'c', excludedNodePatterns: [''] }),
      /excludedNodePatterns/,
    );
    assert.throws(
      () => resolveNodeOptions({ cookie: 'c', excludedNodePatterns: '_qa' as never }),
      /excludedNodePatterns/,
    );
  });
});
