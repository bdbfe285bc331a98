/**
 * The dashboard in a real browser: Debian's Chromium (headless), driven by puppeteer-core, on a
 * cluster of four real node processes watched by a real `rpclb dashboard` process. The page
 * must show the four nodes and their links, per-member figures that move under load, and lose
 * a SIGKILLed worker within 2 s; a screenshot is taken for the docs.
 *
 * Without Chromium (or puppeteer-core) the test says so in one line and is skipped. Chromium is
 * `RPCLB_CHROMIUM` or /usr/bin/chromium (`apt-get install chromium`; CI installs it). Screenshots
 * go to a temporary directory removed after the test (`RPCLB_KEEP_SCREENSHOTS=1` keeps it), or to
 * docs/ with `RPCLB_UPDATE_SCREENSHOTS=1` (`npm run docs:screenshots`).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Cluster, COOKIE, type Worker } from '../helpers/cluster.js';

const CHROMIUM = process.env.RPCLB_CHROMIUM ?? '/usr/bin/chromium';
const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const DOCS = fileURLToPath(new URL('../../../docs/', import.meta.url));
const TO_DOCS = process.env.RPCLB_UPDATE_SCREENSHOTS === '1';
const KEEP = TO_DOCS || process.env.RPCLB_KEEP_SCREENSHOTS === '1';
/** What the headless browser needs on a machine with no network but loopback (and as root, no sandbox). */
const CHROMIUM_ARGS = [
  '--headless',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Two pages are open at once: the one behind must keep rendering the views it receives.
  '--disable-background-timer-throttling',
  '--disable-backgrounding-occluded-windows',
  '--disable-renderer-backgrounding',
  ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
];

async function loadPuppeteer() {
  try {
    return (await import('puppeteer-core')).default;
  } catch (err) {
    return `puppeteer-core cannot be loaded (${(err as Error).message.split('\n')[0]})`;
  }
}

/** Starts `rpclb dashboard` on the cluster; resolves with its process and port. */
async function startDashboardProcess(t: { after(fn: () => void): void }, seed: Worker) {
  const args = [CLI, 'dashboard', '--seed', seed.address, '--cookie', COOKIE];
  const child: ChildProcess = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => void child.kill('SIGKILL'));
  let out = '';
  child.stdout?.setEncoding('utf8');
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no URL from rpclb dashboard: ${out}`)),
      15_000,
    );
    child.stdout?.on('data', (chunk: string) => {
      out += chunk;
      const match = /^rpclb dashboard: http:\/\/127\.0\.0\.1:(\d+)\/$/m.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`rpclb dashboard exited (${code}): ${out}`)));
  });
  return { child, port };
}

// Read in the page as strings: the test is compiled without the DOM's types.
const GRAPH = `({
  nodes: [...document.querySelectorAll('#graph g[data-node]')].map((g) => g.dataset.node).sort(),
  links: [...document.querySelectorAll('#graph line[data-link]')].map((l) => l.dataset.link + ' ' + l.dataset.state).sort(),
})`;
const rates = (balancer: string) => `Object.fromEntries(
  [...document.querySelectorAll('[data-balancer="${balancer}"] tr[data-member]')].map((row) => [
    row.dataset.member.split('|')[2],
    { callsPerS: Number(row.querySelector('.calls-per-s').textContent),
      p99: row.querySelector('.p99').textContent },
  ]))`;

test('the dashboard in headless Chromium: nodes, links, live figures, a killed worker', async (t) => {
  const puppeteer = await loadPuppeteer();
  if (!existsSync(CHROMIUM) || typeof puppeteer === 'string') {
    const why = typeof puppeteer === 'string' ? puppeteer : `no Chromium at ${CHROMIUM}`;
    t.skip(`browser test not run: ${why} (apt-get install chromium, or set RPCLB_CHROMIUM)`);
    return;
  }
  const shots = TO_DOCS ? DOCS : mkdtempSync(join(tmpdir(), 'rpclb-shots-'));
  if (!KEEP) t.after(() => rmSync(shots, { recursive: true, force: true }));
  const cluster = new Cluster(t);
  const w1 = await cluster.spawn({ name: 'w1@127.0.0.1', behaviour: { delayMs: 2 } });
  const rest = await Promise.all(
    ['w2', 'w3', 'w4'].map((n) =>
      cluster.spawn({ name: `${n}@127.0.0.1`, seeds: [w1.address], behaviour: { delayMs: 2 } }),
    ),
  );
  const workers = [w1, ...rest];
  const names = workers.map((w) => w.name);
  // RoundRobin: every member gets calls in every second, whatever the default algorithm learns.
  await Promise.all(workers.map((w) => w.request('startLb', { algorithm: 'RoundRobin' })));
  await w1.waitForEvent((e) => e.event === 'nodeup' && e.peer === 'w4@127.0.0.1');
  const { port } = await startDashboardProcess(t, w1);

  const browser = await puppeteer.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  t.after(() => browser.close());
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  await page.setViewport({ width: 1280, height: 860 });
  await page.goto(`http://127.0.0.1:${port}/`);
  // A phone-sized page alongside, open from the start so its sparklines fill as the desktop's do.
  const phone = await browser.newPage();
  phone.on('pageerror', (err) => errors.push(String(err)));
  await phone.setViewport({ width: 390, height: 844, isMobile: true, deviceScaleFactor: 2 });
  await phone.goto(`http://127.0.0.1:${port}/`);

  await t.test('the four nodes and their links appear', async () => {
    const fourWorkers = `${GRAPH}.nodes.filter((n) => n.startsWith('w')).length === 4`;
    await page.waitForFunction(fourWorkers, { timeout: 10_000, polling: 100 });
    // Every pair of workers is linked, and the dashboard's own node to each of them.
    const pairs = names.flatMap((a, i) => names.slice(i + 1).map((b) => `${a}|${b} up`));
    await page.waitForFunction(`${GRAPH}.links.filter((l) => l.endsWith(' up')).length >= 10`, {
      timeout: 10_000,
      polling: 100,
    });
    const graph = (await page.evaluate(GRAPH)) as { nodes: string[]; links: string[] };
    assert.deepEqual(
      graph.nodes.filter((n) => n.startsWith('w')),
      names,
    );
    for (const pair of pairs) assert.ok(graph.links.includes(pair), `${pair} in ${graph.links}`);
    assert.equal(graph.nodes.length, 5, 'the four workers and the dashboard node');
  });

  await t.test('under load, every member’s calls/s and latency show', async () => {
    const load = w1.request('lbLoad', 'Test', 'work', [0], 4_000, 16);
    const balancer = 'w1@127.0.0.1|lb';
    const allMoving = `Object.values(${rates(balancer)}).filter((m) => m.callsPerS > 0 && m.p99 !== '–').length === 4`;
    await page.waitForFunction(allMoving, { timeout: 10_000, polling: 100 });
    const first = (await page.evaluate(rates(balancer))) as Record<string, { callsPerS: number }>;
    assert.deepEqual(Object.keys(first).sort(), names);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await page.screenshot({ path: join(shots, 'dashboard.png'), fullPage: true });
    await phone.waitForFunction(allMoving, { timeout: 5_000, polling: 100 });
    await phone.screenshot({ path: join(shots, 'dashboard-phone.png'), fullPage: true });
    const { perNode } = (await load) as { perNode: Record<string, number> };
    assert.deepEqual(Object.keys(perNode).sort(), names, 'the load reached every worker');
    const png = readFileSync(join(shots, 'dashboard.png'));
    assert.equal(png.subarray(1, 4).toString(), 'PNG');
  });

  await t.test('a SIGKILLed worker leaves the graph within 2 s', async () => {
    const victim = workers[3] as Worker;
    const gone = `!${GRAPH}.nodes.includes('${victim.name}')`;
    assert.equal(await page.evaluate(gone), false, 'it is there before');
    const killedAt = performance.now();
    victim.kill('SIGKILL');
    await page.waitForFunction(gone, { timeout: 2_000, polling: 50 });
    const tookMs = Math.round(performance.now() - killedAt);
    t.diagnostic(`${victim.name} left the graph ${tookMs} ms after SIGKILL`);
    const events = (await page.evaluate(`document.getElementById('events').textContent`)) as string;
    assert.match(events, /w4@127\.0\.0\.1 down \(closed\)/);
  });

  assert.deepEqual(errors, [], 'no error in the page');
  if (KEEP) t.diagnostic(`screenshots in ${shots}`);
});
