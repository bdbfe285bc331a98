import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { defaultCookiePath, resolveDefaultCookie } from '../../../src/transport/cookie.js';

describe('default cookie', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rpclb-cookie-'));
  const home = process.env.HOME;
  after(() => {
    process.env.HOME = home;
    rmSync(dir, { recursive: true, force: true });
  });
  let n = 0;
  let sub = '';
  beforeEach(() => {
    sub = join(dir, `home${n++}`);
    mkdirSync(sub);
    process.env.HOME = sub;
    delete process.env.RPCLB_COOKIE_FILE;
    delete process.env.RPCLB_COOKIE;
  });

  test('RPCLB_COOKIE wins over the file', () => {
    process.env.RPCLB_COOKIE = 'from-env';
    assert.equal(resolveDefaultCookie(), 'from-env');
  });

  test('without one, a random cookie is created in ~/.rpclb.cookie (0600) and reused', () => {
    const file = join(sub, '.rpclb.cookie');
    assert.equal(defaultCookiePath(), file);
    const first = resolveDefaultCookie();
    assert.ok(first.length >= 24);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(readFileSync(file, 'utf8').trim(), first);
    assert.equal(resolveDefaultCookie(), first);
  });

  test('two fresh homes get different cookies', () => {
    const first = resolveDefaultCookie();
    process.env.HOME = join(dir, 'elsewhere');
    mkdirSync(process.env.HOME);
    assert.notEqual(resolveDefaultCookie(), first);
  });

  test('an existing cookie file readable by others is tightened to 0600', () => {
    const file = join(sub, '.rpclb.cookie');
    writeFileSync(file, 'shared-cookie\n');
    chmodSync(file, 0o644);
    assert.equal(resolveDefaultCookie(), 'shared-cookie');
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  test('RPCLB_COOKIE_FILE is read when it exists, and refused (not created) when it does not', () => {
    const file = join(sub, 'mounted-cookie');
    process.env.RPCLB_COOKIE_FILE = file;
    assert.throws(
      () => resolveDefaultCookie(),
      (err: Error) => {
        assert.ok(err instanceof TypeError);
        assert.match(err.message, /RPCLB_COOKIE_FILE\) does not exist: create it/);
        return true;
      },
    );
    assert.throws(() => statSync(file), /ENOENT/, 'no cookie of its own was made');
    writeFileSync(file, 'the-cluster-cookie\n', { mode: 0o600 });
    assert.equal(resolveDefaultCookie(), 'the-cluster-cookie');
  });

  test('an empty cookie file is refused, not used as an empty key', () => {
    writeFileSync(join(sub, '.rpclb.cookie'), '\n', { mode: 0o600 });
    assert.throws(() => resolveDefaultCookie(), /is empty: put the cluster's cookie in it/);
  });

  test('a cookie path that is a directory is a clear error', () => {
    mkdirSync(join(sub, '.rpclb.cookie'));
    assert.throws(() => resolveDefaultCookie(), /is a directory/);
  });

  test('a shared cookie file that cannot be made private says what to do', (t) => {
    if (process.getuid?.() !== 0) {
      t.skip('needs root to create a file owned by another user');
      return;
    }
    // the unprivileged child loads this checkout's code: a checkout inside a private directory
    // (e.g. under `mktemp -d`) is out of its reach
    const code = fileURLToPath(new URL('../../../src/transport/cookie.js', import.meta.url));
    const reach = spawnSync(
      process.execPath,
      ['-e', `require('fs').readFileSync(${JSON.stringify(code)})`],
      {
        uid: 1,
        gid: 1,
      },
    );
    if (reach.status !== 0) {
      t.skip(`needs this checkout readable by an unprivileged user (uid 1 cannot read ${code})`);
      return;
    }
    const file = join(sub, '.rpclb.cookie');
    writeFileSync(file, 'theirs\n');
    chmodSync(file, 0o644);
    chownSync(file, 65534, 65534);
    // the unprivileged child must reach the file
    chmodSync(dir, 0o755);
    chmodSync(sub, 0o755);
    // drop privileges for the check itself in a child: root may chmod anything
    const script = `
      process.env.HOME = ${JSON.stringify(sub)};
      const { resolveDefaultCookie } = await import(${JSON.stringify(new URL('../../../src/transport/cookie.js', import.meta.url).href)});
      try { resolveDefaultCookie(); console.log('no error'); } catch (e) { console.log(e.constructor.name + ': ' + e.message); }
    `;
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      uid: 1,
      gid: 1,
      encoding: 'utf8',
    });
    assert.match(
      out.stdout,
      /TypeError: cookie file .* is readable by other users \(mode 644\) and belongs to another user/,
    );
    assert.match(out.stdout, /chmod 600/);
  });
});
