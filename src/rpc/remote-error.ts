/**
 * What a caller learns when a handler fails: the handler's own `RpcError` as it was raised, or
 * an `internal_server_error` describing what was thrown (an `Error`, or any other value).
 */
import { type RemoteErrorInfo, RpcError, type RpcErrorDetails } from '../errors.js';
import { describe } from '../options.js';

/** The longest rendering of a thrown non-`Error` value in a message. */
const MAX_THROWN_TEXT = 200;

/** Where the failing call ran. */
interface FailedCall {
  readonly module: string;
  readonly fn: string;
}

/**
 * The error the caller of `call` gets for `thrown`.
 *
 * - An `RpcError` travels with its code, message and details (the handler chose them).
 * - An `Error` becomes `internal_server_error` with `details.remote` = its name, message,
 *   string `code` and (unless turned off) stack.
 * - Any other value (`throw { code: 'E_X' }`, `throw 'text'`) becomes the same, with
 *   `remote.name` `'NonError'`, a message that shows the value, its string `code` if it has
 *   one, and no stack (a thrown value has none; the library's own would only mislead).
 */
export function handlerError(
  thrown: unknown,
  call: FailedCall,
  host: { readonly selfName: string; readonly exposeErrorStacks: boolean },
): RpcError {
  const details: RpcErrorDetails = { node: host.selfName, module: call.module, function: call.fn };
  if (thrown instanceof RpcError) {
    return new RpcError(thrown.code, thrown.message, {
      details: { ...thrown.details, ...details },
      notExecuted: thrown.notExecuted,
    });
  }
  let remote: RemoteErrorInfo;
  if (thrown instanceof Error) {
    remote = { name: thrown.name, message: thrown.message };
    if (host.exposeErrorStacks && typeof thrown.stack === 'string') remote.stack = thrown.stack;
  } else {
    remote = { name: 'NonError', message: renderThrown(thrown) };
  }
  const code = (thrown as { code?: unknown } | null | undefined)?.code;
  if (typeof code === 'string') remote.code = code;
  const what =
    thrown instanceof Error
      ? `${remote.name}: ${remote.message}`
      : `a non-Error value: ${remote.message}`;
  return new RpcError('internal_server_error', `${call.module}.${call.fn} threw ${what}`, {
    details: { ...details, remote },
  });
}

/** A thrown non-`Error` value as text: JSON when it has a JSON form, else a description. */
function renderThrown(value: unknown): string {
  let text: string | undefined;
  if (typeof value === 'string') text = value;
  else {
    try {
      text = JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? `${v}n` : v));
    } catch {
      text = undefined;
    }
  }
  if (text === undefined) text = describe(value);
  return text.length > MAX_THROWN_TEXT ? `${text.slice(0, MAX_THROWN_TEXT)}…` : text;
}

/** The error for a result that cannot be encoded. */
export function resultError(err: unknown, details: RpcErrorDetails): RpcError {
  return new RpcError(
    'internal_server_error',
    `the result cannot be encoded: ${(err as Error).message}`,
    { details: { ...details, reason: 'unencodable_result' } },
  );
}
