/**
 * Every relative link of README.md and docs/ leads somewhere: the file exists and, when the link
 * names a heading (`page.md#anchor`), the page has that heading (GitHub's anchor rules).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function pages(dir = 'docs'): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? pages(join(dir, e.name)) : e.name.endsWith('.md') ? [join(dir, e.name)] : [],
  );
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a Markdown page (headings outside code blocks; repeats get -1, -2...). */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of text.split('\n')) {
    if (/^(```|~~~)/.test(line)) fenced = !fenced;
    const heading = !fenced && /^#{1,6}\s+(.*)$/.exec(line);
    if (!heading) continue;
    const base = slug(heading[1] as string);
    const n = seen.get(base) ?? 0;
    seen.set(n === 0 ? base : `${base}-${n}`, 0);
    seen.set(base, n + 1);
  }
  return new Set(seen.keys());
}

/** Links outside code blocks and inline code: `[text](target)`. */
function links(text: string): string[] {
  const prose = text.replace(/^(```|~~~)[\s\S]*?^\1/gm, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] as string);
}

test('slug follows GitHub', () => {
  assert.equal(slug('3. Compile and run it'), '3-compile-and-run-it');
  assert.equal(slug('`startNode(options?)`'), 'startnodeoptions');
  assert.equal(slug('Process groups: `node.groups`'), 'process-groups-nodegroups');
});

test('every relative link in README.md and docs/ resolves, anchors included', () => {
  const broken: string[] = [];
  for (const page of ['README.md', ...pages()]) {
    const text = readFileSync(join(ROOT, page), 'utf8');
    for (const link of links(text)) {
      if (/^[a-z]+:/.test(link)) continue; // https:, mailto:
      const [path = '', anchor] = link.split('#');
      const target = path === '' ? page : join(dirname(page), path);
      if (!existsSync(join(ROOT, target))) {
        broken.push(`${page}: ${link} (no ${relative(ROOT, join(ROOT, target))})`);
      } else if (anchor && target.endsWith('.md')) {
        if (!anchors(readFileSync(join(ROOT, target), 'utf8')).has(anchor)) {
          broken.push(`${page}: ${link} (no heading #${anchor} in ${target})`);
        }
      }
    }
  }
  assert.deepEqual(broken, []);
});
