// Deliveries, retries and failures over time, counted from the event log and drawn as stacked SVG bars.

import { h, svg } from "./dom.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
export const RANGES = {
  "1h": { span: HOUR, bucket: 5 * MINUTE, label: "last hour" },
  "24h": { span: 24 * HOUR, bucket: HOUR, label: "last 24 hours" },
  "7d": { span: 7 * 24 * HOUR, bucket: 6 * HOUR, label: "last 7 days" },
};
// Bottom to top in each bar.
export const SERIES = [
  { state: "DELIVERED", name: "delivered", class: "delivered" },
  { state: "RETRY", name: "failed attempts retried", class: "retry" },
  { state: "FAILED", name: "failed (to the DLQ)", class: "failed" },
];
const PAGE = 1000; // GET /v2/events' largest page
const MAX_PAGES = 5; // per state: a busier range is counted from its newest 5000 events and marked as partial

/** Counts per bucket of the range ending now: `{start, bucket, counts: [{DELIVERED, RETRY, FAILED}], partial}`. */
export async function loadActivity(api, rangeKey, now = Date.now()) {
  const range = RANGES[rangeKey] || RANGES["24h"];
  const end = Math.ceil(now / range.bucket) * range.bucket;
  const start = end - range.span;
  const counts = Array.from({ length: range.span / range.bucket }, () => ({ DELIVERED: 0, RETRY: 0, FAILED: 0 }));
  let partial = false;
  await Promise.all(
    SERIES.map(async ({ state }) => {
      let cursor;
      for (let page = 0; page < MAX_PAGES; page += 1) {
        const answer = await api.events({ state, fromDate: start, count: PAGE, cursor });
        for (const event of answer.events || []) {
          const index = Math.floor((event.time - start) / range.bucket);
          if (index >= 0 && index < counts.length && event.state === state) counts[index][state] += 1;
        }
        cursor = answer.cursor;
        if (!cursor) return;
      }
      partial = true;
    }),
  );
  return { start, bucket: range.bucket, label: range.label, counts, partial };
}

function tickLabel(ms, bucket) {
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, "0");
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return bucket >= 6 * HOUR ? `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}` : time;
}

/** Draws `activity` into `container` (replacing what was there); returns the totals per state. */
export function renderChart(container, activity) {
  const width = 720;
  const height = 200;
  const margin = { top: 10, right: 10, bottom: 24, left: 40 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const totals = { DELIVERED: 0, RETRY: 0, FAILED: 0 };
  let highest = 0;
  for (const bucket of activity.counts) {
    for (const { state } of SERIES) totals[state] += bucket[state];
    highest = Math.max(highest, bucket.DELIVERED + bucket.RETRY + bucket.FAILED);
  }
  const scaleMax = Math.max(1, highest);
  const slot = plotW / activity.counts.length;
  const barW = Math.max(1, slot * 0.8);

  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    class: "chart-svg",
    role: "img",
    "aria-label": `Deliveries per ${activity.bucket / MINUTE} minutes, ${activity.label}`,
  });
  const plot = svg("g", { transform: `translate(${margin.left},${margin.top})` });
  chart.append(plot);
  plot.append(svg("line", { x1: 0, y1: plotH, x2: plotW, y2: plotH, class: "axis" }));
  plot.append(svg("text", { x: -6, y: 4, class: "axis-label", "text-anchor": "end" }, String(scaleMax)));
  plot.append(svg("text", { x: -6, y: plotH, class: "axis-label", "text-anchor": "end" }, "0"));

  activity.counts.forEach((bucket, index) => {
    const x = index * slot + (slot - barW) / 2;
    const from = activity.start + index * activity.bucket;
    const group = svg("g", { class: "bucket" });
    const summary = SERIES.map((s) => `${bucket[s.state]} ${s.name}`).join(", ");
    group.append(svg("title", {}, `${tickLabel(from, activity.bucket)}: ${summary}`));
    // An invisible full-height rect, so the tooltip shows over empty buckets too.
    group.append(svg("rect", { x: index * slot, y: 0, width: slot, height: plotH, class: "hit" }));
    let y = plotH;
    for (const series of SERIES) {
      const value = bucket[series.state];
      if (!value) continue;
      const barH = (value / scaleMax) * plotH;
      y -= barH;
      group.append(svg("rect", { x, y, width: barW, height: barH, class: `bar ${series.class}` }));
    }
    plot.append(group);
  });

  const ticks = [0, Math.floor(activity.counts.length / 2), activity.counts.length];
  for (const index of ticks) {
    const anchor = index === 0 ? "start" : index === activity.counts.length ? "end" : "middle";
    const label = tickLabel(activity.start + index * activity.bucket, activity.bucket);
    plot.append(svg("text", { x: index * slot, y: plotH + 16, class: "axis-label", "text-anchor": anchor }, label));
  }

  const legend = h(
    "ul",
    { class: "legend" },
    SERIES.map((s) =>
      h("li", {}, h("span", { class: `swatch ${s.class}` }), `${s.name}: `, h("strong", { "data-testid": `total-${s.class}` }, totals[s.state])),
    ),
  );
  container.replaceChildren(chart, legend);
  return totals;
}
