/** handlers/cursor.ts: opaque, tamper-evident list cursors. */
import { createHmac } from "crypto";
import { expect } from "chai";
import { decodeCursor, encodeCursor } from "../../handlers/cursor";
import { expectHttpError } from "./fixtures";

const SECRET = "a-cursor-secret-of-at-least-32-characters";
const ID = "0b6b7d53-3c5e-4d8e-9d55-7f4a0a5c9c11";
const INVALID = "cursor is not one this API issued; start again without it";
const OWNER = "0c1d2e3f-0000-4000-8000-00000000a11c";

function expectInvalid(cursor: string, secret = SECRET, owner = OWNER): void {
  expectHttpError(() => decodeCursor(secret, owner, cursor), 400, "invalid_cursor", INVALID);
}

/** A cursor signed with SECRET exactly as the module does, over any payload text. */
function signedCursor(payloadJson: string): string {
  const payload = Buffer.from(payloadJson, "utf8").toString("base64url");
  const signature = createHmac("sha256", SECRET)
    .update(`${OWNER.length}:${OWNER}:${payload}`)
    .digest()
    .subarray(0, 16)
    .toString("base64url");
  return `${payload}.${signature}`;
}

/** Replaces the character at `index` with another one of the base64url alphabet. */
function flip(text: string, index: number): string {
  const replacement = text[index] === "A" ? "B" : "A";
  return text.slice(0, index) + replacement + text.slice(index + 1);
}

describe("handlers/cursor", () => {
  it("round-trips ids", () => {
    for (const id of [ID, "x", "ümlaut-ünicode-😀", "id.with.dots", "a".repeat(351)]) {
      expect(decodeCursor(SECRET, OWNER, encodeCursor(SECRET, OWNER, id))).to.equal(id);
    }
  });

  it("is base64url JSON, a dot and a 16-byte base64url signature", () => {
    const cursor = encodeCursor(SECRET, OWNER, ID);
    expect(cursor).to.match(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    const [payload = ""] = cursor.split(".");
    expect(JSON.parse(Buffer.from(payload, "base64url").toString("utf8"))).to.deep.equal({ v: 2, id: ID });
    expect(cursor).to.equal(signedCursor(JSON.stringify({ v: 2, id: ID })));
  });

  it("refuses a cursor whose payload was edited", () => {
    const [payload = "", signature = ""] = encodeCursor(SECRET, OWNER, ID).split(".");
    const otherPayload = Buffer.from(JSON.stringify({ v: 2, id: "ffffffff-3c5e-4d8e-9d55-7f4a0a5c9c11" })).toString(
      "base64url",
    );
    expectInvalid(`${otherPayload}.${signature}`);
    for (const index of [0, 5, payload.length - 1]) {
      expectInvalid(`${flip(payload, index)}.${signature}`);
    }
  });

  it("refuses a cursor whose signature was edited, shortened or lengthened", () => {
    const [payload = "", signature = ""] = encodeCursor(SECRET, OWNER, ID).split(".");
    for (const index of [0, 10, 20]) {
      expectInvalid(`${payload}.${flip(signature, index)}`);
    }
    expectInvalid(`${payload}.${signature.slice(0, -2)}`);
    expectInvalid(`${payload}.${signature}AAAA`);
    expectInvalid(`${payload}.`);
    const fullHmac = createHmac("sha256", SECRET)
      .update(`${OWNER.length}:${OWNER}:${payload}`)
      .digest()
      .toString("base64url");
    expectInvalid(`${payload}.${fullHmac}`);
  });

  // Buffer.from(..., "base64url") ignores characters outside the alphabet, padding, and the
  // unused low bits of the last character: without a canonical-form check several spellings of
  // one signature would pass, and an edited cursor must get 400 invalid_cursor.
  it("refuses non-canonical spellings of a valid signature", () => {
    const cursor = encodeCursor(SECRET, OWNER, ID);
    for (const suffix of ["!", " ", "=", "=="]) {
      expectInvalid(`${cursor}${suffix}`);
    }
  });

  it("refuses a cursor issued under another secret", () => {
    expectInvalid(encodeCursor("another-secret-of-at-least-32-characters", OWNER, ID));
    expectInvalid(encodeCursor(`${SECRET}x`, OWNER, ID));
  });

  it("refuses a cursor issued to another owner, even with the same secret and id", () => {
    const cursor = encodeCursor(SECRET, OWNER, ID);
    expect(decodeCursor(SECRET, OWNER, cursor)).to.equal(ID);
    expectInvalid(cursor, SECRET, "0c1d2e3f-0000-4000-8000-0000000000b0");
    expectInvalid(cursor, SECRET, "anonymous");
    // The owner's length is part of the input: moving a character across the boundary differs.
    expectInvalid(encodeCursor(SECRET, "ab", ID), SECRET, "a");
  });

  it("refuses garbage", () => {
    for (const garbage of ["", ".", "..", "abc", "a.b.c", "not a cursor", "%%%.%%%", ID, `${ID}.${ID}`, "null.null"]) {
      expectInvalid(garbage);
    }
  });

  it("refuses correctly signed payloads that are not a version 2 cursor (version 1 bore no owner)", () => {
    for (const payload of [
      "not json",
      "null",
      "[]",
      "42",
      '"id"',
      "{}",
      JSON.stringify({ v: 1, id: ID }),
      JSON.stringify({ v: "2", id: ID }),
      JSON.stringify({ v: 2 }),
      JSON.stringify({ v: 2, id: "" }),
      JSON.stringify({ v: 2, id: 7 }),
    ]) {
      expectInvalid(signedCursor(payload));
    }
    expect(decodeCursor(SECRET, OWNER, signedCursor(JSON.stringify({ v: 2, id: "ok" })))).to.equal("ok");
  });

  it("refuses cursors over 512 characters, even correctly signed ones", () => {
    // Unpadded base64url lengths skip 4k+1, so 511 is the longest cursor an ASCII id yields.
    const longest = encodeCursor(SECRET, OWNER, "a".repeat(351));
    expect(longest).to.have.length(511);
    expect(decodeCursor(SECRET, OWNER, longest)).to.equal("a".repeat(351));
    const overlong = encodeCursor(SECRET, OWNER, "a".repeat(352));
    expect(overlong).to.have.length(513);
    expectInvalid(overlong);
    expectInvalid("A".repeat(100_000));
    expectInvalid(`${"A".repeat(600)}.${"A".repeat(22)}`);
  });
});
