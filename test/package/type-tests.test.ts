/**
 * The type tests: `tsc -p test/types` (no emit) over test/types/*.ts, where every
 * `@ts-expect-error` marks a line that must not compile (a wrong function name, argument or
 * arity on a typed service, a schema that does not fit its function, ...). A directive that
 * meets no error fails the compile, and so does any other error.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/** The repository root (dist/test/package/ → ../../../). */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

function tsc(project: string): { status: number | null; output: string } {
  const run = spawnSync(process.execPath, [TSC, '-p', project], { cwd: ROOT, encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

test('test/types compiles: every @ts-expect-error meets its error, nothing else fails', () => {
  const { status, output } = tsc(join(ROOT, 'test/types/tsconfig.json'));
  assert.equal(status, 0, `tsc -p test/types failed:\n${output}`);
});

test('the check can fail: an expected error that does not occur fails the compile', () => {
  const dir = mkdtempSync(join(ROOT, 'dist/type-check-'));
  const types = join(ROOT, 'test/types');
  try {
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: join(types, 'tsconfig.json'),
        compilerOptions: { rootDir: ROOT },
        include: ['*.ts'],
      }),
    );
    writeFileSync(
      join(dir, 'wrong.ts'),
      [
        `import type { LoadBalancer } from '${join(ROOT, 'src/index.js')}';`,
        `import type { MathModule } from '${join(types, 'math.js')}';`,
        'declare const lb: LoadBalancer;',
        "const math = lb.service<typeof MathModule>('Math');",
        '// @ts-expect-error (wrongly: this call is fine)',
        'void math.add(1, 2);',
        '',
      ].join('\n'),
    );
    const { status, output } = tsc(join(dir, 'tsconfig.json'));
    assert.notEqual(status, 0);
    assert.match(output, /Unused '@ts-expect-error' directive/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
