/**
 * Writing benchmark output: result files laid out as the linter wants them, and sections of
 * docs/benchmarks.md that belong to another generator, kept between markers.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ROOT } from './machine.js';

/**
 * Lays the JSON out the way `npm run lint` (biome) expects, so a committed result file keeps
 * the lint clean. Skipped silently when biome is not installed.
 */
export function formatJson(file: URL): void {
  const biome = fileURLToPath(new URL('node_modules/@biomejs/biome/bin/biome', ROOT));
  if (!existsSync(biome)) return;
  spawnSync(process.execPath, [biome, 'format', '--write', fileURLToPath(file)], {
    cwd: ROOT,
    stdio: 'ignore',
    timeout: 30_000,
  });
}

/** A section of a generated page that another generator owns, between two comment markers. */
export interface Section {
  start: string;
  end: string;
}

/** The body of the "Balancing under faults" section of docs/benchmarks.md (bench/balance.ts). */
export const BALANCE_SECTION: Section = {
  start: '<!-- bench:balance:start -->',
  end: '<!-- bench:balance:end -->',
};

/** The balancing section's heading, and the one it goes before on a page that lacks it. */
export const BALANCE_HEADING = '## Balancing under faults';
export const BALANCE_ANCHOR = '## Where the time goes';

/** The section's text, markers included, or undefined when `page` does not have it. */
export function extractSection(page: string, section: Section): string | undefined {
  const from = page.indexOf(section.start);
  const to = page.indexOf(section.end, from);
  if (from < 0 || to < 0) return undefined;
  return page.slice(from, to + section.end.length);
}

/**
 * `page` with `block` (markers included) in place of its section. A page without the section
 * gets `heading` and the block before the first line that starts with `before`, or at the end.
 * The markers sit under the heading, so a generator that replaces another section up to the
 * next `## ` heading never takes them with it.
 */
export function replaceSection(
  page: string,
  section: Section,
  block: string,
  before: string,
  heading: string,
): string {
  const old = extractSection(page, section);
  if (old !== undefined) return page.replace(old, () => block);
  const insert = `${heading}\n\n${block}`;
  const at = page.startsWith(before) ? 0 : page.indexOf(`\n${before}`);
  if (at < 0) return `${page.replace(/\n*$/, '\n\n')}${insert}\n`;
  const cut = at === 0 ? 0 : at + 1;
  return `${page.slice(0, cut)}${insert}\n\n${page.slice(cut)}`;
}
