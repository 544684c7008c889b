/**
 * local/requests.http, the request collection: it covers every route of the route table, and run
 * from top to bottom against the local runtime (as a user would, pasting the created item's id and
 * the first page's cursor into its variables) every request answers the status its title names.
 */
import { readFileSync } from "fs";
import { join } from "path";
import { expect } from "chai";
import { routes } from "../../infra/routes";
import { startLocalApi } from "../../local/server";
import { readStackSettings } from "../../local/stack-settings";
import { PROJECT_ROOT } from "../support/process";

interface FileRequest {
  title: string;
  name: string | undefined;
  expectedStatus: number;
  method: string;
  url: string;
  headers: [string, string][];
  body: string | undefined;
}

/** The subset of the .http format the collection uses (shared by REST Client and JetBrains). */
function parseHttpFile(text: string): { variables: Record<string, string>; requests: FileRequest[] } {
  const [preamble = "", ...blocks] = text.split(/^###/m);
  const variables: Record<string, string> = {};
  for (const match of preamble.matchAll(/^@(\w+)\s*=\s*(.*)$/gm)) {
    variables[match[1] ?? ""] = (match[2] ?? "").trim();
  }
  const requests = blocks.map((block): FileRequest => {
    const lines = block.split("\n");
    const title = (lines.shift() ?? "").trim();
    const expectedStatus = Number(/-> (\d{3})$/.exec(title)?.[1]);
    expect(expectedStatus, `the title "${title}" ends with -> STATUS`).to.be.greaterThan(99);
    let name: string | undefined;
    while (lines.length > 0 && (lines[0]?.trim() === "" || lines[0]?.startsWith("#"))) {
      name = /^# @name (\w+)$/.exec(lines.shift() ?? "")?.[1] ?? name;
    }
    const [method = "", url = ""] = (lines.shift() ?? "").split(" ");
    const headers: [string, string][] = [];
    while (lines.length > 0 && lines[0]?.trim() !== "") {
      const line = lines.shift() ?? "";
      headers.push([line.slice(0, line.indexOf(":")).trim(), line.slice(line.indexOf(":") + 1).trim()]);
    }
    const body = lines.join("\n").trim();
    return { title, name, expectedStatus, method, url, headers, body: body === "" ? undefined : body };
  });
  return { variables, requests };
}

function substitute(text: string, variables: Record<string, string>): string {
  return text.replace(/\{\{(\w+)\}\}/g, (_whole, name: string) => {
    const value = variables[name];
    if (value === undefined) {
      throw new Error(`undefined variable ${name}`);
    }
    return value;
  });
}

const collection = parseHttpFile(readFileSync(join(PROJECT_ROOT, "local", "requests.http"), "utf8"));

describe("request collection (local/requests.http)", function () {
  this.timeout(20000);

  it("has variables for the base URL and the item id, and a request for every route", () => {
    expect(collection.variables).to.include.keys("baseUrl", "itemId", "apiKey", "token");
    expect(collection.variables.baseUrl).to.equal("http://127.0.0.1:3000");
    for (const route of routes) {
      const pattern = new RegExp(`^\\{\\{baseUrl\\}\\}${route.path.replace(/\{\w+\}/g, "[^/?]+")}(\\?.*)?$`);
      const covered = collection.requests.filter(
        (request) => request.method === route.method && pattern.test(request.url) && request.expectedStatus < 300,
      );
      expect(covered.length, `a successful ${route.method} ${route.path}`).to.be.greaterThan(0);
    }
    const headerNames = collection.requests.flatMap((request) => request.headers.map(([name]) => name));
    expect(headerNames).to.include.members(["If-Match", "If-None-Match", "Idempotency-Key"]);
  });

  for (const stack of ["dev", "prod"]) {
    it(`answers as the titles say, top to bottom, against the ${stack} stack's local runtime`, async () => {
      const api = await startLocalApi({ settings: readStackSettings(stack), stack, accessLog: () => undefined });
      try {
        const variables: Record<string, string> = { ...collection.variables, baseUrl: api.url.replace(/\/$/, "") };
        if (api.apiKey !== undefined) {
          variables.apiKey = api.apiKey;
        }
        if (api.issuer !== undefined) {
          // What `npm run -s token -- --user alice` prints for this runtime.
          variables.token = await api.issuer.token("alice");
        }
        const answered: { status: number; idempotencyKey: string | undefined; id: unknown }[] = [];
        for (const request of collection.requests) {
          const headers = request.headers.map(([name, value]): [string, string] => [
            name,
            substitute(value, variables),
          ]);
          const response = await fetch(substitute(request.url, variables), {
            method: request.method,
            headers,
            body: request.body === undefined ? undefined : Buffer.from(substitute(request.body, variables), "utf8"),
          });
          const text = await response.text();
          expect(response.status, `${request.title}\n${text}`).to.equal(request.expectedStatus);
          const json = text === "" ? undefined : JSON.parse(text);
          // What a user pastes into the variables after these two requests.
          if (request.name === "createItem") {
            variables.itemId = json.id;
          }
          if (request.name === "listItems") {
            expect(json.nextCursor, "the first page has a next one").to.be.a("string");
            variables.cursor = json.nextCursor;
          }
          if (response.status >= 400) {
            expect(json.error.code, request.title).to.be.a("string");
            expect(request.title).to.contain(json.error.code);
          }
          const idempotencyKey = headers.find(([name]) => name === "Idempotency-Key")?.[1];
          answered.push({ status: response.status, idempotencyKey, id: json?.id });
        }
        const keyedCreates = answered.filter((answer) => answer.idempotencyKey !== undefined && answer.status === 201);
        expect(keyedCreates.length).to.equal(2);
        expect(keyedCreates[1]?.id).to.equal(keyedCreates[0]?.id);
      } finally {
        await api.close();
      }
    });
  }
});
