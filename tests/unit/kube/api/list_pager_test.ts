import assert from "node:assert/strict";
import { listAllPages, type ListPage, type ListResult } from "../../../../src/kube/api/list_pager.ts";
import { InformerCache } from "../../../../src/kube/informer/informer_cache.ts";
import { createBackoff } from "../../../../src/kube/informer/backoff.ts";
import { KubeApiError } from "../../../../src/kube/api/kube_api_error.ts";
import { createLogger } from "../../../../src/observability/logger.ts";
import { FakeKube, httpError } from "../../../support/fake_kube.ts";
import { ManualClock, settle } from "../../../support/manual_clock.ts";

// deno-lint-ignore no-explicit-any
type Obj = any;

/**
 * A paginating list in front of FakeKube's Deployments, with the API server's semantics: the first page takes a
 * snapshot and every continue token reads from it (so changes after the first page are not seen until the next
 * list), every page reports the snapshot's resourceVersion, and tokens can be made to expire (410 Expired).
 */
class PagedDeployments {
  requests: ListPage[] = [];
  /** The next continue request fails with 410, as after the snapshot was compacted. */
  expireNextContinue = false;
  /** Awaited before answering a continue request, so a test can look at the cache between pages. */
  beforeContinue: (() => Promise<void>) | undefined;
  #snapshots = new Map<string, { rv: string; items: Obj[] }>();
  #nextSnapshot = 0;

  constructor(readonly kube: FakeKube) {}

  list = async (_namespace?: string, page: ListPage = {}): Promise<ListResult> => {
    this.requests.push({ ...page });
    await Promise.resolve();
    if (!page.limit) return await this.kube.listDeployments();
    let id: string;
    let offset = 0;
    if (page.continue) {
      await this.beforeContinue?.();
      if (this.expireNextContinue) {
        this.expireNextContinue = false;
        throw new KubeApiError(410, "The provided continue parameter is too old to display a consistent list result.", "Expired");
      }
      [id, offset] = [page.continue.split(":")[0], Number(page.continue.split(":")[1])];
    } else {
      const full = await this.kube.listDeployments();
      id = String(this.#nextSnapshot++);
      this.#snapshots.set(id, { rv: full.metadata!.resourceVersion!, items: full.items });
    }
    const snapshot = this.#snapshots.get(id)!;
    const items = snapshot.items.slice(offset, offset + page.limit);
    const next = offset + page.limit;
    return {
      metadata: { resourceVersion: snapshot.rv, continue: next < snapshot.items.length ? `${id}:${next}` : undefined },
      items: structuredClone(items),
    };
  };
}

function setup(pageSize: number) {
  const kube = new FakeKube();
  const paged = new PagedDeployments(kube);
  const clock = new ManualClock();
  const lines: Record<string, unknown>[] = [];
  const cache = new InformerCache({
    source: {
      listDeployments: paged.list,
      listNamespaces: () => Promise.reject(new Error("not used with a namespace list")),
      watch: kube.watch,
    },
    namespaces: ["prod"],
    watchTimeoutSeconds: 60,
    clock,
    newBackoff: () => createBackoff({ baseMs: 1000, capMs: 8000, random: () => 1 }),
    log: createLogger({ level: "debug", sink: (l) => lines.push(JSON.parse(l)) }),
    listPageSize: pageSize,
  });
  return { kube, paged, cache, lines };
}

function seed(kube: FakeKube, n: number) {
  for (let i = 0; i < n; i++) kube.put(kube.deployment("prod", `app-${String(i).padStart(3, "0")}`, i));
}

Deno.test("listAllPages asks for pages of the given size until the continue token runs out, trimming each page", async () => {
  const kube = new FakeKube();
  seed(kube, 7);
  const paged = new PagedDeployments(kube);
  const trimmed: string[] = [];
  const result = await listAllPages((page) => paged.list(undefined, page), (obj) => {
    trimmed.push(obj.metadata.name);
    return { name: obj.metadata.name };
  }, { pageSize: 3 });
  assert.deepEqual(paged.requests, [{ limit: 3 }, { limit: 3, continue: "0:3" }, { limit: 3, continue: "0:6" }]);
  assert.equal(result.pages, 3);
  assert.equal(result.fellBack, false);
  assert.deepEqual(result.items.map((i) => i.name), [...Array(7)].map((_, i) => `app-00${i}`));
  assert.deepEqual(result.items[0], { name: "app-000" }, "items are what trim returned");
  assert.equal(trimmed.length, 7);
});

Deno.test("listAllPages keeps the first page's resourceVersion, the snapshot the watch must start from", async () => {
  let call = 0;
  const result = await listAllPages(() => {
    call++;
    return Promise.resolve({
      metadata: { resourceVersion: call === 1 ? "100" : "999", continue: call === 1 ? "next" : undefined },
      items: [{ n: call }],
    });
  }, (o) => o);
  assert.equal(result.resourceVersion, "100");
  assert.deepEqual(result.items, [{ n: 1 }, { n: 2 }]);
});

Deno.test("listAllPages uses client-go's page size of 500 by default", async () => {
  const asked: ListPage[] = [];
  await listAllPages((page) => {
    asked.push(page);
    return Promise.resolve({ metadata: { resourceVersion: "1" }, items: [] });
  }, (o) => o);
  assert.deepEqual(asked, [{ limit: 500 }]);
});

Deno.test("an expired continue token (410) falls back to one unpaginated list", async () => {
  const kube = new FakeKube();
  seed(kube, 5);
  const paged = new PagedDeployments(kube);
  paged.expireNextContinue = true;
  const result = await listAllPages((page) => paged.list(undefined, page), (o) => o.metadata.name, { pageSize: 2 });
  assert.deepEqual(paged.requests, [{ limit: 2 }, { limit: 2, continue: "0:2" }, {}]);
  assert.equal(result.fellBack, true);
  assert.deepEqual(result.items, ["app-000", "app-001", "app-002", "app-003", "app-004"], "nothing from the abandoned pages is kept twice");
  assert.equal(result.resourceVersion, (await kube.listDeployments()).metadata?.resourceVersion);
});

Deno.test("a 410 on the first page and any other failure on a later page are the list's failure, not a fallback", async () => {
  await assert.rejects(
    listAllPages(() => Promise.reject(httpError(410, "Gone")), (o) => o),
    /Gone/,
  );
  let call = 0;
  await assert.rejects(
    listAllPages(() => {
      if (call++ === 0) return Promise.resolve({ metadata: { resourceVersion: "1", continue: "c" }, items: [{}] });
      return Promise.reject(new KubeApiError(503, "unavailable"));
    }, (o) => o),
    /unavailable/,
  );
  assert.equal(call, 2, "no fallback list after a 503");
});

Deno.test("the informer lists in pages, is synced only after the last page, and watches from the first page's snapshot", async () => {
  const { kube, paged, cache, lines } = setup(2);
  seed(kube, 5);
  const snapshotRv = (await kube.listDeployments()).metadata!.resourceVersion;
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  let seenBetweenPages: { synced: boolean; deployments: number } | undefined;
  paged.beforeContinue = async () => {
    if (!seenBetweenPages) {
      const s = cache.status();
      seenBetweenPages = { synced: s.synced, deployments: s.deployments };
      // A change after the first page is not in the snapshot; a real watch from the snapshot's version delivers it.
      kube.put(kube.deployment("prod", "late", 1));
      await gate;
    }
  };
  const started = cache.start();
  await settle();
  release();
  await started;
  assert.deepEqual(seenBetweenPages, { synced: false, deployments: 0 }, "nothing is served from a partial list");
  assert.equal(paged.requests.length, 3);
  assert.equal(cache.status().synced, true);
  assert.equal(cache.status().deployments, 5);
  const watch = kube.open().find((w) => w.path === "/apis/apps/v1/namespaces/prod/deployments");
  assert.equal(watch?.params.resourceVersion, snapshotRv, "the watch resumes from the list's snapshot");
  assert.ok(lines.some((l) => l.msg === "listed" && l.items === 5 && l.pages === 3));
  await cache.stop();
});

Deno.test("a relist after 410 Gone pages too, and drops what was deleted meanwhile", async () => {
  const { kube, paged, cache } = setup(2);
  seed(kube, 5);
  await cache.start();
  const before = paged.requests.length;
  kube.deployments.delete("prod/app-001");
  kube.deployments.delete("prod/app-004");
  kube.open()[0].close(httpError(410, "Gone"));
  await settle();
  assert.deepEqual(paged.requests.slice(before), [{ limit: 2 }, { limit: 2, continue: "1:2" }]);
  assert.deepEqual(cache.list().map((d) => d.name), ["app-000", "app-002", "app-003"]);
  assert.equal(cache.status().synced, true);
  await cache.stop();
});

Deno.test("a continue token expiring during the initial list still syncs the informer with everything", async () => {
  const { kube, paged, cache } = setup(2);
  seed(kube, 5);
  paged.expireNextContinue = true;
  await cache.start();
  assert.deepEqual(paged.requests, [{ limit: 2 }, { limit: 2, continue: "0:2" }, {}]);
  assert.equal(cache.status().synced, true);
  assert.equal(cache.status().deployments, 5);
  assert.equal(cache.status().restarts, 0, "an expired token is not a failure");
  await cache.stop();
});
