import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decodeValue, encodeValue } from '../../../src/rpc/codec.js';

const roundTrip = (value: unknown) => decodeValue(encodeValue(value));

/** The contract's value table: each must come back deep-strict-equal (same types, same values). */
const exact: [string, unknown][] = [
  ['null', null],
  ['true', true],
  ['false', false],
  ['zero', 0],
  ['small int', 42],
  ['negative int', -7],
  ['int32 bounds', [2 ** 31 - 1, -(2 ** 31), 2 ** 32, -(2 ** 32)]],
  ['max safe integer', [Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]],
  ['floats', [0.1, -123.456, 1e300, 5e-324, 3.4e38, 1.5]],
  ['empty string', ''],
  ['unicode string', 'héllo wörld 你好 🌍 \u0000 \uffff'],
  ['long string', 'x'.repeat(100_000)],
  ['empty array', []],
  ['empty object', {}],
  ['object', { a: 1, b: 'two', c: [true, null], d: { e: {} } }],
  [
    'objects of one shape',
    [
      { a: 1, b: 2 },
      { a: 3, b: 4 },
      { b: 5, a: 6 },
    ],
  ],
  ['numeric keys', { 1: 'one', 10: 'ten' }],
  ['deep nesting', [[[[[[[[[[{ deep: true }]]]]]]]]]]],
  ['undefined', undefined],
  ['undefined in arrays', [undefined, null, undefined]],
  ['undefined properties', { a: undefined, b: 1 }],
  ['date', new Date(1_700_000_000_123)],
  ['date before 1970', new Date(-1e12)],
  ['far date', new Date(8.64e15)],
  ['empty map', new Map()],
  [
    'map with string keys',
    new Map([
      ['a', 1],
      ['b', 2],
    ]),
  ],
  [
    'map with non-string keys',
    new Map<unknown, unknown>([
      [1, 'one'],
      [true, 'yes'],
      [null, 0],
    ]),
  ],
  ['map with object keys', new Map([[{ k: 1 }, [1]]])],
  ['empty set', new Set()],
  ['set', new Set([1, 'a', null])],
  ['bigint zero', 0n],
  ['small bigint', 1n],
  ['negative bigint', -5n],
  ['int64 max', 2n ** 63n - 1n],
  ['int64 min', -(2n ** 63n)],
  ['uint64 max', 2n ** 64n - 1n],
  ['bigint > 64 bit', 2n ** 64n],
  ['huge bigint', 10n ** 40n + 7n],
  ['huge negative bigint', -(2n ** 200n) + 3n],
  ['uint8array', new Uint8Array([0, 1, 254, 255])],
  ['empty uint8array', new Uint8Array(0)],
  ['uint8array view into a larger buffer', new Uint8Array(new ArrayBuffer(16), 4, 4).fill(9)],
  ['large uint8array', new Uint8Array(70_000).fill(7)],
  [
    'everything nested',
    {
      when: new Date(5),
      index: new Map<unknown, unknown>([
        ['set', new Set([new Date(6), 7n, 'x'])],
        [8n, { bytes: new Uint8Array([1, 2]), nothing: undefined }],
        [new Date(9), [new Map([[1, new Set([2 ** 70])]])]],
      ]),
      list: [undefined, 2n ** 65n, -(2n ** 65n), new Set([new Map()]), [new Uint8Array([3])]],
      nested: { deeper: { deepest: new Map([['k', [null, false, '', 0]]]) } },
    },
  ],
];

describe('codec', () => {
  for (const [name, value] of exact) {
    test(`round-trips ${name}`, () => {
      assert.deepStrictEqual(roundTrip(value), value);
    });
  }

  test('a map stays a map and an object stays an object', () => {
    const out = roundTrip({ obj: { a: 1 }, map: new Map([['a', 1]]) }) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(out.obj), Object.prototype);
    assert.ok(out.map instanceof Map);
  });

  test('a Buffer comes back with the same bytes (as a Buffer or a Uint8Array)', () => {
    for (const buf of [Buffer.from('pooled'), Buffer.alloc(0), Buffer.alloc(20_000, 1)]) {
      const out = roundTrip({ buf }) as { buf: Uint8Array };
      assert.ok(out.buf instanceof Uint8Array);
      assert.deepEqual(Buffer.from(out.buf), buf);
    }
  });

  test('a number stays a number and a bigint stays a bigint', () => {
    for (const n of [1, 2 ** 40, 2 ** 53 - 1, -(2 ** 60)])
      assert.equal(typeof roundTrip(n), 'number');
    for (const n of [1n, 2n ** 40n, 2n ** 70n]) assert.equal(typeof roundTrip(n), 'bigint');
  });

  test('every message decodes on its own (no state carried between messages)', () => {
    const shapes = [
      { x: 1, y: 2 },
      { x: 'a', y: 'b', z: 'c' },
    ];
    const encoded = shapes.map((s) => encodeValue(s));
    // Decode in reverse order and twice: records defined by one message do not leak into another.
    assert.deepStrictEqual(decodeValue(encoded[1] as Buffer), shapes[1]);
    assert.deepStrictEqual(decodeValue(encoded[0] as Buffer), shapes[0]);
    assert.deepStrictEqual(decodeValue(encoded[1] as Buffer), shapes[1]);
  });

  test('an encoded message stays valid after later encodes', () => {
    const first = encodeValue([Buffer.alloc(10_000, 1)]);
    const copy = Buffer.from(first);
    for (let i = 0; i < 50; i++) encodeValue([Buffer.alloc(5_000, i)]);
    assert.deepEqual(first, copy);
  });

  const unencodable: [string, unknown][] = [
    ['a function', () => 1],
    ['a nested function', { a: [{ b: () => 1 }] }],
    ['a method', { m() {} }],
    ['a symbol', Symbol('s')],
    ['a nested symbol', [1, { s: Symbol.iterator }]],
    ['a function in a map', new Map([['f', () => 1]])],
    ['a symbol in a set', new Set([Symbol('x')])],
  ];
  for (const [name, value] of unencodable) {
    test(`refuses ${name} with a TypeError`, () => {
      assert.throws(() => encodeValue(value), TypeError);
    });
  }

  test('malformed input throws instead of returning garbage', () => {
    for (const bytes of [
      Buffer.from([0x92, 0x01]),
      Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]),
      Buffer.concat([encodeValue([1, 2]), Buffer.from([0x01])]),
    ]) {
      assert.throws(() => decodeValue(bytes));
    }
  });

  test('random bytes decode or throw, never hang (seeded)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeValue(bytes);
        } catch {
          // a throw is fine; the server turns it into bad_request
        }
      }),
      { seed: 99, numRuns: 2000 },
    );
  });

  test('arbitrary JSON values round-trip (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        // -0 has no MessagePack integer form; JSON.stringify prints it as 0 too.
        const expected = JSON.parse(JSON.stringify(value));
        assert.deepStrictEqual(roundTrip(expected), expected);
      }),
      { seed: 5, numRuns: 500 },
    );
  });
});
