// Tests of the dashboard's pure JavaScript functions (chart ticks and scales, formatting,
// rates from counters), run with node by DashboardScriptTests.swift. Exits 1 on any failure.
//
// Usage: node dashboard_js_tests.mjs [path/to/Sources/VigilDashboard/Assets]

import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const assets = process.argv[2] || path.join(here, '../../Sources/VigilDashboard/Assets');
const chart = await import(pathToFileURL(path.join(assets, 'timechart.js')).href);
const dom = await import(pathToFileURL(path.join(assets, 'dom.js')).href);

let failures = 0;
let passed = 0;
function test(name, fn) {
  try { fn(); passed++; } catch (error) { failures++; console.error(`FAIL ${name}\n  ${error.message.split('\n').join('\n  ')}`); }
}

const MIN = 60e3;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const utc = (text) => Date.parse(text);

test('niceStep picks 1, 2, 2.5 or 5 times a power of ten', () => {
  assert.equal(chart.niceStep(100, 4), 25);
  assert.equal(chart.niceStep(100, 5), 20);
  assert.equal(chart.niceStep(1, 5), 0.2);
  assert.equal(chart.niceStep(7, 5), 2);
  assert.equal(chart.niceStep(3e9, 4), 1e9);
});

test('niceTicks covers the range with round ends', () => {
  assert.deepEqual(chart.niceTicks(0, 100, 4), { min: 0, max: 100, step: 25, ticks: [0, 25, 50, 75, 100] });
  const t = chart.niceTicks(0, 87.3, 4);
  assert.equal(t.min, 0);
  assert.ok(t.max >= 87.3 && t.max <= 100, `max ${t.max}`);
  assert.deepEqual(chart.niceTicks(0.13, 0.61, 5).ticks, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
  const flat = chart.niceTicks(0, 0, 4);
  assert.equal(flat.min, 0);
  assert.equal(flat.max, 1);
  const flat5 = chart.niceTicks(5, 5, 4);
  assert.ok(flat5.min <= 5 && flat5.max > 5, JSON.stringify(flat5));
  assert.deepEqual(chart.niceTicks(NaN, Infinity, 4).ticks, [0, 0.25, 0.5, 0.75, 1]);
});

test('byteTicks steps in powers of 1024', () => {
  const t = chart.byteTicks(0, 5.3 * 1024 * 1024, 4);
  assert.equal(t.step, 2 * 1024 * 1024);
  assert.deepEqual(t.ticks.map((v) => v / 1024 / 1024), [0, 2, 4, 6]);
  assert.deepEqual(chart.byteTicks(0, 700, 4).ticks, [0, 200, 400, 600, 800]);
  assert.deepEqual(chart.byteTicks(0, 0, 4).ticks, [0, 0.25, 0.5, 0.75, 1]);
});

test('timeTicks over an hour: round 10-minute marks in local time', () => {
  const from = utc('2026-11-22T07:03:00Z');
  const ticks = chart.timeTicks(from, from + HOUR, 6, 0);
  assert.deepEqual(ticks.map((t) => t.label), ['07:10', '07:20', '07:30', '07:40', '07:50', '08:00']);
  assert.ok(ticks.every((t) => t.t >= from && t.t <= from + HOUR));
});

test('timeTicks follows the time-zone offset it is given', () => {
  const from = utc('2026-11-22T07:03:00Z');
  const ticks = chart.timeTicks(from, from + HOUR, 6, 5.5 * HOUR);  // UTC+05:30
  assert.equal(ticks[0].label, '12:40');
  assert.equal(ticks[0].t, utc('2026-11-22T07:10:00Z'));
});

test('timeTicks over a minute shows seconds; over 30 days shows dates', () => {
  const from = utc('2026-11-22T07:00:05Z');
  const short = chart.timeTicks(from, from + MIN, 6, 0);
  assert.equal(short[0].label, '07:00:10');
  assert.ok(short.length >= 5 && short.length <= 7, `${short.length} ticks`);
  assert.equal(chart.timeTicks(from, from + 5 * MIN, 6, 0)[0].label, '07:01');
  const month = chart.timeTicks(utc('2026-10-23T07:00:00Z'), utc('2026-11-22T07:00:00Z'), 6, 0);
  assert.ok(month.length >= 3 && month.length <= 7, `${month.length} ticks`);
  assert.match(month[0].label, /^[A-Z][a-z]{2} \d{1,2}$/);
});

test('timeTicks over a day marks midnight with the date', () => {
  const ticks = chart.timeTicks(utc('2026-11-21T12:00:00Z'), utc('2026-11-22T12:00:00Z'), 6, 0);
  assert.ok(ticks.some((t) => t.label === 'Nov 22'), ticks.map((t) => t.label).join(' '));
  assert.ok(ticks.some((t) => t.label === '18:00'));
});

test('timeTicks never exceeds the maximum and handles empty ranges', () => {
  for (const span of [10e3, 7 * MIN, 3 * HOUR, 7 * DAY, 365 * DAY]) {
    for (const max of [2, 4, 8]) {
      const ticks = chart.timeTicks(1e12, 1e12 + span, max, 0);
      assert.ok(ticks.length <= max + 1 && ticks.length >= 1, `span ${span} max ${max}: ${ticks.length}`);
    }
  }
  assert.deepEqual(chart.timeTicks(5, 5, 6, 0), []);
});

test('scaleLinear maps domain onto range, inverted y included', () => {
  const sy = chart.scaleLinear(0, 100, 200, 0);
  assert.equal(sy(0), 200);
  assert.equal(sy(100), 0);
  assert.equal(sy(25), 150);
  assert.equal(chart.scaleLinear(3, 3, 0, 10)(3), 0);
});

test('nearestIndex finds the closest time', () => {
  const times = [10, 20, 30, 40];
  assert.equal(chart.nearestIndex(times, 0), 0);
  assert.equal(chart.nearestIndex(times, 24), 1);
  assert.equal(chart.nearestIndex(times, 26), 2);
  assert.equal(chart.nearestIndex(times, 99), 3);
  assert.equal(chart.nearestIndex([], 5), -1);
});

test('series colours are distinct', () => {
  const colours = new Set(Array.from({ length: 32 }, (_, i) => chart.seriesColor(i)));
  assert.equal(colours.size, 32);
});

test('counterRate: per second, none after a reset or without time', () => {
  assert.equal(dom.counterRate(1500, 500, 2), 500);
  assert.equal(dom.counterRate(100, 500, 2), null);
  assert.equal(dom.counterRate(600, 500, 0), null);
  assert.equal(dom.counterRate(600, undefined, 1), null);
});

test('esc makes host names safe in HTML text and attributes', () => {
  assert.equal(dom.esc(`<img src=x onerror="alert('1')">&`), '&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;');
  assert.equal(dom.esc('web-01'), 'web-01');
  assert.equal(dom.esc(42), '42');
});

test('formatting: bytes, percent, ago, states', () => {
  assert.equal(dom.fmtBytes(512), '512 B');
  assert.equal(dom.fmtBytes(1536), '1.5 KiB');
  assert.equal(dom.fmtBytes(5 * 1024 ** 3), '5.0 GiB');
  assert.equal(dom.fmtBytes(null), '–');
  assert.equal(dom.fmtRate(2048), '2.0 KiB/s');
  assert.equal(dom.fmtPercent(12.345), '12.3 %');
  assert.equal(dom.fmtPercent(undefined), '–');
  assert.equal(dom.fmtAgo(1000, 6000), '5 s ago');
  assert.equal(dom.fmtAgo(0, 6000), 'never');
  assert.equal(dom.fmtAgo(0 + 1, 2 * HOUR + 1), '2 h ago');
  assert.deepEqual(dom.stateInfo('HEALTHY'), { state: 'HEALTHY', word: 'UP', group: 'up' });
  assert.equal(dom.stateInfo('DOWN').word, 'DOWN');
  assert.equal(dom.stateInfo(null).group, 'none');
  assert.equal(dom.stateInfo('STOPPED').group, 'stopped');
});

console.log(`dashboard js: ${passed} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
