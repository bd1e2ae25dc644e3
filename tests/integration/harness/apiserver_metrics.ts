/** Reads kube-apiserver's own request counters, to prove reads cost the API server nothing. */
import { kubectl } from "./cluster.ts";

/** Sum of apiserver_request_total for the given resource, verbs (upper-case, e.g. GET, LIST) and subresource. */
export async function requestCount(resource: string, verbs: readonly string[], subresource = ""): Promise<number> {
  const text = (await kubectl(["get", "--raw", "/metrics"])).stdout;
  let total = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith("apiserver_request_total{")) continue;
    const labels = line.slice(line.indexOf("{") + 1, line.lastIndexOf("}"));
    if (!labels.includes(`resource="${resource}"`) || !labels.includes(`subresource="${subresource}"`)) continue;
    const verb = /verb="([A-Z]+)"/.exec(labels)?.[1];
    if (verb && verbs.includes(verb)) total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}
