import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ERROR_CODES,
  fromWireError,
  isRpcErrorCode,
  RpcError,
  type RpcErrorCode,
  toWireError,
} from '../../../src/errors.js';
import { decodeValue, encodeValue } from '../../../src/rpc/codec.js';

/** An error as the caller sees it after it crossed the wire (encoded, decoded, rebuilt). */
function overTheWire(err: RpcError, extra = {}): RpcError {
  return fromWireError(decodeValue(encodeValue(toWireError(err))), extra);
}

describe('RpcError', () => {
  test('each code has its status', () => {
    const expected: Record<RpcErrorCode, number> = {
      bad_request: 400,
      not_found: 404,
      request_timeout: 408,
      internal_server_error: 500,
      service_unavailable: 503,
    };
    assert.deepEqual({ ...ERROR_CODES }, expected);
    for (const [code, status] of Object.entries(expected)) {
      const err = new RpcError(code as RpcErrorCode, 'm');
      assert.equal(err.statusCode, status);
      assert.equal(err.code, code);
      assert.equal(err.name, 'RpcError');
      assert.ok(err instanceof Error);
      assert.deepEqual(err.details, {});
      assert.equal(err.notExecuted, false);
      assert.equal(err.retryable, false);
    }
  });

  test('isRpcErrorCode accepts the codes only', () => {
    for (const code of Object.keys(ERROR_CODES)) assert.ok(isRpcErrorCode(code));
    for (const v of ['toString', '__proto__', 'constructor', 'ok', 404, null]) {
      assert.equal(isRpcErrorCode(v), false, String(v));
    }
  });

  test('keeps its cause', () => {
    const cause = new Error('root');
    assert.equal(new RpcError('bad_request', 'm', { cause }).cause, cause);
  });

  for (const code of Object.keys(ERROR_CODES) as RpcErrorCode[]) {
    test(`${code} round-trips over the wire with its details`, () => {
      const err = new RpcError(code, `a ${code}`, {
        details: {
          node: 'callee@127.0.0.1',
          module: 'Mod',
          function: 'fn',
          reason: 'why',
          remote: { name: 'TypeError', message: 'bad', stack: 'TypeError: bad\n    at x' },
          timeoutMs: 10,
          custom: { when: new Date(3), big: 2n ** 70n },
        },
        notExecuted: code === 'service_unavailable',
      });
      const back = overTheWire(err);
      assert.ok(back instanceof RpcError);
      assert.equal(back.code, code);
      assert.equal(back.statusCode, ERROR_CODES[code]);
      assert.equal(back.message, err.message);
      assert.deepStrictEqual(back.details, err.details);
      assert.equal(back.notExecuted, err.notExecuted);
    });
  }

  test('the caller’s own details win over the remote ones', () => {
    const err = new RpcError('not_found', 'x', { details: { node: 'spoofed', reason: 'r' } });
    const back = overTheWire(err, { node: 'real@127.0.0.1', module: 'M', function: 'f' });
    assert.equal(back.details.node, 'real@127.0.0.1');
    assert.equal(back.details.module, 'M');
    assert.equal(back.details.reason, 'r');
  });

  test('malformed wire errors become internal_server_error, never a crash', () => {
    const extra = { node: 'n@h' };
    for (const wire of [null, 42, 'text', [], { code: 'teapot', message: 'x' }, { message: 7 }]) {
      const err = fromWireError(wire, extra);
      assert.equal(err.code, 'internal_server_error', JSON.stringify(wire));
      assert.equal(err.statusCode, 500);
      assert.equal(err.details.node, 'n@h');
    }
    const inherited = fromWireError({ code: 'toString', message: 'm' }, extra);
    assert.equal(inherited.code, 'internal_server_error');
    const oddDetails = fromWireError({ code: 'not_found', message: 'm', details: 'nope' }, extra);
    assert.deepEqual(oddDetails.details, extra);
  });

  test('notExecuted survives only when it is exactly true', () => {
    assert.equal(
      fromWireError({ code: 'bad_request', message: 'm', notExecuted: 1 }, {}).notExecuted,
      false,
    );
    assert.equal(
      fromWireError({ code: 'bad_request', message: 'm', notExecuted: true }, {}).retryable,
      true,
    );
  });
});
