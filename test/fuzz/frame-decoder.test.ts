/**
 * The frame decoder fed hostile input: random byte streams, corrupt headers (zero, just over the
 * limit, 4 GiB) among valid frames, cut into random chunks. Whatever arrives, it must only ever
 * throw a FrameError, never hold more than one frame's worth of bytes, and agree with a trivially
 * correct whole-buffer reference parser on the frames and the error.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { FrameDecoder, FrameError } from '../../src/transport/frame-decoder.js';
import { splitAt } from '../helpers/frames.js';

const HEADER = 4;

interface Outcome {
  frames: string[];
  error: FrameError['reason'] | null;
  /** Bytes left over after the last complete frame (when there was no error). */
  leftover: number;
}

/** The reference: parses a whole buffer front to back, as simply as possible. */
function referenceParse(bytes: Buffer, max: number): Outcome {
  const frames: string[] = [];
  let offset = 0;
  while (bytes.length - offset >= HEADER) {
    const length = bytes.readUInt32BE(offset);
    if (length === 0) return { frames, error: 'empty_frame', leftover: 0 };
    if (length > max) return { frames, error: 'frame_too_large', leftover: 0 };
    if (bytes.length - offset - HEADER < length) break;
    frames.push(bytes.subarray(offset + HEADER, offset + HEADER + length).toString('hex'));
    offset += HEADER + length;
  }
  return { frames, error: null, leftover: bytes.length - offset };
}

/** The decoder under test, fed chunk by chunk; checks the buffering bound after every push. */
function streamParse(chunks: Buffer[], max: number): Outcome {
  const decoder = new FrameDecoder(max);
  const frames: string[] = [];
  for (const chunk of chunks) {
    try {
      decoder.push(chunk, (payload) => {
        assert.ok(payload.length >= 1 && payload.length <= max);
        frames.push(payload.toString('hex'));
        return true;
      });
    } catch (err) {
      assert.ok(err instanceof FrameError, `threw ${String(err)}, not a FrameError`);
      assert.ok(decoder.bufferedBytes <= HEADER, `held ${decoder.bufferedBytes} bytes after error`);
      return { frames, error: err.reason, leftover: 0 };
    }
    // At most one incomplete frame is held: its header and less than its payload.
    assert.ok(
      decoder.bufferedBytes < HEADER + max,
      `held ${decoder.bufferedBytes} bytes with a limit of ${max}`,
    );
  }
  return { frames, error: null, leftover: decoder.bufferedBytes };
}

function header(length: number): Buffer {
  const b = Buffer.alloc(HEADER);
  b.writeUInt32BE(length >>> 0, 0);
  return b;
}

/** One piece of a stream: a valid frame, a corrupt header, or raw noise. */
const segment = (max: number) =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .uint8Array({ minLength: 1, maxLength: max })
        .map((p) => Buffer.concat([header(p.length), p])),
    },
    { weight: 1, arbitrary: fc.constant(header(0)) },
    { weight: 1, arbitrary: fc.constant(header(max + 1)) },
    { weight: 1, arbitrary: fc.constant(header(0xffffffff)) },
    { weight: 1, arbitrary: fc.integer({ min: max + 1, max: 0xffffffff }).map(header) },
    {
      weight: 2,
      arbitrary: fc.uint8Array({ minLength: 1, maxLength: 40 }).map((b) => Buffer.from(b)),
    },
  );

const scenario = fc.integer({ min: 1, max: 300 }).chain((max) =>
  fc.record({
    max: fc.constant(max),
    bytes: fc.array(segment(max), { maxLength: 25 }).map((s) => Buffer.concat(s)),
    cuts: fc.array(fc.nat(), { maxLength: 40 }),
  }),
);

describe('FrameDecoder fuzz', () => {
  test('random byte streams: only FrameError, bounded buffering, same result as the reference', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2000 }),
        fc.uint8Array({ maxLength: 4000 }),
        fc.array(fc.nat(), { maxLength: 50 }),
        (max, raw, cuts) => {
          const bytes = Buffer.from(raw);
          assert.deepEqual(streamParse(splitAt(bytes, cuts), max), referenceParse(bytes, max));
        },
      ),
      { seed: 0x5eed, numRuns: 1500 },
    );
  });

  test('valid frames mixed with corrupt headers and noise, randomly chunked', () => {
    fc.assert(
      fc.property(scenario, ({ max, bytes, cuts }) => {
        assert.deepEqual(streamParse(splitAt(bytes, cuts), max), referenceParse(bytes, max));
      }),
      { seed: 0xf4a3, numRuns: 1500 },
    );
  });

  test('a byte-at-a-time stream of mixed input agrees with the reference', () => {
    fc.assert(
      fc.property(scenario, ({ max, bytes }) => {
        const single = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
        assert.deepEqual(streamParse(single, max), referenceParse(bytes, max));
      }),
      { seed: 0xb17e, numRuns: 300 },
    );
  });

  test('a 4 GiB header costs nothing however the body trickles in', () => {
    const decoder = new FrameDecoder(32 * 2 ** 20);
    decoder.push(Buffer.from([0xff, 0xff]), () => true);
    assert.throws(
      () =>
        decoder.push(Buffer.concat([Buffer.from([0xff, 0xff]), Buffer.alloc(1 << 20)]), () => true),
      (err: unknown) => err instanceof FrameError && err.reason === 'frame_too_large',
    );
    assert.ok(decoder.bufferedBytes <= HEADER);
  });
});
