/**
 * Reads the code blocks of a Markdown page and the `<!-- doctest: ... -->` comments that say
 * how the docs test treats them. The comments are invisible on a rendered page; the grammar is
 * described in test/docs/README.md.
 */

/** What the docs test does with one fenced block. */
export type Action =
  | { kind: 'run' } // a program (js, ts) or commands (sh): run it
  | { kind: 'file'; name: string } // write it as `name` for later blocks, do not run it
  | { kind: 'fragment'; setup: string } // run it after (and before the teardown of) a setup
  | { kind: 'typecheck' } // TypeScript that must compile, with nothing to run
  | { kind: 'output'; vary: OutputVariance } // what the previous run printed
  | { kind: 'scenario' } // exercised by the page's scenario (test/docs/scenarios.ts)
  | { kind: 'skip'; reason: string }
  | { kind: 'text' } // not code: output, diagrams, listings
  | { kind: 'unmarked' }; // shell commands with no marker: the test asks for one

/** What may differ between an output block and what the program printed. */
export interface OutputVariance {
  names: boolean;
  numbers: boolean;
  /** Numbers of two digits or more vary (call counts); small ones, such as 0 failures, do not. */
  counts: boolean;
  order: boolean;
  lines: number[];
}

/** One fenced block of a page. */
export interface Block {
  page: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  code: string;
  action: Action;
}

/** A named preamble (and teardown) for fragments, from `<!-- doctest: setup NAME ... -->`. */
export interface Setup {
  before: string;
  after: string;
}

export interface Page {
  path: string;
  /** The whole Markdown text. */
  text: string;
  blocks: Block[];
  setups: Map<string, Setup>;
  /** From `<!-- doctest: scenario NAME -->` at page level. */
  scenario: string | undefined;
  /** Commands the page's blocks need, from `<!-- doctest: requires CMD -->`. */
  requires: string[];
}

/** Program languages: an unmarked block in one of them is run. */
const PROGRAMS = new Set(['js', 'mjs', 'ts']);
/**
 * Shell commands are never run without a `doctest: run` marker: they install, clone, start
 * long-running things; each one must say whether it is run, and if not, why.
 */
const SHELL = new Set(['sh', 'bash', 'console', 'shell']);
const FENCE = /^(`{3,}|~{3,})\s*([\w-]*)/;

function parseVariance(text: string): OutputVariance {
  const lines = /lines? ([\d, ]+) var(?:y|ies)/.exec(text)?.[1];
  return {
    names: /names vary/.test(text),
    numbers: /numbers vary/.test(text),
    counts: /counts vary/.test(text),
    order: /order varies/.test(text),
    lines: lines ? lines.split(/[ ,]+/).filter(Boolean).map(Number) : [],
  };
}

/** The action a marker asks for; `undefined` when the marker is not about a block. */
function parseMarker(text: string, where: string): Action {
  const [word = '', ...rest] = text.trim().split(/\s+/);
  const arg = rest.join(' ');
  switch (word.replace(/[:,]$/, '')) {
    case 'run':
      return { kind: 'run' };
    case 'file':
      if (!arg) throw new Error(`${where}: "doctest: file" needs a file name`);
      return { kind: 'file', name: arg };
    case 'fragment':
      if (!arg) throw new Error(`${where}: "doctest: fragment" needs a setup name`);
      return { kind: 'fragment', setup: arg };
    case 'typecheck':
      return { kind: 'typecheck' };
    case 'output':
      return { kind: 'output', vary: parseVariance(arg) };
    case 'scenario':
      return { kind: 'scenario' };
    case 'skip':
      if (!arg) throw new Error(`${where}: "doctest: skip" needs a reason`);
      return { kind: 'skip', reason: arg };
    default:
      throw new Error(`${where}: unknown doctest marker "${text.trim()}"`);
  }
}

/** Splits a page into its fenced blocks, each with the action its marker (or its language) gives. */
export function parsePage(path: string, text: string): Page {
  const lines = text.split('\n');
  const page: Page = {
    path,
    text,
    blocks: [],
    setups: new Map(),
    scenario: undefined,
    requires: [],
  };
  let pending: Action | undefined;
  let declarationsSkipped: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const where = `${path}:${i + 1}`;
    if (line.startsWith('<!-- doctest:')) {
      // A marker may span lines (setups do); it ends at the first "-->".
      let body = line.slice('<!-- doctest:'.length);
      while (!body.includes('-->') && i + 1 < lines.length) body += `\n${lines[++i]}`;
      body = body.slice(0, body.lastIndexOf('-->'));
      const head = body.trim().split('\n')[0] as string;
      if (head.startsWith('setup ')) {
        const name = head.slice('setup '.length).trim();
        const code = body.slice(body.indexOf('\n') + 1);
        const [before = '', after = ''] = code.split(/^---$/m);
        page.setups.set(name, { before, after });
      } else if (head.startsWith('requires ')) {
        page.requires.push(...head.slice('requires '.length).trim().split(/\s+/));
      } else if (head.startsWith('scenario ')) {
        page.scenario = head.slice('scenario '.length).trim();
      } else if (head.startsWith('unmarked ts blocks are declarations')) {
        declarationsSkipped = head;
      } else {
        pending = parseMarker(body, where);
      }
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence) {
      const [, marks = '```', lang = ''] = fence;
      const start = i;
      const code: string[] = [];
      while (++i < lines.length && !(lines[i] as string).startsWith(marks))
        code.push(lines[i] as string);
      const kind = PROGRAMS.has(lang) ? 'run' : SHELL.has(lang) ? 'unmarked' : 'text';
      let action: Action = pending ?? { kind };
      if (!pending && lang === 'ts' && declarationsSkipped) {
        action = { kind: 'skip', reason: 'a declaration listing (page marker)' };
      }
      page.blocks.push({ page: path, line: start + 1, lang, code: `${code.join('\n')}\n`, action });
      pending = undefined;
      continue;
    }
    // A marker belongs to the very next block: only blank lines may separate them.
    if (pending && line.trim() !== '') {
      throw new Error(`${where}: a doctest marker must come right before a code block`);
    }
  }
  return page;
}

const NODE_NAME = /\b[\w.-]+@127\.0\.0\.1\b/g;
const NUMBER = /\d[\d,._]*/g;
const COUNT = /\b\d[\d,._]*\d\b/g;

function normalise(lines: string[], vary: OutputVariance): string[] {
  const out = lines
    .map((line, i) => (vary.lines.includes(i + 1) ? '<varies>' : line))
    .map((line) => (vary.names ? line.replace(NODE_NAME, '<node>') : line))
    .map((line) => (vary.numbers ? line.replace(NUMBER, '<n>') : line))
    .map((line) => (vary.counts ? line.replace(COUNT, '<n>') : line))
    .map((line) => line.trimEnd());
  return vary.order ? out.sort() : out;
}

/**
 * Compares what a page says a program prints with what it printed. A `...` line in the page
 * stands for the rest of the output. Returns a description of the first difference, or
 * `undefined` when they agree.
 */
export function compareOutput(
  expected: string,
  actual: string,
  vary: OutputVariance,
): string | undefined {
  const want = expected.replace(/\n+$/, '').split('\n');
  const open = want[want.length - 1] === '...';
  if (open) want.pop();
  let got = actual.replace(/\n+$/, '').split('\n');
  if (open) got = got.slice(0, want.length);
  const a = normalise(want, vary);
  const b = normalise(got, vary);
  if (a.length !== b.length) {
    return `the page shows ${a.length} lines, the program printed ${b.length}:\n${actual}`;
  }
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i])
      return `line ${i + 1}: the page shows\n  ${a[i]}\nthe program printed\n  ${b[i]}\n(whole output:\n${actual})`;
  }
  return undefined;
}
