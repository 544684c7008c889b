/**
 * The Lambda archives exactly as CallbackFunction builds them, per stack: `__index.js` only
 * (the nodejs22.x runtime provides the AWS SDK v3; no devDependency, no @pulumi/*), code that
 * requires only Node built-ins and the two SDK packages through paths the runtime has, captures
 * no stack setting, loads, and answers requests.
 */
import { readFileSync } from "fs";
import { join } from "path";
import { expect } from "chai";
import { HANDLER_VARIABLES, handlerEnvironment } from "../../handlers/env";
import type { ProxyHandler } from "../../handlers/http";
import { proxyEvent, lambdaContext } from "../support/lambda";
import { readStackSettings } from "../../local/stack-settings";
import { PROJECT_ROOT, ProgramSnapshot, resourceOf, stackSnapshot } from "../support/program-snapshot";
import { loadSerializedHandlers, serializedFunctions } from "../support/serialized-handlers";
import { ROUTES } from "./expectations";
import { startInfraPrograms } from "./programs";

/** Each SDK package the handlers use, required through its `main` (Lambda's runtime copy has the same layout). */
function sdkEntryPoint(name: string): string {
  const manifest = JSON.parse(readFileSync(join(PROJECT_ROOT, "node_modules", name, "package.json"), "utf8")) as {
    main: string;
  };
  return `${name}/${manifest.main.replace(/^\.\//, "")}`;
}

function requiredModules(code: string): string[] {
  return [...new Set([...code.matchAll(/require\("([^"]+)"\)/g)].map((match) => match[1] ?? ""))].sort();
}

const ENV = handlerEnvironment({
  tableNames: { items: "serialized-items", idempotency: "serialized-idempotency" },
  cursorSecret: "serialized-cursor-secret-of-some-length",
  settings: { corsAllowedOrigins: ["https://app.example.com"], logLevel: "error", lambda: { timeoutSeconds: 10 } },
  // Nothing listens here: the requests below must be answered without DynamoDB.
  dynamoDb: { endpoint: "http://127.0.0.1:9", maxAttempts: 1 },
});

describe("infra: Lambda archives and their serialized code", function () {
  this.timeout(120000);
  // Start every program run of the infra suite at once, when (and only if) it runs.
  before(startInfraPrograms);

  for (const stack of ["dev", "prod"]) {
    describe(`${stack} stack`, () => {
      const settings = readStackSettings(stack);
      let snapshot: ProgramSnapshot;
      before(async () => {
        snapshot = await stackSnapshot(stack);
      });

      it("ships __index.js alone in every archive: no SDK copy, no devDependency, no @pulumi/*", () => {
        const functions = serializedFunctions(snapshot);
        expect(Object.keys(functions)).to.deep.equal(ROUTES.map((route) => route.operationId));
        for (const fn of Object.values(functions)) {
          const archive = snapshot.archives[fn.resourceName];
          expect(archive?.entries, fn.operationId).to.deep.equal([
            { path: "__index.js", kind: "string", files: 1, bytes: Buffer.byteLength(fn.code) },
          ]);
          expect(archive?.unzippedBytes, fn.operationId).to.be.below(100 * 1024);
        }
      });

      it("ships the handlers' code without its comments (tsconfig.json removeComments)", () => {
        for (const fn of Object.values(serializedFunctions(snapshot))) {
          expect(fn.code.match(/^\s*\/\/.*$/m)?.[0], fn.operationId).to.equal(undefined);
          expect(fn.code.match(/\/\*\*[\s\S]*?\*\//)?.[0], fn.operationId).to.equal(undefined);
        }
      });

      it("requires only Node built-ins and the SDK packages, through their package entry points", () => {
        for (const fn of Object.values(serializedFunctions(snapshot))) {
          // The STS client is required inside the function that starts owner sessions (handlers/
          // dependencies.ts), so only a sign-in stack's container loads it, from the runtime's SDK.
          // crypto where a function makes ids, write tokens or cursors: not in getItem and deleteItem.
          const crypto = fn.operationId === "getItem" || fn.operationId === "deleteItem" ? [] : ["crypto"];
          expect(requiredModules(fn.code), fn.operationId).to.deep.equal(
            [
              sdkEntryPoint("@aws-sdk/client-dynamodb"),
              sdkEntryPoint("@aws-sdk/lib-dynamodb"),
              "@aws-sdk/client-sts",
              ...crypto,
            ].sort(),
          );
          expect(fn.code, fn.operationId).to.match(
            /^\s+const \{ AssumeRoleCommand, STSClient \} = require\("@aws-sdk\/client-sts"\)/m,
          );
          // The factory runs once when Lambda loads the module (init phase), not per request.
          expect(fn.code.trimEnd().split("\n").pop(), fn.operationId).to.match(/^exports\.handler = __f\d+\(\);$/);
        }
      });

      it("captures no stack setting or resource attribute in the code", () => {
        const items = resourceOf(snapshot, "items");
        const idempotency = resourceOf(snapshot, "idempotency");
        const fn = resourceOf(snapshot, "getItem-function");
        const environment = (fn.inputs.environment as { variables: Record<string, string> }).variables;
        const forbidden = [
          String(items.state.name),
          String(idempotency.state.name),
          String(items.state.arn),
          environment[HANDLER_VARIABLES.cursorSecret] ?? "",
          `items-api-${stack}`,
          "execute-api",
          ...settings.corsAllowedOrigins.filter((origin) => origin !== "*"),
        ];
        for (const serialized of Object.values(serializedFunctions(snapshot))) {
          for (const value of forbidden) {
            expect(serialized.code, `${serialized.operationId} contains ${value}`).not.to.include(value);
          }
        }
      });

      it("loads every serialized module and its handler answers from the environment it was loaded with", async () => {
        const handlers: Record<string, ProxyHandler> = await loadSerializedHandlers(stack, { env: ENV });
        expect(Object.keys(handlers)).to.deep.equal(ROUTES.map((route) => route.operationId));
        for (const handler of Object.values(handlers)) {
          expect(handler).to.be.a("function");
        }
        const notFound = await handlers.getItem?.(
          proxyEvent({
            method: "GET",
            path: "/items/not-a-uuid",
            resource: "/items/{id}",
            pathParameters: { id: "not-a-uuid" },
            headers: { Origin: "https://app.example.com" },
          }),
          lambdaContext(),
        );
        expect(notFound?.statusCode).to.equal(404);
        expect(JSON.parse(notFound?.body ?? "{}")).to.have.nested.property("error.code", "not_found");
        expect(notFound?.headers).to.include({ "Access-Control-Allow-Origin": "https://app.example.com" });
        const badCursor = await handlers.listItems?.(
          proxyEvent({ method: "GET", path: "/items", resource: "/items", query: { cursor: "forged.cursor" } }),
          lambdaContext(),
        );
        expect(badCursor?.statusCode).to.equal(400);
        expect(JSON.parse(badCursor?.body ?? "{}")).to.have.nested.property("error.code", "invalid_cursor");
        // The environment was applied only while the modules loaded.
        const tableName = HANDLER_VARIABLES.tableName;
        expect(process.env[tableName]).to.not.equal(ENV[tableName]);
      });
    });
  }
});
