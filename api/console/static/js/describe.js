// One line of text for an event, from a job's timeline or a camera's event stream.

function who(e) {
  const label = e.label || "object";
  return e.track_id !== undefined && e.track_id !== null ? `${label} #${e.track_id}` : label;
}

function pct(value) {
  return typeof value === "number" ? `${Math.round(value * 100)} %` : "";
}

function counts(detections) {
  const by = {};
  for (const d of detections || []) {
    const label = d.class_name || d.label;
    by[label] = (by[label] || 0) + 1;
  }
  const parts = Object.entries(by).map(([label, n]) => `${label} × ${n}`);
  return parts.length ? parts.join(", ") : "nothing";
}

const TEXT = {
  zone_enter: (e) => `${who(e)} entered ${e.zone}`,
  zone_exit: (e) => `${who(e)} left ${e.zone}${e.dwell_s !== undefined ? ` after ${Number(e.dwell_s).toFixed(1)} s` : ""}`,
  loitering: (e) => `${who(e)} loitering in ${e.zone} (${Number(e.dwell_s || 0).toFixed(0)} s)`,
  line_crossed: (e) => `${who(e)} crossed ${e.line} (${e.direction})`,
  motion_start: () => "motion started",
  motion_end: (e) => `motion ended${e.duration_s !== undefined ? ` after ${Number(e.duration_s).toFixed(1)} s` : ""}`,
  motion: (e) => `motion ${Number(e.affected_area_percentage || 0).toFixed(1)} % of the frame`,
  crowd_level_changed: (e) => `crowd ${e.from} → ${e.to}${e.people_count !== undefined ? ` (${e.people_count} people)` : ""}`,
  crowd_level: (e) => `crowd ${e.from} → ${e.to} (${e.people_count} people)`,
  plate_read: (e) => `plate ${e.license_plate} ${pct(e.confidence)}`,
  anpr: (e) => `plate ${(e.anpr_result || {}).license_plate} ${pct((e.anpr_result || {}).confidence)}`,
  watchlist_match: (e) => `watchlist match: ${e.license_plate}${e.watchlist && e.watchlist.label ? ` (${e.watchlist.label})` : ""}`,
  detection: (e) => `detected ${counts(e.detections)}`,
  status: (e) => `camera ${e.previous ? `${e.previous} → ` : ""}${e.state}${e.reason ? `: ${e.reason}` : ""}`,
};

export function describe(type, event) {
  const text = TEXT[type];
  if (text) return text(event);
  const { timestamp, frame_index, type: _, ...rest } = event;
  return `${type} ${JSON.stringify(rest)}`;
}
