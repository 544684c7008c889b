/**
 * The one error shape every layer throws, and THE table of error codes: each code's HTTP status
 * (ERROR_STATUS) and, where the API always says the same thing, its message (ERROR_MESSAGES). The
 * handlers, the OpenAPI document, API Gateway's gateway responses and the local runtime all take
 * statuses from here.
 * Errors are plain `Error` objects with a few extra properties (no subclass): CallbackFunction
 * serializes handlers by value, and plain functions and data survive that where classes and
 * `this` do not.
 */

/** THE table of error codes: each code's HTTP status. */
const ERROR_STATUS = {
  malformed_json: 400,
  validation_failed: 400,
  read_only_field: 400,
  invalid_cursor: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_in_progress: 409,
  precondition_failed: 412,
  payload_too_large: 413,
  unsupported_media_type: 415,
  idempotency_key_reused: 422,
  throttled: 429,
  internal_error: 500,
  unavailable: 503,
  gateway_timeout: 504,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_STATUS;

/**
 * The message of each code that always means the same thing; the others are written where they
 * are thrown. Flat, like ERROR_STATUS, rather than one table of `{ status, message }` objects:
 * the serializer writes every nested object as a variable of its own, which would add about
 * 2 KB to every function's archive.
 */
const ERROR_MESSAGES = {
  invalid_cursor: "cursor is not one this API issued; start again without it",
  unauthorized: "sign in: send a valid ID token of this API's user pool in Authorization",
  not_found: "item not found",
  request_in_progress: "a request with this Idempotency-Key is still in progress",
  precondition_failed: "the item's current ETag does not match If-Match",
  idempotency_key_reused: "this Idempotency-Key was used with a different request body",
  internal_error: "internal error",
  unavailable: "the item store is unavailable, retry later",
} as const satisfies Partial<Record<ErrorCode, string>>;

/** The codes whose answers tell the client when to retry: the seconds of their `Retry-After`. */
const RETRY_AFTER_SECONDS = {
  request_in_progress: 1,
  throttled: 1,
  unavailable: 1,
} as const satisfies Partial<Record<ErrorCode, number>>;

// Exported here rather than at their declarations: `httpError` then reaches them as module-local
// bindings, which the serializer writes as one plain variable each, not through the module object.
export { ERROR_MESSAGES, ERROR_STATUS, RETRY_AFTER_SECONDS };

/** The codes that have a message of their own in ERROR_MESSAGES. */
export type CodeWithMessage = keyof typeof ERROR_MESSAGES;

export interface HttpError extends Error {
  readonly statusCode: number;
  readonly code: ErrorCode;
  /** Extra response headers, e.g. `Allow` on 405 or `Retry-After` on 503. */
  readonly headers: Record<string, string>;
  /** True for every error built by `httpError`; lets `isHttpError` tell them from others. */
  readonly isHttpError: true;
}

/**
 * An error with its code's status; the message defaults to the code's own (ERROR_MESSAGES), and a
 * code in RETRY_AFTER_SECONDS carries its `Retry-After`.
 */
export function httpError(
  code: CodeWithMessage,
  message?: string,
  headers?: Record<string, string>,
  cause?: unknown,
): HttpError;
export function httpError(
  code: ErrorCode,
  message: string,
  headers?: Record<string, string>,
  cause?: unknown,
): HttpError;
export function httpError(
  code: ErrorCode,
  message?: string,
  headers: Record<string, string> = {},
  cause?: unknown,
): HttpError {
  const messages: Partial<Record<ErrorCode, string>> = ERROR_MESSAGES;
  const retryAfter: Partial<Record<ErrorCode, number>> = RETRY_AFTER_SECONDS;
  const seconds = retryAfter[code];
  const error = new Error(message ?? messages[code], cause === undefined ? undefined : { cause });
  return Object.assign(error, {
    statusCode: ERROR_STATUS[code],
    code,
    headers: seconds === undefined ? headers : { "Retry-After": String(seconds), ...headers },
    isHttpError: true as const,
  });
}

export function isHttpError(value: unknown): value is HttpError {
  return value instanceof Error && (value as Partial<HttpError>).isHttpError === true;
}

/** The error envelope (README, "The HTTP API"); 5xx messages never carry internals (middy's expose rule). */
export interface ErrorEnvelope {
  error: { code: ErrorCode; message: string; requestId: string };
}

export const badRequest = (message: string): HttpError => httpError("validation_failed", message);

export const unavailable = (cause: unknown): HttpError => httpError("unavailable", undefined, {}, cause);

export const internalError = (cause?: unknown): HttpError => httpError("internal_error", undefined, {}, cause);
