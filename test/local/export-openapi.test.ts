/**
 * `npm run openapi` (local/export-openapi.ts): per stack, the file holds exactly the bytes the
 * local runtime serves at /openapi.json, and parses to buildOpenApiDocument's document (the one
 * the stack exports as openApiDocument).
 */
import { spawnSync } from "child_process";
import { mkdtempSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { expect } from "chai";
import { buildOpenApiDocument, documentOptionsOf } from "../../infra/openapi";
import { exportOpenApi, optionValue } from "../../local/export-openapi";
import { startLocalApi } from "../../local/server";
import { readStackSettings } from "../../local/stack-settings";
import { PROJECT_ROOT, SWC_REGISTER } from "../support/process";

describe("npm run openapi", function () {
  this.timeout(30000);

  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "items-api-openapi-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  for (const stack of ["dev", "prod"]) {
    it(`writes the ${stack} stack's document, byte for byte what /openapi.json serves`, async () => {
      const settings = readStackSettings(stack);
      const out = join(dir, "openapi.json");
      expect(exportOpenApi(["--stack", stack, "--out", out])).to.include({ stack, path: out });
      const written = readFileSync(out);
      expect(JSON.parse(written.toString("utf8"))).to.deep.equal(buildOpenApiDocument(documentOptionsOf(settings)));

      const api = await startLocalApi({ settings, accessLog: () => undefined });
      try {
        const served = await fetch(`${api.url}openapi.json`);
        expect(served.status).to.equal(200);
        expect(Buffer.from(await served.arrayBuffer()).equals(written)).to.equal(true);
      } finally {
        await api.close();
      }
    });
  }

  it("runs as a command: --stack=NAME and --out PATH, a line saying what it wrote, exit 0", () => {
    const out = join(dir, "prod.json");
    const result = spawnSync(
      process.execPath,
      ["-r", SWC_REGISTER, "local/export-openapi.ts", "--stack=prod", "--out", out],
      { cwd: PROJECT_ROOT, encoding: "utf8" },
    );
    expect(result.status, result.stderr).to.equal(0);
    expect(result.stdout).to.match(new RegExp(`^openapi: wrote ${out} \\(stack prod, \\d+ bytes\\)\\n$`));
    const written = JSON.parse(readFileSync(out, "utf8"));
    expect(written.paths["/items"].post.security).to.deep.equal([{ api_key: [], user_pool: [] }]);
  });

  it("fails with a message naming the problem for an unknown stack or a missing value", () => {
    const unknown = spawnSync(
      process.execPath,
      ["-r", SWC_REGISTER, "local/export-openapi.ts", "--stack", "nope", "--out", join(dir, "x")],
      { cwd: PROJECT_ROOT, encoding: "utf8" },
    );
    expect([unknown.status, unknown.stderr]).to.deep.equal([
      1,
      'no settings for stack "nope": Pulumi.nope.yaml not found\n',
    ]);
    expect(() => optionValue(["--out"], "--out")).to.throw("--out needs a value");
    expect(() => optionValue(["--stack", "--out", "x"], "--stack")).to.throw("--stack needs a value");
    expect(optionValue(["--stack=prod"], "--stack")).to.equal("prod");
    expect(optionValue([], "--stack")).to.equal(undefined);
  });
});
