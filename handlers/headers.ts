/**
 * Response header facts shared by the handlers and the API Gateway document (its gateway
 * responses, CORS preflight and 405 mock), written once, and THE CORS rule. The local runtime
 * reads them only through that document.
 */

/** Headers every response carries, whoever makes it. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Cache-Control": "no-store",
  "X-Content-Type-Options": "nosniff",
};

/** A caller's id for its request, kept (when well formed) and answered: the handlers read it. */
export const CORRELATION_ID_HEADER = "x-correlation-id";

/** Response headers a cross-origin script may read. */
export const CORS_EXPOSED_HEADERS = `ETag, Location, Retry-After, x-request-id, ${CORRELATION_ID_HEADER}`;

/** The challenge of every 401 (RFC 9110 §11.6.1: a 401 MUST carry WWW-Authenticate). */
export const WWW_AUTHENTICATE = 'Bearer realm="items-api"';

/** How long a browser may cache a preflight answer. */
export const CORS_MAX_AGE_SECONDS = 600;

/**
 * THE CORS rule: the CORS headers of a response to a caller from `origin`. A stack that allows
 * any origin (`*`) gives every caller `*`; one that lists origins echoes a listed caller's origin,
 * which a cache must then key on (`Vary: Origin`); any other caller gets none. The handlers apply
 * it per request; the REST API body states it for API Gateway's own answers by calling it with
 * the caller's origin as a symbol (a request value, or a VTL variable: infra/apigateway-openapi.ts).
 */
export function corsHeaders(allowedOrigins: readonly string[], origin: string | undefined): Record<string, string> {
  const allowOrigin = allowedOrigins.includes("*") ? "*" : origin;
  if (allowOrigin === undefined || !allowedOrigins.includes(allowOrigin)) {
    return {};
  }
  return {
    "Access-Control-Allow-Origin": allowOrigin,
    "Access-Control-Expose-Headers": CORS_EXPOSED_HEADERS,
    ...(allowOrigin === "*" ? {} : { Vary: "Origin" }),
  };
}
