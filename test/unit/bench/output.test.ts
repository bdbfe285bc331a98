import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BALANCE_SECTION, extractSection, replaceSection } from '../../../bench/lib/output.js';

const { start, end } = BALANCE_SECTION;
const block = (text: string) => `${start}\n## Balancing under faults\n\n${text}\n${end}`;
const page = '# Benchmarks\n\n## Overview\n\nfigures\n\n## Where the time goes\n\nnotes\n';

describe('docs sections between markers', () => {
  it('inserts a section before the anchor heading, then replaces only it', () => {
    const first = replaceSection(page, BALANCE_SECTION, block('one'), '## Where the time goes');
    assert.equal(
      first,
      `# Benchmarks\n\n## Overview\n\nfigures\n\n${block('one')}\n\n## Where the time goes\n\nnotes\n`,
    );
    const second = replaceSection(first, BALANCE_SECTION, block('two $& $1'), '## Where');
    assert.equal(
      second,
      first.replace(block('one'), () => block('two $& $1')),
    );
    assert.equal(extractSection(second, BALANCE_SECTION), block('two $& $1'));
  });

  it('appends the section to a page without the anchor, and finds none in a page without markers', () => {
    assert.equal(
      replaceSection('# B\n\ntext\n\n\n', BALANCE_SECTION, block('x'), '## Nowhere'),
      `# B\n\ntext\n\n${block('x')}\n`,
    );
    assert.equal(extractSection(page, BALANCE_SECTION), undefined);
  });

  it("the main benchmark's page keeps a section it did not write", () => {
    // What bench/report.ts writeDocs does: a freshly rendered page, with the old page's section.
    const old = replaceSection(page, BALANCE_SECTION, block('measured'), '## Where the time goes');
    const kept = extractSection(old, BALANCE_SECTION) as string;
    const fresh = page.replace('figures', 'new figures');
    const written = replaceSection(fresh, BALANCE_SECTION, kept, '## Where the time goes');
    assert.ok(written.includes('new figures'));
    assert.equal(extractSection(written, BALANCE_SECTION), block('measured'));
  });
});
