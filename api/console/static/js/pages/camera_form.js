// Add or edit a camera; on its picture, draw the zones and lines it counts.

import * as api from "../api.js";
import { busy, checkbox, errorBox, field, h, problem, toast } from "../dom.js";
import { shapeEditor } from "../editor.js";
import { hasPicture } from "./cameras.js";

const FRAME_POLL_MS = 1000;

function showErrors(box, form, error) {
  box.textContent = problem(error);
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  for (const { field: name } of error.fields || []) {
    const input = form.elements[name.split(".").pop()];
    if (input && input.setAttribute) input.setAttribute("aria-invalid", "true");
  }
}

// The form's fields over the camera's stored parameters (unknown ones are kept as they are).
function parametersOf(form, stored) {
  const params = { ...stored };
  const set = (name, value) => {
    if (value === null || value === "" || Number.isNaN(value)) delete params[name];
    else params[name] = value;
  };
  const number = (name) => (form.elements[name].value === "" ? null : Number(form.elements[name].value));
  set("detect_fps", number("detect_fps"));
  set("confidence_threshold", number("confidence_threshold"));
  set("live_fps", number("live_fps"));
  const classes = form.elements.detection_classes.value.split(",").map((c) => c.trim()).filter(Boolean);
  delete params.classes;
  set("detection_classes", classes.length ? classes : null);
  params.enable_motion_detection = form.elements.enable_motion_detection.checked;
  params.enable_anpr = form.elements.enable_anpr.checked;
  return params;
}

function settingsForm(camera) {
  const p = (camera && camera.parameters) || {};
  const classes = p.detection_classes || p.classes || [];
  return h(
    "div",
    null,
    camera
      ? h("p", null, "Camera id: ", h("span", { class: "mono" }, camera.camera_id))
      : field({ label: "Camera id", name: "camera_id", required: true, pattern: "[A-Za-z0-9._:\\-]{1,64}", hint: "Your name for it in the API: letters, digits and . _ : - (up to 64).", autocomplete: "off" }),
    field({ label: "Name", name: "name", value: camera ? camera.name || "" : "", maxlength: "200" }),
    field({
      label: "Source URL",
      name: "stream_url",
      required: !camera,
      placeholder: camera ? camera.stream_url : "rtsp://user:password@192.168.1.20:554/stream1",
      hint: camera
        ? `Now ${camera.stream_url}. Leave empty to keep it (and its credentials).`
        : "rtsp:// or rtsps:// (credentials are stored encrypted and never shown again), or file:// for a video on the server.",
      autocomplete: "off",
    }),
    h(
      "div",
      { class: "row" },
      field({ label: "Status", name: "status", type: "select", value: camera ? camera.status : "active", options: [["active", "Active: analyse it"], ["inactive", "Inactive: keep it only"]] }),
      field({ label: "Analysed frames per second", name: "detect_fps", type: "number", min: "0.1", max: "60", step: "any", value: p.detect_fps ?? "", placeholder: "5" }),
      field({ label: "Live view frames per second", name: "live_fps", type: "number", min: "1", max: "30", step: "any", value: p.live_fps ?? "", placeholder: "15" }),
      field({ label: "Minimum confidence", name: "confidence_threshold", type: "number", min: "0.1", max: "0.9", step: "0.05", value: p.confidence_threshold ?? "", placeholder: "0.25" }),
    ),
    field({ label: "Classes to report (comma separated, empty: all)", name: "detection_classes", value: classes.join(", "), placeholder: "person, car, truck" }),
    h(
      "fieldset",
      null,
      h("legend", null, "Also"),
      checkbox({ label: "Detect motion", name: "enable_motion_detection", checked: p.enable_motion_detection !== false }),
      checkbox({ label: "Read licence plates", name: "enable_anpr", checked: p.enable_anpr === true }),
    ),
  );
}

export function newCamera(main, _params, { go }) {
  const error = errorBox();
  const submit = h("button", { type: "submit" }, "Add camera");
  const form = h("form", { class: "panel", "aria-labelledby": "new-title" }, settingsForm(null), error, h("div", { class: "actions" }, submit, h("a", { href: "#/cameras" }, "Cancel")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    error.textContent = "";
    const body = {
      camera_id: form.elements.camera_id.value.trim(),
      stream_url: form.elements.stream_url.value.trim(),
      status: form.elements.status.value,
      parameters: parametersOf(form, {}),
    };
    if (form.elements.name.value.trim()) body.name = form.elements.name.value.trim();
    busy(submit, async () => {
      try {
        const created = await api.request("/cameras", { method: "POST", json: body });
        for (const warning of created.warnings || []) toast(warning);
        toast(`Camera ${created.camera_id} added: now draw its zones and lines.`, "ok");
        go(`/cameras/${encodeURIComponent(created.camera_id)}/edit`);
      } catch (e) {
        showErrors(error, form, e);
      }
    });
  });
  main.append(h("p", null, h("a", { href: "#/cameras" }, "← All cameras")), h("h1", { id: "new-title" }, "Add a camera"), form);
  form.elements.camera_id.focus();
}

// The camera's picture once it has one (the editor works without, on a blank frame).
async function picture(path, signal, note) {
  for (;;) {
    const camera = await api.request(path, { signal });
    if (camera.status !== "active") {
      note.textContent = "The camera is inactive: start it to draw on its picture, or type the points.";
      return null;
    }
    if (hasPicture(camera)) break;
    note.textContent = `Waiting for the camera's first picture (it is ${camera.runtime.state})…`;
    await new Promise((resolve) => setTimeout(resolve, FRAME_POLL_MS));
    if (signal.aborted) return null;
  }
  const url = await api.blobUrl(`${path}/snapshot.jpg`, { signal });
  const image = h("img", { alt: "The camera's latest picture", draggable: "false" });
  image.src = url;
  await image.decode();
  note.textContent = "";
  return image;
}

export async function editCamera(main, [cameraId], { signal, go }) {
  const path = `/cameras/${encodeURIComponent(cameraId)}`;
  let camera = await api.request(path, { signal });
  const error = errorBox();
  const submit = h("button", { type: "submit" }, "Save settings");
  const form = h("form", { class: "panel", "aria-labelledby": "settings-title" }, h("h2", { id: "settings-title" }, "Settings"), settingsForm(camera), error, h("div", { class: "actions" }, submit));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    error.textContent = "";
    const body = { name: form.elements.name.value.trim() || null, status: form.elements.status.value, parameters: parametersOf(form, camera.parameters) };
    if (form.elements.stream_url.value.trim()) body.stream_url = form.elements.stream_url.value.trim();
    busy(submit, async () => {
      try {
        camera = await api.request(path, { method: "PATCH", json: body });
        toast("Settings saved; the camera restarts with them.", "ok");
      } catch (e) {
        showErrors(error, form, e);
      }
    });
  });

  const note = h("p", { class: "muted", role: "status" }, "Loading the camera's picture…");
  const shapesError = errorBox();
  const save = h("button", { type: "button" }, "Save zones and lines");
  const shapes = h("section", { class: "panel", "aria-labelledby": "shapes-title" }, h("h2", { id: "shapes-title" }, "Zones and lines"), note);
  main.append(
    h("p", null, h("a", { href: `#${path}` }, `← ${camera.name || camera.camera_id}`)),
    h("h1", null, `Edit ${camera.name || camera.camera_id}`),
    shapes,
    form,
  );

  let urls = [];
  let image = null;
  try {
    image = await picture(path, signal, note);
    if (image) urls.push(image.src);
  } catch (e) {
    if (e.name === "AbortError") return null;
    note.textContent = `No picture to draw on (${problem(e)}): type the points instead.`;
  }
  const stored = camera.parameters || {};
  const editor = shapeEditor(image, { zones: stored.zones || stored.roi_zones || [], lines: stored.lines || [] });
  save.addEventListener("click", () => {
    shapesError.textContent = "";
    const { zones, lines } = editor.value();
    const parameters = { ...camera.parameters, zones, lines };
    if ("roi_zones" in parameters) {
      // Given as the camera-analytics API's regions of interest, which also limit detections.
      parameters.roi_only = parameters.roi_only ?? true;
      delete parameters.roi_zones;
    }
    busy(save, async () => {
      try {
        camera = await api.request(path, { method: "PATCH", json: { parameters } });
        toast(`Saved ${zones.length} zone(s) and ${lines.length} line(s).`, "ok");
        go(`/cameras/${encodeURIComponent(camera.camera_id)}`);
      } catch (e) {
        shapesError.textContent = problem(e);
      }
    });
  });
  shapes.append(editor.element, shapesError, h("div", { class: "actions" }, save));
  return () => {
    for (const url of urls) URL.revokeObjectURL(url);
    urls = [];
  };
}
