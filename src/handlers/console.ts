/**
 * The browser console: `GET /` (its page) and `GET /console/{file}` (its styles and modules), from files read once
 * at start. Every answer is revalidated (`Cache-Control: no-cache` with a strong ETag), so a browser never runs
 * a stale page against a newer API, and a revalidation costs one 304 without a body.
 */
import type { Handler } from "../http/mod.ts";
import { emptyResponse, HttpError, noneMatch, textResponse } from "../http/mod.ts";
import type { StaticAsset, StaticAssets } from "../files/mod.ts";

export interface ConsoleHandlers {
  page: Handler;
  asset: Handler;
}

const CACHE_CONTROL = "no-cache";

export function createConsoleHandlers({ assets }: { assets: StaticAssets }): ConsoleHandlers {
  const send = (request: Request, asset: StaticAsset): Response => {
    // noneMatch compares weakly, as RFC 9110 asks of If-None-Match; the stored tag is quoted, the parsed ones are not.
    if (noneMatch(request, asset.etag.slice(1, -1))) {
      return emptyResponse(304, { etag: asset.etag, "cache-control": CACHE_CONTROL });
    }
    return textResponse(asset.text, asset.contentType, {
      headers: { etag: asset.etag, "cache-control": CACHE_CONTROL },
      bytes: asset.bytes,
    });
  };
  return {
    page(request) {
      const page = assets.get("index.html");
      if (!page) {
        throw new HttpError(
          503,
          `the console's files are missing: no index.html in ${assets.dir} (the API under /api/v1 works; reinstall the image or set CONSOLE=off)`,
        );
      }
      return send(request, page);
    },
    asset(request, context) {
      const name = context.params.file ?? "";
      const asset = assets.get(name);
      if (!asset) throw new HttpError(404, `the console has no file "${name}"${assets.names.length ? "" : ` (no files in ${assets.dir})`}`);
      return send(request, asset);
    },
  };
}
