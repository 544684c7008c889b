/**
 * The README's "Add a route" example, followed literally: one handler and one route-table entry
 * (test/support/example-route.ts, whose code the README quotes) reach the API, the OpenAPI
 * document and the deployed stack's wiring (the real index.ts under Pulumi mocks) with nothing
 * else touched.
 */
import { readFileSync } from "fs";
import { join } from "path";
import { expect } from "chai";
import { buildOpenApiDocument, documentOptionsOf } from "../../infra/openapi";
import { routes } from "../../infra/routes";
import { startLocalApi } from "../../local/server";
import { readStackSettings } from "../../local/stack-settings";
import { expectError } from "../contract/contract";
import { getItemSummaryRoute } from "../support/example-route";
import { client } from "../support/http-client";
import { apiUserHeaders } from "../support/users";
import { NEW_ROUTE_RUN } from "../infra/programs";
import { PROJECT_ROOT, programSnapshot, resourceOf, resourcesOfType } from "../support/program-snapshot";

const extended = [...routes, getItemSummaryRoute];

function section(text: string, marker: string): string {
  const start = text.indexOf(`// --- README: ${marker} ---\n`);
  const end = text.indexOf("// --- end ---", start);
  expect(start, marker).to.be.greaterThan(-1);
  return text.slice(start + `// --- README: ${marker} ---\n`.length, end).trim();
}

describe("adding a route as the README shows", function () {
  this.timeout(120000);

  it("quotes the tested example code verbatim", () => {
    const example = readFileSync(join(PROJECT_ROOT, "test/support/example-route.ts"), "utf8");
    const readme = readFileSync(join(PROJECT_ROOT, "README.md"), "utf8");
    for (const marker of ["handlers/operations.ts", "infra/routes.ts"]) {
      expect(readme).to.contain(section(example, marker));
    }
  });

  it("serves the new route locally, in /openapi.json and beside the existing ones", async () => {
    const api = await startLocalApi({
      settings: readStackSettings("dev"),
      stack: "dev",
      routes: extended,
      accessLog: () => undefined,
    });
    try {
      const call = client(api.url, await apiUserHeaders(api));
      const created = await call("POST", "items", { json: { name: "summarised", status: "x" } });
      const summary = await call("GET", `items/${created.json.id}/summary`);
      expect(summary.status).to.equal(200);
      expect(summary.json).to.deep.equal({ id: created.json.id, name: "summarised", version: 1 });
      expectError(await call("GET", "items/0b6b7d53-3c5e-4d8e-9d55-7f4a0a5c9c11/summary"), 404, "not_found");
      expect((await call("GET", `items/${created.json.id}`)).json).to.deep.equal(created.json);
      const document = (await call("GET", "openapi.json")).json;
      expect(document).to.deep.equal(buildOpenApiDocument(documentOptionsOf(readStackSettings("dev")), extended));
      expect(document.paths["/items/{id}/summary"].get.operationId).to.equal("getItemSummary");
    } finally {
      await api.close();
    }
  });

  it("wires the new route into the stack: function, role, permission and REST API body", async () => {
    const snapshot = await programSnapshot(NEW_ROUTE_RUN);
    expect(snapshot.error).to.equal(undefined);
    const prefix = "items-api-dev";
    expect((snapshot.outputs.functionNames?.value as Record<string, string>).getItemSummary).to.equal(
      `${prefix}-getItemSummary`,
    );
    const fn = resourcesOfType(snapshot, "aws:lambda/function:Function").find(
      (resource) => resource.inputs.name === `${prefix}-getItemSummary`,
    );
    expect(fn?.inputs.runtime).to.equal("nodejs22.x");
    // dev signs users in: the function's role starts owner sessions, whose role holds the action.
    const policy = JSON.parse(String(resourceOf(snapshot, "getItemSummary-policy").inputs.policy));
    expect(policy.Statement.map((statement: { Sid: string }) => statement.Sid)).to.deep.equal([
      "OwnerSessions",
      "OwnLogGroup",
    ]);
    const dataPolicy = JSON.parse(String(resourceOf(snapshot, "getItemSummary-data-policy").inputs.policy));
    expect(dataPolicy.Statement).to.have.length(1);
    expect(dataPolicy.Statement[0]).to.deep.include({ Sid: "DynamoDbItems", Action: ["dynamodb:GetItem"] });
    const permission = resourceOf(snapshot, "getItemSummary-permission");
    expect(String(permission.inputs.sourceArn)).to.match(/\/\*\/GET\/items\/\*\/summary$/);
    const body = JSON.parse(String(resourceOf(snapshot).inputs.body));
    const integration = body.paths["/items/{id}/summary"].get["x-amazon-apigateway-integration"];
    expect(integration.type).to.equal("aws_proxy");
    expect(integration.uri).to.contain(`function:${prefix}-getItemSummary/invocations`);
    const publicDocument = snapshot.outputs.openApiDocument?.value as { paths: Record<string, unknown> };
    expect(Object.keys(publicDocument.paths)).to.deep.equal(["/items", "/items/{id}", "/items/{id}/summary"]);
  });
});
