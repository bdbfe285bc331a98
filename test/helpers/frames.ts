/** Building and cutting frames in tests. */
import { MESSAGE_CODEC, type ValueCodec } from '../../src/rpc/codec.js';
import { encodeNames } from '../../src/rpc/names.js';
import { encodeRequest, type OutgoingFrame } from '../../src/rpc/wire.js';
import { MessageType } from '../../src/transport/message-types.js';

/**
 * A CALL (`id` > 0) or CAST (`id` 0) frame; `args` are encoded as the client encodes them
 * (straight behind the header, with `codec`: the stateless one by default, as protocol 1
 * speaks), or framed as they are when already bytes.
 */
export function requestFrame(
  id: number,
  timeoutMs: number,
  module: string,
  fn: string,
  args: unknown[] | Buffer,
  codec: ValueCodec = MESSAGE_CODEC,
): OutgoingFrame {
  const names = encodeNames(module, fn);
  if (names === null) throw new TypeError(`invalid names ${module}.${fn}`);
  if (!Buffer.isBuffer(args)) return encodeRequest(codec, id, timeoutMs, names, args);
  const fixed = id > 0 ? 13 : 5;
  const frame = Buffer.allocUnsafe(fixed + names.length + args.length);
  frame.writeUInt32BE(frame.length - 4, 0);
  frame[4] = id > 0 ? MessageType.Call : MessageType.Cast;
  if (id > 0) {
    frame.writeUInt32BE(id, 5);
    frame.writeUInt32BE(timeoutMs, 9);
  }
  names.copy(frame, fixed);
  args.copy(frame, fixed + names.length);
  return frame;
}

/** Splits `bytes` at the given cut points (taken modulo the length, deduplicated, sorted). */
export function splitAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const p of points) {
    chunks.push(bytes.subarray(start, p));
    start = p;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}
