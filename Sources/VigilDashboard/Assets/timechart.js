// A small time-series chart on canvas: time axis with sensible ticks, several series with a
// legend, hover read-out (vertical line and values), resize (ResizeObserver, devicePixelRatio),
// live appends and a fixed time window. No library.
//
// The tick and scale functions are pure and exported, so they are tested on their own
// (Tests/VigilEndToEndTests/dashboard_js_tests.mjs).

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Candidate spacings of time ticks, smallest first. */
export const TIME_STEPS = [
  SECOND, 2 * SECOND, 5 * SECOND, 10 * SECOND, 15 * SECOND, 30 * SECOND,
  MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE,
  HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR,
  DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY,
];

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n) => String(n).padStart(2, '0');

/** The smallest of 1, 2, 2.5, 5 × 10^k that splits `range` into at most `count` steps. */
export function niceStep(range, count) {
  if (!(range > 0) || !(count >= 1)) return 1;
  const raw = range / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) {
    if (m * power >= raw * (1 - 1e-9)) return m * power;
  }
  return 10 * power;
}

/**
 * Y-axis ticks: {min, max, step, ticks} covering [min, max] with at most about `count` steps,
 * ends rounded out to whole steps. A flat or empty range becomes [0, 1].
 */
export function niceTicks(min, max, count = 5) {
  if (!Number.isFinite(min) || !Number.isFinite(max)) { min = 0; max = 1; }
  if (max < min) [min, max] = [max, min];
  if (max === min) { max = min === 0 ? 1 : min + Math.abs(min); if (min > 0) min = 0; }
  const step = niceStep(max - min, count);
  const lo = Math.floor(min / step + 1e-9) * step;
  const hi = Math.ceil(max / step - 1e-9) * step;
  const ticks = [];
  for (let v = lo, i = 0; v <= hi + step * 1e-9 && i < 1000; v = lo + ++i * step) ticks.push(+v.toPrecision(12));
  return { min: lo, max: hi, step, ticks };
}

/** Like niceTicks, but round in powers of 1024 (1, 2, 2.5, 5 KiB, MiB…) for byte figures. */
export function byteTicks(min, max, count = 5) {
  const top = Math.max(Math.abs(min), Math.abs(max));
  const unit = top >= 1 ? 1024 ** Math.min(5, Math.floor(Math.log(top) / Math.log(1024))) : 1;
  const t = niceTicks(min / unit, max / unit, count);
  return { min: t.min * unit, max: t.max * unit, step: t.step * unit, ticks: t.ticks.map((v) => v * unit) };
}

/** The local-time offset (ms to add to UTC) at time t. */
export function localOffset(t) { return -new Date(t).getTimezoneOffset() * MINUTE; }

/**
 * Time-axis ticks between `from` and `to` (ms): at most `maxTicks`, on round local times
 * (every 5 min, every hour, at midnight…). `offset` is the local-time offset in ms (a
 * parameter so tests are independent of the machine's zone). Returns [{t, label}].
 */
export function timeTicks(from, to, maxTicks = 6, offset = localOffset(from)) {
  if (!(to > from) || maxTicks < 1) return [];
  const step = TIME_STEPS.find((s) => (to - from) / s <= maxTicks) || Math.ceil((to - from) / maxTicks / DAY) * DAY;
  const ticks = [];
  let t = Math.ceil((from + offset) / step) * step - offset;
  for (; t <= to && ticks.length <= maxTicks; t += step) ticks.push({ t, label: timeLabel(t, step, offset) });
  return ticks;
}

/** A tick's label: seconds when the step is under a minute, a date when a day or more or at midnight. */
export function timeLabel(t, step, offset = localOffset(t)) {
  const d = new Date(t + offset);
  const hm = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  if (step < MINUTE) return `${hm}:${pad(d.getUTCSeconds())}`;
  const midnight = d.getUTCHours() === 0 && d.getUTCMinutes() === 0;
  if (step >= DAY || (midnight && step >= HOUR)) return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}`;
  return hm;
}

/** A linear map from [d0, d1] to [r0, r1]. */
export function scaleLinear(d0, d1, r0, r1) {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

/** Index of the element of the sorted array `times` closest to `t` (-1 when empty). */
export function nearestIndex(times, t) {
  if (!times.length) return -1;
  let lo = 0;
  let hi = times.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid] < t) lo = mid + 1; else hi = mid;
  }
  return lo > 0 && t - times[lo - 1] < times[lo] - t ? lo - 1 : lo;
}

const PALETTE = ['#2f81f7', '#e5534b', '#3fb950', '#d29922', '#a371f7', '#39c5cf', '#f778ba', '#8b949e'];

/** The colour of the i-th series: a fixed palette, then hues spread around the wheel. */
export function seriesColor(i) {
  return i < PALETTE.length ? PALETTE[i] : `hsl(${(i * 137.5) % 360} 65% 55%)`;
}

/** One chart on one canvas; the legend is a list placed right after the canvas. */
export class TimeChart {
  /**
   * @param canvas the canvas (sized by CSS; the chart follows its size)
   * @param options {title, series: [names], window: ms, max: fixed top (e.g. 100) or undefined,
   *   format: value → text}
   */
  constructor(canvas, options) {
    this.canvas = canvas;
    this.title = options.title || '';
    this.window = options.window || HOUR;
    this.fixedMax = options.max;
    this.format = options.format || ((v) => v.toFixed(1));
    this.ticks = options.bytes ? byteTicks : niceTicks;
    this.hoverX = null;
    this.pending = 0;
    this.width = 0;
    this.height = 0;
    this.legend = document.createElement('ul');
    this.legend.className = 'legend';
    canvas.after(this.legend);
    canvas.setAttribute('role', 'img');
    this.setSeries(options.series || []);
    this.observer = new ResizeObserver(() => this.resize());
    this.observer.observe(canvas);
    canvas.addEventListener('pointermove', (e) => { this.hoverX = e.offsetX; this.schedule(); });
    canvas.addEventListener('pointerleave', () => { this.hoverX = null; this.schedule(); });
    // The read-out by keyboard too: focus the chart, then ← and → move it, Escape hides it.
    canvas.tabIndex = 0;
    canvas.addEventListener('keydown', (e) => {
      const step = e.shiftKey ? 50 : 10;
      if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
        const x = this.hoverX ?? this.width - 8;
        this.hoverX = Math.max(0, Math.min(this.width - 8, x + (e.key === 'ArrowLeft' ? -step : step)));
      } else if (e.key === 'Escape') {
        this.hoverX = null;
      } else {
        return;
      }
      e.preventDefault();
      this.schedule();
    });
    canvas.addEventListener('blur', () => { this.hoverX = null; this.schedule(); });
    this.resize();
  }

  /** Replaces the series (names); their points are dropped. */
  setSeries(names) {
    this.series = names.map((name, i) => ({ name, color: seriesColor(i), t: [], v: [] }));
    this.legend.textContent = '';
    for (const s of this.series) {
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.background = s.color;
      s.valueEl = document.createElement('span');
      s.valueEl.className = 'value';
      const li = document.createElement('li');
      li.append(swatch, `${s.name} `, s.valueEl);
      this.legend.append(li);
    }
    this.schedule();
  }

  /** Sets one series' points: [[t ms, value], …] sorted by time. */
  setPoints(index, points) {
    const s = this.series[index];
    if (!s) return;
    s.t = points.map((p) => p[0]);
    s.v = points.map((p) => p[1]);
    this.schedule();
  }

  /** Appends a point in time to every series (values in series order; null skips a series). */
  append(t, values) {
    values.forEach((v, i) => {
      const s = this.series[i];
      if (!s || v === null || v === undefined || !Number.isFinite(v)) return;
      if (s.t.length && t <= s.t[s.t.length - 1]) return;  // already have it (history and live overlap)
      s.t.push(t);
      s.v.push(v);
    });
    this.trim();
    this.schedule();
  }

  setWindow(ms) { this.window = ms; this.schedule(); }

  // Drop points that fell out of the window (with some slack, so it is done in batches).
  trim() {
    const cutoff = Date.now() - this.window * 1.1;
    for (const s of this.series) {
      if (s.t.length > 64 && s.t[32] < cutoff) {
        let i = 0;
        while (i < s.t.length && s.t[i] < cutoff) i++;
        s.t.splice(0, i);
        s.v.splice(0, i);
      }
    }
  }

  resize() {
    const rect = this.canvas.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    this.width = Math.max(1, Math.round(rect.width));
    this.height = Math.max(1, Math.round(rect.height));
    this.canvas.width = Math.round(this.width * dpr);
    this.canvas.height = Math.round(this.height * dpr);
    this.dpr = dpr;
    this.draw();
  }

  /** Draws at the next animation frame (many updates in one frame draw once). */
  schedule() {
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => { this.pending = 0; this.draw(); });
  }

  destroy() {
    this.observer.disconnect();
    if (this.pending) cancelAnimationFrame(this.pending);
  }

  draw() {
    const { canvas, width: w, height: h } = this;
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    const style = getComputedStyle(canvas);
    const fg = style.getPropertyValue('--chart-fg').trim() || '#555';
    const grid = style.getPropertyValue('--chart-grid').trim() || '#ddd';
    const font = `11px ${style.fontFamily || 'sans-serif'}`;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    ctx.font = font;

    let last = 0;
    for (const s of this.series) if (s.t.length) last = Math.max(last, s.t[s.t.length - 1]);
    // The window ends now, or at the newest point if the host's clock runs ahead.
    const to = Math.max(Date.now(), last);
    const from = to - this.window;
    let lo = Infinity;
    let hi = -Infinity;
    let points = 0;
    for (const s of this.series) {
      for (let i = 0; i < s.t.length; i++) {
        if (s.t[i] < from) continue;
        const v = s.v[i];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
        points++;
      }
    }
    const dataHi = hi === -Infinity ? 1 : hi;
    const top0 = this.fixedMax !== undefined ? Math.max(this.fixedMax, dataHi) : dataHi;
    const y = this.ticks(Math.min(0, lo === Infinity ? 0 : lo), top0, h < 140 ? 3 : 4);
    const labelWidth = Math.max(...y.ticks.map((v) => ctx.measureText(this.format(v)).width)) + 8;
    const left = Math.ceil(labelWidth);
    const right = w - 8;
    const top = 8;
    const bottom = h - 20;
    const sx = scaleLinear(from, to, left, right);
    const sy = scaleLinear(y.min, y.max, bottom, top);

    // Grid and axes labels.
    ctx.strokeStyle = grid;
    ctx.fillStyle = fg;
    ctx.lineWidth = 1;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    ctx.beginPath();
    for (const v of y.ticks) {
      const py = Math.round(sy(v)) + 0.5;
      ctx.moveTo(left, py);
      ctx.lineTo(right, py);
      ctx.fillText(this.format(v), left - 4, py);
    }
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (const tick of timeTicks(from, to, Math.max(2, Math.floor((right - left) / 80)))) {
      const px = Math.round(sx(tick.t)) + 0.5;
      ctx.moveTo(px, top);
      ctx.lineTo(px, bottom);
      // A label that would be cut at either edge is left out (its grid line stays).
      const half = ctx.measureText(tick.label).width / 2;
      if (px - half >= 0 && px + half <= w) ctx.fillText(tick.label, px, bottom + 4);
    }
    ctx.stroke();

    // Series: a gap in time (over 3× the usual spacing) breaks the line.
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top - 1, right - left, bottom - top + 2);
    ctx.clip();
    ctx.lineWidth = 1.5;
    ctx.lineJoin = 'round';
    for (const s of this.series) {
      const n = s.t.length;
      if (!n) continue;
      const gap = n > 2 ? 3 * Math.max((s.t[n - 1] - s.t[0]) / (n - 1), 1) : Infinity;
      ctx.strokeStyle = s.color;
      ctx.beginPath();
      let prev = -Infinity;
      for (let i = 0; i < n; i++) {
        const t = s.t[i];
        if (t < from - gap) { prev = t; continue; }
        const px = sx(t);
        const py = sy(s.v[i]);
        if (t - prev > gap) ctx.moveTo(px, py); else ctx.lineTo(px, py);
        prev = t;
      }
      if (n === 1) ctx.arc(sx(s.t[0]), sy(s.v[0]), 1.5, 0, 2 * Math.PI);
      ctx.stroke();
    }
    ctx.restore();

    // Hover read-out: a vertical line at the nearest point and each series' value there.
    if (this.hoverX !== null && this.hoverX >= left && this.hoverX <= right && points) {
      const t = from + ((this.hoverX - left) / (right - left)) * (to - from);
      let at = null;
      const lines = [];
      for (const s of this.series) {
        const i = nearestIndex(s.t, t);
        if (i < 0) continue;
        if (at === null || Math.abs(s.t[i] - t) < Math.abs(at - t)) at = s.t[i];
        lines.push([s, s.v[i]]);
      }
      if (at !== null) {
        const px = Math.round(sx(at)) + 0.5;
        ctx.strokeStyle = fg;
        ctx.beginPath();
        ctx.moveTo(px, top);
        ctx.lineTo(px, bottom);
        ctx.stroke();
        const shown = lines.slice(0, 10);
        const rows = [new Date(at).toLocaleString(), ...shown.map(([s, v]) => `${s.name}: ${this.format(v)}`)];
        if (lines.length > shown.length) rows.push(`+${lines.length - shown.length} more`);
        const boxW = Math.max(...rows.map((r) => ctx.measureText(r).width)) + 22;
        const boxH = rows.length * 14 + 8;
        let bx = px + 8;
        if (bx + boxW > right) bx = px - 8 - boxW;
        bx = Math.max(left, bx);
        ctx.fillStyle = style.getPropertyValue('--chart-tip-bg').trim() || 'rgba(0,0,0,0.8)';
        ctx.fillRect(bx, top, boxW, boxH);
        ctx.textAlign = 'left';
        ctx.textBaseline = 'top';
        rows.forEach((text, r) => {
          if (r > 0 && r <= shown.length) {
            ctx.fillStyle = shown[r - 1][0].color;
            ctx.fillRect(bx + 6, top + 6 + r * 14, 8, 8);
          }
          ctx.fillStyle = style.getPropertyValue('--chart-tip-fg').trim() || '#fff';
          ctx.fillText(text, bx + (r ? 18 : 6), top + 4 + r * 14);
        });
      }
    }

    // Legend values and what the tests read.
    const latest = [];
    for (const s of this.series) {
      const v = s.v.length ? this.format(s.v[s.v.length - 1]) : '–';
      if (s.valueEl.textContent !== v) s.valueEl.textContent = v;
      latest.push(`${s.name} ${v}`);
    }
    canvas.dataset.points = String(points);
    canvas.dataset.lastTime = String(last);
    canvas.setAttribute('aria-label', `${this.title}, last ${this.window / HOUR >= 1 ? this.window / HOUR + ' h' : this.window / MINUTE + ' min'}: ${latest.slice(0, 8).join(', ')}`);
  }
}
