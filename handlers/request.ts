/**
 * Parsing of the API Gateway proxy event: headers, path id, query, conditional headers and the
 * JSON body. Everything a client sends is untrusted: no casts, no non-null assertions.
 */
import type { APIGatewayProxyEvent } from "aws-lambda";
import { badRequest, httpError } from "./errors";
import { FORBIDDEN_KEYS, NUMBER_RULE } from "./model";

/** Body limit enforced by the handlers themselves, so it holds in AWS and locally alike. */
export const MAX_BODY_BYTES = 64 * 1024;

/** A UUID as this API writes them (lowercase hex): item ids, and Cognito's `sub`. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Header lookup is case-insensitive; API Gateway keeps the client's casing. */
export function headerOf(event: APIGatewayProxyEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted && typeof value === "string") {
      return value;
    }
  }
  return undefined;
}

/** The `{id}` path parameter. Ids are server-made UUIDs: anything else cannot exist. */
export function itemIdOf(event: APIGatewayProxyEvent): string {
  const id = event.pathParameters?.id;
  if (typeof id !== "string" || !UUID_PATTERN.test(id)) {
    throw httpError("not_found");
  }
  return id;
}

/**
 * Most entity tags one `If-Match` or `If-None-Match` may list: on a write each becomes a DynamoDB
 * `IN`, which takes at most 100 operands (Amazon DynamoDB Developer Guide, "Condition and filter
 * expressions, operators, and functions", Comparators; DynamoDB Local answers a 101st with
 * ValidationException; dynalite does not check). The same bound holds on every method.
 */
export const MAX_IF_MATCH_TAGS = 100;

/** An entity tag as RFC 9110 §8.8.3 defines it: `W/` or not, and the opaque text between quotes. */
export interface EntityTag {
  weak: boolean;
  opaque: string;
}

export type EntityTagCondition = { any: true } | { any: false; tags: EntityTag[] };

/**
 * `entity-tag = [ weak ] opaque-tag`, `weak = %s"W/"` (case-sensitive), `opaque-tag = DQUOTE
 * *etagc DQUOTE`, `etagc = %x21 / %x23-7E / obs-text`. obs-text arrives as characters from
 * U+0080 up (Node reads header bytes as latin1). A comma may sit inside the quotes.
 */
const ENTITY_TAG = /(W\/)?"([\x21\x23-\x7e\u0080-\uffff]*)"/y;
const OWS = /[ \t]*/y;

/**
 * Parses `"*" / #entity-tag` (RFC 9110 §13.1.1, §13.1.2). List rules of §5.6.1: elements are
 * separated by commas with optional whitespace, and empty elements are ignored. A field that
 * names no tag at all, or mixes `*` with tags, is malformed: 400.
 */
export function parseEntityTags(header: string | undefined, headerName: string): EntityTagCondition | undefined {
  if (header === undefined) {
    return undefined;
  }
  const malformed = () => badRequest(`${headerName} must be * or a list of entity tags such as "3"`);
  const skipWhitespace = (text: string, index: number): number => {
    OWS.lastIndex = index;
    OWS.exec(text);
    return OWS.lastIndex;
  };
  if (header.trim() === "*") {
    return { any: true };
  }
  const tags: EntityTag[] = [];
  let index = 0;
  for (;;) {
    index = skipWhitespace(header, index);
    if (index === header.length) {
      break;
    }
    if (header[index] !== ",") {
      ENTITY_TAG.lastIndex = index;
      const match = ENTITY_TAG.exec(header);
      if (match === null) {
        throw malformed();
      }
      tags.push({ weak: match[1] !== undefined, opaque: match[2] ?? "" });
      index = skipWhitespace(header, ENTITY_TAG.lastIndex);
      if (index === header.length) {
        break;
      }
      if (header[index] !== ",") {
        throw malformed();
      }
    }
    index += 1;
  }
  if (tags.length === 0) {
    throw malformed();
  }
  return { any: false, tags };
}

/**
 * Every line of a header, in order. The v1 proxy event keeps them all in `multiValueHeaders`
 * (AWS, "Set up Lambda proxy integrations", multi-value headers); `headers` holds only the last,
 * and alone serves where `multiValueHeaders` is missing.
 */
export function headerLinesOf(event: APIGatewayProxyEvent, name: string): string[] {
  const wanted = name.toLowerCase();
  const values: string[] = [];
  for (const [key, lines] of Object.entries(event.multiValueHeaders ?? {})) {
    if (key.toLowerCase() === wanted && Array.isArray(lines)) {
      values.push(...lines.filter((line): line is string => typeof line === "string"));
    }
  }
  const single = headerOf(event, name);
  return values.length > 0 ? values : single === undefined ? [] : [single];
}

/** A conditional header as the versions it names: `*`, or the versions of its (usable) tags. */
export type VersionCondition = { any: true } | { any: false; versions: number[] };

/**
 * The conditional headers of a request (RFC 9110 §13.1.1, §13.1.2), parsed once the caller is
 * known and before the operation reads anything else (handlers/http.ts): a malformed one, or one
 * listing more than MAX_IF_MATCH_TAGS tags, is 400 on every method. `If-Match` compares strongly (§8.8.3.2): weak tags, and tags that are not the exact text
 * of a version, match nothing. `If-None-Match` compares weakly: `W/"3"` names version 3 too.
 */
export interface Preconditions {
  ifMatch: VersionCondition | undefined;
  ifNoneMatch: VersionCondition | undefined;
}

export function preconditionsOf(event: APIGatewayProxyEvent): Preconditions {
  const versionConditionOf = (header: string, weakMatches: boolean): VersionCondition | undefined => {
    // Repeated field lines form one comma-separated list (RFC 9110 §5.3).
    const lines = headerLinesOf(event, header);
    const condition = parseEntityTags(lines.length > 0 ? lines.join(", ") : undefined, header);
    if (condition === undefined || condition.any) {
      return condition;
    }
    if (condition.tags.length > MAX_IF_MATCH_TAGS) {
      throw badRequest(`${header} may list at most ${MAX_IF_MATCH_TAGS} entity tags`);
    }
    const versions = condition.tags
      .filter((tag) => weakMatches || !tag.weak)
      // A version only from the exact text this API writes (`"7"`, never `"07"`).
      .map((tag) => (/^[1-9][0-9]*$/.test(tag.opaque) ? Number(tag.opaque) : NaN))
      .filter((version) => Number.isSafeInteger(version));
    return { any: false, versions: [...new Set(versions)] };
  };
  return { ifMatch: versionConditionOf("If-Match", false), ifNoneMatch: versionConditionOf("If-None-Match", true) };
}

/**
 * Whether a request's preconditions can fail for an item that exists: `If-Match: *` cannot, nor
 * an `If-None-Match` that names no version.
 */
export function isConditional({ ifMatch, ifNoneMatch }: Preconditions): boolean {
  return (
    (ifMatch !== undefined && !ifMatch.any) ||
    (ifNoneMatch !== undefined && (ifNoneMatch.any || ifNoneMatch.versions.length > 0))
  );
}

/**
 * Which precondition fails for a resource that exists, in RFC 9110 §13.2.2's order: `If-Match`
 * first, then `If-None-Match`. `version` is the representation's, or undefined for one without
 * an entity tag (the collection). GET and HEAD answer a failed If-None-Match with 304, every
 * other method with 412 (§13.1.2).
 */
export function failedPrecondition(
  { ifMatch, ifNoneMatch }: Preconditions,
  version: number | undefined,
): "If-Match" | "If-None-Match" | undefined {
  const named = (condition: VersionCondition) =>
    condition.any || (version !== undefined && condition.versions.includes(version));
  if (ifMatch !== undefined && !named(ifMatch)) {
    return "If-Match";
  }
  return ifNoneMatch !== undefined && named(ifNoneMatch) ? "If-None-Match" : undefined;
}

const JSON_NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/**
 * What JSON.parse cannot be trusted with, read from a text in one pass, strings skipped: the
 * deepest nesting of arrays and objects (JSON.parse's reviver recurses, so a body nested thousands
 * of levels deep must be refused before it is parsed), and the first number literal that is not
 * zero but reads as 0 (`1e-400`: too small for a double, JSON.parse gives 0, and only the text
 * tells it from a real 0). The number means something only once the text has parsed as JSON.
 */
function scanJsonText(text: string): { deepest: number; readAsZero: string | undefined } {
  let depth = 0;
  let deepest = 0;
  let readAsZero: string | undefined;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const char = text[index] ?? "";
    if (inString) {
      if (char === "\\") {
        index += 1;
      } else if (char === '"') {
        inString = false;
      }
    } else if (char === '"') {
      inString = true;
    } else if (char === "[" || char === "{") {
      depth += 1;
      deepest = Math.max(deepest, depth);
    } else if (char === "]" || char === "}") {
      depth -= 1;
    } else if (char === "-" || (char >= "0" && char <= "9")) {
      JSON_NUMBER.lastIndex = index;
      const literal = JSON_NUMBER.exec(text)?.[0] ?? char;
      const mantissa = literal.split(/[eE]/)[0] ?? "";
      if (readAsZero === undefined && Number(literal) === 0 && /[1-9]/.test(mantissa)) {
        readAsZero = literal;
      }
      index += literal.length - 1;
    }
  }
  return { deepest, readAsZero };
}

/** Far above what an item may hold (the body, plus attributes nested 8 deep). */
export const MAX_BODY_NESTING = 64;

const NOT_UTF8 = "the request body is not valid UTF-8";

/**
 * The JSON body of a write: 415 unless it comes as one of the operation's `mediaTypes` (the ones
 * its document declares), 413 over 64 KiB (counted in the bytes received), 400 when it is not
 * UTF-8, not JSON, or uses a prototype key.
 */
export function jsonBodyOf(event: APIGatewayProxyEvent, mediaTypes: readonly string[]): unknown {
  // One of `mediaTypes` (any case), with no charset but UTF-8. RFC 9110 allows no spaces around
  // "=", but some clients send them: names and values are trimmed.
  const [mediaType = "", ...parameters] = (headerOf(event, "content-type") ?? "")
    .split(";")
    .map((part) => part.trim().toLowerCase());
  const charsetOk = parameters.every((parameter) => {
    const [name = "", value = ""] = parameter.split("=").map((part) => part.trim());
    return name !== "charset" || /^"?utf-8"?$/.test(value);
  });
  if (!mediaTypes.includes(mediaType) || !charsetOk) {
    throw httpError(
      "unsupported_media_type",
      `the request body must be JSON sent as ${mediaTypes.join(" or ")} (UTF-8)`,
    );
  }
  const raw = event.body ?? "";
  const bytes = event.isBase64Encoded ? Buffer.from(raw, "base64") : Buffer.from(raw, "utf8");
  if (bytes.length > MAX_BODY_BYTES) {
    throw httpError("payload_too_large", `the request body must be at most ${MAX_BODY_BYTES} bytes`);
  }
  // Decoded strictly: bytes that are not UTF-8 are refused, never replaced with U+FFFD. A body
  // that reached the handler as text (not base64) was decoded before it got here: it is refused
  // when it holds an unpaired surrogate, which no UTF-8 bytes encode (its UTF-8 encoding above
  // then replaced each with U+FFFD, so it no longer reads back the same). `ignoreBOM` keeps a
  // leading U+FEFF in the text, where JSON.parse refuses it.
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw httpError("malformed_json", NOT_UTF8);
  }
  if (!event.isBase64Encoded && text !== raw) {
    throw httpError("malformed_json", NOT_UTF8);
  }
  if (text.trim() === "") {
    throw httpError("malformed_json", "the request body is empty; send a JSON object");
  }
  const scan = scanJsonText(text);
  if (scan.deepest > MAX_BODY_NESTING) {
    throw badRequest(`the request body is nested deeper than ${MAX_BODY_NESTING} levels`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text, (key, value: unknown) => {
      if (FORBIDDEN_KEYS.includes(key)) {
        throw badRequest(`the property name ${key} is not allowed`);
      }
      return value;
    });
  } catch (error) {
    if (error instanceof SyntaxError) {
      throw httpError("malformed_json", "the request body is not valid JSON");
    }
    throw error;
  }
  if (scan.readAsZero !== undefined) {
    throw badRequest(`the number ${scan.readAsZero} cannot be stored: ${NUMBER_RULE}`);
  }
  return body;
}

/**
 * `https://domain/stage/` as the client called it (stage and base path mappings included), from
 * what API Gateway puts in the request context and never from text a client chose: the domain is
 * `requestContext.domainName` (not `Host`), the prefix is what `requestContext.path` has before
 * `path`. The scheme is https, API Gateway's only one, unless the gateway's X-Forwarded-Proto
 * says http (the local runtime on loopback), so a forged header can only pick one of the two.
 */
export function baseUrlOf(event: APIGatewayProxyEvent): string {
  const protocol = headerOf(event, "x-forwarded-proto")?.toLowerCase() === "http" ? "http" : "https";
  const domain = event.requestContext.domainName ?? "localhost";
  const fullPath = event.requestContext.path ?? event.path;
  const prefix = fullPath.endsWith(event.path) ? fullPath.slice(0, fullPath.length - event.path.length) : "";
  return `${protocol}://${domain}${prefix}/`;
}
