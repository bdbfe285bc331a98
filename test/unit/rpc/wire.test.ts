import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  decodeValue,
  decodeValueAt,
  encodeValue,
  MESSAGE_CODEC,
  StreamCodec,
} from '../../../src/rpc/codec.js';
import { encodeNames, MAX_NAME_BYTES, NamesCache, NamesTable } from '../../../src/rpc/names.js';
import {
  baseType,
  decodeRequest,
  encodeCancel,
  encodeProbe,
  encodeProbeReply,
  encodeReply,
  encodeRequest,
  FrameFlag,
  frameBytes,
  frameId,
  isRpcFrame,
  type OutgoingFrame,
  readLoad,
  replyLayout,
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

const anyName = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 130 })
  .filter((s) => Buffer.byteLength(s) <= MAX_NAME_BYTES);

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

  test('large arguments behind a long header are sent next to it, not copied into it', () => {
    const args = [Buffer.alloc(100_000, 3)];
    const names = encodeNames('M'.repeat(200), 'f'.repeat(200)) as Buffer;
    const frame = encodeRequest(MESSAGE_CODEC, 7, 100, names, args);
    assert.ok('header' in frame);
    assert.deepEqual(decodeValue(frame.body), args);
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
      for (const body of [value, { big: Buffer.alloc(20_000) }]) {
        const payload = payloadOf(encodeReply(MESSAGE_CODEC, type, 0xfedcba98, body));
        assert.equal(payload[0], type);
        assert.equal(frameId(payload), 0xfedcba98);
        assert.deepEqual(decodeValue(payload.subarray(5)), body);
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

/** A request as protocol 1 assembles it: header, names, then the encoded arguments. */
function assembledRequest(id: number, timeoutMs: number, names: Buffer, args: unknown): Buffer {
  const body = encodeValue(args);
  const fixed = id > 0 ? 13 : 5;
  const head = Buffer.alloc(fixed + names.length);
  head.writeUInt32BE(fixed + names.length + body.length - 4, 0);
  head[4] = id > 0 ? MessageType.Call : MessageType.Cast;
  if (id > 0) {
    head.writeUInt32BE(id, 5);
    head.writeUInt32BE(timeoutMs, 9);
  }
  names.copy(head, fixed);
  return Buffer.concat([head, body]);
}

describe('wire: frames encoded in place (header room left in front of the value)', () => {
  test('a request is byte for byte the protocol-1 frame assembled around its encoded args', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 0xffffffff }),
        fc.nat({ max: 2 ** 31 - 1 }),
        anyName,
        anyName,
        fc.array(fc.jsonValue(), { maxLength: 4 }),
        (id, timeoutMs, module, fn, args) => {
          const names = encodeNames(module, fn) as Buffer;
          const inPlace = bytesOf(encodeRequest(MESSAGE_CODEC, id, timeoutMs, names, args));
          assert.deepEqual(inPlace, assembledRequest(id, timeoutMs, names, args));
        },
      ),
      { seed: 21, numRuns: 300 },
    );
  });

  test('a reply without sections is byte for byte the protocol-1 reply', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(MessageType.ReplyOk, MessageType.ReplyError),
        fc.nat({ max: 0xffffffff }),
        fc.jsonValue(),
        (type, id, value) => {
          const body = encodeValue(value);
          const expected = Buffer.alloc(9 + body.length);
          expected.writeUInt32BE(5 + body.length, 0);
          expected[4] = type;
          expected.writeUInt32BE(id, 5);
          body.copy(expected, 9);
          assert.deepEqual(bytesOf(encodeReply(MESSAGE_CODEC, type, id, value)), expected);
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
      const meta = round % 3 === 0 ? encodeValue({ round }) : undefined;
      sent.push({
        args,
        frame: bytesOf(encodeRequest(MESSAGE_CODEC, round + 1, 50, names, args, meta)),
      });
      const trailer = round % 2 === 0 ? encodeValue({ t: round }) : undefined;
      const load = round % 5 === 0 ? { inFlight: round, elu: 0.5 } : undefined;
      sent.push({
        args,
        frame: bytesOf(
          encodeReply(MESSAGE_CODEC, MessageType.ReplyOk, round + 1, args, load, trailer),
        ),
      });
    }
    for (const { args, frame } of sent) {
      const payload = frame.subarray(4);
      const at =
        baseType(payload[0] as number) === MessageType.Call
          ? decodeRequest(payload)?.argsOffset
          : replyLayout(payload)?.bodyAt;
      assert.deepEqual(decodeValueAt(payload, at as number), args);
    }
  });
});

describe('wire: protocol 2 sections (envelope, load) and probes', () => {
  test('a request with metadata flags it and carries it before the arguments', () => {
    for (const names of [encodeNames('M', 'f'), encodeNames('M'.repeat(200), 'f'.repeat(200))]) {
      for (const id of [0, 5]) {
        const meta = encodeValue({
          traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`,
          n: 1,
        });
        const payload = payloadOf(
          encodeRequest(MESSAGE_CODEC, id, 9, names as Buffer, ['a'], meta),
        );
        assert.ok(isRpcFrame(payload[0] as number));
        assert.equal((payload[0] as number) & FrameFlag.Envelope, FrameFlag.Envelope);
        const header = decodeRequest(payload);
        assert.ok(header);
        assert.equal(header.id, id);
        assert.deepEqual(decodeValueAt(payload, header.envelopeStart, header.envelopeEnd), {
          traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`,
          n: 1,
        });
        assert.deepEqual(decodeValueAt(payload, header.argsOffset), ['a']);
      }
    }
  });

  test('a request without metadata has no envelope', () => {
    const header = decodeRequest(
      payloadOf(encodeRequest(MESSAGE_CODEC, 1, 9, encodeNames('M', 'f') as Buffer, [])),
    );
    assert.equal(header?.envelopeEnd, 0);
  });

  test('a reply carries load and trailer in its sections, in any combination', () => {
    const trailer = encodeValue({ served: 'by me' });
    for (const load of [undefined, { inFlight: 70_000, elu: 0.3333 }]) {
      for (const t of [undefined, trailer]) {
        const payload = payloadOf(
          encodeReply(MESSAGE_CODEC, MessageType.ReplyOk, 77, { v: 1 }, load, t),
        );
        assert.equal(baseType(payload[0] as number), MessageType.ReplyOk);
        assert.equal(frameId(payload), 77);
        const layout = replyLayout(payload);
        assert.ok(layout);
        if (load)
          assert.deepEqual(readLoad(payload, layout.loadAt), { inFlight: 70_000, elu: 0.3333 });
        else assert.equal(layout.loadAt, -1);
        if (t)
          assert.deepEqual(decodeValueAt(payload, layout.envelopeStart, layout.envelopeEnd), {
            served: 'by me',
          });
        else assert.equal(layout.envelopeEnd, 0);
        assert.deepEqual(decodeValueAt(payload, layout.bodyAt), { v: 1 });
      }
    }
  });

  test('every truncation of a reply with sections has no layout or stops at its end', () => {
    const payload = payloadOf(
      encodeReply(
        MESSAGE_CODEC,
        MessageType.ReplyOk,
        1,
        'x',
        { inFlight: 1, elu: 1 },
        encodeValue({ a: 1 }),
      ),
    );
    const full = replyLayout(payload);
    assert.ok(full);
    for (let len = 1; len < full.bodyAt; len++) {
      const layout = replyLayout(payload.subarray(0, len));
      assert.ok(layout === null || layout.bodyAt <= len, `${len}`);
    }
  });

  test('a PROBE and its answer carry the id and the load', () => {
    const probe = encodeProbe(31).subarray(4);
    assert.equal(probe[0], MessageType.Probe);
    assert.equal(frameId(probe), 31);
    const answer = encodeProbeReply(31, { inFlight: 12, elu: 0.25 }).subarray(4);
    assert.equal(answer[0], MessageType.ProbeReply);
    assert.equal(frameId(answer), 31);
    assert.deepEqual(readLoad(answer, 5), { inFlight: 12, elu: 0.25 });
  });

  test('a per-connection codec decodes what its peer encoded, in order, across shapes and frames', () => {
    const sender = new StreamCodec();
    const receiver = new StreamCodec();
    const names = encodeNames('M', 'f') as Buffer;
    fc.assert(
      fc.property(fc.array(fc.array(fc.object(), { maxLength: 3 }), { maxLength: 20 }), (calls) => {
        for (const args of calls) {
          const payload = payloadOf(encodeRequest(sender, 3, 9, names, args));
          const header = decodeRequest(payload);
          assert.deepEqual(
            receiver.decode(payload, header?.argsOffset as number, payload.length),
            args,
          );
        }
      }),
      { seed: 24, numRuns: 100 },
    );
  });

  test('after a frame it encoded is dropped, a per-connection codec still decodes on the other side', () => {
    const sender = new StreamCodec();
    const receiver = new StreamCodec();
    const send = (value: unknown) => {
      const bytes = sender.encode(value, 0);
      return receiver.decode(bytes, 0, bytes.length);
    };
    assert.deepEqual(send({ a: 1, b: 2 }), { a: 1, b: 2 });
    sender.encode({ never: 1, sent: { deep: 2 } }, 0); // encoded, then not sent:
    sender.discardEncoder();
    assert.deepEqual(send({ never: 3, sent: { deep: 4 } }), { never: 3, sent: { deep: 4 } });
    assert.deepEqual(send({ a: 5, b: 6 }), { a: 5, b: 6 });
    assert.throws(() => sender.encode({ half: 1, f: () => 1 }, 0), TypeError);
    assert.deepEqual(send({ half: 2, f: 3 }), { half: 2, f: 3 });
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
