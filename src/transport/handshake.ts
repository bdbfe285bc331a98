/**
 * Handshake messages and the cookie proof.
 *
 * Both sides send HELLO at once (magic, version, name, incarnation, listen address, a fresh
 * 32-byte nonce, frame limit). Each then proves it knows the cookie by sending
 * `HMAC-SHA256(cookie, label | peerNonce | ownNonce | ownName | peerName)`: the cookie never
 * crosses the wire, the peer's fresh nonce defeats replay, and the direction-dependent order
 * of the fields defeats reflecting a proof back at its sender.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isValidNodeName } from '../options.js';
import { decodeValue, encodeValue } from '../rpc/codec.js';
import { PROTOCOL_MAGIC, PROTOCOL_VERSION } from './message-types.js';

/** What a node says about itself when a connection opens. */
export interface Hello {
  name: string;
  /** Random per process start: tells a restarted node from a duplicate connection. */
  incarnation: string;
  /** The address it listens on, so others can dial it. */
  address: string;
  nonce: Uint8Array;
  maxFrameBytes: number;
  /** Its `heartbeatTimeoutMs`: the other side pings often enough for the stricter of the two. */
  heartbeatTimeoutMs: number;
}

const PROOF_LABEL = 'rpclb/1 cookie proof';

/** A fresh challenge nonce. */
export function newNonce(): Uint8Array {
  return randomBytes(32);
}

export function encodeHello(hello: Hello): Buffer {
  return encodeValue({ magic: PROTOCOL_MAGIC, version: PROTOCOL_VERSION, ...hello });
}

/** Parses a HELLO body; returns an error string for anything but a well-formed, compatible one. */
export function decodeHello(body: Uint8Array): Hello | string {
  let raw: unknown;
  try {
    raw = decodeValue(body);
  } catch {
    return 'unreadable hello';
  }
  if (typeof raw !== 'object' || raw === null) return 'malformed hello';
  const h = raw as Record<string, unknown>;
  if (h.magic !== PROTOCOL_MAGIC) return 'not an rpc-load-balancer peer (bad magic)';
  if (h.version !== PROTOCOL_VERSION) return `unsupported protocol version ${String(h.version)}`;
  if (!isValidNodeName(h.name)) return 'invalid node name in hello';
  if (typeof h.incarnation !== 'string' || h.incarnation.length > 64) return 'invalid incarnation';
  if (typeof h.address !== 'string' || h.address.length > 300) return 'invalid address';
  if (!(h.nonce instanceof Uint8Array) || h.nonce.length !== 32) return 'invalid nonce';
  if (typeof h.maxFrameBytes !== 'number' || !(h.maxFrameBytes >= 1024))
    return 'invalid frame limit';
  if (typeof h.heartbeatTimeoutMs !== 'number' || !(h.heartbeatTimeoutMs >= 1))
    return 'invalid heartbeat timeout';
  return {
    name: h.name,
    incarnation: h.incarnation,
    address: h.address,
    nonce: h.nonce,
    maxFrameBytes: h.maxFrameBytes,
    heartbeatTimeoutMs: h.heartbeatTimeoutMs,
  };
}

/** The proof that `proverName`, holding `cookie`, answers `challenge` (the verifier's nonce). */
export function cookieProof(
  cookie: string,
  challenge: Uint8Array,
  proverNonce: Uint8Array,
  proverName: string,
  verifierName: string,
): Buffer {
  return createHmac('sha256', cookie)
    .update(PROOF_LABEL)
    .update(challenge)
    .update(proverNonce)
    .update(`${proverName}\n${verifierName}`)
    .digest();
}

/** Constant-time comparison of a received proof with the expected one. */
export function proofMatches(received: Uint8Array, expected: Buffer): boolean {
  return received.length === expected.length && timingSafeEqual(received, expected);
}
