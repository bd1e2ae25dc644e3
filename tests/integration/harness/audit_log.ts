/**
 * Reads the local control plane's audit log (tests/cluster/audit-policy.yaml: Deployment requests only), to
 * count what one identity asked the API server. Unlike apiserver_request_total it tells clients apart, so
 * kube-controller-manager's own relists cannot make a "zero requests from the service" check flaky.
 */
import { clusterEnv } from "./cluster.ts";

export interface AuditEvent {
  readonly verb: string;
  readonly user: { readonly username: string };
  readonly objectRef?: { readonly resource?: string; readonly subresource?: string; readonly namespace?: string };
  readonly stage: string;
}

function auditLogPath(): string {
  const path = clusterEnv().auditLog;
  if (!path) throw new Error("the control plane has no audit log (restart it: make cluster-down cluster-up)");
  return path;
}

/** The current end of the log, to count only what happens after it. */
export async function auditMark(): Promise<number> {
  return (await Deno.stat(auditLogPath()).catch(() => ({ size: 0 }))).size;
}

/** Completed requests by `username` since `mark` (byte offset) that match `filter`. */
export async function auditEvents(username: string, mark = 0, filter: (e: AuditEvent) => boolean = () => true): Promise<AuditEvent[]> {
  const text = await Deno.readTextFile(auditLogPath());
  return new TextDecoder().decode(new TextEncoder().encode(text).slice(mark))
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as AuditEvent)
    .filter((e) => e.stage === "ResponseComplete" && e.user.username === username && filter(e));
}
