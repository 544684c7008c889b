/**
 * `npm run verify` against a target that wants credentials it was not given: one message naming
 * the flag, before any check runs (the local runtime with prod's settings requires an API key).
 */
import { expect } from "chai";
import { LocalApi, startLocalApi } from "../../local/server";
import { readStackSettings } from "../../local/stack-settings";
import { checkAccess, verify } from "./verify";

describe("npm run verify: a target that wants an API key", function () {
  this.timeout(60000);
  let api: LocalApi;
  before(async () => {
    api = await startLocalApi({ settings: readStackSettings("prod"), stack: "prod", accessLog: () => undefined });
  });
  after(() => api.close());
  const token = async (user = "alice"): Promise<string> => (await api.issuer?.token(user)) ?? "";

  it("stops before the first check, naming --api-key and --stack, when no key is given", async () => {
    const lines: string[] = [];
    // A user's tokens, as for any sign-in stack; only the key is missing.
    const tokens = ["--token", await token(), "--other-token", await token("bob")];
    const outcome = await verify(["--url", api.url, ...tokens], (line) => lines.push(line)).then(
      () => "ran",
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    expect(outcome).to.contain(`${api.url} answered GET items with 403 forbidden: it wants an API key`);
    expect(outcome).to.contain("--api-key KEY").and.contain("--stack prod");
    expect(lines).to.deep.equal([]);
  });

  it("says the key was refused when a wrong one is given, and lets a right one through", async () => {
    const refused = await checkAccess({ url: api.url, apiKey: "not-the-key" }, "prod", await token()).then(
      () => "passed",
      (error: unknown) => String(error),
    );
    expect(refused).to.contain("403 forbidden to the API key given");
    await checkAccess({ url: api.url, apiKey: api.apiKey }, "prod", await token());
  });

  it("names the sign-in flags when the target wants a token, and says a given token was refused", async () => {
    const missing = await checkAccess({ url: api.url, apiKey: api.apiKey }, "prod").then(
      () => "passed",
      (error: unknown) => String(error),
    );
    expect(missing).to.contain("answered GET items with 401").and.contain("--token ID_TOKEN --other-token ID_TOKEN");
    const expired = await api.issuer?.token("alice", { expiresIn: -60 });
    const refused = await checkAccess({ url: api.url, apiKey: api.apiKey }, "prod", expired).then(
      () => "passed",
      (error: unknown) => String(error),
    );
    expect(refused).to.contain("401 to the token given");
  });
});
