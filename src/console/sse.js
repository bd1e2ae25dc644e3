// @ts-check
/**
 * A text/event-stream reader over fetch. EventSource cannot be used: once a reconnection fails (the service
 * restarting, a phone losing its network) it closes for good, and a new EventSource cannot send Last-Event-ID, so
 * every outage would cost a full snapshot. With fetch the console sends Last-Event-ID itself on every reconnect.
 * @module
 */

/** @typedef {{ type: string, data: string, id: string }} StreamEvent */

/**
 * The events of a stream body, as the HTML standard's parser reads them: `event`, `data` (lines joined with "\n"),
 * `id`; comments (`:` heartbeats) and `retry` are skipped. `id` is "" on an event that carries none.
 * @param {ReadableStream<Uint8Array>} body
 * @returns {AsyncGenerator<StreamEvent>}
 */
export async function* readEvents(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let type = "";
  /** @type {string[]} */
  let data = [];
  let id = "";
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      const lines = buffer.split(/\r\n|\r|\n/);
      // The last piece may be half a line (or a lone "\r" before its "\n"): keep it for the next chunk.
      buffer = lines.pop() ?? "";
      for (const line of lines) {
        if (line === "") {
          if (data.length > 0) yield { type: type || "message", data: data.join("\n"), id };
          type = "";
          data = [];
          id = "";
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "event") type = value;
        else if (field === "data") data.push(value);
        else if (field === "id" && !value.includes("\0")) id = value;
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}
