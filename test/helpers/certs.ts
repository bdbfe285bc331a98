/**
 * Test certificates made with `openssl` in a temporary directory: a CA and node certificates it
 * signs, valid for client and server use, with `subjectAltName IP:127.0.0.1` so a node dialling
 * 127.0.0.1 verifies its peer. EC P-256 keys keep generation fast.
 *
 * ```ts
 * const pki = createPki(t);                  // removed when the test ends
 * const ca = pki.createCa('cluster-ca');
 * const n1 = pki.issue(ca, 'node1');        // { key, cert } as PEM strings; ca.cert to trust
 * ```
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertificateAuthority {
  readonly name: string;
  /** PEM of the CA certificate (what nodes put in `tls.ca`). */
  readonly cert: string;
  readonly keyPath: string;
  readonly certPath: string;
}

export interface NodeCertificate {
  /** PEM private key. */
  readonly key: string;
  /** PEM certificate signed by the CA. */
  readonly cert: string;
}

export interface Pki {
  readonly dir: string;
  createCa(name: string): CertificateAuthority;
  issue(ca: CertificateAuthority, name: string): NodeCertificate;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A PKI in a fresh temporary directory, removed by `t.after`. */
export function createPki(t: { after(fn: () => unknown): void }): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'rpclb-pki-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    createCa(name) {
      const keyPath = join(dir, `${name}.key`);
      const certPath = join(dir, `${name}.crt`);
      openssl(
        [
          'req',
          '-x509',
          ...EC_KEY,
          '-keyout',
          keyPath,
          '-out',
          certPath,
          '-days',
          '2',
          '-subj',
          `/CN=${name}`,
          '-addext',
          'basicConstraints=critical,CA:TRUE',
          '-addext',
          'keyUsage=critical,keyCertSign,cRLSign',
        ],
        dir,
      );
      return { name, keyPath, certPath, cert: readFileSync(certPath, 'utf8') };
    },
    issue(ca, name) {
      const keyPath = join(dir, `${name}.key`);
      const csrPath = join(dir, `${name}.csr`);
      const certPath = join(dir, `${name}.crt`);
      const extPath = join(dir, `${name}.ext`);
      writeFileSync(
        extPath,
        [
          'basicConstraints=CA:FALSE',
          'keyUsage=critical,digitalSignature,keyAgreement',
          'extendedKeyUsage=serverAuth,clientAuth',
          'subjectAltName=IP:127.0.0.1',
        ].join('\n'),
      );
      openssl(['req', ...EC_KEY, '-keyout', keyPath, '-out', csrPath, '-subj', `/CN=${name}`], dir);
      openssl(
        [
          'x509',
          '-req',
          '-in',
          csrPath,
          '-CA',
          ca.certPath,
          '-CAkey',
          ca.keyPath,
          '-CAcreateserial',
          '-out',
          certPath,
          '-days',
          '2',
          '-extfile',
          extPath,
        ],
        dir,
      );
      return { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8') };
    },
  };
}
