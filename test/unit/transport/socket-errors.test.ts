import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  describeSocketError,
  describeTlsClientError,
} from '../../../src/transport/socket-errors.js';

const WRONG_VERSION =
  '808CA83ED47F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n';
const NO_CERT =
  '808CA83ED47F0000:error:0A0000C7:SSL routines:tls_process_client_certificate:peer did not return a certificate:../deps/openssl/openssl/ssl/statem/statem_srvr.c:3517:\n';

test('socket errors in plain words, one line, with their code', () => {
  const cases: [Parameters<typeof describeSocketError>[0], RegExp][] = [
    [
      { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:1' },
      /^connection refused: nothing listens at that address \(ECONNREFUSED\)$/,
    ],
    [
      { code: 'EPROTO', message: `write EPROTO ${WRONG_VERSION}` },
      /^the other side does not speak TLS \(wrong version number\)/,
    ],
    [
      {
        code: 'SELF_SIGNED_CERT_IN_CHAIN',
        message: 'self-signed certificate in certificate chain',
      },
      /^the peer's certificate is not trusted: self-signed certificate in certificate chain \(SELF_SIGNED_CERT_IN_CHAIN\)$/,
    ],
    [
      { code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', message: 'x' },
      /requires a client certificate/,
    ],
    [
      { code: 'ERR_SSL_SOMETHING_NEW', message: NO_CERT, reason: 'some reason' },
      /^some reason \(ERR_SSL_SOMETHING_NEW\)$/,
    ],
    [{ message: 'two\n  lines\n' }, /^two lines$/],
  ];
  for (const [err, expected] of cases) {
    const text = describeSocketError(err);
    assert.match(text, expected);
    assert.doesNotMatch(text, /\n|deps\/openssl/);
  }
});

test('a TLS server tells its own refusals from a client giving up', () => {
  assert.deepEqual(
    describeTlsClientError(
      { message: 'socket hang up', code: 'ECONNRESET' },
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    ).verb,
    'refused',
  );
  assert.match(
    describeTlsClientError({ message: NO_CERT }, undefined).reason,
    /^the client sent no certificate/,
  );
  assert.match(
    describeTlsClientError({ message: WRONG_VERSION }, undefined).reason,
    /^the client does not speak TLS/,
  );
  const hangUp = describeTlsClientError(
    { message: 'socket hang up', code: 'ECONNRESET' },
    undefined,
  );
  assert.equal(hangUp.verb, 'failed');
  assert.match(hangUp.reason, /the client closed the connection during the TLS handshake/);
});
