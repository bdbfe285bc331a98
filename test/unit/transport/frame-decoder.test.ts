import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { FrameDecoder, FrameError } from '../../../src/transport/frame-decoder.js';
import { splitAt } from '../../helpers/frames.js';
import { seededRandom } from '../../helpers/random.js';

/** `[u32 length][payload]` for each payload, concatenated. */
function encodeFrames(payloads: Uint8Array[]): Buffer {
  return Buffer.concat(
    payloads.map((p) => {
      const header = Buffer.alloc(4);
      header.writeUInt32BE(p.length, 0);
      return Buffer.concat([header, p]);
    }),
  );
}

/** Feeds `chunks` and returns copies of the decoded payloads (views may alias the input). */
function decodeChunks(chunks: Buffer[], maxFrameBytes = 1 << 20): Buffer[] {
  const decoder = new FrameDecoder(maxFrameBytes);
  const out: Buffer[] = [];
  for (const chunk of chunks) {
    decoder.push(chunk, (payload) => {
      out.push(Buffer.from(payload));
      return true;
    });
  }
  assert.equal(decoder.bufferedBytes, 0, 'a complete stream leaves nothing buffered');
  return out;
}

function samplePayloads(random: () => number, count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => {
    // Mostly small frames, some spanning typical socket chunk sizes.
    const size = 1 + Math.floor(random() * (i % 7 === 0 ? 70_000 : 300));
    const payload = Buffer.allocUnsafe(size);
    for (let j = 0; j < size; j++) payload[j] = Math.floor(random() * 256);
    return payload;
  });
}

describe('FrameDecoder', () => {
  const payloads = samplePayloads(seededRandom(42), 40);
  const stream = encodeFrames(payloads);

  test('decodes a whole buffer of frames in order', () => {
    assert.deepEqual(decodeChunks([stream]), payloads);
  });

  test('byte-by-byte input yields the same frames as whole-buffer input', () => {
    const small = encodeFrames(payloads.filter((p) => p.length < 1000));
    const bytes = Array.from({ length: small.length }, (_, i) => small.subarray(i, i + 1));
    assert.deepEqual(decodeChunks(bytes), decodeChunks([small]));
  });

  test('random chunking yields the same frames as whole-buffer input (seeded)', () => {
    const whole = decodeChunks([stream]);
    fc.assert(
      fc.property(fc.array(fc.nat({ max: stream.length }), { maxLength: 60 }), (cuts) => {
        assert.deepEqual(decodeChunks(splitAt(stream, cuts)), whole);
      }),
      { seed: 20240601, numRuns: 200 },
    );
  });

  test('arbitrary frames survive arbitrary chunking', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 64 }), { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (frames, cuts) => {
          const bytes = encodeFrames(frames);
          const decoded = decodeChunks(splitAt(bytes, cuts));
          assert.deepEqual(
            decoded.map((b) => [...b]),
            frames.map((f) => [...f]),
          );
        },
      ),
      { seed: 7, numRuns: 300 },
    );
  });

  test('frames wholly inside one chunk are views of it (no copy)', () => {
    const chunk = encodeFrames([Buffer.from('abc'), Buffer.from('de')]);
    const decoder = new FrameDecoder(1024);
    const seen: Buffer[] = [];
    decoder.push(chunk, (p) => {
      seen.push(p);
      return true;
    });
    assert.equal(seen.length, 2);
    for (const p of seen) assert.equal(p.buffer, chunk.buffer);
  });

  test('an incomplete frame is held until the rest arrives', () => {
    const decoder = new FrameDecoder(1024);
    const bytes = encodeFrames([Buffer.from('hello world')]);
    const seen: string[] = [];
    const onFrame = (p: Buffer) => {
      seen.push(p.toString());
      return true;
    };
    decoder.push(bytes.subarray(0, 7), onFrame);
    assert.deepEqual(seen, []);
    assert.equal(decoder.bufferedBytes, 7);
    decoder.push(bytes.subarray(7), onFrame);
    assert.deepEqual(seen, ['hello world']);
    assert.equal(decoder.bufferedBytes, 0);
  });

  test('onFrame returning false stops decoding the rest of the chunk', () => {
    const decoder = new FrameDecoder(1024);
    const bytes = encodeFrames([Buffer.from('a'), Buffer.from('b'), Buffer.from('c')]);
    const seen: string[] = [];
    decoder.push(bytes, (p) => {
      seen.push(p.toString());
      return seen.length < 2;
    });
    assert.deepEqual(seen, ['a', 'b']);
  });

  test('onFrame returning false on a frame completed across chunks stops too', () => {
    const decoder = new FrameDecoder(1024);
    const bytes = encodeFrames([Buffer.from('first'), Buffer.from('second')]);
    const seen: string[] = [];
    decoder.push(bytes.subarray(0, 3), () => true);
    decoder.push(bytes.subarray(3), (p) => {
      seen.push(p.toString());
      return false;
    });
    assert.deepEqual(seen, ['first']);
  });

  test('a zero length is rejected at once', () => {
    const decoder = new FrameDecoder(1024);
    assert.throws(
      () => decoder.push(Buffer.from([0, 0, 0, 0, 1, 2, 3]), () => true),
      (err: unknown) => err instanceof FrameError && err.reason === 'empty_frame',
    );
  });

  test('a zero length after a valid frame is rejected (no endless loop)', () => {
    const decoder = new FrameDecoder(1024);
    const seen: Buffer[] = [];
    const bytes = Buffer.concat([encodeFrames([Buffer.from('ok')]), Buffer.alloc(4)]);
    assert.throws(
      () =>
        decoder.push(bytes, (p) => {
          seen.push(p);
          return true;
        }),
      (err: unknown) => err instanceof FrameError && err.reason === 'empty_frame',
    );
    assert.equal(seen.length, 1);
  });

  test('a header over the limit is rejected before its body is buffered', () => {
    const decoder = new FrameDecoder(1024);
    const header = Buffer.from([0xff, 0xff, 0xff, 0xff]);
    assert.throws(
      () => decoder.push(Buffer.concat([header, Buffer.alloc(500)]), () => true),
      (err: unknown) => err instanceof FrameError && err.reason === 'frame_too_large',
    );
    assert.ok(decoder.bufferedBytes <= 4, `buffered ${decoder.bufferedBytes} bytes`);
  });

  test('a header over the limit split across chunks is rejected before buffering', () => {
    const decoder = new FrameDecoder(1024);
    decoder.push(Buffer.from([0x00, 0x10]), () => true);
    assert.equal(decoder.bufferedBytes, 2);
    // The rest of the header (declaring 1 MiB) arrives with a large body chunk.
    assert.throws(
      () =>
        decoder.push(Buffer.concat([Buffer.from([0x00, 0x00]), Buffer.alloc(60_000)]), () => true),
      (err: unknown) => err instanceof FrameError && err.reason === 'frame_too_large',
    );
    assert.ok(decoder.bufferedBytes <= 4, `buffered ${decoder.bufferedBytes} bytes`);
  });

  test('a length exactly at the limit is accepted, one more is not', () => {
    const atLimit = new FrameDecoder(16);
    const seen: Buffer[] = [];
    atLimit.push(encodeFrames([Buffer.alloc(16, 1)]), (p) => {
      seen.push(p);
      return true;
    });
    assert.equal(seen.length, 1);
    assert.throws(
      () => new FrameDecoder(16).push(encodeFrames([Buffer.alloc(17)]), () => true),
      FrameError,
    );
  });

  test('setMaxFrameBytes raises the limit for later frames', () => {
    const decoder = new FrameDecoder(8);
    const seen: number[] = [];
    decoder.setMaxFrameBytes(100);
    decoder.push(encodeFrames([Buffer.alloc(50)]), (p) => {
      seen.push(p.length);
      return true;
    });
    assert.deepEqual(seen, [50]);
  });
});
