// Jobs: upload images and videos by drag and drop (with a preset), follow them live, list them.

import * as api from "../api.js";
import { bytes, checkbox, clear, field, h, problem, stateBadge, table, toast, when } from "../dom.js";
import { follow } from "../sse.js";

// What each preset asks the analysis for (the `params` of an upload).
export const PRESETS = {
  objects: { label: "Objects (80 everyday classes)", detectors: ["objects"] },
  activity: { label: "Objects + motion", detectors: ["objects", "motion"] },
  people: { label: "People and faces", detectors: ["people", "faces"] },
  vehicles: { label: "Vehicles + plates", detectors: ["vehicles", "plates"] },
  full: { label: "Full suite (people, vehicles, faces, motion, plates)", detectors: ["people", "vehicles", "faces", "motion", "plates"] },
};

// Event streams this page keeps open at most: a user has 10 in all (with cameras' MJPEG views
// and the events page), so further uploads are followed by polling their status.
const MAX_STREAMS = 4;
const POLL_MS = 2000;
const VIDEO_TYPES = /^video\//;
const IMAGE_TYPES = /^image\//;

function paramsOf(form) {
  const preset = PRESETS[form.elements.preset.value];
  const params = { detectors: preset.detectors, annotate: form.elements.annotate.checked };
  const skip = Number(form.elements.frame_skip.value);
  const max = Number(form.elements.max_frames.value);
  if (skip > 1) params.frame_skip = skip;
  if (max > 0) params.max_frames = max;
  return params;
}

function jobLink(id, text) {
  return h("a", { href: `#/jobs/${id}` }, text);
}

export async function jobs(main, _params, { signal }) {
  const streams = new Set();
  const polls = new Set();
  const uploads = h("ul", { class: "uploads", "aria-label": "Uploads" });
  const listArea = h("div", { "aria-live": "polite" });
  let page = 1;

  const input = h("input", { type: "file", id: "upload-files", name: "files", multiple: true, accept: "image/*,video/*" });
  const dropzone = h(
    "div",
    { class: "dropzone", id: "dropzone" },
    h("p", null, h("strong", null, "Drop images or videos here"), " or choose them:"),
    h("label", { for: "upload-files" }, "Files to analyse "),
    input,
  );
  const form = h(
    "form",
    { class: "panel", "aria-labelledby": "upload-title" },
    h("h2", { id: "upload-title" }, "Analyse images and videos"),
    h(
      "div",
      { class: "row" },
      field({ label: "Preset", name: "preset", type: "select", value: "activity", options: Object.entries(PRESETS).map(([key, p]) => [key, p.label]) }),
      field({ label: "Analyse every Nth frame (videos)", name: "frame_skip", type: "number", min: "1", max: "1000", value: "1" }),
      field({ label: "Stop after N frames (optional)", name: "max_frames", type: "number", min: "1", placeholder: "all" }),
    ),
    checkbox({ label: "Make an annotated copy (image or MP4) to look at", name: "annotate", checked: true }),
    dropzone,
    uploads,
  );

  function start(files) {
    for (const file of files) {
      if (!VIDEO_TYPES.test(file.type) && !IMAGE_TYPES.test(file.type)) {
        toast(`${file.name}: not an image or a video`, "bad");
        continue;
      }
      submit(file, paramsOf(form));
    }
  }

  function submit(file, params) {
    const bar = h("progress", { max: "1", value: "0", "aria-label": `${file.name} upload` });
    const status = h("span", { class: "muted small" }, `uploading ${bytes(file.size)}`);
    const item = h("li", { dataset: { file: file.name } }, h("span", null, file.name), bar, status);
    uploads.prepend(item);
    const data = new FormData();
    data.append("file", file, file.name);
    data.append("params", JSON.stringify(params));
    const route = IMAGE_TYPES.test(file.type) ? "/process/image" : "/process/video";
    api
      .upload(route, data, (share) => { bar.value = share; })
      .then(({ body }) => {
        const id = body.job_id;
        item.dataset.job = id;
        status.replaceChildren(jobLink(id, "open"), " ", stateBadge(body.status || (body.success ? "completed" : "queued")));
        if (body.success !== undefined) {
          bar.value = 1;
          refreshList();
          return;
        }
        bar.value = 0;
        watch(id, bar, status);
        refreshList();
      })
      .catch((error) => {
        status.replaceChildren(h("span", { class: "error" }, problem(error)));
      });
  }

  function watch(id, bar, status) {
    const show = (data) => {
      if (typeof data.progress === "number") bar.value = data.progress / 100;
      const state = data.status || "processing";
      const detail = data.frames_total ? ` ${data.frames_processed}/${data.frames_total} frames` : "";
      status.replaceChildren(jobLink(id, "open"), " ", stateBadge(state), detail);
    };
    const end = (state) => {
      if (state === "completed") bar.value = 1;
      status.replaceChildren(jobLink(id, "open results"), " ", stateBadge(state));
      refreshList();
    };
    if (streams.size >= MAX_STREAMS) {
      const timer = setInterval(async () => {
        try {
          const current = await api.request(`/jobs/${id}/status`, { signal });
          if (["completed", "failed"].includes(current.status)) {
            clearInterval(timer);
            polls.delete(timer);
            end(current.status);
          } else show(current);
        } catch (error) {
          if (error.name === "AbortError") clearInterval(timer);
        }
      }, POLL_MS);
      polls.add(timer);
      return;
    }
    const stream = follow(`/jobs/${id}/events`, {
      onEvent(event, data) {
        if (event === "progress" || event === "status") show(data);
        else if (event === "end") {
          streams.delete(stream);
          end(data.status);
        }
      },
    });
    streams.add(stream);
  }

  async function refreshList() {
    try {
      const list = await api.request("/jobs", { query: { page, page_size: 20 }, signal });
      const rows = list.items.map((job) => [
        jobLink(job.job_id, job.filename || job.job_id.slice(0, 8)),
        job.kind,
        stateBadge(job.status),
        h("td", { class: "num" }, `${Math.round(job.progress)} %`),
        when(job.created_at),
        job.error ? h("span", { class: "error small" }, job.error) : "",
      ]);
      const pages = Math.max(1, Math.ceil(list.total / list.page_size));
      clear(listArea).append(
        table(["File", "Kind", "Status", "Progress", "Submitted", ""], rows, { empty: "No jobs yet: drop a file above." }),
        h(
          "div",
          { class: "pager" },
          h("button", { type: "button", class: "secondary", disabled: page <= 1, onclick: () => { page -= 1; refreshList(); } }, "Newer"),
          h("span", { class: "muted small" }, `Page ${page} of ${pages} · ${list.total} jobs`),
          h("button", { type: "button", class: "secondary", disabled: page >= pages, onclick: () => { page += 1; refreshList(); } }, "Older"),
        ),
      );
    } catch (error) {
      if (error.name !== "AbortError") clear(listArea).append(h("p", { class: "error" }, problem(error)));
    }
  }

  input.addEventListener("change", () => {
    start(input.files);
    input.value = "";
  });
  for (const name of ["dragenter", "dragover"]) {
    dropzone.addEventListener(name, (event) => {
      event.preventDefault();
      dropzone.classList.add("over");
    });
  }
  for (const name of ["dragleave", "drop"]) {
    dropzone.addEventListener(name, () => dropzone.classList.remove("over"));
  }
  dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    start(event.dataTransfer.files);
  });

  main.append(h("h1", null, "Jobs"), form, h("section", { class: "panel", "aria-labelledby": "list-title" }, h("h2", { id: "list-title" }, "Your jobs"), listArea));
  await refreshList();
  // While a job in the list is unfinished (one submitted elsewhere too), the list keeps up.
  const timer = setInterval(() => {
    if (listArea.querySelector(".badge.info, .badge.muted")) refreshList();
  }, 3000);
  return () => {
    clearInterval(timer);
    for (const poll of polls) clearInterval(poll);
    for (const stream of streams) stream.close();
  };
}
