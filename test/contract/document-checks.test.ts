/**
 * The document checker the contract ends with must find what it is there to find: a response the
 * document does not describe, and a refusal the document neither makes nor explains. Without
 * these, an empty list of mismatches would prove nothing.
 */
import { expect } from "chai";
import { readStackSettings } from "../../local/stack-settings";
import type { Exchange } from "../support/http-client";
import { DocumentChecker } from "./document-checks";

const ITEM = {
  id: "6f1c2a0e-3b7d-4c59-9a41-0d8e2f5b7c13",
  name: "espresso",
  description: "",
  version: 3,
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:00.000Z",
};

function exchange(
  method: string,
  path: string,
  status: number,
  headers: Record<string, string>,
  body: unknown,
  requestBody?: unknown,
): Exchange {
  const text = body === undefined ? "" : JSON.stringify(body);
  return {
    method,
    target: path,
    path,
    query: "",
    requestHeaders: requestBody === undefined ? [] : [["Content-Type", "application/json"]],
    requestBody: requestBody === undefined ? undefined : Buffer.from(JSON.stringify(requestBody)),
    response: {
      status,
      headers: new Headers(body === undefined ? headers : { "Content-Type": "application/json", ...headers }),
      text,
      json: body,
    },
    durationMs: 1,
  };
}

/** The dev stack (no API key), whose document the checks below hold exchanges against. */
const DEV = readStackSettings("dev");

/** The headers every answer carries (the request ids of the runtime and of API Gateway). */
const REQUEST_ID = { "x-request-id": "a-request-id", "x-amz-apigw-id": "a-gateway-id" };

/** A create the server refused with 400 and this message. */
function refusedCreate(message: string, requestBody: unknown): Exchange {
  const body = { error: { code: "validation_failed", message, requestId: "a-request-id" } };
  return exchange("POST", "/items", 400, REQUEST_ID, body, requestBody);
}

describe("contract: the document checker", () => {
  it("passes a response the document describes, and a refusal whose rule it names", async () => {
    const checker = new DocumentChecker(DEV);
    checker.observe(exchange("GET", `/items/${ITEM.id}`, 200, { ETag: '"3"', ...REQUEST_ID }, ITEM));
    checker.observe(refusedCreate("id is managed by the server and cannot be set", { name: "espresso", id: ITEM.id }));
    expect(await checker.responseMismatches()).to.deep.equal([]);
    expect(await checker.unexplainedRefusals()).to.deep.equal([]);
  });

  it("reports an undeclared status, a missing required header, and a body off its schema", async () => {
    const checker = new DocumentChecker(DEV);
    const path = `/items/${ITEM.id}`;
    checker.observe(exchange("GET", path, 418, REQUEST_ID, { error: { code: "teapot", message: "no" } }));
    checker.observe(exchange("GET", path, 200, REQUEST_ID, ITEM));
    checker.observe(exchange("GET", path, 200, { ETag: '"3"', ...REQUEST_ID }, { ...ITEM, version: "3" }));
    const mismatches = await checker.responseMismatches();
    expect(mismatches.map(({ request, status }) => `${status} ${request}`)).to.deep.equal([
      `418 GET ${path}`,
      `200 GET ${path}`,
      `200 GET ${path}`,
    ]);
    expect(mismatches[0]?.problem).to.equal("status 418 is not declared for getItem");
    expect(mismatches[1]?.problem).to.equal("the required header ETag is missing");
    expect(mismatches[2]?.problem).to.match(/^body \/version must be integer/);
  });

  it("reports a refusal of a request the document accepts, under a rule it does not name", async () => {
    const checker = new DocumentChecker(DEV);
    checker.observe(refusedCreate("espresso is not allowed today", { name: "espresso" }));
    expect(await checker.unexplainedRefusals()).to.deep.equal([
      { request: "POST /items", status: 400, problem: "espresso is not allowed today" },
    ]);
  });
});
