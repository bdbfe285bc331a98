/** Building frames: `[u32 length][u8 type][body]`, the length counting type and body. */

/** Bytes before a frame's body: the length prefix and the type byte. */
export const FRAME_OVERHEAD = 5;

/** A complete frame with a copied body (for small control messages). */
export function buildFrame(type: number, body?: Uint8Array): Buffer {
  const bodyLength = body ? body.length : 0;
  const frame = Buffer.allocUnsafe(FRAME_OVERHEAD + bodyLength);
  frame.writeUInt32BE(1 + bodyLength, 0);
  frame[4] = type;
  if (body) frame.set(body, FRAME_OVERHEAD);
  return frame;
}
