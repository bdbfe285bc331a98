/**
 * Streaming decoder for length-prefixed frames: `[u32 big-endian length][payload]`.
 *
 * Kept apart from the socket so it can be tested byte by byte and with random chunking. It
 * checks the declared length against the limit *before* buffering anything, so a hostile
 * 4 GiB header costs nothing, and a zero length (which would loop forever in a naive parser)
 * is an error. Frames wholly inside one chunk are handed out as views of that chunk: no copy.
 */

/** Why the byte stream was rejected; the connection using the decoder closes with it. */
export class FrameError extends Error {
  constructor(
    readonly reason: 'frame_too_large' | 'empty_frame',
    message: string,
  ) {
    super(message);
    this.name = 'FrameError';
  }
}

const HEADER_BYTES = 4;

export class FrameDecoder {
  #maxFrameBytes: number;
  /** Bytes of the frame being assembled: its header while incomplete, then its payload so far. */
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** Declared payload length of the frame being assembled (its header consumed), or -1. */
  #expected = -1;

  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Changes the limit, e.g. once a connection is authenticated. */
  setMaxFrameBytes(maxFrameBytes: number): void {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Bytes received but not yet handed out, header included (a truncated frame shows up here). */
  get bufferedBytes(): number {
    return this.#expected >= 0 ? this.#buffered + HEADER_BYTES : this.#buffered;
  }

  /**
   * Feeds one chunk; calls `onFrame` for each complete payload, in order. Throws a
   * {@link FrameError} on a bad header. `onFrame` returning `false` stops decoding (the
   * consumer closed), and the rest of the chunk is discarded.
   */
  push(chunk: Buffer, onFrame: (payload: Buffer) => boolean | undefined): void {
    // A frame is being assembled when bytes are held *or* its header was already consumed
    // (then nothing may be held: the header arrived alone, its payload not yet).
    if (this.#buffered > 0 || this.#expected >= 0) {
      const rest = this.#drainSlow(chunk, onFrame);
      if (rest === null) return;
      chunk = rest;
    }
    this.#drainFast(chunk, onFrame);
  }

  /** Parses frames straight out of `chunk` (nothing held before it), stashing any incomplete tail. */
  #drainFast(chunk: Buffer, onFrame: (payload: Buffer) => boolean | undefined): void {
    let offset = 0;
    const end = chunk.length;
    while (end - offset >= HEADER_BYTES) {
      const length = this.#checkLength(chunk.readUInt32BE(offset));
      const start = offset + HEADER_BYTES;
      if (end - start < length) {
        // Keep only the payload's first bytes; the checked length is remembered.
        this.#expected = length;
        offset = start;
        break;
      }
      offset = start + length;
      if (onFrame(chunk.subarray(start, offset)) === false) return;
    }
    if (offset < end) this.#stash(chunk.subarray(offset));
  }

  /**
   * Completes the frame spanning several chunks, taking from `chunk` only the bytes that frame
   * needs: the header is completed and checked before any of its payload is held. Returns the
   * bytes after the frame (to be parsed on the fast path), or `null` when more input is needed
   * or the consumer stopped.
   */
  #drainSlow(chunk: Buffer, onFrame: (payload: Buffer) => boolean | undefined): Buffer | null {
    if (this.#expected < 0) {
      const missing = HEADER_BYTES - this.#buffered;
      if (chunk.length < missing) {
        this.#stash(chunk);
        return null;
      }
      this.#stash(chunk.subarray(0, missing));
      chunk = chunk.subarray(missing);
      this.#expected = this.#checkLength(this.#take(HEADER_BYTES).readUInt32BE(0));
    }
    const missing = this.#expected - this.#buffered;
    if (chunk.length < missing) {
      this.#stash(chunk);
      return null;
    }
    this.#stash(chunk.subarray(0, missing));
    const payload = this.#take(this.#expected);
    this.#expected = -1;
    if (onFrame(payload) === false) return null;
    return chunk.subarray(missing);
  }

  #stash(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.#chunks.push(bytes);
    this.#buffered += bytes.length;
  }

  /** Removes and returns the first `count` buffered bytes (a copy only when they span chunks). */
  #take(count: number): Buffer {
    const first = this.#chunks[0] as Buffer;
    let out: Buffer;
    if (first.length >= count) {
      out = first.subarray(0, count);
      if (first.length === count) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(count);
    } else {
      out = Buffer.allocUnsafe(count);
      let copied = 0;
      while (copied < count) {
        const head = this.#chunks[0] as Buffer;
        const n = Math.min(head.length, count - copied);
        head.copy(out, copied, 0, n);
        copied += n;
        if (n === head.length) this.#chunks.shift();
        else this.#chunks[0] = head.subarray(n);
      }
    }
    this.#buffered -= count;
    return out;
  }

  #checkLength(length: number): number {
    if (length === 0) throw new FrameError('empty_frame', 'frame with zero length');
    if (length > this.#maxFrameBytes) {
      throw new FrameError(
        'frame_too_large',
        `frame of ${length} bytes exceeds the limit of ${this.#maxFrameBytes} bytes`,
      );
    }
    return length;
  }
}
