/** The API's base URL as the CLI accepts it, from a flag, a variable or a context: https only, since the API is mTLS only. */

/** The URL without a trailing slash, or what is wrong with it (a phrase that follows the setting's name). */
export type BaseUrl = { readonly url: string; readonly problem?: undefined } | { readonly url?: undefined; readonly problem: string };

export function parseBaseUrl(value: string): BaseUrl {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { problem: `is not a URL: "${value}" (e.g. https://localhost:8443)` };
  }
  if (url.protocol !== "https:") return { problem: `must be an https:// URL (the API is mTLS only), not "${value}"` };
  if (url.search || url.hash || url.username || url.password) {
    return { problem: `must not carry a query, fragment or credentials: "${value}"` };
  }
  return { url: url.href.replace(/\/+$/, "") };
}
