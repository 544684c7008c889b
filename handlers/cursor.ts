/**
 * Opaque, tamper-evident list cursors: base64url(JSON payload) "." base64url(HMAC-SHA256).
 * A cursor names the last item of the page it ends; an edited or foreign cursor is refused. The
 * MAC covers the owner of the listing too: one user's cursor is refused for another.
 */
import { createHmac, timingSafeEqual } from "crypto";
import { httpError } from "./errors";

const CURSOR_VERSION = 2;
const MAX_CURSOR_LENGTH = 512;
const SIGNATURE_BYTES = 16;

/** The MAC of a payload for an owner; the owner's length first, so no two pairs share an input. */
function sign(secret: string, owner: string, payload: string): Buffer {
  return createHmac("sha256", secret)
    .update(`${owner.length}:${owner}:${payload}`)
    .digest()
    .subarray(0, SIGNATURE_BYTES);
}

export function encodeCursor(secret: string, owner: string, lastId: string): string {
  const payload = Buffer.from(JSON.stringify({ v: CURSOR_VERSION, id: lastId }), "utf8").toString("base64url");
  return `${payload}.${sign(secret, owner, payload).toString("base64url")}`;
}

function isCanonicalBase64Url(part: string): boolean {
  return /^[A-Za-z0-9_-]+$/.test(part) && Buffer.from(part, "base64url").toString("base64url") === part;
}

function invalidCursor(): Error {
  return httpError("invalid_cursor");
}

/** The id the next page starts after; 400 unless this API issued the cursor to this owner. */
export function decodeCursor(secret: string, owner: string, cursor: string): string {
  const parts = cursor.split(".");
  // Canonical base64url only: Node's decoder would skip stray characters and padding.
  if (cursor.length > MAX_CURSOR_LENGTH || parts.length !== 2 || !parts.every(isCanonicalBase64Url)) {
    throw invalidCursor();
  }
  const [payload = "", signature = ""] = parts;
  const given = Buffer.from(signature, "base64url");
  const expected = sign(secret, owner, payload);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw invalidCursor();
  }
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  } catch {
    throw invalidCursor();
  }
  if (typeof decoded !== "object" || decoded === null) {
    throw invalidCursor();
  }
  const { v, id } = decoded as { v?: unknown; id?: unknown };
  if (v !== CURSOR_VERSION || typeof id !== "string" || id.length === 0) {
    throw invalidCursor();
  }
  return id;
}
