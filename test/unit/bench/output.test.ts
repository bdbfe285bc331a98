import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BALANCE_SECTION, extractSection, replaceSection } from '../../../bench/lib/output.js';

const { start, end } = BALANCE_SECTION;
const H = '## Balancing under faults';
const block = (text: string) => `${start}\n${text}\n${end}`;
const page = '# Benchmarks\n\n## Soak\n\nsoak\n\n## Where the time goes\n\nnotes\n';
const ANCHOR = '## Where the time goes';

describe('docs sections between markers', () => {
  it('inserts heading and section before the anchor heading, then replaces only the section', () => {
    const first = replaceSection(page, BALANCE_SECTION, block('one'), ANCHOR, H);
    assert.equal(
      first,
      `# Benchmarks\n\n## Soak\n\nsoak\n\n${H}\n\n${block('one')}\n\n## Where the time goes\n\nnotes\n`,
    );
    const second = replaceSection(first, BALANCE_SECTION, block('two $& $1'), ANCHOR, H);
    assert.equal(
      second,
      first.replace(block('one'), () => block('two $& $1')),
    );
    assert.equal(extractSection(second, BALANCE_SECTION), block('two $& $1'));
  });

  it('appends to a page without the anchor; finds nothing in a page without markers', () => {
    assert.equal(
      replaceSection('# B\n\ntext\n\n\n', BALANCE_SECTION, block('x'), '## Nowhere', H),
      `# B\n\ntext\n\n${H}\n\n${block('x')}\n`,
    );
    assert.equal(extractSection(page, BALANCE_SECTION), undefined);
  });

  it('keeps its markers when the section before it is replaced up to the next heading', () => {
    // What the soak writer does: replace "## Soak" up to the next "\n## " heading.
    const withSection = replaceSection(page, BALANCE_SECTION, block('measured'), ANCHOR, H);
    const from = withSection.indexOf('\n## Soak\n');
    const to = withSection.indexOf('\n## ', from + 1);
    const soaked = `${withSection.slice(0, from + 1)}## Soak\n\nnew soak\n${withSection.slice(to)}`;
    assert.equal(extractSection(soaked, BALANCE_SECTION), block('measured'));
  });
});
