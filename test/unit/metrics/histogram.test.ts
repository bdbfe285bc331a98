/**
 * The collector's histogram against prom-client's own: the same observations give the same
 * exposition text, byte for byte (Prometheus and OpenMetrics registries), the same JSON values,
 * and the same series order after `registry.resetMetrics()`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Histogram, Registry, type RegistryContentType } from 'prom-client';
import { HistogramFamily } from '../../../src/metrics/histogram.js';
import { DEFAULT_DURATION_BUCKETS } from '../../../src/metrics/series.js';

const LABELS = ['node', 'type', 'module', 'function', 'balancer', 'target', 'status'] as const;
type Labels = Record<(typeof LABELS)[number], string>;

/** A prom-client Histogram and a HistogramFamily, each on its own registry, fed alike. */
function pair(buckets: readonly number[], openMetrics = false) {
  const registry = () => {
    const r = new Registry<RegistryContentType>();
    if (openMetrics) r.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    return r as Registry;
  };
  const ours = registry();
  const theirs = registry();
  const spec = { name: 'rpclb_h_seconds', help: 'Help with "quotes" \\ and \n newline.' };
  const family = new HistogramFamily(spec.name, spec.help, LABELS, buckets);
  family.registerOn(ours);
  const reference = new Histogram({
    ...spec,
    labelNames: LABELS,
    buckets: [...buckets],
    registers: [theirs],
  });
  const cells = new Map<string, ReturnType<HistogramFamily['cell']>>();
  return {
    ours,
    theirs,
    observe(labels: Labels, value: number) {
      const key = JSON.stringify(labels);
      let cell = cells.get(key);
      if (cell === undefined) cells.set(key, (cell = family.cell(labels)));
      family.observe(cell, value);
      reference.observe(labels, value);
    },
  };
}

const labels = (target: string, status = 'ok'): Labels => ({
  node: 'a@127.0.0.1',
  type: 'call',
  module: 'M',
  function: 'f',
  balancer: 'lb',
  target,
  status,
});

test('same text as prom-client: bounds hit exactly, between, below the first and above the last', async () => {
  const h = pair(DEFAULT_DURATION_BUCKETS);
  const values = [0, 1e-7, 0.00005, 0.00006, 0.0001, 0.00012, 0.0025, 1, 59.9, 60, 61, 3600];
  for (const [i, v] of values.entries()) {
    h.observe(labels(`t${i % 3}`, i % 4 === 0 ? 'request_timeout' : 'ok'), v);
  }
  const text = await h.ours.metrics();
  assert.equal(text, await h.theirs.metrics());
  assert.match(text, /^rpclb_h_seconds_bucket\{le="0.00005",node="a@127\.0\.0\.1",/m);
  assert.match(text, /^rpclb_h_seconds_bucket\{le="\+Inf",.*\} \d+$/m);
});

test('same JSON values as prom-client (exemplar fields aside)', async () => {
  const h = pair([0.001, 0.01, 0.1]);
  for (const v of [0.0005, 0.001, 0.05, 0.2]) h.observe(labels('x'), v);
  const strip = (metrics: { values: object[] }[]) =>
    metrics.map((m) => ({
      ...m,
      values: m.values.map(({ exemplar: _, ...rest }: { exemplar?: unknown }) => rest),
    }));
  assert.deepEqual(
    strip(await h.ours.getMetricsAsJSON()),
    strip(await h.theirs.getMetricsAsJSON()),
  );
});

test('same text on an OpenMetrics registry, and after resetMetrics() the order of reappearance', async () => {
  const h = pair([0.001, 0.01], true);
  h.observe(labels('first'), 0.002);
  h.observe(labels('second'), 0.02);
  h.ours.resetMetrics();
  h.theirs.resetMetrics();
  assert.equal(await h.ours.metrics(), await h.theirs.metrics());
  h.observe(labels('second'), 0.0001);
  h.observe(labels('first'), 0.5);
  const text = await h.ours.metrics();
  assert.equal(text, await h.theirs.metrics());
  assert.ok(text.indexOf('target="second"') < text.indexOf('target="first"'));
});

test('same text for any sequence of observations (property)', async () => {
  const value = fc.oneof(
    fc.constantFrom(...DEFAULT_DURATION_BUCKETS),
    fc.double({ min: 0, max: 120, noNaN: true }),
    fc.double({ min: 0, max: 0.001, noNaN: true }),
  );
  const observation = fc.tuple(
    fc.constantFrom('t1', 't2', 't3'),
    fc.constantFrom('ok', 'x'),
    value,
  );
  await fc.assert(
    fc.asyncProperty(fc.array(observation, { maxLength: 60 }), async (observations) => {
      const h = pair(DEFAULT_DURATION_BUCKETS);
      for (const [target, status, v] of observations) h.observe(labels(target, status), v);
      assert.equal(await h.ours.metrics(), await h.theirs.metrics());
    }),
    { seed: 42, numRuns: 200 },
  );
});
