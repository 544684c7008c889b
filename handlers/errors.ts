/**
 * The one error shape every layer throws, and THE table of error codes: each code's HTTP status
 * and, where the API always says the same thing, its message. The handlers, the OpenAPI
 * document, API Gateway's gateway responses and the local runtime all take statuses from here.
 * Errors are plain `Error` objects with a few extra properties (no subclass): CallbackFunction
 * serializes handlers by value, and plain functions and data survive that where classes and
 * `this` do not.
 */

interface ErrorSpec {
  status: number;
  /** The message when the code always means the same thing; others are written where thrown. */
  message?: string;
}

export const ERRORS = {
  malformed_json: { status: 400 },
  validation_failed: { status: 400 },
  read_only_field: { status: 400 },
  invalid_cursor: { status: 400, message: "cursor is not one this API issued; start again without it" },
  forbidden: { status: 403 },
  not_found: { status: 404, message: "item not found" },
  method_not_allowed: { status: 405 },
  request_in_progress: { status: 409, message: "a request with this Idempotency-Key is still in progress" },
  precondition_failed: { status: 412, message: "the item's current ETag does not match If-Match" },
  payload_too_large: { status: 413 },
  unsupported_media_type: { status: 415 },
  idempotency_key_reused: { status: 422, message: "this Idempotency-Key was used with a different request body" },
  throttled: { status: 429 },
  internal_error: { status: 500, message: "internal error" },
  bad_gateway: { status: 502 },
  unavailable: { status: 503, message: "the item store is unavailable, retry later" },
  gateway_timeout: { status: 504 },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** The codes that have a message of their own in `ERRORS`. */
export type CodeWithMessage = {
  [Code in ErrorCode]: (typeof ERRORS)[Code] extends { message: string } ? Code : never;
}[ErrorCode];

export interface HttpError extends Error {
  readonly statusCode: number;
  readonly code: ErrorCode;
  /** Extra response headers, e.g. `Allow` on 405 or `Retry-After` on 503. */
  readonly headers: Record<string, string>;
  /** True for every error built by `httpError`; lets `isHttpError` tell them from others. */
  readonly isHttpError: true;
}

/** An error with its code's status; the message defaults to the code's own, where it has one. */
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
  const spec: ErrorSpec = ERRORS[code];
  const error = new Error(message ?? spec.message, cause === undefined ? undefined : { cause });
  return Object.assign(error, { statusCode: spec.status, code, headers, isHttpError: true as const });
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

export const badRequest = (message: string): HttpError => httpError("validation_failed", message);

export const notFound = (): HttpError => httpError("not_found");

export const preconditionFailed = (): HttpError => httpError("precondition_failed");

export const unavailable = (cause: unknown): HttpError =>
  httpError("unavailable", undefined, { "Retry-After": "1" }, cause);

export const internalError = (cause?: unknown): HttpError => httpError("internal_error", undefined, {}, cause);
