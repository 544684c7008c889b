/**
 * Response header facts shared by the handlers and the API Gateway document (its gateway
 * responses, CORS preflight and 405 mock), written once. The local runtime reads them only
 * through that document.
 */

/** Headers every response carries, whoever makes it. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Cache-Control": "no-store",
  "X-Content-Type-Options": "nosniff",
};

/** Response headers a cross-origin script may read. */
export const CORS_EXPOSED_HEADERS = "ETag, Location, Retry-After, x-request-id, x-correlation-id";

/** Request headers a browser may send cross-origin; the preflight allows exactly these. */
export const CORS_ALLOWED_HEADERS =
  "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, x-api-key, x-correlation-id";

/** The challenge of every 401 (RFC 9110 §11.6.1: a 401 MUST carry WWW-Authenticate). */
export const WWW_AUTHENTICATE = 'Bearer realm="items-api"';

/** How long a browser may cache a preflight answer. */
export const CORS_MAX_AGE_SECONDS = 600;

/**
 * CORS headers of a response to a request from `origin`: `*` allows any origin; otherwise an
 * origin on the list is echoed with `Vary: Origin`, and any other gets none.
 */
export function corsHeaders(allowedOrigins: readonly string[], origin: string | undefined): Record<string, string> {
  if (allowedOrigins.includes("*")) {
    return { "Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": CORS_EXPOSED_HEADERS };
  }
  if (origin !== undefined && allowedOrigins.includes(origin)) {
    return {
      "Access-Control-Allow-Origin": origin,
      "Access-Control-Expose-Headers": CORS_EXPOSED_HEADERS,
      Vary: "Origin",
    };
  }
  return {};
}
