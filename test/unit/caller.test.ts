/** handlers/caller.ts: who is calling, from the claims API Gateway's Cognito authorizer hands on. */
import { expect } from "chai";
import type { APIGatewayProxyEvent } from "aws-lambda";
import { ANONYMOUS_OWNER, ownerOf } from "../../handlers/caller";
import { HandlerSettings, readSettings } from "../../handlers/env";
import { proxyEvent } from "../support/lambda";
import { expectHttpError } from "./fixtures";

const SUB = "2f0d1947-b60d-4d20-a30b-0123456789ab";
const REQUIRED = { TABLE_NAME: "items", IDEMPOTENCY_TABLE_NAME: "idempotency", CURSOR_SECRET: "secret" };
const anonymous: HandlerSettings = readSettings(REQUIRED);
const signIn: HandlerSettings = readSettings({ ...REQUIRED, SIGN_IN: "cognito", COGNITO_CLIENT_IDS: "app-client" });

function withClaims(claims: unknown): APIGatewayProxyEvent {
  const event = proxyEvent({ method: "GET", path: "/items", resource: "/items" });
  return { ...event, requestContext: { ...event.requestContext, authorizer: { claims } } };
}

describe("handlers/caller", () => {
  it("takes every caller of a stack without sign-in as the one anonymous owner, whatever the claims", () => {
    expect(ownerOf(proxyEvent({ method: "GET", path: "/items", resource: "/items" }), anonymous)).to.equal(
      ANONYMOUS_OWNER,
    );
    expect(ownerOf(withClaims({ sub: SUB, aud: "app-client", token_use: "id" }), anonymous)).to.equal(ANONYMOUS_OWNER);
  });

  it("takes the sub of an ID token issued to one of the stack's app clients", () => {
    expect(
      ownerOf(withClaims({ sub: SUB, aud: "app-client", token_use: "id", email: "a@example.com" }), signIn),
    ).to.equal(SUB);
  });

  it("answers 401 for anything else: no claims, another client, an access token, a sub that is not a UUID", () => {
    const message = "sign in: send a valid ID token of this API's user pool in Authorization";
    for (const claims of [
      undefined,
      null,
      "sub",
      {},
      { sub: SUB, aud: "another-client", token_use: "id" },
      { sub: SUB, client_id: "app-client", token_use: "access" },
      { sub: SUB, aud: "app-client", token_use: "access" },
      { sub: "alice", aud: "app-client", token_use: "id" },
      { sub: SUB.toUpperCase(), aud: "app-client", token_use: "id" },
      { sub: ["x"], aud: "app-client", token_use: "id" },
      Object.create({ sub: SUB, aud: "app-client", token_use: "id" }),
    ]) {
      expectHttpError(() => ownerOf(withClaims(claims), signIn), 401, "unauthorized", message);
    }
  });
});
