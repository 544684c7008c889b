/**
 * The one error shape every layer throws. Errors are plain `Error` objects with a few extra
 * properties (no subclass): CallbackFunction serializes handlers by value, and plain functions
 * and data survive that where classes and `this` do not.
 */

export type ErrorCode =
  | "malformed_json"
  | "validation_failed"
  | "read_only_field"
  | "invalid_cursor"
  | "forbidden"
  | "not_found"
  | "method_not_allowed"
  | "request_in_progress"
  | "precondition_failed"
  | "payload_too_large"
  | "unsupported_media_type"
  | "idempotency_key_reused"
  | "throttled"
  | "internal_error"
  | "bad_gateway"
  | "unavailable"
  | "gateway_timeout";

export interface HttpError extends Error {
  readonly statusCode: number;
  readonly code: ErrorCode;
  /** Extra response headers, e.g. `Allow` on 405 or `Retry-After` on 503. */
  readonly headers: Record<string, string>;
  /** True for every error built by `httpError`; lets `isHttpError` tell them from others. */
  readonly isHttpError: true;
}

export function httpError(
  statusCode: number,
  code: ErrorCode,
  message: string,
  headers: Record<string, string> = {},
  cause?: unknown,
): HttpError {
  const error = new Error(message, cause === undefined ? undefined : { cause });
  return Object.assign(error, { statusCode, code, headers, isHttpError: true as const });
}

export function isHttpError(value: unknown): value is HttpError {
  return value instanceof Error && (value as Partial<HttpError>).isHttpError === true;
}

/** The error envelope of DESIGN §2; 5xx messages never carry internals (middy's expose rule). */
export interface ErrorEnvelope {
  error: { code: ErrorCode; message: string; requestId: string };
}

export function errorEnvelope(error: HttpError, requestId: string): ErrorEnvelope {
  return { error: { code: error.code, message: error.message, requestId } };
}

export const badRequest = (message: string): HttpError => httpError(400, "validation_failed", message);

export const notFound = (message = "item not found"): HttpError => httpError(404, "not_found", message);

export const preconditionFailed = (message = "the item's current ETag does not match If-Match"): HttpError =>
  httpError(412, "precondition_failed", message);

export const unavailable = (cause: unknown): HttpError =>
  httpError(503, "unavailable", "the item store is unavailable, retry later", { "Retry-After": "1" }, cause);

export const internalError = (cause?: unknown): HttpError =>
  httpError(500, "internal_error", "internal error", {}, cause);
