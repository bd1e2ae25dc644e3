import assert from "node:assert/strict";
import { MalformedWatchEventError, type WatchEvent, watchEvents } from "../../../../src/kube/api/watch_event_stream.ts";

const encoder = new TextEncoder();

async function* chunksOf(...chunks: (Uint8Array | string)[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield typeof chunk === "string" ? encoder.encode(chunk) : chunk;
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<WatchEvent[]> {
  return await Array.fromAsync(watchEvents(body));
}

/** A deterministic pseudo-random generator, so a failing split can be reproduced. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
}

// Names with two-, three- and four-byte UTF-8 characters, so some splits fall inside a character.
const EVENTS = [
  { type: "ADDED", object: { metadata: { name: "web", namespace: "prod", resourceVersion: "101" }, spec: { replicas: 3 } } },
  { type: "MODIFIED", object: { metadata: { name: "café-名前-🚀", namespace: "prod", resourceVersion: "102" } } },
  { type: "BOOKMARK", object: { kind: "Deployment", metadata: { resourceVersion: "103" } } },
  { type: "DELETED", object: { metadata: { name: "api", namespace: "dev", resourceVersion: "104" } } },
  { type: "ERROR", object: { kind: "Status", code: 410, message: "too old resource version: 1 (104)" } },
];
const STREAM = encoder.encode(EVENTS.map((e) => JSON.stringify(e) + "\n").join(""));

Deno.test("watch events are the same however the stream is split into chunks", async (t) => {
  const expected = EVENTS.map((e) => ({ type: e.type, object: e.object, raw: e }));

  await t.step("all events in one chunk", async () => {
    assert.deepEqual(await collect(chunksOf(STREAM)), expected);
  });

  await t.step("one byte per chunk", async () => {
    assert.deepEqual(await collect(chunksOf(...Array.from(STREAM, (b) => Uint8Array.of(b)))), expected);
  });

  await t.step("split in two at every byte", async () => {
    for (let at = 0; at <= STREAM.length; at++) {
      assert.deepEqual(await collect(chunksOf(STREAM.subarray(0, at), STREAM.subarray(at))), expected, `split at byte ${at}`);
    }
  });

  await t.step("random splits, empty chunks included", async () => {
    const random = seeded(7);
    for (let round = 0; round < 200; round++) {
      const chunks: Uint8Array[] = [];
      for (let at = 0; at < STREAM.length;) {
        const size = Math.floor(random() * 40);
        chunks.push(STREAM.subarray(at, at + size));
        at += size;
      }
      assert.deepEqual(await collect(chunksOf(...chunks)), expected, `round ${round}`);
    }
  });
});

Deno.test("a last line without a newline is delivered when the stream ends", async () => {
  const events = await collect(
    chunksOf('{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n{"type":"DELETED",', '"object":{"metadata":{"name":"a"}}}'),
  );
  assert.deepEqual(events.map((e) => e.type), ["ADDED", "DELETED"]);
});

Deno.test("blank lines between events are skipped", async () => {
  const events = await collect(chunksOf('\n{"type":"ADDED","object":{"metadata":{"name":"a"}}}\r\n\n  \n'));
  assert.deepEqual(events.map((e) => e.type), ["ADDED"]);
});

Deno.test("a stream that ends in the middle of an event is an error, after the complete events", async () => {
  const seen: string[] = [];
  await assert.rejects(
    async () => {
      for await (const e of watchEvents(chunksOf('{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n{"type":"MODIFIED","obj'))) {
        seen.push(e.type);
      }
    },
    (error: Error) => error instanceof MalformedWatchEventError && /not JSON/.test(error.message),
  );
  assert.deepEqual(seen, ["ADDED"]);
});

Deno.test("a line that is not JSON is an error that quotes only the start of the line", async () => {
  const garbage = "<html>" + "x".repeat(500) + "</html>";
  await assert.rejects(
    () => collect(chunksOf(`${garbage}\n{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n`)),
    (error: Error) => {
      assert.ok(error instanceof MalformedWatchEventError);
      assert.match(error.message, /^watch stream line is not JSON: "<html>x+…"$/);
      assert.ok(error.message.length < 120);
      return true;
    },
  );
});

Deno.test("JSON that is not a watch event is an error", async (t) => {
  for (
    const line of ["[]", "42", "null", '{"kind":"Status"}', '{"type":"ADDED"}', '{"type":7,"object":{}}', '{"type":"ADDED","object":"x"}']
  ) {
    await t.step(line, async () => {
      await assert.rejects(() => collect(chunksOf(line + "\n")), MalformedWatchEventError);
    });
  }
});

Deno.test("bytes that are not UTF-8 are an error, not replacement characters", async () => {
  await assert.rejects(
    () =>
      collect(
        chunksOf(encoder.encode('{"type":"ADDED","object":{"metadata":{"name":"'), Uint8Array.of(0xff, 0xfe), encoder.encode('"}}}\n')),
      ),
    (error: Error) => error instanceof MalformedWatchEventError && /UTF-8/.test(error.message),
  );
});

Deno.test("an error of the body itself reaches the reader unchanged", async () => {
  const reset = new TypeError("error reading a body from connection");
  async function* failing() {
    yield encoder.encode('{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n{"type"');
    throw reset;
  }
  const seen: string[] = [];
  await assert.rejects(async () => {
    for await (const e of watchEvents(failing())) seen.push(e.type);
  }, (error) => error === reset);
  assert.deepEqual(seen, ["ADDED"]);
});
