/** SseParser against the WHATWG event stream rules, fed whole and in every possible split. */
import assert from "node:assert/strict";
import { MAX_LINE_LENGTH, type SseEvent, SseParser } from "../../../src/cli/sse.ts";

/** Feeds the text in pieces of `size` characters (1 = every split point) and collects all events. */
function parse(text: string, size = text.length || 1): { events: SseEvent[]; parser: SseParser } {
  const parser = new SseParser();
  const events: SseEvent[] = [];
  for (let i = 0; i < text.length; i += size) events.push(...parser.push(text.slice(i, i + size)));
  return { events, parser };
}

/** The same events however the text is chunked. */
function parseAllSplits(text: string): SseEvent[] {
  const whole = parse(text).events;
  for (let size = 1; size < Math.min(text.length, 40); size++) {
    assert.deepEqual(parse(text, size).events, whole, `chunks of ${size} characters`);
  }
  return whole;
}

Deno.test("SseParser dispatches typed events with their id on a blank line", () => {
  const events = parseAllSplits('event: ADDED\nid: 101\ndata: {"name":"web"}\n\nevent: DELETED\nid: 102\ndata: {"name":"api"}\n\n');
  assert.deepEqual(events, [
    { type: "ADDED", data: '{"name":"web"}', lastEventId: "101" },
    { type: "DELETED", data: '{"name":"api"}', lastEventId: "102" },
  ]);
});

Deno.test("SseParser joins multi-line data with newlines and defaults the type to message", () => {
  const events = parseAllSplits("data: first\ndata:second\ndata\ndata:  indented\n\n");
  assert.deepEqual(events, [{ type: "message", data: "first\nsecond\n\n indented", lastEventId: "" }]);
});

Deno.test("SseParser accepts CRLF, CR and LF line endings, also split between chunks", () => {
  const crlf = parseAllSplits("event: MODIFIED\r\nid: 7\r\ndata: x\r\n\r\n");
  const cr = parseAllSplits("event: MODIFIED\rid: 7\rdata: x\r\r");
  const mixed = parseAllSplits("event: MODIFIED\r\nid: 7\rdata: x\n\r\n");
  const expected = [{ type: "MODIFIED", data: "x", lastEventId: "7" }];
  assert.deepEqual(crlf, expected);
  assert.deepEqual(cr, expected);
  assert.deepEqual(mixed, expected);
});

Deno.test("SseParser treats a CR then LF in the next chunk as one line end, not an extra blank line", () => {
  const parser = new SseParser();
  assert.deepEqual(parser.push("data: a\r"), []);
  assert.deepEqual(parser.push("\ndata: b\r"), [], "the LF completed the first line; no blank line yet");
  assert.deepEqual(parser.push("\n\r\n"), [{ type: "message", data: "a\nb", lastEventId: "" }]);
});

Deno.test("SseParser counts comments as heartbeats and never dispatches them", () => {
  const { events, parser } = parse(": heartbeat\n\n:\n\ndata: x\n: in the middle\n\n");
  assert.deepEqual(events, [{ type: "message", data: "x", lastEventId: "" }]);
  assert.equal(parser.comments, 3);
});

Deno.test("SseParser keeps the last event id across events and ignores ids containing NUL", () => {
  const { events, parser } = parse("id: 5\ndata: a\n\ndata: b\n\nid: 6\0x\ndata: c\n\n");
  assert.deepEqual(events.map((e) => e.lastEventId), ["5", "5", "5"]);
  assert.equal(parser.lastEventId, "5");
});

Deno.test("SseParser sets the last event id even from an event without data", () => {
  const { events, parser } = parse("id: 42\n\n");
  assert.deepEqual(events, []);
  assert.equal(parser.lastEventId, "42");
});

Deno.test("SseParser takes retry only when it is all digits", () => {
  assert.equal(parse("retry: 2500\n\n").parser.retryMs, 2500);
  assert.equal(parse("retry: 2500\nretry: 1e3\nretry: -1\nretry: 10s\n\n").parser.retryMs, 2500);
  assert.equal(parse("retry:\n\n").parser.retryMs, undefined);
});

Deno.test("SseParser resets the event type after each dispatch and ignores unknown fields", () => {
  const { events } = parse("event: ERROR\nfoo: bar\ndata: {}\n\ndata: plain\n\n");
  assert.deepEqual(events.map((e) => e.type), ["ERROR", "message"]);
});

Deno.test("SseParser drops an event type without data", () => {
  assert.deepEqual(parse("event: ADDED\n\ndata: x\n\n").events, [{ type: "message", data: "x", lastEventId: "" }]);
});

Deno.test("SseParser removes only one space after the colon and keeps colons in the value", () => {
  assert.deepEqual(parse('data:  {"a":"b:c"}\n\n').events[0].data, ' {"a":"b:c"}');
});

Deno.test("SseParser strips a leading byte order mark, once", () => {
  const { events } = parse("\ufeffdata: x\n\n\ufeffdata: y\n\n");
  assert.deepEqual(events.map((e) => e.data), ["x"], "a second BOM makes the field name unknown");
});

Deno.test("SseParser discards an event still incomplete when the stream ends", () => {
  const { events } = parse("data: complete\n\ndata: cut off\n");
  assert.deepEqual(events.map((e) => e.data), ["complete"]);
});

Deno.test("SseParser refuses a line longer than MAX_LINE_LENGTH instead of buffering it forever", () => {
  const parser = new SseParser();
  const chunk = "x".repeat(64 * 1024);
  assert.throws(() => {
    for (let sent = 0; sent <= MAX_LINE_LENGTH; sent += chunk.length) parser.push(chunk);
  }, /longer than/);
});
