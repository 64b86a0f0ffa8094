// Server-sent events over fetch(): EventSource cannot send an Authorization header.

import { request } from "./api.js";

// The messages of a text/event-stream body as they complete: {event, data, id}.
export async function* messages(response, signal) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let message = { event: "message", data: [], id: null };
  try {
    while (!signal || !signal.aborted) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, end).replace(/\r$/, "");
        buffer = buffer.slice(end + 1);
        if (line === "") {
          if (message.data.length) yield { event: message.event, data: message.data.join("\n"), id: message.id };
          message = { event: "message", data: [], id: message.id };
        } else if (!line.startsWith(":")) {
          const colon = line.indexOf(":");
          const name = colon < 0 ? line : line.slice(0, colon);
          const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (name === "event") message.event = text;
          else if (name === "data") message.data.push(text);
          else if (name === "id") message.id = text;
        }
      }
    }
  } finally {
    reader.releaseLock();
  }
}

// Follows a stream until close(): onEvent(name, parsed data, id) for each message; reconnects
// after a dropped connection, resuming after the last id (Last-Event-ID), unless `once`.
// The stream ends for good on `end`, `signed_out` or close().
export function follow(path, { onEvent, onState = () => {}, once = false, retryMs = 2000 } = {}) {
  const controller = new AbortController();
  let lastId = null;
  let closed = false;

  async function run() {
    while (!closed) {
      let finished = false;
      try {
        const headers = { Accept: "text/event-stream" };
        if (lastId) headers["Last-Event-ID"] = lastId;
        const response = await request(path, { raw: true, headers, signal: controller.signal });
        onState("open");
        for await (const message of messages(response, controller.signal)) {
          if (message.id) lastId = message.id;
          let data = message.data;
          try {
            data = JSON.parse(message.data);
          } catch {
            // Not JSON: handed over as text.
          }
          onEvent(message.event, data, message.id);
          if (message.event === "end" || message.event === "signed_out") finished = true;
        }
      } catch (error) {
        if (closed || error.name === "AbortError") return;
        onState("error", error);
        if (error.status && error.status !== 429 && error.status < 500) return;
      }
      if (finished || once || closed) return;
      onState("reconnecting");
      await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  }

  run();
  return {
    close() {
      closed = true;
      controller.abort();
    },
  };
}
