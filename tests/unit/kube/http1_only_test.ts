import assert from "node:assert/strict";

/** Runs the probe in a child process (see _h2_probe.ts for why) and returns what it printed and its exit code. */
async function probe(mode: "plain" | "forced") {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", new URL("./_h2_probe.ts", import.meta.url).pathname, mode],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const line = new TextDecoder().decode(out.stdout).split("\n").find((l) => l.startsWith("{"));
  return { code: out.code, result: line ? JSON.parse(line) : undefined, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("without forceHttp1, client-node negotiates HTTP/2 with an API server that offers it (the hazard is real)", async () => {
  const { result, stderr } = await probe("plain");
  // The child may abort while tearing down its HTTP/2 session; what matters is what it negotiated.
  assert.ok(result, `the probe printed its result; stderr: ${stderr}`);
  assert.deepEqual(result.versions, ["2.0", "2.0"]);
});

Deno.test("forceHttp1 makes every API request use HTTP/1.1, so no GOAWAY can reach Deno's nghttp2", async () => {
  const { code, result, stderr } = await probe("forced");
  assert.equal(code, 0, stderr);
  assert.equal(result.resourceVersion, "7");
  assert.deepEqual(result.versions, ["1.1", "1.1"]);
});
