/**
 * Signed-in callers for tests of the local runtime: an ID token of a stack's local issuer (the
 * key in the runtime's data folder, or the running API's own issuer), or no header on a stack
 * without sign-in; and a stack's settings without sign-in, for tests about the gateway or the
 * runtime rather than about who calls (the contract covers sign-in).
 */
import type { Settings } from "../../infra/config";
import { localIssuer } from "../../local/issuer";
import type { LocalApi } from "../../local/server";
import { readStackSettings } from "../../local/stack-settings";

/** The Authorization header of `user` for a runtime of `stack` on `dataDir` (`npm run token`'s key). */
export async function userHeaders(stack: string, dataDir: string, user = "alice"): Promise<Record<string, string>> {
  if (readStackSettings(stack).signIn.mode !== "cognito") {
    return {};
  }
  return { Authorization: await (await localIssuer(stack, dataDir)).token(user) };
}

/** The Authorization header of `user` for an in-process runtime; none without sign-in. */
export async function apiUserHeaders(api: Pick<LocalApi, "issuer">, user = "alice"): Promise<Record<string, string>> {
  return api.issuer === undefined ? {} : { Authorization: await api.issuer.token(user) };
}

export function withoutSignIn(settings: Settings): Settings {
  return { ...settings, signIn: { mode: "none", userPoolId: undefined } };
}
