/**
 * A failed call to the Kubernetes API, normalised from client-node's
 * ApiException and from network errors. `status` is the HTTP status the API
 * server answered, or 0 when it could not be reached at all.
 */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason?: string,
    readonly retryAfterSeconds?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "KubeApiError";
  }
}
