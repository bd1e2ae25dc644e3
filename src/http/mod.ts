/**
 * HTTP machinery, independent of what the API serves: the route table and its matcher, the request pipeline
 * (request id, access log, metrics, the guard), the one error type and its problem+json renderer, body and query
 * parsing, conditional requests (entity tags), prepared responses, and the plain-HTTP probe listener.
 * @module
 */
export { createApp } from "./app.ts";
export { type CrossOriginRefusal, crossOriginRefusal } from "./cross_origin.ts";
export { CONTENT_SECURITY_POLICY, SECURITY_HEADERS } from "./security_headers.ts";
export { readJsonBody, readOptionalJsonBody } from "./body.ts";
export type { AdmissionEnd, GuardedRequest, RequestGuard } from "./guard.ts";
export { noneMatch, parseEntityTags } from "./conditional.ts";
export { HttpError, reasonPhrase, STATUS_TEXT } from "./http_error.ts";
export { startProbeServer } from "./probe_server.ts";
export { PROBLEM_CONTENT_TYPE, problemBody, problemResponse, toHttpError } from "./problem.ts";
export { ineffectiveParameter, truncate, validateBooleanQuery, validateQuery } from "./query.ts";
export { emptyResponse, isStreamedResponse, jsonResponse, PreparedResponse, setResponseHeader, textResponse } from "./response.ts";
export { createRouter, type Route, type Router } from "./router.ts";
export type { ClientIdentity, Handler, RequestContext } from "./types.ts";
