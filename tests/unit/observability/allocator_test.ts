import assert from "node:assert/strict";
import { detectAllocator } from "../../../src/observability/allocator.ts";

const JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
const exists = (path: string) => path === JEMALLOC;

Deno.test("detectAllocator names jemalloc when LD_PRELOAD names an existing jemalloc library", () => {
  assert.deepEqual(detectAllocator(JEMALLOC, exists), { allocator: "jemalloc" });
  // ld.so also accepts lists separated by spaces or colons.
  assert.deepEqual(detectAllocator(`/opt/other.so:${JEMALLOC}`, exists), { allocator: "jemalloc" });
  assert.deepEqual(detectAllocator(` /opt/other.so  ${JEMALLOC} `, exists), { allocator: "jemalloc" });
});

Deno.test("detectAllocator names glibc without a jemalloc preload", () => {
  assert.deepEqual(detectAllocator(undefined, exists), { allocator: "glibc" });
  // An empty LD_PRELOAD is what the start task passes when jemalloc is not installed.
  assert.deepEqual(detectAllocator("", exists), { allocator: "glibc" });
  assert.deepEqual(detectAllocator("/opt/libjemalloc-notes/other.so", exists), { allocator: "glibc" });
});

Deno.test("detectAllocator reports a jemalloc preload whose library is missing", () => {
  const info = detectAllocator("/usr/lib64/libjemalloc.so.2", exists);
  assert.equal(info.allocator, "glibc");
  assert.match(info.problem ?? "", /\/usr\/lib64\/libjemalloc\.so\.2.*does not exist/);
});

Deno.test("detectAllocator checks the preloaded file for real by default", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const lib = `${dir}/libjemalloc.so.2`;
    assert.equal(detectAllocator(lib).allocator, "glibc");
    Deno.mkdirSync(lib);
    assert.equal(detectAllocator(lib).allocator, "glibc", "a directory is not a library");
    Deno.removeSync(lib);
    Deno.writeFileSync(lib, new Uint8Array([0x7f]));
    assert.equal(detectAllocator(lib).allocator, "jemalloc");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
