/**
 * Records "who scaled" as a Kubernetes Event (events.k8s.io/v1) on the
 * Deployment, so `kubectl events` and `kubectl describe deployment` answer it
 * without access to our logs.
 *
 * Fire-and-forget on purpose: the scale already happened, so a failure to
 * record it must neither fail the PUT nor delay it. It is logged and counted
 * instead. The number of Events in flight is bounded, so a slow or failing
 * API server cannot make us pile up requests; over the bound, Events are
 * dropped (and counted as such). The audit log remains the complete record.
 */
import type { Logger } from "../../observability/mod.ts";

/** Creates one events.k8s.io/v1 Event in a namespace; client-node backs it in production, a fake in tests. */
export interface EventApi {
  createEvent(namespace: string, event: EventsV1Event): Promise<void>;
}

/** The fields of an events.k8s.io/v1 Event we send. */
export interface EventsV1Event {
  readonly apiVersion: "events.k8s.io/v1";
  readonly kind: "Event";
  readonly metadata: { readonly name: string; readonly namespace: string };
  /** MicroTime: RFC 3339 with exactly six fractional digits. */
  readonly eventTime: string;
  readonly reportingController: string;
  readonly reportingInstance: string;
  readonly action: string;
  readonly reason: string;
  readonly type: "Normal" | "Warning";
  readonly note: string;
  readonly regarding: {
    readonly apiVersion: "apps/v1";
    readonly kind: "Deployment";
    readonly namespace: string;
    readonly name: string;
    readonly uid?: string;
  };
}

/** One successful scale, as the handler knows it. */
export interface ScaledEvent {
  readonly namespace: string;
  readonly name: string;
  /** The Deployment's uid; `kubectl describe` selects Events by it. */
  readonly uid?: string;
  readonly from: number;
  readonly to: number;
  /** Who asked, e.g. "CN=alice (O=sre)". */
  readonly actor: string;
  /** The HorizontalPodAutoscaler the write was forced past, if any. */
  readonly forcedPast?: string;
}

/** One rollout operation that changed something, as the handler knows it (a dry run or a no-op records none). */
export type DeploymentChange =
  & { readonly namespace: string; readonly name: string; readonly uid?: string; readonly actor: string }
  & (
    | { readonly kind: "restart"; readonly restartedAt: string }
    | { readonly kind: "pause" | "resume" }
    | { readonly kind: "image"; readonly container: string; readonly from: string; readonly to: string }
    | {
      readonly kind: "undo";
      readonly fromRevision: number;
      readonly toRevision: number;
      readonly images: readonly { readonly container: string; readonly image: string }[];
    }
  );

export type EventOutcome = "recorded" | "failed" | "dropped";

export interface ScaleEventRecorder {
  /** Starts recording and returns at once; never throws. */
  scaled(event: ScaledEvent): void;
  /** The same for a restart, pause, resume, set image or undo. */
  changed(change: DeploymentChange): void;
  /** Resolves when no Event is in flight, or after `timeoutMs` (shutdown waits this long, not longer). */
  settle(timeoutMs: number): Promise<void>;
}

export interface ScaleEventRecorderOptions {
  api: EventApi;
  /** events.k8s.io reportingController, e.g. "replica-api". */
  controller: string;
  /** events.k8s.io reportingInstance: this process, e.g. the Pod name. */
  instance: string;
  log: Logger;
  /** Counts each Event by outcome. */
  count?: (outcome: EventOutcome) => void;
  /** Events in flight at most; more are dropped. */
  maxInFlight?: number;
  now?: () => Date;
}

/** The API server's limits on these fields (events.k8s.io/v1 validation). */
const MAX_NOTE = 1024;
const MAX_INSTANCE = 128;
const MAX_NAME = 253;

export function createScaleEventRecorder(options: ScaleEventRecorderOptions): ScaleEventRecorder {
  const { api, log } = options;
  const count = options.count ?? (() => {});
  const maxInFlight = options.maxInFlight ?? 32;
  const now = options.now ?? (() => new Date());
  const instance = options.instance.slice(0, MAX_INSTANCE);
  const inFlight = new Set<Promise<void>>();
  let sequence = 0;

  /** action, reason and the note's "what" for each kind of change: "image web: app:1.2 → app:1.3". */
  const describe = (c: DeploymentChange): { action: string; reason: string; what: string } => {
    switch (c.kind) {
      case "restart":
        return { action: "Restart", reason: "Restarted", what: `restarted (restartedAt ${c.restartedAt})` };
      case "pause":
        return { action: "Pause", reason: "Paused", what: "paused" };
      case "resume":
        return { action: "Resume", reason: "Resumed", what: "resumed" };
      case "image":
        return { action: "SetImage", reason: "ImageChanged", what: `image ${c.container}: ${c.from} → ${c.to}` };
      case "undo": {
        const images = c.images.map((i) => `${i.container}=${i.image}`).join(", ");
        return {
          action: "Undo",
          reason: "RolledBack",
          what: `undo to revision ${c.toRevision} (${images}) from revision ${c.fromRevision}`,
        };
      }
    }
  };

  const build = (e: ScaledEvent | DeploymentChange): EventsV1Event => {
    const time = now();
    // Unique per instance and time, the way client-go names Events: "<object>.<hex time><hex sequence>".
    const suffix = `.${(time.getTime() * 1000).toString(16)}${(sequence++ & 0xffff).toString(16).padStart(4, "0")}`;
    const { action, reason, what } = "kind" in e
      ? describe(e)
      : { action: "Scale", reason: "Scaled", what: `replicas ${e.from} → ${e.to}` };
    const forced = "forcedPast" in e && e.forcedPast ? `, forced past HorizontalPodAutoscaler ${e.forcedPast}` : "";
    return {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: { name: e.name.slice(0, MAX_NAME - suffix.length) + suffix, namespace: e.namespace },
      eventTime: microTime(time),
      reportingController: options.controller,
      reportingInstance: instance,
      action,
      reason,
      type: "Normal",
      note: `${what} by ${e.actor} via ${options.controller}${forced}`.slice(0, MAX_NOTE),
      regarding: { apiVersion: "apps/v1", kind: "Deployment", namespace: e.namespace, name: e.name, ...(e.uid ? { uid: e.uid } : {}) },
    };
  };

  const record = (e: ScaledEvent | DeploymentChange) => {
    {
      const target = `${e.namespace}/${e.name}`;
      if (inFlight.size >= maxInFlight) {
        count("dropped");
        log.warn("Event not recorded: too many Events in flight", { target, maxInFlight });
        return;
      }
      let event: EventsV1Event;
      try {
        event = build(e);
      } catch (error) {
        count("failed");
        log.warn("Event not recorded", { target, error });
        return;
      }
      const pending: Promise<void> = Promise.resolve()
        .then(() => api.createEvent(e.namespace, event))
        .then(
          () => count("recorded"),
          (error) => {
            count("failed");
            log.warn("Event not recorded", { target, error });
          },
        )
        .finally(() => inFlight.delete(pending));
      inFlight.add(pending);
    }
  };

  return {
    scaled: record,
    changed: record,
    async settle(timeoutMs) {
      if (inFlight.size === 0) return;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<void>((resolve) => timer = setTimeout(resolve, timeoutMs));
      await Promise.race([Promise.allSettled([...inFlight]), timeout]);
      clearTimeout(timer);
    },
  };
}

/** "2026-11-30T00:12:05.123000Z": Go's MicroTime wants six fractional digits; Date has milliseconds. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}
