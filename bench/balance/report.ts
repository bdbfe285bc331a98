/**
 * The "Balancing under faults" section of docs/benchmarks.md (between its markers, so the main
 * benchmark keeps it) and docs/benchmarks-balance.svg, from a bench:balance run.
 * Run directly (`node dist/bench/balance/report.js`) it re-renders both from
 * bench/results/balance.json.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../lib/machine.js';
import {
  BALANCE_ANCHOR,
  BALANCE_HEADING,
  BALANCE_SECTION,
  formatJson,
  replaceSection,
} from '../lib/output.js';
import { find, renderBalanceSvg } from './chart.js';
import type { BalanceMeasurement, BalanceResults } from './results.js';
import { SCENARIOS, type ScenarioId } from './scenarios.js';
import { type Contender, FAMILY_LABELS } from './types.js';

const ms = (v: number | undefined) =>
  v === undefined ? '–' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
const pct = (v: number) => (v === 0 ? '0' : v < 0.0001 ? '<0.01 %' : `${(v * 100).toFixed(2)} %`);
const share = (v: number | undefined) => (v === undefined ? '–' : `${(v * 100).toFixed(1)} %`);
const name = (c: Contender) => `${FAMILY_LABELS[c.family]} ${c.label}`;
/** Callers that fell this far behind their schedule (p99, ms) were short of CPU. */
const LAG_FLAG_MS = 10;
const lagMark = (m: BalanceMeasurement) => (m.lagMs.p99 > LAG_FLAG_MS ? ' †' : '');
const LAG_NOTE = `† The callers sent their calls more than ${LAG_FLAG_MS} ms after the scheduled time (p99): they were short of CPU, so calls went out late and in bursts (the latency counts from the send).`;

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

function callerCounts(results: BalanceResults): number[] {
  return [...new Set(results.measurements.map((m) => m.callers))].sort((a, b) => b - a);
}

/** The contender with the shortest p99 in a scenario (among those with < 1 % errors, if any). */
export function best(
  results: BalanceResults,
  scenario: ScenarioId,
  callers: number,
  among: (c: Contender) => boolean = () => true,
): { contender: Contender; m: BalanceMeasurement } | undefined {
  const cands = results.contenders
    .filter(among)
    .map((contender) => ({ contender, m: find(results, scenario, callers, contender.id) }))
    .filter((x): x is { contender: Contender; m: BalanceMeasurement } => !!x.m?.latencyMs);
  const clean = cands.filter((x) => x.m.errorRate < 0.01);
  const pool = clean.length > 0 ? clean : cands;
  pool.sort((a, b) => (a.m.latencyMs?.p99 ?? 0) - (b.m.latencyMs?.p99 ?? 0));
  return pool[0];
}

function overview(results: BalanceResults, callers: number): string {
  const winners = new Map(
    results.scenarios.map((s) => [s, best(results, s, callers)?.contender.id]),
  );
  const rows = results.contenders.map((c) => [
    name(c),
    ...results.scenarios.map((s) => {
      const m = find(results, s, callers, c.id);
      if (!m) return '–';
      if (m.error || !m.latencyMs) return `_failed_`;
      const p99 = ms(m.latencyMs.p99);
      const cell = `${winners.get(s) === c.id ? `**${p99}**` : p99}${lagMark(m)}`;
      return m.errorRate >= 0.001 ? `${cell} · ${pct(m.errorRate)} err` : cell;
    }),
  ]);
  return table(['system', ...results.scenarios.map((s) => SCENARIOS[s].title)], rows);
}

function detail(results: BalanceResults, scenario: ScenarioId, callers: number): string {
  const rows = results.contenders.map((c) => {
    const m = find(results, scenario, callers, c.id);
    if (!m) return [name(c), '_not measured_', '', '', '', '', '', '', '', ''];
    if (m.error) return [name(c), `_failed: ${m.error}_`, '', '', '', '', '', '', '', ''];
    const others = m.shares.slice(1);
    const e = m.errors;
    const kinds = [
      e.failed && `${e.failed} failed`,
      e.timeout && `${e.timeout} timed out`,
      e.unavailable && `${e.unavailable} unavailable`,
      e.other && `${e.other} other`,
    ].filter(Boolean);
    const q = m.maxQueue;
    return [
      name(c),
      ms(m.latencyMs?.p50),
      ms(m.latencyMs?.p99),
      ms(m.latencyMs?.p999),
      kinds.length > 0 ? `${pct(m.errorRate)} (${kinds.join(', ')})` : '0',
      share(m.shares[0]),
      others.length > 0 ? `${share(Math.min(...others))}–${share(Math.max(...others))}` : '–',
      `${q[0] ?? '–'} / ${Math.max(0, ...q.slice(1).map((v) => v ?? 0))}`,
      `${ms(m.lagMs.p99)}${lagMark(m)}`,
      String(m.issued),
    ];
  });
  return table(
    [
      'system',
      'p50 ms',
      'p99 ms',
      'p99.9 ms',
      'errors',
      'w0 share',
      'others (min–max)',
      'max in worker: w0 / others',
      'caller lag p99 ms',
      'calls',
    ],
    rows,
  );
}

/** One line per scenario: the shortest p99 overall, then the best of each other system. */
export function headlines(results: BalanceResults, callers: number): string[] {
  const figure = (x: { m: BalanceMeasurement }) =>
    `${ms(x.m.latencyMs?.p99)} ms${x.m.errorRate >= 0.001 ? ` (${pct(x.m.errorRate)} errors)` : ''}`;
  return results.scenarios.flatMap((s) => {
    const top = best(results, s, callers);
    if (!top) return [];
    const families = [...new Set(results.contenders.map((c) => c.family))];
    const others = families
      .filter((f) => f !== top.contender.family)
      .map((f) => best(results, s, callers, (c) => c.family === f))
      .filter((x) => x !== undefined)
      .map((x) => `best ${FAMILY_LABELS[x.contender.family]}: ${x.contender.label} ${figure(x)}`);
    const lead = `**${SCENARIOS[s].title}**: shortest p99 ${name(top.contender)} ${figure(top)}`;
    return [`- ${[lead, ...others].join('; ')}.`];
  });
}

function setup(results: BalanceResults): string {
  const m = results.machine;
  const model = results.model;
  const run = results.run;
  return [
    `- Command: \`${results.command}\` (${results.mode} mode${results.complete ? '' : ', partial'}), started ${results.startedAt}, took ${results.durationS} s${results.stoppedEarly ? ` (${results.stoppedEarly})` : ''}.`,
    `- Machine: ${m.cpu}, ${m.cores} cores, ${m.os}; load average ${results.loadBefore.join(' / ')} before and ${results.loadAfter.join(' / ')} after the run (1 / 5 / 15 min). Node.js ${m.node}; moleculer ${m.packages.moleculer}, nats-server ${results.natsServer}; commit ${m.commit}.`,
    `- Model: ${model.workers} workers per system, ${model.slots} slot${model.slots > 1 ? 's' : ''} each, exponential service times with mean ${model.meanMs} ms, offered load ${Math.round(model.util * 100)} % of the workers' capacity at the start, timeout ${model.timeoutMs} ms per call; ${run.durationMs} ms measured per contender after ${run.warmupMs} ms of warm-up at the same load.`,
    ...Object.entries(results.skipped).map(([what, why]) => `- Not measured: **${what}**: ${why}.`),
  ].join('\n');
}

/** The section's body, between its markers (the heading is outside them). */
export function renderBalanceSection(results: BalanceResults): string {
  const counts = callerCounts(results);
  const many = counts[0] ?? 4;
  const parts: string[] = [
    BALANCE_SECTION.start,
    `<!-- Generated by bench/balance.ts (\`${results.command}\`); edit the generator, not this section. -->`,
    `Which system keeps the tail short when a worker misbehaves? Every rpc-load-balancer algorithm, Moleculer's strategies and NATS queue groups, on the same worker processes' service-time model, measured one after the other in one run (\`npm run bench:balance\`; raw figures in \`bench/results/balance.json\`). How it works is described [below](#how-the-balancing-benchmark-works).`,
    '![p99 latency per scenario and system](benchmarks-balance.svg)',
    `### Shortest p99 per scenario (${many} caller process${many > 1 ? 'es' : ''})`,
    headlines(results, many).join('\n'),
    '### This run',
    setup(results),
  ];
  for (const callers of counts) {
    parts.push(
      `### p99 ms, ${callers} caller process${callers > 1 ? 'es' : ''}`,
      `Bold: the shortest p99 among the rows with under 1 % errors. Errors are shown from 0.1 %.\n\n${overview(results, callers)}\n\n${LAG_NOTE}`,
    );
  }
  for (const s of results.scenarios) {
    const sc = SCENARIOS[s];
    parts.push(`### ${sc.title}`, `${sc.what[0]?.toUpperCase()}${sc.what.slice(1)}.`);
    for (const callers of counts) {
      parts.push(
        `${callers} caller process${callers > 1 ? 'es' : ''}:\n\n${detail(results, s, callers)}`,
      );
    }
  }
  parts.push(METHOD, BALANCE_SECTION.end);
  return parts.join('\n\n');
}

const METHOD = `### How the balancing benchmark works

- **Workers.** Eight processes per system on 127.0.0.1, each serving \`Work.serve\` (rpc-load-balancer
  \`node.expose\`, a Moleculer action, a NATS queue-group subscription). A call *waits*, it does not
  spin: each worker is a FIFO queue in front of one service slot (\`--slots\`), with exponential
  service times of mean \`--mean-ms\`. Start and end of each call follow the queue on a modelled
  clock (start = max(arrival, slot free), end = start + service), and a timer sends the reply at
  the end, so a worker serves at exactly its nominal rate however the machine's timers jitter
  (they add about ±1 ms to each reply, the same for every system). A slow worker multiplies its
  service times; a failing worker answers the failing share of its calls with an error at once,
  without queueing.
- **Callers.** 1 or 4 processes, each an open-loop Poisson source at its share of the offered
  load (a fraction of the workers' total capacity at the start, so one 5× slower worker lowers
  the load with it; a worker degrading mid-run does not). Arrivals do not wait for replies, so a
  worker that gets more than it can serve really builds a queue. Latency is measured from the
  moment a call is sent to its reply, over successful calls; every failed call (an error reply,
  a timeout, a lost connection) counts in the error rate. The arrival times are the same for
  every contender of a scenario. How late the callers sent calls after their scheduled arrival
  is shown as "caller lag": on a shared machine a caller short of CPU sends late, and in bursts.
- **Each contender** gets a fresh start: worker queues are emptied, the callers switch to its
  balancer (rpc-load-balancer: a new \`startLoadBalancer\` with the algorithm; Moleculer: a broker
  whose registry strategy it is; NATS: the server's queue group) and wait until they see exactly
  the eight live workers; then a warm-up and the measured window. Mid-run events (degrading,
  SIGKILL and a fresh process) happen in the middle of the window. Contenders alternate, the
  first one rotating from group to group.
- **Shares** are the calls each worker received in the measured window, counted by the workers
  (calls that then timed out included); a killed worker's slot counts what the old process had
  received when it was killed plus the fresh process's calls. "Max in worker" is the most calls a
  worker held at once (queued or in service); for a killed slot, the fresh process's.
- **Moleculer** uses the TCP transporter with static URLs, no UDP discovery, the project codec,
  default strategy options, and each worker reporting its own host name (a label; Moleculer's
  Latency strategy measures per host, by ping round trip every 10 s). CpuUsage reads the CPU load
  that nodes report in their heartbeats, which on one machine is the machine's.
- **NATS**: nats-server (Debian's package) on 127.0.0.1 with a free port, started and stopped by
  the benchmark; \`@nats-io/transport-node\` requests to a subject every worker subscribes to in
  one queue group; the server picks a member at random for each message.
- **rpc-load-balancer**: one balancer per caller process, over the group the workers join, with
  \`lb.call\` and the per-call timeout, and the balancer's defaults otherwise (outlier detection
  and the retry budget on, where the library has them); \`HashRing\` gets a distinct key per call;
  \`WeightedRoundRobin\` gets the true speeds (1 for the slow worker, 5 for the others) in the
  one-slow scenario and equal weights elsewhere.
- Every process (workers, callers, nats-server) is killed by pid when the run ends, fails, is
  interrupted, or passes its deadline.`;

/**
 * The section's body from bench/results/balance.json, for the main benchmark's page (which is
 * re-rendered whole); a placeholder when there are no results yet.
 */
export function balanceSection(): string {
  const file = new URL('bench/results/balance.json', ROOT);
  if (!existsSync(file)) {
    const todo = '_Not measured yet: run `npm run bench:balance`._';
    return `${BALANCE_SECTION.start}\n${todo}\n${BALANCE_SECTION.end}`;
  }
  return renderBalanceSection(JSON.parse(readFileSync(file, 'utf8')) as BalanceResults);
}

/** Writes bench/results/balance.json (a complete run's results, committed). */
export function writeBalanceResults(results: BalanceResults, log: (s: string) => void): void {
  mkdirSync(new URL('bench/results/', ROOT), { recursive: true });
  const file = new URL('bench/results/balance.json', ROOT);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  formatJson(file);
  log('wrote bench/results/balance.json');
}

/** Writes the section of docs/benchmarks.md and docs/benchmarks-balance.svg. */
export function writeBalanceDocs(results: BalanceResults, log: (s: string) => void): void {
  const page = new URL('docs/benchmarks.md', ROOT);
  const old = existsSync(page) ? readFileSync(page, 'utf8') : '# Benchmarks\n';
  const body = renderBalanceSection(results);
  writeFileSync(page, replaceSection(old, BALANCE_SECTION, body, BALANCE_ANCHOR, BALANCE_HEADING));
  writeFileSync(new URL('docs/benchmarks-balance.svg', ROOT), renderBalanceSvg(results));
  log(
    'wrote the "Balancing under faults" section of docs/benchmarks.md, docs/benchmarks-balance.svg',
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const results = JSON.parse(
    readFileSync(new URL('bench/results/balance.json', ROOT), 'utf8'),
  ) as BalanceResults;
  writeBalanceDocs(results, console.log);
}
