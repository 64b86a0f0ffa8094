// A job's page: live progress, then the annotated image or video, the chart of people and
// objects per second, the events timeline (click: the video seeks there), tracks, zones, lines
// and plates.

import * as api from "../api.js";
import { chartTable, lineChart } from "../chart.js";
import { describe } from "../describe.js";
import { busy, h, num, problem, seconds, stateBadge, svg, table, when } from "../dom.js";
import { follow } from "../sse.js";

function stat(label, value) {
  return h("div", null, h("dt", null, label), h("dd", null, value === null || value === undefined ? "–" : String(value)));
}

function objects(counts) {
  const entries = Object.entries(counts || {});
  return entries.length ? entries.map(([label, n]) => `${label} ${n}`).join(", ") : "–";
}

function progressView(main, id, status, { go }) {
  const bar = h("progress", { max: "100", value: String(status.progress), "aria-labelledby": "progress-label" });
  const label = h("p", { id: "progress-label" }, `${status.status}: ${Math.round(status.progress)} %`);
  main.append(h("section", { class: "panel", "aria-live": "polite" }, h("h2", null, "Progress"), label, bar));
  const stream = follow(`/jobs/${id}/events`, {
    onEvent(event, data) {
      if (typeof data.progress === "number") {
        bar.value = data.progress;
        const frames = data.frames_total ? ` (${data.frames_processed} of ${data.frames_total} frames)` : "";
        label.textContent = `${data.status || "processing"}: ${Math.round(data.progress)} %${frames}`;
      }
      if (event === "end") go(`/jobs/${id}`);
    },
  });
  return () => stream.close();
}

// The video (or image) and a strip of event marks under it.
function mediaView(results, urls, signal) {
  const wrap = h("div", { class: "media-wrap" });
  const isVideo = results.kind === "video";
  let video = null;
  if (!results.annotated_url) {
    wrap.append(h("p", { class: "muted" }, "No annotated copy: submit with “Make an annotated copy” to get one."));
    return { element: wrap, seek: () => {}, video };
  }
  const note = h("p", { class: "muted", role: "status" }, "Loading the annotated copy…");
  wrap.append(note);
  const element = isVideo
    ? h("video", { class: "media", controls: true, preload: "auto", muted: true, playsinline: true, "aria-label": "Annotated video" })
    : h("img", { class: "media", alt: "Annotated image" });
  video = isVideo ? element : null;
  api
    .blobUrl(results.annotated_url, { signal })
    .then((url) => {
      urls.push(url);
      element.src = url;
      note.replaceWith(element);
    })
    .catch((error) => {
      if (error.name !== "AbortError") note.textContent = `The annotated copy cannot be shown: ${problem(error)}`;
    });
  const seek = (time) => {
    if (!video) return;
    video.currentTime = time;
  };
  return { element: wrap, seek, video };
}

function timelineStrip(events, duration, video) {
  if (!events.length || !duration) return null;
  const strip = svg("svg", { viewBox: "0 0 1000 28", preserveAspectRatio: "none", "aria-hidden": "true" });
  strip.append(svg("rect", { class: "track", x: 0, y: 12, width: 1000, height: 4 }));
  for (const event of events) {
    strip.append(svg("rect", { class: "mark", x: Math.min(998, (event.timestamp / duration) * 1000), y: 4, width: 2, height: 20 }));
  }
  const now = svg("rect", { class: "now", x: 0, y: 0, width: 3, height: 28 });
  strip.append(now);
  if (video) video.addEventListener("timeupdate", () => now.setAttribute("x", String((video.currentTime / duration) * 1000)));
  return h("div", { class: "timeline-strip" }, strip);
}

function eventsList(events, seek, canSeek) {
  if (!events.length) return h("p", { class: "muted" }, "No events.");
  return h(
    "ol",
    { class: "events-list", "aria-label": "Events timeline" },
    events.map((event) =>
      h(
        "li",
        null,
        canSeek
          ? h(
              "button",
              { type: "button", dataset: { time: String(event.timestamp) }, onclick: () => seek(event.timestamp), "aria-label": `${seconds(event.timestamp)}: ${describe(event.type, event)}; play from here` },
              h("span", { class: "mono" }, seconds(event.timestamp)),
              h("span", null, describe(event.type, event)),
            )
          : h("span", null, h("span", { class: "mono" }, seconds(event.timestamp)), " ", describe(event.type, event)),
      ),
    ),
  );
}

function seekButton(time, seek, canSeek) {
  return canSeek ? h("button", { type: "button", class: "link", onclick: () => seek(time) }, seconds(time)) : seconds(time);
}

function videoSections(summary, seek, canSeek) {
  const sections = [];
  const timeline = summary.activity_timeline || [];
  if (timeline.length) {
    const series = [
      { name: "People", className: "people", points: timeline.map((row) => ({ x: row.second, y: row.max_people })) },
      { name: "Objects", className: "objects", points: timeline.map((row) => ({ x: row.second, y: row.max_objects })) },
    ];
    sections.push(
      h(
        "section",
        { class: "panel", "aria-labelledby": "chart-title" },
        h("h2", { id: "chart-title" }, "People and objects per second"),
        lineChart(series, { title: "Most people and objects seen in one frame, each second", onPick: canSeek ? seek : null }),
        chartTable(series, "The figures as a table"),
      ),
    );
  }
  const tracks = summary.tracks || [];
  sections.push(
    h(
      "section",
      { class: "panel", "aria-labelledby": "tracks-title" },
      h("h2", { id: "tracks-title" }, `Tracks (${tracks.length})`),
      table(
        ["#", "Object", "First seen", "Last seen", "Duration", "Frames", "Zones"],
        tracks.map((t) => [
          num(t.track_id),
          t.label,
          seekButton(t.first_seen, seek, canSeek),
          seconds(t.last_seen),
          seconds(t.duration_s),
          num(t.frames),
          Object.entries(t.zone_dwell_s || {}).map(([zone, s]) => `${zone} ${Number(s).toFixed(1)} s`).join(", "),
        ]),
        { empty: "No tracked objects (tracking off, or nothing seen long enough)." },
      ),
    ),
  );
  const zones = Object.entries(summary.zones || {});
  const lines = Object.entries(summary.lines || {});
  sections.push(
    h(
      "section",
      { class: "panel", "aria-labelledby": "zones-title" },
      h("h2", { id: "zones-title" }, "Zones and lines"),
      table(
        ["Zone", "Entries", "Exits", "Unique", "Max occupancy", "Mean dwell", "Max dwell", "Still inside", "Loitering"],
        zones.map(([name, z]) => [name, num(z.entries), num(z.exits), num(z.unique_objects), num(z.max_occupancy), seconds(z.mean_dwell_s), seconds(z.max_dwell_s), num(z.still_inside), num(z.loitering_events)]),
        { empty: "No zones in this job's parameters." },
      ),
      table(
        ["Line", "In", "Out", "Net", "By class"],
        lines.map(([name, l]) => [name, num(l.in), num(l.out), num(l.net), Object.entries(l.by_class || {}).map(([c, v]) => `${c} ${v.in}/${v.out}`).join(", ")]),
        { empty: "No counting lines in this job's parameters." },
      ),
    ),
  );
  const plates = summary.plates || [];
  if (plates.length || (summary.detectors || []).includes("plates")) {
    sections.push(
      h(
        "section",
        { class: "panel", "aria-labelledby": "plates-title" },
        h("h2", { id: "plates-title" }, `Plates (${plates.length})`),
        table(
          ["Plate", "Confidence", "Region", "First seen", "Reads"],
          plates.map((p) => [h("span", { class: "mono" }, p.license_plate), num(p.confidence, 2), p.region || "–", seekButton(p.first_seen, seek, canSeek), num(p.reads_total)]),
          { empty: "No plate read." },
        ),
      ),
    );
  }
  return sections;
}

function imageSections(results) {
  const frame = results.frames[0] || { detections: [] };
  return [
    h(
      "section",
      { class: "panel", "aria-labelledby": "detections-title" },
      h("h2", { id: "detections-title" }, `Detections (${frame.detections.length})`),
      table(
        ["Object", "Confidence", "Box (x1, y1, x2, y2)", "Zones"],
        frame.detections.map((d) => [d.label, num(d.confidence, 2), h("span", { class: "mono" }, d.bbox.join(", ")), (d.zones || []).join(", ")]),
        { empty: "Nothing detected." },
      ),
    ),
  ];
}

export async function job(main, [id], ctx) {
  const { signal, go } = ctx;
  const urls = [];
  const status = await api.request(`/jobs/${id}/status`, { signal });
  const title = h("h1", null, `Job ${id.slice(0, 8)}`);
  const remove = h("button", { type: "button", class: "danger" }, "Delete job");
  remove.addEventListener("click", () => {
    if (!window.confirm("Delete this job, its results and its annotated copy?")) return;
    busy(remove, async () => {
      await api.request(`/jobs/${id}`, { method: "DELETE" });
      go("/jobs");
    });
  });
  const meta = h("p", { class: "muted" }, status.kind, " · ", stateBadge(status.status), ` · submitted ${when(status.created_at)}`);
  main.append(h("p", null, h("a", { href: "#/jobs" }, "← All jobs")), title, meta);
  if (!["completed", "failed"].includes(status.status)) {
    const stop = progressView(main, id, status, ctx);
    main.append(h("div", { class: "actions" }, remove));
    return stop;
  }
  if (status.status === "failed") {
    main.append(h("p", { class: "error", role: "alert" }, status.error || "The job failed."), h("div", { class: "actions" }, remove));
    return null;
  }
  const results = await api.request(`/jobs/${id}/results`, { query: { page_size: 1 }, signal });
  const summary = results.summary || {};
  const media = results.media || {};
  if (media.filename) title.textContent = media.filename;
  meta.append(
    results.processing_time ? ` · analysed in ${results.processing_time.toFixed(1)} s` : "",
    media.width ? ` · ${media.width}×${media.height}` : "",
    media.duration_s ? ` · ${seconds(media.duration_s)}` : "",
  );
  const view = mediaView(results, urls, signal);
  const canSeek = Boolean(view.video);
  const events = summary.events || [];
  const stats = h(
    "dl",
    { class: "stats" },
    results.kind === "video"
      ? [
          stat("Frames analysed", summary.frames_analyzed),
          stat("Unique objects", summary.total_unique_objects),
          stat("Most people in a frame", summary.max_people_per_frame),
          stat("Most vehicles in a frame", summary.max_vehicles_per_frame),
          stat("Events", events.length),
          stat("Seen most", summary.dominant_object),
        ]
      : [
          stat("Objects", summary.total_objects),
          stat("People", summary.people_count),
          stat("Vehicles", summary.vehicles_count),
          stat("Faces", summary.faces_count),
          stat("Seen most", summary.dominant_object),
        ],
  );
  const unique = summary.unique_objects || summary.class_counts;
  const side = h(
    "div",
    null,
    h("h2", null, "Summary"),
    stats,
    h("p", { class: "small" }, results.kind === "video" ? "Unique objects: " : "Objects: ", objects(unique)),
  );
  if (results.kind === "video") {
    side.append(h("h2", null, `Events (${events.length}${summary.events_truncated ? "+" : ""})`), eventsList(events, view.seek, canSeek));
  }
  main.append(
    h("div", { class: "grid-2" }, h("section", { "aria-label": "Annotated output" }, view.element, timelineStrip(events, media.duration_s, view.video)), side),
    ...(results.kind === "video" ? videoSections(summary, view.seek, canSeek) : imageSections(results)),
    h("div", { class: "actions" }, remove),
  );
  return () => {
    for (const url of urls) URL.revokeObjectURL(url);
  };
}

