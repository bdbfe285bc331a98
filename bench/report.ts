/**
 * Writes a run's results as docs/benchmarks.md (tables, targets) and docs/benchmarks.svg.
 * Run directly (`node dist/bench/report.js`) it re-renders both from bench/results/latest.json.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { balanceSection } from './balance/report.js';
import { type Analysis, analyze, type BenchResults, type Cell, judge } from './lib/analyze.js';
import { TARGETS } from './lib/cases.js';
import { renderSvg as chart } from './lib/chart.js';
import { ROOT } from './lib/machine.js';
import { observabilityTable } from './lib/observability-report.js';
import { PICK_FLOOR_NAME, PICK_MEMBER_COUNTS, type PickRow } from './lib/picks-types.js';
import { OBSERVED_SYSTEMS, SYSTEM_LABELS, type SystemName } from './lib/protocol.js';
import { SCALE_HEADING, scaleSection } from './lib/scale-report.js';
import { soakSection } from './lib/soak-report.js';
import type { Summary } from './lib/stats.js';

export type { BenchResults, Measurement } from './lib/analyze.js';

const num = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : '–';
const digitsFor = (n: number) => (n >= 100 ? 0 : n >= 10 ? 1 : 2);
const fmt = (n: number) => num(n, digitsFor(Math.abs(n)));
const spread = (s: Summary | undefined, f = fmt) =>
  s && s.n > 0 ? `${f(s.median)} <sub>${f(s.min)}–${f(s.max)}</sub>` : '–';
const ratio = (s: Summary | undefined) =>
  s && s.n > 0 ? `${s.median.toFixed(2)}× <sub>${s.min.toFixed(2)}–${s.max.toFixed(2)}</sub>` : '–';
const bytes = (n: number) =>
  n >= 2 ** 20
    ? `${(n / 2 ** 20).toFixed(2)} MiB`
    : n >= 1024
      ? `${(n / 1024).toFixed(1)} KiB`
      : `${n} B`;

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** The systems compared with each other (the observed rpclb variants have their own section). */
function systemsOf(results: BenchResults): SystemName[] {
  return results.systems.filter((s) => !OBSERVED_SYSTEMS.includes(s));
}

function cellOr(
  results: BenchResults,
  analysis: Analysis,
  caseId: string,
  system: SystemName,
): Cell | string {
  const cell = analysis.get(caseId)?.get(system);
  if (cell && cell.throughput.n > 0) return cell;
  if (cell && cell.errors.length > 0) return `failed: ${cell.errors[0]}`;
  return results.skipped[system] ?? 'not measured';
}

function caseTable(results: BenchResults, analysis: Analysis, caseId: string): string {
  const def = results.cases.find((c) => c.id === caseId);
  if (!def) return '';
  const latency = def.recordLatency;
  const large = def.payload === 'large';
  const head = ['system', 'calls/s'];
  if (latency) head.push('p50 µs', 'p99 µs', 'mean µs');
  if (large) head.push('MiB/s each way');
  head.push('calls/s vs floor', 'vs plain floor');
  if (latency) head.push('p50 vs floor');
  if (def.balanced) head.push('share per server');
  const rows: string[][] = [];
  for (const system of systemsOf(results)) {
    const cell = cellOr(results, analysis, caseId, system);
    if (typeof cell === 'string') {
      rows.push([SYSTEM_LABELS[system], `_${cell}_`, ...head.slice(2).map(() => '')]);
      continue;
    }
    const row = [SYSTEM_LABELS[system], spread(cell.throughput)];
    if (latency) row.push(spread(cell.p50), spread(cell.p99), spread(cell.mean));
    if (large) {
      const mib = results.payloadBytes.large / 2 ** 20;
      row.push(fmt(cell.throughput.median * mib));
    }
    row.push(system === 'floor' ? '1.00×' : ratio(cell.ratio));
    row.push(system === 'floorPlain' ? '1.00×' : ratio(cell.ratioPlain));
    if (latency) row.push(system === 'floor' ? '1.00×' : ratio(cell.p50Ratio));
    if (def.balanced) {
      row.push(cell.shares ? cell.shares.map((s) => `${(s * 100).toFixed(1)}%`).join(' / ') : '–');
    }
    if (cell.errors.length > 0) row[0] += ` (${cell.errors.length} failed pass(es))`;
    rows.push(row);
  }
  return table(head, rows);
}

function pickTarget(results: BenchResults, algorithm: string): number | undefined {
  const t = results.picks.targetsNs;
  if (typeof t === 'number') return t;
  return t?.[algorithm];
}

function picksSection(results: BenchResults): string {
  const { rows, floor, missing } = results.picks;
  const all: PickRow[] = [...floor, ...rows];
  const names = [...new Set(all.map((r) => r.algorithm))];
  const floorName = floor[0]?.algorithm ?? PICK_FLOOR_NAME;
  const floor1k = floor.find((r) => r.members === 1_000)?.nsPerOp;
  const head = [
    'algorithm',
    ...PICK_MEMBER_COUNTS.map((n) => `${num(n)} members`),
    'vs floor at 1 000',
    'target at 1 000',
  ];
  const body = names.map((name) => {
    const at = (n: number) => all.find((r) => r.algorithm === name && r.members === n);
    const r1k = at(1_000);
    const target = name === floorName ? undefined : pickTarget(results, name);
    let verdict = '';
    if (target !== undefined && r1k) {
      verdict = `≤ ${target} ns: **${r1k.nsPerOp <= target ? 'PASS' : 'MISS'}**`;
    } else if (name !== floorName) verdict = 'n/a';
    return [
      name,
      ...PICK_MEMBER_COUNTS.map((n) => {
        const r = at(n);
        if (!r) return '–';
        const min = Math.min(...r.samples);
        const max = Math.max(...r.samples);
        return r.samples.length > 1
          ? `${fmt(r.nsPerOp)} <sub>${fmt(min)}–${fmt(max)}</sub>`
          : fmt(r.nsPerOp);
      }),
      r1k && floor1k ? `${(r1k.nsPerOp / floor1k).toFixed(1)}×` : '–',
      verdict,
    ];
  });
  const notes: string[] = [];
  if (missing) notes.push(`_${missing}._`);
  if (rows.length > 0 && results.picks.targetsNs === undefined) {
    notes.push('_bench/picks.ts states no numeric target, so no PASS/MISS is given for picks._');
  }
  return [table(head, body), ...notes].join('\n\n');
}

/**
 * CPU µs per call, client process and server processes, per case and system: the cost of each
 * system's own work, which a busy machine moves less than it moves calls/s.
 */
function cpuTable(results: BenchResults, analysis: Analysis): string {
  const us = (s: Summary | undefined) => (s && s.n > 0 ? fmt(s.median) : '–');
  const rows = results.cases.map((c) => [
    c.title,
    ...systemsOf(results).map((system) => {
      const cell = analysis.get(c.id)?.get(system);
      return cell?.clientCpu ? `${us(cell.clientCpu)} + ${us(cell.serverCpu)}` : '–';
    }),
  ]);
  return table(['case', ...systemsOf(results).map((s) => SYSTEM_LABELS[s])], rows);
}

/** Median with the fastest and slowest sample in small print (just the figure for one sample). */
function msSpread(median: number, samples: number[]): string {
  if (samples.length <= 1) return fmt(median);
  return `${fmt(median)} <sub>${fmt(Math.min(...samples))}–${fmt(Math.max(...samples))}</sub>`;
}

function membershipSection(results: BenchResults): string {
  const m = results.membership;
  if (!m) return '_Not measured: these results were written before the membership benchmark ran._';
  if ('missing' in m) return `_${m.missing}._`;
  const parts: string[] = [];
  if (m.convergence.length > 0) {
    parts.push(
      table(
        [
          'node processes',
          'full mesh, ms after the last one listens',
          'formations',
          'starting the processes took, ms',
        ],
        m.convergence.map((c) => [
          String(c.nodes),
          msSpread(c.ms, c.samples),
          String(c.samples.length),
          fmt(c.startMs),
        ]),
      ),
    );
  }
  const j = m.joinVisibleMs;
  if (j.samples.length > 0) {
    parts.push(
      table(
        ['cluster', 'join visible on all nodes: median ms', 'spread (fastest–slowest) ms', 'joins'],
        [
          [
            `${j.nodes} node processes`,
            fmt(j.median),
            `${fmt(Math.min(...j.samples))}–${fmt(Math.max(...j.samples))}`,
            String(j.samples.length),
          ],
        ],
      ),
    );
  }
  if (m.stoppedEarly) parts.push(`_The membership benchmark ${m.stoppedEarly}._`);
  if (parts.length === 0) parts.push('_Nothing was measured._');
  return parts.join('\n\n');
}

export function renderSvg(results: BenchResults): string {
  return chart(results, analyze(results));
}

export function renderMarkdown(results: BenchResults, opts: { summaryOnly?: boolean } = {}) {
  const analysis = analyze(results);
  const verdicts = TARGETS.map((t) => judge(t, analysis, results.skipped.rpclb));
  const targets = table(
    ['target (rpc-load-balancer vs floor)', 'wanted', 'measured (median of passes)', 'result'],
    verdicts.map((v) => [
      v.label,
      v.wanted,
      v.measured,
      v.status === 'n/a' ? 'n/a' : `**${v.status}**`,
    ]),
  );
  const overview = table(
    ['case', ...systemsOf(results).map((s) => SYSTEM_LABELS[s])],
    results.cases.map((c) => [
      c.title,
      ...systemsOf(results).map((s) => {
        const cell = analysis.get(c.id)?.get(s);
        if (!cell || cell.throughput.n === 0) return '–';
        const r = s === 'floor' ? '' : ` (${cell.ratio?.median.toFixed(2) ?? '–'}×)`;
        return `${fmt(cell.throughput.median)}${r}`;
      }),
    ]),
  );
  if (opts.summaryOnly) {
    return `\nCalls/s, median of passes (ratio to the floor):\n\n${overview}\n\nCPU µs per call, client + servers:\n\n${cpuTable(results, analysis)}\n\nThe cost of observability:\n\n${observabilityTable(results, analysis)}\n\n${targets}\n`;
  }
  const m = results.machine;
  const cfg = results.config;
  const skipped = Object.entries(results.skipped).map(
    ([s, why]) => `- **${SYSTEM_LABELS[s as SystemName]}** was not measured: ${why}.`,
  );
  const sections = results.cases.map(
    (c) => `### ${c.title}\n\n${caseTable(results, analysis, c.id)}`,
  );
  return `# Benchmarks

<!-- Generated by bench/run.ts (\`${results.command}\`); edit the generator, not this file. -->

rpc-load-balancer side by side with a raw \`node:net\` floor, [@grpc/grpc-js](https://github.com/grpc/grpc-node)
and [Moleculer](https://moleculer.services/) (TCP transporter), all measured in **one run**,
alternating between systems, so every ratio below compares figures taken minutes apart on the
same machine. Regenerate with \`npm run bench\` (full, under 10 minutes) or \`npm run bench:quick\`
(under 2 minutes); raw per-pass figures go to \`bench/results/latest.json\`.

![Calls/s relative to the node:net floor, per case and system](benchmarks.svg)

## Targets

${[targets, ...(skipped.length > 0 ? [skipped.join('\n')] : [])].join('\n\n')}

## This run

- Command: \`${results.command}\` (${results.mode} mode), started ${results.startedAt}, took ${results.durationS} s.
- ${cfg.passesDone} passes${cfg.stoppedEarly ? ` (${cfg.stoppedEarly})` : ''}; in each pass every case is measured on every system in turn (A B C D, the starting system rotating from pass to pass), ${cfg.durationMs} ms per measurement after ${cfg.warmupMs} ms of unmeasured calls of the same case.
- Machine: ${m.cpu}, ${m.cores} cores available, ${m.memoryGiB} GiB RAM, ${m.os}; load average ${(results.loadBefore ?? []).join(' / ') || 'unknown'} (1 / 5 / 15 min) just before the run.
- Runtime and packages: Node.js ${m.node}; ${Object.entries(m.packages)
    .map(([p, v]) => `${p} ${v}`)
    .join(', ')}; commit ${m.commit}.
- Payloads (encoded with the project codec): ${bytes(results.payloadBytes.small)} object, ${bytes(results.payloadBytes.medium)} object (44 records), ${bytes(results.payloadBytes.large)} for the 1 MiB \`Buffer\`.

Figures are medians over the passes, with the lowest and highest pass in small print. Ratios
to the floor are computed pass by pass (each system against the floor of the same pass) and
then summarised the same way.

Reading the figures: on a small virtual machine, one process waking another on the other
vCPU can cost tens of microseconds, and other work on the host moves figures from one pass
to the next, which is why every figure comes with its spread and every ratio is paired within
a pass. The sequential cases are the noisiest. At 4 KiB the payload (44 records) costs tens
of microseconds to encode and decode on each side ([codec notes](explanation/codec.md)), so
the codec dominates and every system that uses it moves toward the floor; the 64 B cases show
each system's own per-call overhead most clearly.

## Overview

${overview}

## CPU per call

Microseconds of CPU per call, client process + server processes (user + system time, from
\`process.cpuUsage()\` around each measurement, divided by the calls it made; median of the
passes). Unlike calls/s, this does not depend on how the two processes happen to share the
cores, so it shows each system's own cost per call most directly. It includes the kernel's
share of the socket writes and reads.

${cpuTable(results, analysis)}

## The cost of observability

What tracing and metrics cost, measured as two more systems in the same passes: rpc-load-balancer
with \`rpc-load-balancer/otel\` (the OpenTelemetry SDK with the AsyncLocalStorage context manager,
the W3C propagator, so every call carries a \`traceparent\`, and a batch span processor whose
exporter drops the spans) and with \`rpc-load-balancer/metrics\` (a prom-client registry scraped
once a second), set up in the client and in every server, in the 256-in-flight and balanced 64 B
cases. \`vs rpclb\` is paired pass by pass with plain rpc-load-balancer; the extra CPU is the
difference of the medians. Plain rpc-load-balancer has no subscriber on any channel.

${observabilityTable(results, analysis)}

Reading it:

- **No subscriber** is the plain rpc-load-balancer row, the same system as in every other
  table: with nobody listening, each place that could publish checks \`hasSubscribers\` and
  builds nothing. The per-member figures that \`node.inspect()\` shows are kept on every call
  whatever is subscribed; \`node dist/bench/member-stats.js\` measures them at 30 to 45 ns per
  call (a map lookup, two counters, one write into a ring), under 1% of a call's CPU here.
  Against the last build before the tracing channels (commit b586939; measured with an
  in-process harness kept outside the repository, as that build has no metrics-cost bench), both ends in one process
  pinned to one core, the two builds alternating four times (3 passes of 50 000 calls each, 256
  in flight, \`RoundRobin\`): \`node.call\` 6.96 µs per call (median; passes 5.63–8.51)
  against 6.41 (5.25–7.67), \`lb.call\` 7.50 (6.04–8.96) against 7.64 (5.97–8.10), with
  outlier detection and the retry budget now on as well: within the spread of the machine.
- **Metrics** add the CPU of the last column, most of it on the calling side; calls/s drops
  further than the CPU alone explains at these rates, since the single client process is the
  bottleneck and every extra microsecond there holds back all 256 calls in flight. The
  collector keeps its counters and histograms itself, per label set (a count, or an array of
  bucket counts), and hands them to prom-client only when the registry is scraped, so no
  \`observe()\` with its label validation and hashing runs per call. Measured with both ends in
  one process pinned to one core (\`taskset -c 1 node dist/bench/metrics-cost.js\`, medians of
  5 rounds of 100 000 calls at 256 in flight): the tracing path the collector needs (a trace
  context per call and per served call, and the events; measured with no-op subscribers) costs
  0.6–0.7 µs per call, the collector's own work 0.9 µs per \`node.call\` and 1.4 µs per
  \`lb.call\` (both sides counted), 1.7–2.2 µs in all against 5.2–6.3 µs for the call itself.
  The first collector, which called prom-client's \`observe()\` per call, cost 7.3 µs.
  The table's extra CPU, taken across processes in the middle of the other systems' passes, is
  larger and moves with the machine's load (it also holds the scrapes and each process's own
  garbage collection): the in-process figure pinned to one core is the steadier of the two.
- **OpenTelemetry** costs the most: two spans per call (one on each side), the \`traceparent\`
  injected into the call's metadata and extracted on the other side (so every request carries an
  envelope), two duration histograms, and the server span made active around the handler. In
  the profiles the SDK's own work dominates: creating and ending spans, and hashing the
  attribute set of every histogram record (\`hashAttributes\` sorts and serialises it), ahead of
  the integration's code. A sampler that drops most traces (a parent-based ratio sampler) cuts
  the span part of that cost for the calls it drops; turning the histograms off
  (\`metrics: false\`) removes the rest.

## Results by case

${sections.join('\n\n')}

## Per-pick cost of the selection algorithms

Nanoseconds per pick (\`bench/picks.ts\`), median of samples with their range, next to the floor
of a bare random array index (\`nodes[(Math.random() * n) | 0]\`) measured in the same process.

${picksSection(results)}

## Cluster membership

${membershipSection(results)}

How it is measured (\`bench/membership.ts\`, after every other process of the run has gone):
each node is its own OS process running \`startNode\` on 127.0.0.1 with an ephemeral port and a
small heap. For a formation, the first node is started alone; once it listens, all the others
are started at once with only the first as their seed, so every other connection comes from
the peer lists the nodes exchange. Each node reports, on its own clock, the moment it is
connected to all the others; the figure is the last such moment minus the moment the last
node started listening (process start-up, shown separately, is not counted). The median
formation is shown, with the fastest and slowest in small print when there were several
(a full run forms each size 3 times, a quick run forms 8 nodes once). For join visibility, an
8-node mesh is formed, every node but one monitors a fresh group, and that one calls
\`groups.join()\`; the figure is the time from just before the call to the last of the other
nodes' monitors reporting the join, with the joining node rotating from join to join (21 joins
in a full run, 7 in a quick one). All processes share the machine's clock, so the IPC that
collects these timestamps is not in the figures; every node process is killed by pid when its
measurement ends, fails or times out.

## Soak

${soakSection()}

## Balancing under faults

${balanceSection()}

${SCALE_HEADING}

${scaleSection()}

## Where the time goes

_Profiling notes, not figures of this run:_ measured with CPU profiles (\`node --cpu-prof\`)
and the CPU-per-call figures on the 2-core development machine. They are kept here as text to
explain the tables above and are not regenerated by \`npm run bench\`.

- **256 calls in flight, 64 B.** Client and server are both CPU-bound on two shared cores, so
  calls/s follows CPU per call (the table above). In the run at commit 6db535e the floor used
  4.5 µs (client) + 3.1 µs (server) per call and rpc-load-balancer 5.2 + 3.6 µs, about 1.2 µs
  more in all. To compare two builds with the scheduler's noise taken out, pin every process
  of a run to one core:
  \`taskset -c 1 node dist/bench/run.js --cases=c256-64B --systems=floor,rpclb\`.
- **The second floor: plain msgpackr.** The floor with msgpackr's defaults (plain maps, no
  records) ran at 1.27–1.41× the project floor at 256 in flight, 64 B: the contract's codec
  writes every object as a record (its field list, then the values) so that a \`Map\` and an
  object stay apart, and decoding a record message by message costs about twice a plain map
  ([codec notes](explanation/codec.md)). Protocol 2 closes that part: each connection keeps a
  msgpackr encoder and decoder with shared structures, so a shape crosses once and then costs a
  byte. In-process profiles at 256 in flight (client and server in one process pinned to one
  core, the setup of \`bench/metrics-cost.ts\`, profiled with \`node --cpu-prof\` over
  200 000 calls by a small harness kept outside the repository; Node.js 20) put the codec
  at about 1,640 samples for the plain floor and 1,380 for \`node.call\`, so our codec work is
  now *less* than the plain floor's. The remaining gap (rpc-load-balancer at 0.81–0.82× the
  plain floor, 1.06–1.11× the project floor, in the runs above and in a pinned run of
  \`--cases=c256-64B,lb-64B --systems=floor,floorPlain,rpclb\`) is the call path: the checks,
  the pending-call table, dispatch, the call context (\`AsyncLocalStorage\`, whose promise hooks
  show on Node.js 20 and 22 as \`promiseInitHook\` and \`lookupPublicResource\`, about 3 % of
  the samples), and the garbage of a promise and a call record per call (GC 15 % of the samples
  against 12 % for the plain floor).
- **Through the balancer.** \`lb.call\` adds a selection, an attempt record, a release with its
  outcome (the latency and, for \`LeastLoaded\`, a heap re-key), outlier detection's counters and
  the retry budget's deposit: about 1 µs of client CPU per call over \`node.call\` in process
  (6.32 vs 5.24 µs, medians of 5 rounds of 100 000 calls:
  \`taskset -c 1 node dist/bench/metrics-cost.js --setups=none\`). Pinned to one core, the
  balanced case (1 → 3 servers, 64 in flight) used 8.47 + 7.13 µs per call against the floor's
  8.59 + 9.60 and ran at 1.17× the floor (passes 1.06–1.56); unpinned on a loaded machine the
  ratio falls to about 0.8×, as the client is the one process every call goes through.
- **What the floor pays too.** The value codec (msgpackr with records) is the largest share on
  both sides, and the socket writes come next. Writes are coalesced: at 256 in flight a whole window of
  about 250 frames leaves in one socket write, for the floor and for us alike. Over the same calls, garbage collection costs rpc-load-balancer
  a little more than the floor.
- **What is ours.** The rest is the work the floor skips:
  - the checks on every call;
  - the pending-call table and timeouts;
  - frame dispatch by message type;
  - running the handler inside \`AsyncLocalStorage\` for \`currentCall()\`.

  Measured costs of parts of it:
  - \`AsyncLocalStorage.run\` costs about 0.3 µs of server CPU per call on Node.js 20. It stays,
    since nothing tells in advance which handler will ask for its context after an \`await\`.
  - A \`setTimeout\` per call cost 0.8–1.4 µs of client CPU. Calls now share one timer per
    distinct timeout value (\`src/rpc/deadlines.ts\`).
  - Call-site capture (\`captureCallSites: true\`) costs 4–5 µs of client CPU per call. That
    is why it is off by default.
- **Cut since the first release of these notes:**
  - Arguments and results are encoded straight behind room left for the frame header
    (msgpackr's \`RESERVE_START_SPACE\`). A frame is one buffer, with no extra allocation and no
    copy.
  - The client keeps the encoded module and function names. Writing them cost about 160 ns a call.
  - The server finds repeated names in a small table instead of decoding two strings per request.
  - A handler that returns synchronously is answered without closures or call tracking.
  - \`lb.call\` selects synchronously on a first attempt when members are at hand, and passes
    no call options when the defaults apply. It had cost the balanced case about 2–5 µs of
    client CPU per call more than a direct \`node.call\`.

  Together these took the 256-in-flight ratio from 0.67–0.72× to 0.86–0.93× (medians of two
  full runs).
- **Node.js versions.** CI runs the tests on Node.js 20, 22, 24 and 26 (\`.ci/run\`); every
  benchmark runs on the Node.js that starts it (children use \`process.execPath\`) and reports
  it. Runs of the 64 B cases on each version (6 passes of 800 ms, this machine, one after
  another; \`node dist/bench/run.js --cases=seq-64B,c256-64B,lb-64B --systems=floor,rpclb
  --passes=6 --duration=800\` started with each version's \`node\`):
  - 22, 24 and 26 are faster than 20 for the floor and for us alike: CPU per call at 256 in
    flight, client + server, was 5.2 + 3.6 µs for the floor on 20, 3.6 + 2.6 on 22, 3.6 + 2.5
    on 24 and 2.9 + 2.4 on 26, and rpc-load-balancer's ratio to the floor stayed within the
    noise of the shared machine (0.92–1.14× at 256 in flight).
  - \`AsyncLocalStorage\` changed in 24 (it now keeps its stores in an \`AsyncContextFrame\`):
    \`als.run()\` costs about 0.3 µs on 24 and 26 against 15–25 ns on 20 and 22 (measured
    alone), while promises no longer pay for async hooks. The server runs every handler in
    \`run()\` for \`currentCall()\`, so its CPU per call went from slightly under the floor's
    (−0.2 to −0.35 µs on 20 and 22) to slightly over it (+0.05 to +0.15 µs on 24 and 26).
- **Per-pick cost of PowerOfTwo and LeastConnections.** Both must find the released node's
  counter by name, because \`releaseNode(node)\` is keyed by name in the algorithm contract.
  - The lookup is a null-prototype dictionary object: about 18 ns at 1 000 members, against
    22–28 ns for a \`Map\`.
  - PowerOfTwo used to skip its first draw with a branch taken half the time at random. The
    branch mispredicted often enough to cost about 9 ns a pick. It is now arithmetic, with no
    branch.
  - Each algorithm is now measured in its own worker thread. Measured in one shared loop,
    the call site saw six classes, went megamorphic, and charged that dispatch to every
    algorithm measured after the first.
  - With both changes, PowerOfTwo is under its 50 ns target at 1 000 members.
  - The pick figures move with the machine's state; the floor row shows by how much.

## What is measured, and how

- **Processes.** Every server is its own OS process listening on 127.0.0.1 with an ephemeral
  port; each system has three. Each system's client runs in its own driver process, so no
  system's garbage, timers or JIT state disturbs another's figures; the orchestrator
  (\`bench/run.ts\`) only sends "measure this" over IPC, one measurement at a time, and kills
  every child by pid when it ends (normally, on error, on SIGINT/SIGTERM, or at its deadline).
- **Load.** A case keeps N calls in flight from one client (closed loop) for a fixed time;
  calls still in flight at the end are finished and counted. "Sequential" is N = 1 and also
  records each call's latency. The balanced cases send 64 calls in flight from one client
  through each system's own balancer to three servers, and the servers count what they
  handled, giving the per-server share.
- **Same codec everywhere.** Every system moves the payload with the project codec
  (\`src/rpc/codec.ts\`, msgpackr with our options; see [the codec notes](explanation/codec.md)):
  the floor frames it itself, gRPC gets it as the serialize/deserialize functions of a service
  defined in code (no .proto), and Moleculer gets it as its serializer. So the comparison is
  about transport, framing and per-call overhead, not about JSON versus MessagePack.
- **The floor** (\`bench/systems/floor.ts\`, \`bench/servers/floor.ts\`): \`node:net\`, 4-byte length +
  4-byte call id + body, frames parsed in place from socket chunks, writes coalesced per tick,
  a \`Map\` of pending calls; round robin over three sockets for the balanced case. It does
  nothing a real RPC library can skip doing and nothing it need not, which makes it the limit.
- **gRPC**: \`@grpc/grpc-js\` unary calls, insecure channel to \`127.0.0.1:port\`; the balanced
  case is one channel over \`ipv4:127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3\` with the
  \`round_robin\` policy.
- **Moleculer**: \`ServiceBroker\` with the TCP transporter, UDP discovery off, servers given as
  static \`urls\` on 127.0.0.1, every node advertising 127.0.0.1, no logger, metrics or tracing;
  single-server calls pinned with \`nodeID\`, the balanced case left to its default strategy
  (RoundRobin). Its \`maxPacketSize\` is raised to 8 MiB so that the 1 MiB echo fits.
- **rpc-load-balancer**: \`startNode\` per server with \`Bench.echo\` exposed and a round-robin
  balancer \`bench\` joined; the client calls \`node.call('srv0@127.0.0.1', 'Bench', 'echo', [x])\`,
  or, balanced, \`lb.call('Bench', 'echo', [x])\` on its own balancer with
  \`nodeMatchList: ['srv']\` (the client is not a member).
- Each driver checks once that all three payloads come back intact, directly and through
  the balancer, before anything is measured.
- Only loopback traffic: no system is given anything but 127.0.0.1.
`;
}

/** Writes docs/benchmarks.md and docs/benchmarks.svg for `results`. */
export function writeDocs(results: BenchResults): void {
  writeFileSync(new URL('docs/benchmarks.md', ROOT), renderMarkdown(results));
  writeFileSync(new URL('docs/benchmarks.svg', ROOT), renderSvg(results));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const results = JSON.parse(
    readFileSync(new URL('bench/results/latest.json', ROOT), 'utf8'),
  ) as BenchResults;
  writeDocs(results);
  console.log(
    're-rendered docs/benchmarks.md and docs/benchmarks.svg from bench/results/latest.json',
  );
}
