/**
 * Pure helpers of requests going out: the check of a request's target, names and arguments when
 * the cheap test failed, the encoding of a CALL or CAST frame within the peer's limits, and the
 * errors of a request that cannot go out or ends unanswered (timed out, connection lost, node
 * closed), with the caller's stack when it was captured.
 */
import { RpcError, type RpcErrorDetails } from '../errors.js';
import { describe, isValidNodeName } from '../options.js';
import type { OutgoingCall } from './call.js';
import { type CallMetadata, envelopeTooLarge, MAX_ENVELOPE_BYTES } from './envelope.js';
import type { RpcLink } from './link.js';
import { nameBytes } from './names.js';
import { encodeRequest, frameLength, type OutgoingFrame } from './wire.js';

/** What a request needs checked when the cheap test failed. */
export interface RequestParts {
  readonly target: unknown;
  readonly module: unknown;
  readonly fn: unknown;
  readonly args: unknown;
  readonly details: RpcErrorDetails;
}

/** What is wrong with a request's target, names or arguments, if anything. */
export function checkRequest(req: RequestParts): RpcError | undefined {
  const { details } = req;
  if (!isValidNodeName(req.target))
    return badRequest(`invalid node name ${describe(req.target)}`, details, 'node');
  if (nameBytes(req.module) < 0)
    return badRequest(`invalid module name ${describe(req.module)}`, details, 'module');
  if (nameBytes(req.fn) < 0)
    return badRequest(`invalid function name ${describe(req.fn)}`, details, 'function');
  if (!Array.isArray(req.args))
    return badRequest(`args must be an array, received ${describe(req.args)}`, details, 'args');
  return undefined;
}

/** The CALL frame of an attempt, or the error that stops it. */
export function encodeFor(
  link: RpcLink,
  id: number,
  call: OutgoingCall,
  names: Buffer,
): OutgoingFrame | RpcError {
  return encodeRequestFor(link, id, call.timeoutMs, names, call.args, call.meta, call.details);
}

/**
 * A CALL (`id` > 0) or CAST frame for `link`, or the error that stops it: metadata or
 * arguments that cannot be encoded, or a frame over the peer's limit. Metadata is not sent to a
 * protocol-1 peer, which could not read it.
 */
export function encodeRequestFor(
  link: RpcLink,
  id: number,
  timeoutMs: number,
  names: Buffer,
  args: unknown[],
  meta: CallMetadata | undefined,
  details: RpcErrorDetails,
): OutgoingFrame | RpcError {
  const codec = link.codec;
  let envelope: Buffer | undefined;
  if (meta !== undefined && link.v2) {
    try {
      envelope = codec.encode(meta, 0);
    } catch (err) {
      return new RpcError('bad_request', `meta cannot be encoded: ${(err as Error).message}`, {
        details: { ...details, field: 'meta', reason: 'bad_meta' },
        cause: err,
        notExecuted: true,
      });
    }
    if (envelope.length > MAX_ENVELOPE_BYTES) {
      codec.discardEncoder();
      return envelopeTooLarge('meta', envelope.length, details);
    }
  }
  let frame: OutgoingFrame;
  try {
    frame = encodeRequest(codec, id, timeoutMs, names, args, envelope);
  } catch (err) {
    if (envelope !== undefined) codec.discardEncoder();
    return unencodable(err, details);
  }
  const bytes = frameLength(frame) - 4;
  if (bytes <= link.wire.sendLimit) return frame;
  codec.discardEncoder();
  return tooLarge(bytes, link.wire.sendLimit, details);
}

/**
 * `service_unavailable` for a request to a node that is not connected; `closedNode` names this
 * node when it is closed (then nothing is connected any more).
 */
export function notConnected(details: RpcErrorDetails, closedNode: string | undefined): RpcError {
  if (closedNode !== undefined) {
    return new RpcError('service_unavailable', `node ${closedNode} is closed`, {
      details: { ...details, reason: 'node_closed' },
      notExecuted: true,
    });
  }
  return new RpcError('service_unavailable', `node ${details.node} is not connected`, {
    details: { ...details, reason: 'not_connected' },
    notExecuted: true,
  });
}

function badRequest(message: string, details: RpcErrorDetails, field: string): RpcError {
  return new RpcError('bad_request', message, {
    details: { ...details, field },
    notExecuted: true,
  });
}

export function sendQueueFull(details: RpcErrorDetails): RpcError {
  return new RpcError(
    'service_unavailable',
    `the connection to ${details.node} has too many bytes waiting to be sent`,
    { details: { ...details, reason: 'send_queue_full' }, notExecuted: true },
  );
}

export function unencodable(err: unknown, details: RpcErrorDetails): RpcError {
  return new RpcError('bad_request', `arguments cannot be encoded: ${(err as Error).message}`, {
    details: { ...details, reason: 'unencodable_arguments' },
    cause: err,
    notExecuted: true,
  });
}

function tooLarge(bytes: number, limit: number, details: RpcErrorDetails): RpcError {
  return new RpcError(
    'bad_request',
    `message of ${bytes} bytes exceeds the frame limit of ${limit} bytes`,
    { details: { ...details, reason: 'frame_too_large' }, notExecuted: true },
  );
}

/** `request_timeout` for a call whose reply did not come within its timeout. */
export function callTimedOut(call: OutgoingCall): RpcError {
  const timeoutMs = call.timeoutMs;
  const err = new RpcError(
    'request_timeout',
    `call to ${call.target} timed out after ${timeoutMs} ms`,
    {
      details: { ...call.details, timeoutMs },
    },
  );
  return withCallSite(err, call.site);
}

/** `service_unavailable` for a call pending on a connection that dropped. */
export function connectionLost(call: OutgoingCall, reason: string): RpcError {
  const err = new RpcError('service_unavailable', `connection to ${call.target} lost (${reason})`, {
    details: { ...call.details, reason: 'connection_lost' },
  });
  return withCallSite(err, call.site);
}

/** `service_unavailable` for a call still pending when the node closes. */
export function nodeClosed(call: OutgoingCall, message: string): RpcError {
  const err = new RpcError('service_unavailable', message, {
    details: { ...call.details, reason: 'node_closed' },
  });
  return withCallSite(err, call.site);
}

/** Points an asynchronously raised error's stack at the line that made the call. */
export function withCallSite(err: RpcError, site: { stack?: string } | undefined): RpcError {
  const callerFrames = site?.stack?.split('\n').slice(1).join('\n');
  if (callerFrames) err.stack = `${err.name}: ${err.message}\n${callerFrames}`;
  return err;
}
