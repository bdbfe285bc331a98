/**
 * Handshake messages, protocol version negotiation and the cookie proof.
 *
 * Both sides send HELLO at once (magic, the protocol versions spoken, name, incarnation,
 * advertised address, a fresh 32-byte nonce, frame limit, heartbeat timeout). The connection
 * then speaks the highest version both sides speak ({@link negotiateVersion}); with none in common it is
 * refused, naming both ranges. Each then proves it knows the cookie by sending
 * `HMAC-SHA256(cookie, label | peerNonce | ownNonce | ownName | peerName)`: the cookie never
 * crosses the wire, the peer's fresh nonce defeats replay, and the direction-dependent order
 * of the fields defeats reflecting a proof back at its sender.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isValidNodeName } from '../options.js';
import { decodeValue, encodeValue } from '../rpc/codec.js';
import { PROTOCOL_MAGIC, PROTOCOL_VERSIONS } from './message-types.js';

/** A range of protocol versions, both ends included. */
export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

/** What a node says about itself when a connection opens. */
export interface Hello {
  /** The protocol versions it speaks. */
  versions: VersionRange;
  name: string;
  /** Random per process start: tells a restarted node from a duplicate connection. */
  incarnation: string;
  /** The address it advertises (`advertiseAddress`, never a wildcard), so others can dial it. */
  address: string;
  nonce: Uint8Array;
  maxFrameBytes: number;
  /** Its `heartbeatTimeoutMs`: the other side pings often enough for the stricter of the two. */
  heartbeatTimeoutMs: number;
  /**
   * `true` when it takes an idle close (a GOODBYE with reason `Idle`) as a closed connection,
   * not a departure: an on-demand node, whose peers' groups come from discovery. Absent in the
   * HELLOs of earlier releases, whose connections are never closed for idleness.
   */
  idleClose?: boolean;
}

const PROOF_LABEL = 'rpclb/1 cookie proof';

/** A fresh challenge nonce. */
export function newNonce(): Uint8Array {
  return randomBytes(32);
}

/** The HELLO fields before the version range is known (what a node fills in). */
export type HelloFields = Omit<Hello, 'versions'> & { versions?: VersionRange };

/**
 * Encodes a HELLO. The range travels as `versions: [min, max]`; the single `version` field
 * (what protocol-1 nodes read, and require to be 1) carries the lowest version spoken, so a
 * node of the first release accepts this node and both speak version 1.
 */
export function encodeHello(hello: HelloFields): Buffer {
  const versions = hello.versions ?? PROTOCOL_VERSIONS;
  return encodeValue({
    magic: PROTOCOL_MAGIC,
    ...hello,
    version: versions.min,
    versions: [versions.min, versions.max],
  });
}

/** The highest version both ranges include, or `undefined` when they do not overlap. */
export function negotiateVersion(own: VersionRange, peer: VersionRange): number | undefined {
  const version = Math.min(own.max, peer.max);
  return version >= Math.max(own.min, peer.min) ? version : undefined;
}

/** `1–2`, or `1` for a range of one version. */
export function formatVersions(range: VersionRange): string {
  return range.min === range.max ? `${range.min}` : `${range.min}–${range.max}`;
}

function isVersion(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 0xffff;
}

/** The range a HELLO announces: `versions`, or the single `version` of a protocol-1 node. */
function helloVersions(h: Record<string, unknown>): VersionRange | undefined {
  const range = h.versions;
  if (range === undefined)
    return isVersion(h.version) ? { min: h.version, max: h.version } : undefined;
  if (!Array.isArray(range) || range.length !== 2) return undefined;
  const [min, max] = range as unknown[];
  return isVersion(min) && isVersion(max) && min <= max ? { min, max } : undefined;
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
  const versions = helloVersions(h);
  if (versions === undefined) return 'invalid protocol versions in hello';
  if (!isValidNodeName(h.name)) return 'invalid node name in hello';
  if (typeof h.incarnation !== 'string' || h.incarnation.length > 64) return 'invalid incarnation';
  if (typeof h.address !== 'string' || h.address.length > 300) return 'invalid address';
  if (!(h.nonce instanceof Uint8Array) || h.nonce.length !== 32) return 'invalid nonce';
  if (typeof h.maxFrameBytes !== 'number' || !(h.maxFrameBytes >= 1024))
    return 'invalid frame limit';
  if (typeof h.heartbeatTimeoutMs !== 'number' || !(h.heartbeatTimeoutMs >= 1))
    return 'invalid heartbeat timeout';
  return {
    versions,
    name: h.name,
    incarnation: h.incarnation,
    address: h.address,
    nonce: h.nonce,
    maxFrameBytes: h.maxFrameBytes,
    heartbeatTimeoutMs: h.heartbeatTimeoutMs,
    ...(h.idleClose === true && { idleClose: true }),
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
