/** GET /api/v1/openapi.json: the API contract (api/openapi.json), embedded at build time and serialised once. */
import type { Handler } from "../http/mod.ts";
import { textResponse, validateQuery } from "../http/mod.ts";
import openapi from "../../api/openapi.json" with { type: "json" };

export const OPENAPI_DOCUMENT: Readonly<typeof openapi> = openapi;

export function createOpenApiHandler(): Handler {
  const body = JSON.stringify(openapi);
  return (request) => {
    validateQuery(request.url, []);
    return textResponse(body, "application/json");
  };
}
