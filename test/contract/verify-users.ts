/**
 * The users `npm run verify` signs in as on a stack with sign-in: ID tokens given on the command
 * line (`--token`, `--other-token`), or two test users it creates in the stack's user pool and
 * deletes at the end (`--create-users`). Creating them takes the deployer's credentials with
 * cognito-idp:AdminCreateUser, AdminSetUserPassword, AdminInitiateAuth and AdminDeleteUser on the
 * pool, and the app client's ALLOW_ADMIN_USER_PASSWORD_AUTH flow (infra/sign-in.ts sets it).
 */
import { randomBytes, randomUUID } from "crypto";
import {
  AdminCreateUserCommand,
  AdminDeleteUserCommand,
  AdminInitiateAuthCommand,
  AdminSetUserPasswordCommand,
  CognitoIdentityProviderClient,
} from "@aws-sdk/client-cognito-identity-provider";
import { localIssuer } from "../../local/issuer";
import type { ContractUsers } from "./checks";

/** The `sub` claim of a JWT, read without verifying it (the API verifies it). */
export function subOfToken(token: string): string {
  const payload = token.split(".")[1] ?? "";
  try {
    const sub: unknown = (JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { sub?: unknown }).sub;
    if (typeof sub === "string") {
      return sub;
    }
  } catch {
    // Reported below.
  }
  throw new Error("the token is not a JWT with a sub claim: pass a user pool ID token");
}

/** Tokens any API of this kind must refuse, made from a valid one. */
export async function refusedTokens(token: string, accessToken?: string): Promise<Record<string, string>> {
  const [header = "", payload = "", signature = ""] = token.split(".");
  const elsewhere = await localIssuer("elsewhere", undefined);
  return {
    "a token with a bad signature": `${header}.${payload}.${signature.startsWith("A") ? "B" : "A"}${signature.slice(1)}`,
    "a token of another user pool": await elsewhere.token("verify"),
    "not a token": "verify",
    ...(accessToken === undefined ? {} : { "an access token": accessToken }),
  };
}

export function usersFromTokens(token: string, otherToken: string, refused: Record<string, string>): ContractUsers {
  return { token, owner: subOfToken(token), otherToken, refused };
}

/** Two fresh users of the pool, signed in; `remove` deletes them. */
export async function createTestUsers(
  userPoolId: string,
  clientId: string,
): Promise<{ users: ContractUsers; remove: () => Promise<void> }> {
  const cognito = new CognitoIdentityProviderClient({});
  const run = randomUUID().slice(0, 8);
  const names = [`verify-${run}-a@example.com`, `verify-${run}-b@example.com`];
  const created: string[] = [];
  const remove = async (): Promise<void> => {
    for (const name of created) {
      await cognito.send(new AdminDeleteUserCommand({ UserPoolId: userPoolId, Username: name }));
    }
    cognito.destroy();
  };
  try {
    const tokens: { id: string; access: string }[] = [];
    for (const name of names) {
      const password = `${randomBytes(18).toString("base64url")}aA1!`;
      await cognito.send(
        new AdminCreateUserCommand({
          UserPoolId: userPoolId,
          Username: name,
          MessageAction: "SUPPRESS",
          UserAttributes: [
            { Name: "email", Value: name },
            { Name: "email_verified", Value: "true" },
          ],
        }),
      );
      created.push(name);
      await cognito.send(
        new AdminSetUserPasswordCommand({
          UserPoolId: userPoolId,
          Username: name,
          Password: password,
          Permanent: true,
        }),
      );
      const { AuthenticationResult } = await cognito.send(
        new AdminInitiateAuthCommand({
          UserPoolId: userPoolId,
          ClientId: clientId,
          AuthFlow: "ADMIN_USER_PASSWORD_AUTH",
          AuthParameters: { USERNAME: name, PASSWORD: password },
        }),
      );
      if (AuthenticationResult?.IdToken === undefined || AuthenticationResult.AccessToken === undefined) {
        throw new Error(`signing in ${name} gave no tokens`);
      }
      tokens.push({ id: AuthenticationResult.IdToken, access: AuthenticationResult.AccessToken });
    }
    const [first, second] = tokens;
    if (first === undefined || second === undefined) {
      throw new Error("two users were not created");
    }
    return {
      users: usersFromTokens(first.id, second.id, await refusedTokens(first.id, first.access)),
      remove,
    };
  } catch (error) {
    await remove();
    throw error;
  }
}
