/**
 * Cross-site request forgery under mTLS. There are no cookies to steal or to mark SameSite, yet a browser presents
 * its client certificate on every request to this origin, including those a page on another site makes it send (a
 * form POST, a no-cors fetch: measured in ../shared/notes/console-anchors.md). So a request that may change state is
 * refused when the browser says it comes from elsewhere:
 *
 * - `Sec-Fetch-Site` (Fetch Metadata, every current browser): anything but `same-origin` is refused. `same-site`
 *   too: a sibling subdomain is another application. `none` too (a user-typed navigation cannot be a PUT; a
 *   browser extension's request is not the console's).
 * - Without it (older browsers), `Origin`, which browsers send on every cross-origin request and every POST: it
 *   must be this server's own origin, `https://` + the Host the request was sent to. `Origin: null` (a sandboxed
 *   frame, a redirect chain, a file: page) is refused.
 * - Neither header: not a browser (curl, the CLI, a controller). Allowed: those clients cannot be made to send a
 *   request by a third party, and they are authorised by their certificate like everyone else.
 *
 * The same rules as Go 1.25's `http.CrossOriginProtection`, minus its bypass list. Reads (GET, HEAD, OPTIONS) are
 * never refused here: no route changes state on a GET (a test says so), and the SSE watch must work from EventSource,
 * which cannot send custom headers.
 */

/** Methods that never change state, so a cross-origin one is harmless (a page on another site cannot read the answer). */
const SAFE_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS"]);

/** Why a request was refused: which header told, for the metric's label. */
export interface CrossOriginRefusal {
  /** `sec-fetch-site:cross-site`, `sec-fetch-site:same-site`, `sec-fetch-site:none`, `origin:mismatch`, `origin:null`. */
  readonly reason: string;
  /** The problem's detail: what the browser said and what would be accepted. */
  readonly detail: string;
}

/** The refusal for a state-changing request a browser sent on behalf of another origin; undefined when allowed. */
export function crossOriginRefusal(request: Request): CrossOriginRefusal | undefined {
  if (SAFE_METHODS.has(request.method)) return undefined;
  const headers = request.headers;
  const site = headers.get("sec-fetch-site");
  if (site !== null) {
    if (site === "same-origin") return undefined;
    return {
      reason: `sec-fetch-site:${KNOWN_SITES.has(site) ? site : "other"}`,
      detail: `refused a ${request.method} the browser marked Sec-Fetch-Site: ${
        truncate(site)
      }: a browser may change state here only from this server's own pages (the console at /), never on behalf of another site; curl and the CLI are not affected`,
    };
  }
  const origin = headers.get("origin");
  if (origin === null) return undefined;
  const host = headers.get("host");
  if (origin !== "null" && host !== null && origin.toLowerCase() === `https://${host.toLowerCase()}`) return undefined;
  return {
    reason: origin === "null" ? "origin:null" : "origin:mismatch",
    detail: `refused a ${request.method} from Origin ${
      truncate(origin)
    }: a browser may change state here only from this server's own origin (https://${
      truncate(host ?? "")
    }); curl and the CLI are not affected`,
  };
}

const KNOWN_SITES: ReadonlySet<string> = new Set(["cross-site", "same-site", "none"]);

function truncate(value: string): string {
  return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);
}
