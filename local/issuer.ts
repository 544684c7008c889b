/**
 * The local token issuer of a sign-in stack: a stand-in for its Cognito user pool. It signs ID
 * tokens shaped as Cognito's (RS256, `iss` the pool's issuer URL, `aud` the app client, `token_use`
 * "id", `sub`, `cognito:username`, `email`, an hour's life) with a key kept in the data folder, so
 * that tokens outlive a restart and `npm run token` can make them without the runtime. The local
 * gateway validates them against this issuer's JWKS exactly as it would a pool's.
 */
import { createHash } from "crypto";
import { existsSync } from "fs";
import { join } from "path";
import type { JSONWebKeySet, JWK } from "jose";
import { exportJWK, generateKeyPair, importJWK, SignJWT } from "jose";
import { USER_POOL_TOKEN_USE, userPoolIssuer } from "../infra/apigateway-import";
import { LOCAL_ACCOUNT, LOCAL_REGION, keptInDataDir } from "./stack-settings";

/** Cognito's default ID token validity (Cognito Developer Guide, "App client settings"). */
const TOKEN_LIFETIME_SECONDS = 3600;

export interface LocalIssuer {
  userPoolArn: string;
  userPoolId: string;
  /** The app client the tokens are issued to (`aud`). */
  clientId: string;
  issuer: string;
  /** The public keys, as a pool publishes them at `<issuer>/.well-known/jwks.json`. */
  jwks: JSONWebKeySet;
  /** The `sub` of a user name: the same name always gets the same one on this stack. */
  subOf(user: string): string;
  /**
   * An ID token for `user`; `expiresIn` seconds from `now` (seconds since the epoch); `claims`
   * replace or add claims (tests: a token of another client, an access token).
   */
  token(
    user: string,
    options?: { expiresIn?: number; now?: number; claims?: Record<string, unknown> },
  ): Promise<string>;
}

interface StoredKey {
  kid: string;
  privateJwk: JWK;
}

/** The app client of a stack's local pool (as deterministic as its pool id). */
export function localClientId(stack: string): string {
  return `local${stack.replace(/[^0-9a-zA-Z]/g, "")}appclient`;
}

/**
 * Keys made by this process, by stack. A new RSA key costs about 160 ms of CPU here, and a test
 * run starts dozens of runtimes: one key per stack and process serves every runtime this process
 * starts without a key of its own (in memory, or a new data folder). Another stack's key differs.
 */
const madeKeys = new Map<string, Promise<StoredKey>>();

function newKey(stack: string): Promise<StoredKey> {
  const made = madeKeys.get(stack) ?? makeKey();
  madeKeys.set(stack, made);
  return made;
}

async function makeKey(): Promise<StoredKey> {
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  const kid = createHash("sha256").update(JSON.stringify(privateJwk.n)).digest("base64url").slice(0, 16);
  return { kid, privateJwk: { ...privateJwk, kid, alg: "RS256", use: "sig" } };
}

/** The stack's signing key: made once per data folder (`token-issuer-<stack>.json`, mode 0600). */
async function keyOf(dataDir: string | undefined, stack: string): Promise<StoredKey> {
  if (dataDir === undefined) {
    return newKey(stack);
  }
  const file = `token-issuer-${stack}.json`;
  // Made beforehand, and only when the folder lacks it: making a key is asynchronous.
  const fresh = existsSync(join(dataDir, file)) ? undefined : JSON.stringify(await newKey(stack));
  const stored = keptInDataDir(dataDir, file, () => {
    if (fresh === undefined) {
      throw new Error(`${file} vanished from ${dataDir} while it was read`);
    }
    return fresh;
  });
  return JSON.parse(stored) as StoredKey;
}

/** A UUID-shaped `sub` from a stack and user name (Cognito's subs are UUIDs). */
function subFor(stack: string, user: string): string {
  const hex = createHash("sha256").update(`items-api/local-sub/${stack}/${user}`).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The stack's local issuer; its key is read from (or first written to) `dataDir`, else made in
 * memory. `userPoolArn` names the pool it stands in for (default: the stack's local pool), e.g.
 * a deployed body's, to run that body locally.
 */
export async function localIssuer(
  stack: string,
  dataDir: string | undefined,
  // The local pool of a stack, named like a Cognito pool (`region_id`).
  userPoolArn: string = `arn:aws:cognito-idp:${LOCAL_REGION}:${LOCAL_ACCOUNT}:userpool/${LOCAL_REGION}_${stack.replace(/[^0-9a-zA-Z]/g, "")}`,
): Promise<LocalIssuer> {
  const { kid, privateJwk } = await keyOf(dataDir, stack);
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = privateJwk;
  const key = await importJWK(privateJwk, "RS256");
  const userPoolId = userPoolArn.split("/").pop() ?? "";
  const issuer = userPoolIssuer(userPoolArn) ?? "";
  const clientId = localClientId(stack);
  return {
    userPoolArn,
    userPoolId,
    clientId,
    issuer,
    jwks: { keys: [publicJwk] },
    subOf: (user) => subFor(stack, user),
    token: async (user, options = {}) => {
      const now = options.now ?? Math.floor(Date.now() / 1000);
      return new SignJWT({
        token_use: USER_POOL_TOKEN_USE,
        "cognito:username": user,
        email: `${user}@example.com`,
        email_verified: true,
        auth_time: now,
        aud: clientId,
        ...options.claims,
      })
        .setProtectedHeader({ alg: "RS256", kid })
        .setSubject(subFor(stack, user))
        .setIssuer(issuer)
        .setIssuedAt(now)
        .setExpirationTime(now + (options.expiresIn ?? TOKEN_LIFETIME_SECONDS))
        .sign(key);
    },
  };
}
