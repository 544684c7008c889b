/**
 * Parsing of the API Gateway proxy event: headers, path id, query, conditional headers and the
 * JSON body. Everything a client sends is untrusted: no casts, no non-null assertions.
 */
import type { APIGatewayProxyEvent } from "aws-lambda";
import { badRequest, httpError, notFound } from "./errors";
import { FORBIDDEN_KEYS } from "./item";

/** Body limit enforced by the handlers themselves, so it holds in AWS and locally alike. */
export const MAX_BODY_BYTES = 64 * 1024;

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

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

export function queryOf(event: APIGatewayProxyEvent, name: string): string | undefined {
  const value = event.queryStringParameters?.[name];
  return typeof value === "string" ? value : undefined;
}

/** The `{id}` path parameter. Ids are server-made UUIDs: anything else cannot exist. */
export function itemIdOf(event: APIGatewayProxyEvent): string {
  const id = event.pathParameters?.id;
  if (typeof id !== "string" || !UUID_PATTERN.test(id)) {
    throw notFound();
  }
  return id;
}

/**
 * Parses a list of entity tags (`If-Match`, `If-None-Match`) into item versions. `*` yields
 * "any". Weak tags are kept only when `allowWeak` (If-None-Match uses the weak comparison).
 */
export function parseEntityTags(
  header: string | undefined,
  headerName: string,
  allowWeak: boolean,
): { any: boolean; versions: number[] } | undefined {
  if (header === undefined) {
    return undefined;
  }
  const trimmed = header.trim();
  if (trimmed === "*") {
    return { any: true, versions: [] };
  }
  const versions: number[] = [];
  for (const part of trimmed.split(",")) {
    const match = /^\s*(W\/)?"(\d{1,15})"\s*$/.exec(part);
    if (match === null) {
      throw badRequest(`${headerName} must be * or a list of entity tags such as "3"`);
    }
    if (match[1] === undefined || allowWeak) {
      versions.push(Number(match[2]));
    }
  }
  return { any: false, versions };
}

/** `If-Match` as the versions a conditional write accepts; undefined means unconditional. */
export function ifMatchOf(event: APIGatewayProxyEvent): number[] | undefined {
  const tags = parseEntityTags(headerOf(event, "if-match"), "If-Match", false);
  if (tags === undefined || tags.any) {
    // `If-Match: *` asks only that the item exists, which every write here requires anyway.
    return undefined;
  }
  return tags.versions;
}

function isJsonMediaType(contentType: string): boolean {
  const [mediaType = "", ...parameters] = contentType.split(";").map((part) => part.trim().toLowerCase());
  const json = mediaType === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(mediaType);
  const charsetOk = parameters.every(
    (parameter) => !parameter.startsWith("charset=") || /^charset="?utf-8"?$/.test(parameter),
  );
  return json && charsetOk;
}

/**
 * Deepest nesting of arrays and objects in a JSON text, counted without parsing. JSON.parse's
 * reviver recurses, so a body nested thousands of levels deep must be refused before it.
 */
function nestingOf(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
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
    }
  }
  return deepest;
}

/** Far above what an item may hold (the body, plus attributes nested 8 deep). */
export const MAX_BODY_NESTING = 64;

function refusePrototypeKeys(key: string, value: unknown): unknown {
  if (FORBIDDEN_KEYS.includes(key)) {
    throw badRequest(`the property name ${key} is not allowed`);
  }
  return value;
}

/**
 * The JSON body of a write: 415 without a JSON media type, 413 over 64 KiB, 400 when it is
 * not JSON or uses a prototype key.
 */
export function jsonBodyOf(event: APIGatewayProxyEvent): unknown {
  const contentType = headerOf(event, "content-type");
  if (contentType === undefined || !isJsonMediaType(contentType)) {
    throw httpError(
      415,
      "unsupported_media_type",
      "the request body must be JSON: send Content-Type: application/json (charset utf-8)",
    );
  }
  const raw = event.body ?? "";
  const bytes = event.isBase64Encoded ? Buffer.from(raw, "base64") : Buffer.from(raw, "utf8");
  if (bytes.length > MAX_BODY_BYTES) {
    throw httpError(413, "payload_too_large", `the request body must be at most ${MAX_BODY_BYTES} bytes`);
  }
  const text = bytes.toString("utf8");
  if (text.trim() === "") {
    throw httpError(400, "malformed_json", "the request body is empty; send a JSON object");
  }
  if (nestingOf(text) > MAX_BODY_NESTING) {
    throw badRequest(`the request body is nested deeper than ${MAX_BODY_NESTING} levels`);
  }
  try {
    return JSON.parse(text, refusePrototypeKeys);
  } catch (error) {
    if (error instanceof SyntaxError) {
      throw httpError(400, "malformed_json", "the request body is not valid JSON");
    }
    throw error;
  }
}

/** `https://host/stage/` as the client called it (stage and base path mappings included). */
export function baseUrlOf(event: APIGatewayProxyEvent): string {
  const protocol = headerOf(event, "x-forwarded-proto") ?? "https";
  const host = headerOf(event, "host") ?? event.requestContext.domainName ?? "localhost";
  const fullPath = event.requestContext.path ?? event.path;
  const prefix = fullPath.endsWith(event.path) ? fullPath.slice(0, fullPath.length - event.path.length) : "";
  return `${protocol}://${host}${prefix}/`;
}
