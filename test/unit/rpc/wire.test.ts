import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decodeValue, encodeValue } from '../../../src/rpc/codec.js';
import {
  decodeRequest,
  encodeCancel,
  encodeNames,
  encodeReply,
  encodeReplyValue,
  encodeRequest,
  encodeRequestValue,
  frameBytes,
  frameId,
  MAX_NAME_BYTES,
  NamesCache,
  NamesTable,
  type OutgoingFrame,
} from '../../../src/rpc/wire.js';
import { MessageType } from '../../../src/transport/message-types.js';
import { requestFrame } from '../../helpers/frames.js';

/** The bytes an outgoing frame puts on the wire. */
function bytesOf(frame: OutgoingFrame): Buffer {
  return frameBytes(frame);
}

/** What the receiving decoder hands up: the payload after the length prefix (checked here). */
function payloadOf(frame: OutgoingFrame): Buffer {
  const bytes = bytesOf(frame);
  assert.equal(bytes.readUInt32BE(0), bytes.length - 4, 'length prefix counts type and body');
  return bytes.subarray(4);
}

function request(id: number, timeoutMs: number, module: string, fn: string, args: unknown[]) {
  return requestFrame(id, timeoutMs, module, fn, args);
}

describe('wire: requests', () => {
  test('a CALL round-trips its id, timeout, names and arguments', () => {
    const payload = payloadOf(request(42, 5000, 'Math', 'add', [1, 2]));
    assert.equal(payload[0], MessageType.Call);
    const header = decodeRequest(payload);
    assert.ok(header);
    assert.equal(header.id, 42);
    assert.equal(header.timeoutMs, 5000);
    assert.equal(header.module, 'Math');
    assert.equal(header.fn, 'add');
    assert.deepEqual(decodeValue(payload.subarray(header.argsOffset)), [1, 2]);
  });

  test('a CAST (id 0) carries no id or timeout', () => {
    const payload = payloadOf(request(0, 0, 'Log', 'info', ['hi']));
    assert.equal(payload[0], MessageType.Cast);
    const header = decodeRequest(payload);
    assert.ok(header);
    assert.equal(header.id, 0);
    assert.equal(header.module, 'Log');
    assert.equal(header.fn, 'info');
    assert.deepEqual(decodeValue(payload.subarray(header.argsOffset)), ['hi']);
  });

  test('UTF-8 names (accents, CJK, emoji) and 255-byte names round-trip', () => {
    const names: [string, string][] = [
      ['Modül', 'größe'],
      ['模块', '函数'],
      ['🚀', '✨🌍'],
      ['m'.repeat(MAX_NAME_BYTES), 'f'.repeat(MAX_NAME_BYTES)],
      ['é'.repeat(MAX_NAME_BYTES >> 1), '界'.repeat(85)],
    ];
    for (const [module, fn] of names) {
      for (const id of [0, 1, 0xffffffff]) {
        const header = decodeRequest(payloadOf(request(id, 1, module, fn, [])));
        assert.ok(header, `${module}.${fn}`);
        assert.equal(header.module, module);
        assert.equal(header.fn, fn);
        assert.equal(header.id, id);
      }
    }
  });

  test('any names, ids, timeouts and arguments round-trip (property)', () => {
    const name = fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 40 })
      .filter((s) => Buffer.byteLength(s) <= MAX_NAME_BYTES);
    fc.assert(
      fc.property(
        fc.nat({ max: 0xffffffff }),
        fc.nat({ max: 2 ** 31 - 1 }),
        name,
        name,
        fc.array(fc.jsonValue(), { maxLength: 5 }),
        (id, timeoutMs, module, fn, args) => {
          const payload = payloadOf(request(id, timeoutMs, module, fn, args));
          const header = decodeRequest(payload);
          assert.ok(header);
          assert.equal(header.id, id);
          assert.equal(header.timeoutMs, id === 0 ? 0 : timeoutMs);
          assert.equal(header.module, module);
          assert.equal(header.fn, fn);
          assert.deepEqual(decodeValue(payload.subarray(header.argsOffset)), args);
        },
      ),
      { seed: 11, numRuns: 300 },
    );
  });

  test('large arguments are sent next to the header, not copied into it', () => {
    const args = encodeValue([Buffer.alloc(100_000, 3)]);
    const frame = encodeRequest(7, 100, encodeNames('M', 'f') as Buffer, args);
    assert.ok('header' in frame);
    assert.equal(frame.body, args);
    const header = decodeRequest(payloadOf(frame));
    assert.equal(header?.id, 7);
  });

  test('every truncation of a request header decodes to null, never throws', () => {
    for (const id of [0, 9]) {
      const payload = payloadOf(request(id, 10, 'Module', 'function', ['x']));
      const full = decodeRequest(payload);
      assert.ok(full);
      for (let len = 0; len < full.argsOffset; len++) {
        const header = decodeRequest(Buffer.from(payload.subarray(0, len)));
        // A CALL type byte with 0 bytes could not be told apart; anything shorter than the names is null.
        assert.equal(header, null, `${len} bytes of ${full.argsOffset}`);
      }
    }
  });

  test('random request payloads never throw', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(MessageType.Call, MessageType.Cast),
        fc.uint8Array({ maxLength: 300 }),
        (type, rest) => {
          const header = decodeRequest(Buffer.concat([Buffer.from([type]), rest]));
          if (header) assert.ok(header.argsOffset <= rest.length + 1);
        },
      ),
      { seed: 12, numRuns: 500 },
    );
  });
});

describe('wire: replies and cancel', () => {
  test('OK and ERROR replies carry their id and body', () => {
    for (const [type, value] of [
      [MessageType.ReplyOk, { result: [1, 'two'] }],
      [MessageType.ReplyError, { code: 'not_found', message: 'nope' }],
    ] as const) {
      for (const body of [encodeValue(value), encodeValue({ big: Buffer.alloc(20_000) })]) {
        const payload = payloadOf(encodeReply(type, 0xfedcba98, body));
        assert.equal(payload[0], type);
        assert.equal(frameId(payload), 0xfedcba98);
        assert.deepEqual(decodeValue(payload.subarray(5)), decodeValue(body));
      }
    }
  });

  test('CANCEL carries the id', () => {
    const bytes = encodeCancel(123456);
    assert.equal(bytes.readUInt32BE(0), bytes.length - 4);
    const payload = bytes.subarray(4);
    assert.equal(payload[0], MessageType.Cancel);
    assert.equal(frameId(payload), 123456);
  });

  test('frameId of a frame too short for an id is -1', () => {
    assert.equal(frameId(Buffer.from([MessageType.ReplyOk, 0, 0])), -1);
  });
});

const anyName = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 130 })
  .filter((s) => Buffer.byteLength(s) <= MAX_NAME_BYTES);

describe('wire: frames encoded in place (header room left in front of the value)', () => {
  test('a request encoded in place is byte for byte the one assembled around its encoded args', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 0xffffffff }),
        fc.nat({ max: 2 ** 31 - 1 }),
        anyName,
        anyName,
        fc.array(fc.jsonValue(), { maxLength: 4 }),
        (id, timeoutMs, module, fn, args) => {
          const names = encodeNames(module, fn) as Buffer;
          const inPlace = bytesOf(encodeRequestValue(id, timeoutMs, names, args));
          const assembled = bytesOf(encodeRequest(id, timeoutMs, names, encodeValue(args)));
          assert.deepEqual(inPlace, assembled);
        },
      ),
      { seed: 21, numRuns: 300 },
    );
  });

  test('a reply encoded in place is byte for byte the one assembled around its encoded value', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(MessageType.ReplyOk, MessageType.ReplyError),
        fc.nat({ max: 0xffffffff }),
        fc.jsonValue(),
        (type, id, value) => {
          assert.deepEqual(
            bytesOf(encodeReplyValue(type, id, value)),
            bytesOf(encodeReply(type, id, encodeValue(value))),
          );
        },
      ),
      { seed: 22, numRuns: 300 },
    );
  });

  test('frames stay intact while later values are encoded (the codec reuses its buffer)', () => {
    const sizes = [0, 10, 100, 3_000, 9_000, 70_000, 5, 200_000, 1];
    const sent = [];
    for (let round = 0; round < 40; round++) {
      const size = sizes[round % sizes.length] as number;
      const args = [round, 'x'.repeat(size), Buffer.alloc(size % 1_000, round)];
      const names = encodeNames('Mod', `fn${round}`) as Buffer;
      sent.push({ args, frame: bytesOf(encodeRequestValue(round + 1, 50, names, args)) });
      sent.push({ args, frame: bytesOf(encodeReplyValue(MessageType.ReplyOk, round + 1, args)) });
    }
    for (const { args, frame } of sent) {
      const payload = frame.subarray(4);
      const at = payload[0] === MessageType.Call ? decodeRequest(payload)?.argsOffset : 5;
      assert.deepEqual(decodeValue(payload.subarray(at)), args);
    }
  });
});

describe('wire: names', () => {
  test('encodeNames refuses what is not a valid name', () => {
    for (const bad of [
      '',
      'm'.repeat(MAX_NAME_BYTES + 1),
      '界'.repeat(86),
      5,
      null,
      undefined,
      {},
    ]) {
      assert.equal(encodeNames(bad, 'f'), null, String(bad));
      assert.equal(encodeNames('M', bad), null, String(bad));
    }
  });

  test('the client cache gives the same bytes as encoding afresh, and stays correct past its bound', () => {
    const cache = new NamesCache();
    const first = cache.get('Jobs', 'run');
    assert.equal(cache.get('Jobs', 'run'), first, 'a repeated pair is not encoded again');
    assert.equal(cache.get('Jobs', ''), null);
    assert.equal(cache.get(42, 'run'), null);
    for (let i = 0; i < 6_000; i++) {
      assert.deepEqual(cache.get(`M${i % 7}`, `f${i}`), encodeNames(`M${i % 7}`, `f${i}`));
    }
    assert.equal(cache.get('Jobs', 'run'), first);
  });

  test('the server table decodes every request as a fresh decode would, whatever the mix (property)', () => {
    // few distinct names, so the sequence repeats and collides in the table's slots
    const pool = fc.constantFrom('A', 'B', 'Bench', 'échec', '🚀', 'x'.repeat(255), 'AB', 'BA');
    fc.assert(
      fc.property(fc.array(fc.tuple(pool, pool), { minLength: 1, maxLength: 200 }), (pairs) => {
        const table = new NamesTable();
        for (const [module, fn] of pairs) {
          const payload = payloadOf(request(9, 1, module, fn, []));
          const header = decodeRequest(payload, table);
          assert.equal(header?.module, module);
          assert.equal(header?.fn, fn);
        }
      }),
      { seed: 23, numRuns: 200 },
    );
  });

  test('a flood of distinct names through the server table decodes each one right', () => {
    const table = new NamesTable();
    for (let i = 0; i < 20_000; i++) {
      const header = decodeRequest(payloadOf(request(1, 1, `M${i}`, `f${i % 97}`, [])), table);
      assert.equal(header?.module, `M${i}`);
      assert.equal(header?.fn, `f${i % 97}`);
    }
  });
});
