/**
 * Who is calling: the owner whose partition a request may touch, and the DynamoDB client that
 * reaches it. Without sign-in every caller is the one owner `anonymous`. With sign-in the owner
 * is the `sub` of the user pool ID token API Gateway's Cognito authorizer validated; its claims
 * arrive in `requestContext.authorizer.claims`, every value a string ("Set up Lambda proxy
 * integrations in API Gateway"). The authorizer accepts an ID token of any app client of the
 * pool and does not check `aud` ("Integrate a REST API with an Amazon Cognito user pool"), so
 * the function does: only this API's app clients.
 */
import type { APIGatewayProxyEvent } from "aws-lambda";
import type { HandlerSettings } from "./env";
import { httpError } from "./errors";
import { WWW_AUTHENTICATE } from "./headers";
import { UUID_PATTERN } from "./request";

/** The owner of every item on a stack without sign-in: no Cognito `sub` (a UUID) is spelt so. */
export const ANONYMOUS_OWNER = "anonymous";

/** The caller's owner id; 401 when a sign-in stack's request carries no usable ID token claims. */
export function ownerOf(event: APIGatewayProxyEvent, settings: HandlerSettings): string {
  if (settings.signIn === "none") {
    return ANONYMOUS_OWNER;
  }
  const claims: unknown = event.requestContext?.authorizer?.claims;
  const claimOf = (name: string): string | undefined => {
    const value: unknown =
      typeof claims === "object" && claims !== null && Object.hasOwn(claims, name)
        ? Reflect.get(claims, name)
        : undefined;
    return typeof value === "string" ? value : undefined;
  };
  const sub = claimOf("sub");
  const audience = claimOf("aud");
  if (
    sub === undefined ||
    // Cognito's `sub`: "unique identifier (UUID)" of the user (Cognito Developer Guide, ID token).
    !UUID_PATTERN.test(sub) ||
    claimOf("token_use") !== "id" ||
    audience === undefined ||
    !settings.cognitoClientIds.includes(audience)
  ) {
    throw httpError("unauthorized", undefined, { "WWW-Authenticate": WWW_AUTHENTICATE });
  }
  return sub;
}
