/**
 * Header fields on every response of the mTLS listener, API and console alike, problems and 304s included: the
 * console's page must never run code that did not come from this origin, never be framed (clickjacking a scale
 * button), never have a JSON body sniffed into something else, and never leak a Deployment's URL in a Referer.
 * One constant, so the hot read path adds three fields and computes nothing.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");

export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
});
