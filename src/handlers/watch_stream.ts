/**
 * `GET .../deployments?watch=true`: the cache's changes as Server-Sent Events
 * (WHATWG HTML §9.2), so `curl -N` and `EventSource` both work.
 *
 * - Without Last-Event-ID the stream starts with an ADDED event per current
 *   Deployment. Only the last of them carries an `id:` (the resourceVersion
 *   the snapshot is as of), so a client cut off in the middle has no id yet
 *   and gets a whole snapshot again when it reconnects.
 * - Then live events: `event: ADDED|MODIFIED|DELETED`, `id: <resourceVersion>`,
 *   `data: <Deployment JSON, one line>`. Heartbeats are comment lines.
 * - `Last-Event-ID: N` replays the history after N (410 when it no longer
 *   reaches back that far: the client lists again).
 * - Memory is bounded: events wait in a per-stream buffer of at most
 *   `bufferBytes` while the client is not reading (the listener writes only
 *   as fast as the socket drains). A client that lets it fill gets a final
 *   `event: ERROR` with a problem+json body instead of the backlog, and the
 *   stream closes; if it does not even read that within `drainGraceMs`, the
 *   connection is cut.
 * - In Deno 2.9.6 node:https gives no backpressure: every write "completes" at
 *   once and what the client has not read waits in the runtime's TLS layer,
 *   unbounded (measured: 16 MB to a client that stopped reading, all
 *   "written"). So the buffer above only bounds what the listener has not yet
 *   taken, and each stream also has a byte budget: after `budgetBytes` of live
 *   events it ends with a final event, the client reconnects with
 *   Last-Event-ID, and a client that stopped reading holds at most the budget
 *   (plus its snapshot) until the listener's idle timeout closes its connection.
 * - On shutdown every stream gets a final ERROR event (503) and closes.
 */
import { problemBody } from "../http/mod.ts";
import type { DeploymentCache } from "../kube/mod.ts";
import { isNewerVersion } from "../kube/mod.ts";
import type { ChangeEvent } from "../kube/mod.ts";
import type { DeploymentRecord } from "../kube/mod.ts";
import type { RolloutStatus } from "../kube/mod.ts";
import type { LongRequestDeps, LongRequestEnd } from "./long_requests.ts";
import { detailBody } from "./deployment_detail.ts";

export interface WatchStreamOptions {
  cache: DeploymentCache;
  deps: LongRequestDeps;
  /** Which namespaces' events this client may see (the authorization policy in force, and the route's namespace). */
  visible: (namespace: string) => boolean;
  /**
   * The policy can change under an open stream: `onPolicyChange` subscribes (returns the unsubscribe), and when
   * `stillAllowed()` then says no, the stream ends with a final 403 ERROR event.
   */
  policy?: { onChange(listener: () => void): () => void; stillAllowed(): boolean; refusal(): string };
  /** The Last-Event-ID to resume after (validated), with the events to replay; undefined = start with a snapshot. */
  resume?: { after: string; events: readonly ChangeEvent[] };
  /** ?detail=true: each event's Deployment also carries its detail fields and its rollout as of that event. */
  detail?: boolean;
  /** Aborted when the client's connection closes; undefined off the mTLS listener. */
  closed?: () => AbortSignal;
  /** Releases the slots the stream holds; called exactly once when it ends, with why. */
  release: (reason: LongRequestEnd) => void;
  headers: Readonly<Record<string, string>>;
  heartbeatMs: number;
  bufferBytes: number;
  /** Live event bytes a stream may send before it is ended with a final event (the client reconnects and resumes). */
  budgetBytes: number;
  drainGraceMs: number;
  instance: string;
}

const encoder = new TextEncoder();
const PREAMBLE = ": replica-api watch\nretry: 2000\n\n";
/** Snapshot events handed to the listener per read: big enough to amortise, small enough not to stall others. */
const SNAPSHOT_BATCH = 256;

/** One event; `detail` set: the detailed form, with `rollout` the Deployment's progress as of the event. */
function eventText(
  type: string,
  record: DeploymentRecord,
  id: string | undefined,
  detail?: { readonly rollout?: RolloutStatus },
): string {
  const data = JSON.stringify(detail ? detailBody(record, detail.rollout) : record);
  return `event: ${type}\n${id === undefined ? "" : `id: ${id}\n`}data: ${data}\n\n`;
}

function finalEvent(detail: string, instance: string, status = 503): string {
  const title = status === 403 ? "Forbidden" : "Service Unavailable";
  return `event: ERROR\ndata: ${problemBody(status, title, detail, instance)}\n\n`;
}

export function openWatchStream(o: WatchStreamOptions): Response {
  const { cache, deps } = o;
  // Taken in the same turn as the subscription below: no change can fall between the two.
  const snapshot = o.resume ? [] : cache.list().filter((r) => o.visible(r.namespace));
  // The snapshot's rollouts, read in the same turn: by the time a batch is written the cache may have moved on.
  const snapshotRollouts = o.detail ? snapshot.map((r) => ({ rollout: cache.rollout(r.namespace, r.name) })) : undefined;
  const snapshotAt = cache.changes.head;
  const replay = o.resume?.events.filter((e) => o.visible(e.record.namespace)) ?? [];
  let next = 0; // into snapshot, then replay

  let pending: string[] = [];
  let pendingBytes = 0;
  let liveBytes = 0;
  let ending = false; // the final event is queued; nothing else is accepted
  let ended = false;
  let wake: (() => void) | undefined;
  let preambleSent = false;
  let graceTimer: ReturnType<typeof setTimeout> | undefined;
  let controller!: ReadableStreamDefaultController<Uint8Array>;

  const push = (text: string) => {
    pending.push(text);
    pendingBytes += text.length;
    wake?.();
  };

  const cleanup = (reason: LongRequestEnd) => {
    if (ended) return;
    ended = true;
    unsubscribe();
    unsubscribePolicy?.();
    clearInterval(heartbeat);
    clearTimeout(graceTimer);
    deps.shutdown.removeEventListener("abort", onShutdown);
    clientClosed?.removeEventListener("abort", onClientClosed);
    pending = [];
    o.release(endReason ?? reason);
    wake?.();
  };
  let endReason: LongRequestEnd | undefined;

  /** Queue the final event and close once it is read; cut the connection if it is not read in time. */
  const end = (reason: LongRequestEnd, detail: string, dropBacklog: boolean, status = 503) => {
    if (ending || ended) return;
    ending = true;
    endReason = reason;
    if (dropBacklog) {
      pending = [];
      pendingBytes = 0;
      next = snapshot.length + replay.length;
    }
    push(finalEvent(detail, o.instance, status));
    graceTimer = setTimeout(() => {
      try {
        controller.error(new Error(`watch stream closed: the client did not read its final event within ${o.drainGraceMs} ms`));
      } catch { /* already closed */ }
      cleanup(reason);
    }, o.drainGraceMs);
  };

  // A reloaded policy that no longer lets this client read here ends the stream; the events it may still see are
  // filtered by `visible`, which reads the policy in force on every event.
  const unsubscribePolicy = o.policy?.onChange(() => {
    if (!o.policy!.stillAllowed()) end("forbidden", o.policy!.refusal(), true, 403);
  });

  const onEvent = (event: ChangeEvent) => {
    if (ending || !o.visible(event.record.namespace)) return;
    if (o.resume && !isNewerVersion(event.position, o.resume.after)) return; // the client has it already
    push(eventText(event.type, event.record, event.position, o.detail ? event : undefined));
    if (pendingBytes > o.bufferBytes) {
      end(
        "slow_consumer",
        `slow consumer: more than ${o.bufferBytes} bytes of events were waiting for this client to read them, so the stream is closed; ` +
          `reconnect with Last-Event-ID to resume (or list again if that answers 410)`,
        true,
      );
    }
  };
  const unsubscribe = cache.changes.subscribe(onEvent);
  const heartbeat = setInterval(() => {
    if (!ending) push(": heartbeat\n\n");
  }, o.heartbeatMs);
  const onShutdown = () =>
    end("shutdown", "the server is shutting down; reconnect (with Last-Event-ID) to continue on another replica", false);
  deps.shutdown.addEventListener("abort", onShutdown, { once: true });
  // The listener cancels the body when the client leaves; the signal also covers a client gone before the first read.
  const clientClosed = o.closed?.();
  const onClientClosed = () => cleanup("client_closed");
  clientClosed?.addEventListener("abort", onClientClosed, { once: true });
  if (deps.shutdown.aborted) onShutdown();
  if (clientClosed?.aborted) onClientClosed();

  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    async pull(c) {
      for (;;) {
        if (ended) {
          try {
            c.close();
          } catch { /* errored by the grace timer */ }
          return;
        }
        // Sent first, so the headers leave at once even when there is nothing to say; 2 s is the client's reconnection delay.
        let text = preambleSent ? "" : PREAMBLE;
        preambleSent = true;
        // The snapshot and the replay go first, batch by batch, and never count against the buffer.
        if (!ending && next < snapshot.length + replay.length) {
          const stop = Math.min(next + SNAPSHOT_BATCH, snapshot.length + replay.length);
          for (; next < stop; next++) {
            if (next < snapshot.length) {
              text += eventText("ADDED", snapshot[next], next === snapshot.length - 1 ? snapshotAt : undefined, snapshotRollouts?.[next]);
            } else {
              const event = replay[next - snapshot.length];
              text += eventText(event.type, event.record, event.position, o.detail ? event : undefined);
            }
          }
          c.enqueue(encoder.encode(text));
          return;
        }
        if (pending.length) {
          text += pending.join("");
          liveBytes += pendingBytes;
          pending = [];
          pendingBytes = 0;
          c.enqueue(encoder.encode(text));
          // That was the final event: the stream closes once it is handed over.
          if (ending) cleanup(endReason ?? "completed");
          else if (liveBytes > o.budgetBytes) {
            end(
              "budget",
              `this stream has sent its budget of ${o.budgetBytes} bytes of events; reconnect with Last-Event-ID to continue ` +
                `(streams are renewed because the server cannot see whether a client keeps up with them)`,
              false,
            );
          }
          return;
        }
        if (text) return c.enqueue(encoder.encode(text));
        await new Promise<void>((resolve) => wake = resolve);
        wake = undefined;
      }
    },
    cancel() {
      cleanup("client_closed");
    },
  }, { highWaterMark: 0 });

  return new Response(body, {
    status: 200,
    headers: {
      ...o.headers,
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      // Proxies such as nginx buffer responses by default, which would hold events back.
      "x-accel-buffering": "no",
    },
  });
}
