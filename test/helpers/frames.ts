/** Building and cutting frames in tests. */
import {
  encodeNames,
  encodeRequest,
  encodeRequestValue,
  type OutgoingFrame,
} from '../../src/rpc/wire.js';

/**
 * A CALL (`id` > 0) or CAST (`id` 0) frame; `args` are encoded as the client encodes them
 * (straight behind the header), or framed as they are when already bytes.
 */
export function requestFrame(
  id: number,
  timeoutMs: number,
  module: string,
  fn: string,
  args: unknown[] | Buffer,
): OutgoingFrame {
  const names = encodeNames(module, fn);
  if (names === null) throw new TypeError(`invalid names ${module}.${fn}`);
  return Buffer.isBuffer(args)
    ? encodeRequest(id, timeoutMs, names, args)
    : encodeRequestValue(id, timeoutMs, names, args);
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
