/** Building and cutting frames in tests. */
import { encodeValue } from '../../src/rpc/codec.js';
import { encodeRequest, type OutgoingFrame } from '../../src/rpc/wire.js';

/** A CALL (`id` > 0) or CAST (`id` 0) frame; `args` are encoded unless already bytes. */
export function requestFrame(
  id: number,
  timeoutMs: number,
  module: string,
  fn: string,
  args: unknown[] | Buffer,
): OutgoingFrame {
  const body = Buffer.isBuffer(args) ? args : encodeValue(args);
  return encodeRequest(
    id,
    timeoutMs,
    module,
    Buffer.byteLength(module),
    fn,
    Buffer.byteLength(fn),
    body,
  );
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
