/**
 * `npm run verify` proven without AWS: it passes against the local runtime for dev and for prod
 * (with its key), leaving no item behind, and it fails, naming the broken checks, against a test
 * double that answers with a wrong status, drops a header, or breaks the document's body schema.
 */
import { spawn } from "child_process";
import { createServer, request as httpRequest, Server } from "http";
import { AddressInfo } from "net";
import { join } from "path";
import { expect } from "chai";
import { LocalApi, startLocalApi } from "../../local/server";
import { apiUserHeaders } from "../support/users";
import { PROJECT_ROOT, readStackSettings } from "../../local/stack-settings";
import type { VerifyReport } from "./verify";
import { SWC_REGISTER } from "../support/process";

/** Runs `npm run verify`'s entry as a child process with --json. */
function runVerify(args: string[]): Promise<{ code: number | null; report: VerifyReport | undefined; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["-r", SWC_REGISTER, join(PROJECT_ROOT, "test/contract/verify.ts"), "--json", ...args],
      { cwd: PROJECT_ROOT, env: { ...process.env, TS_NODE_PROJECT: join(PROJECT_ROOT, "tsconfig.json") } },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      let report: VerifyReport | undefined;
      try {
        report = JSON.parse(stdout) as VerifyReport;
      } catch {
        report = undefined;
      }
      resolve({ code, report, stderr });
    });
  });
}

type Rewrite = (
  method: string,
  path: string,
  status: number,
  headers: Record<string, string>,
  body: string,
) => { status: number; headers: Record<string, string>; body: string };

/** A proxy in front of `upstream` that rewrites some answers. */
async function wrongServer(upstream: string, rewrite: Rewrite): Promise<{ url: string; server: Server }> {
  const target = new URL(upstream);
  const server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
    incoming.on("end", () => {
      const forwarded = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          method: incoming.method,
          path: incoming.url,
          headers: incoming.headers,
        },
        (answer) => {
          const parts: Buffer[] = [];
          answer.on("data", (chunk: Buffer) => parts.push(chunk));
          answer.on("end", () => {
            const headers = Object.fromEntries(
              Object.entries(answer.headers).map(([name, value]) => [
                name,
                Array.isArray(value) ? value.join(", ") : String(value),
              ]),
            );
            delete headers["content-length"];
            const changed = rewrite(
              incoming.method ?? "GET",
              (incoming.url ?? "/").split("?")[0] ?? "/",
              answer.statusCode ?? 500,
              headers,
              Buffer.concat(parts).toString("utf8"),
            );
            outgoing.writeHead(changed.status, changed.headers);
            outgoing.end(changed.body);
          });
        },
      );
      forwarded.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

const failedTitles = (report: VerifyReport | undefined): string[] =>
  (report?.checks ?? []).filter((check) => check.status === "failed").map((check) => `${check.group}: ${check.title}`);

describe("npm run verify", function () {
  this.timeout(180000);
  let api: LocalApi | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  for (const stack of ["dev", "prod"]) {
    it(`passes against npm start for ${stack}, reports latency per operation, and deletes what it created`, async () => {
      api = await startLocalApi({ settings: readStackSettings(stack), stack, accessLog: () => undefined });
      // Two users' ID tokens, as a user of a deployed stack passes them.
      const tokens =
        api.issuer === undefined
          ? []
          : ["--token", await api.issuer.token("alice"), "--other-token", await api.issuer.token("bob")];
      const args = ["--url", api.url, "--stack", stack, "--calls", "5", ...tokens];
      const { code, report, stderr } = await runVerify(
        api.apiKey === undefined ? args : [...args, "--api-key", api.apiKey],
      );
      expect(failedTitles(report), stderr).to.deep.equal([]);
      expect(code).to.equal(0);
      expect(report?.failed).to.equal(0);
      expect(report?.passed).to.be.greaterThan(60);
      expect(report?.checks.filter((check) => check.status === "skipped").map((check) => check.title)).to.deep.equal([
        "answers 409 request_in_progress while the first request is in flight",
        "takes over an abandoned attempt and creates the item under the id it chose",
        "never lets another body take over an abandoned claim: 422, however long ago it lapsed, and the key keeps one item",
      ]);
      expect(Object.keys(report?.latency ?? {})).to.deep.equal([
        "createItem",
        "getItem",
        "listItems",
        "replaceItem",
        "patchItem",
        "deleteItem",
      ]);
      for (const figure of Object.values(report?.latency ?? {})) {
        expect(figure.calls).to.equal(5);
        expect(figure.p95Ms).to.be.at.least(figure.p50Ms);
      }
      expect(report?.cleanup.failed).to.equal(0);
      for (const user of ["alice", "bob"]) {
        const left = await fetch(new URL("items?limit=100", api.url), {
          headers: {
            ...(api.apiKey === undefined ? {} : { "x-api-key": api.apiKey }),
            ...(await apiUserHeaders(api, user)),
          },
        });
        expect(((await left.json()) as { items: unknown[] }).items, user).to.deep.equal([]);
      }
    });
  }

  it("fails against a server that answers a wrong status, drops a header or breaks the body's schema, naming the checks", async () => {
    api = await startLocalApi({ settings: readStackSettings("dev"), stack: "dev", accessLog: () => undefined });
    const wrong = await wrongServer(api.url, (method, path, status, headers, body) => {
      if (method === "POST" && path === "/items" && status === 201) {
        const { etag: _dropped, ...rest } = headers;
        return { status, headers: rest, body };
      }
      if (method === "GET" && /^\/items\/[0-9a-f-]{36}$/.test(path) && status === 200) {
        return { status: 203, headers, body };
      }
      if (method === "PUT" && status === 200) {
        const item = JSON.parse(body) as Record<string, unknown>;
        return { status, headers, body: JSON.stringify({ ...item, version: String(item.version) }) };
      }
      return { status, headers, body };
    });
    try {
      const signIn = [
        "--token",
        (await api.issuer?.token("alice")) ?? "",
        "--other-token",
        (await api.issuer?.token("bob")) ?? "",
      ];
      const { code, report } = await runVerify(["--url", wrong.url, "--grep", "Item", "--calls", "1", ...signIn]);
      expect(code).to.equal(1);
      const failed = failedTitles(report);
      expect(failed).to.include("createItem: stores an item and answers 201 with Location, ETag and the item");
      expect(failed).to.include("getItem: answers 304 when If-None-Match names the current ETag, 200 otherwise");
      expect(failed).to.include("replaceItem: replaces every client field, bumps the version and keeps createdAt");
      const document = report?.checks.find((check) => check.title.startsWith("describes every response"));
      expect(document?.status).to.equal("failed");
      expect(document?.error).to.include("POST /items -> 201: the required header ETag is missing");
      expect(document?.error).to.match(/GET \/items\/[0-9a-f-]{36} -> 203: status 203 is not declared for getItem/);
      expect(document?.error).to.match(/PUT \/items\/[0-9a-f-]{36} -> 200: body \/version must be integer/);
    } finally {
      await new Promise((resolve) => wrong.server.close(resolve));
    }
  });

  it("says what to do when neither --url nor the Pulumi CLI is there", async () => {
    const { code, stderr } = await runVerify(["--stack", "dev"]);
    expect(code).to.equal(2);
    expect(stderr).to.equal(
      "verify: the Pulumi CLI is not installed: pass --url <apiUrl> (and --api-key where the stack requires keys)\n",
    );
  });
});
