import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, test } from 'node:test';
import { defaultCookiePath, resolveDefaultCookie } from '../../../src/transport/cookie.js';

describe('default cookie', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rpclb-cookie-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let file = '';
  let n = 0;
  beforeEach(() => {
    file = join(dir, `sub${n++}`, '.rpclb.cookie');
    process.env.RPCLB_COOKIE_FILE = file;
    delete process.env.RPCLB_COOKIE;
  });

  test('RPCLB_COOKIE wins over the file', () => {
    process.env.RPCLB_COOKIE = 'from-env';
    assert.equal(resolveDefaultCookie(), 'from-env');
  });

  test('without one, a random cookie is created in a 0600 file and reused', () => {
    assert.equal(defaultCookiePath(), file);
    const first = resolveDefaultCookie();
    assert.ok(first.length >= 24);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(readFileSync(file, 'utf8').trim(), first);
    assert.equal(resolveDefaultCookie(), first);
  });

  test('two fresh files get different cookies', () => {
    const first = resolveDefaultCookie();
    process.env.RPCLB_COOKIE_FILE = join(dir, 'other', '.rpclb.cookie');
    assert.notEqual(resolveDefaultCookie(), first);
  });

  test('an existing cookie file readable by others is tightened to 0600', () => {
    resolveDefaultCookie();
    writeFileSync(file, 'shared-cookie\n');
    chmodSync(file, 0o644);
    assert.equal(resolveDefaultCookie(), 'shared-cookie');
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });
});
