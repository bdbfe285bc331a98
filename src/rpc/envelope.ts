/**
 * The per-call envelope: metadata a caller sends with a request (`meta`) and entries a handler
 * sends back with its reply (the trailer). Both are small maps with string keys and values the
 * codec encodes; absent maps cost nothing on the wire (docs/reference/api.md, "Call metadata").
 */
import { RpcError, type RpcErrorDetails } from '../errors.js';
import { describe } from '../options.js';
import { MAX_ENVELOPE_BYTES } from './wire.js';

/** Metadata of a call, or the trailer of its reply: string keys, values the codec encodes. */
export type CallMetadata = Readonly<Record<string, unknown>>;

/** The most keys a metadata map or a trailer may have. */
export const MAX_ENVELOPE_KEYS = 64;
/** The longest key of a metadata map or trailer, in UTF-8 bytes. */
export const MAX_ENVELOPE_KEY_BYTES = 255;
export { MAX_ENVELOPE_BYTES };

/**
 * Keys the library reads itself: W3C Trace Context. `traceparent` carries the caller's span
 * (set by tracing integrations such as `rpc-load-balancer/otel`), `tracestate` its vendor
 * state. A caller may set them by hand; they must then be well formed.
 */
export const RESERVED_META_KEYS = Object.freeze(['traceparent', 'tracestate'] as const);

/** `version-traceid-parentid-flags`, lower-case hex, the all-zero ids being invalid. */
const TRACEPARENT = /^[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The shared empty metadata (what `currentCall().meta` is when the caller sent none). */
export const NO_METADATA: CallMetadata = Object.freeze(
  Object.create(null) as Record<string, unknown>,
);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * What is wrong with a metadata map or trailer, if anything: not a plain object, too many
 * keys, a key too long, a malformed trace context. (The encoded size is checked when it is
 * encoded, against {@link MAX_ENVELOPE_BYTES}.)
 */
export function envelopeProblem(value: unknown, what: 'meta' | 'trailer'): string | undefined {
  if (!isPlainObject(value)) return `${what} must be a plain object, received ${describe(value)}`;
  const keys = Object.keys(value);
  if (keys.length > MAX_ENVELOPE_KEYS) {
    return `${what} has ${keys.length} keys, more than the limit of ${MAX_ENVELOPE_KEYS}`;
  }
  for (const key of keys) {
    if (key.length === 0 || Buffer.byteLength(key) > MAX_ENVELOPE_KEY_BYTES) {
      return `${what} key ${describe(key)} must be 1 to ${MAX_ENVELOPE_KEY_BYTES} bytes long`;
    }
  }
  const traceparent = value.traceparent;
  if (
    traceparent !== undefined &&
    (typeof traceparent !== 'string' || !TRACEPARENT.test(traceparent))
  ) {
    return `${what}.traceparent must be a W3C traceparent ("00-<32 hex>-<16 hex>-<2 hex>"), received ${describe(traceparent)}`;
  }
  const tracestate = value.tracestate;
  if (tracestate !== undefined && (typeof tracestate !== 'string' || tracestate.length > 512)) {
    return `${what}.tracestate must be a string of at most 512 characters, received ${describe(tracestate)}`;
  }
  return undefined;
}

/** The `bad_request` for a metadata map or trailer that breaks a limit. */
export function envelopeError(message: string, details: RpcErrorDetails, reason: string): RpcError {
  return new RpcError('bad_request', message, {
    details: { ...details, reason },
    notExecuted: true,
  });
}

/** The error for an envelope whose encoding is over {@link MAX_ENVELOPE_BYTES}. */
export function envelopeTooLarge(
  what: 'meta' | 'trailer',
  bytes: number,
  details: RpcErrorDetails,
): RpcError {
  return envelopeError(
    `${what} encodes to ${bytes} bytes, more than the limit of ${MAX_ENVELOPE_BYTES}`,
    details,
    `${what}_too_large`,
  );
}
