/**
 * A generated client is a tested path: openapi-typescript's types for the dev stack's document
 * are the committed items-api.d.ts (`npm run client:types` writes exactly it), the quick-start
 * client (openapi-fetch) type-checks against them under `npm run typecheck`, and run against the
 * local runtime of each stack it gets exactly the answers the contract promises. A document
 * change fails the first test until the types are regenerated, and the type check when the
 * client no longer fits it; a server change fails the last ones.
 */
import { execFile } from "child_process";
import { mkdtempSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join, relative } from "path";
import { promisify } from "util";
import { expect } from "chai";
import { minimatch } from "minimatch";
import { startLocalApi } from "../../local/server";
import { readStackSettings } from "../../local/stack-settings";
import { PROJECT_ROOT, SWC_REGISTER } from "../support/process";
import { createdFields, createdItems, expectedPages, writtenEspresso } from "../support/quick-start-items";
import { CLIENT_TYPES_PATH } from "./generate-types";
import { Answer, quickStart } from "./quick-start-client";

const CLIENT_PATH = join(PROJECT_ROOT, "test", "client", "quick-start-client.ts");

/**
 * Whether `npm run typecheck` (tsc on tsconfig.json) checks a file. The client is type-checked
 * there, against the committed types, which the first test below proves are what the document
 * generates now: so a document change the client no longer fits fails `npm test` without a second
 * compile. tsconfig.json chooses its files by `include` alone (asserted: no `files`, `exclude` or
 * `extends`), and an `include` pattern is a glob relative to tsconfig.json's folder in which `*`
 * matches any characters but `/` (so `*.ts` also matches `.d.ts`) and `**` any folders
 * (microsoft/TypeScript#5980, which added them); minimatch reads these globs the same way.
 * TypeScript's own config parser would mean loading the compiler into mocha's process for this.
 */
function typeChecked(file: string): boolean {
  const config = JSON.parse(readFileSync(join(PROJECT_ROOT, "tsconfig.json"), "utf8")) as Record<string, unknown>;
  expect(Object.keys(config).sort()).to.deep.equal(["compilerOptions", "include"]);
  const include = config.include;
  if (!Array.isArray(include) || !include.every((pattern): pattern is string => typeof pattern === "string")) {
    throw new Error("tsconfig.json's include must be a list of globs");
  }
  return include.some((pattern) => minimatch(relative(PROJECT_ROOT, file), pattern));
}

/**
 * The answers the flow must get on a fresh table. What the server chooses (ids, timestamps,
 * cursors, request ids, the order of a Scan) is checked for form and then taken from `answers`;
 * everything else is fixed.
 */
function expectedAnswers(baseUrl: string, answers: Answer[]): Answer[] {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the oracle walks the answers' JSON
  const body = (index: number): any => answers[index]?.body;
  const espresso = createdFields(body(0));
  const { espresso: created, grinder, jug } = createdItems(espresso, createdFields(body(1)), createdFields(body(3)));
  const { replaced, patched } = writtenEspresso(espresso, body(8).updatedAt, body(9).updatedAt);
  const [firstPage, lastPage] = [body(4), body(5)];
  expect(firstPage.nextCursor).to.match(/^[A-Za-z0-9_.-]+$/);
  const [firstItems, lastItems] = expectedPages([firstPage, lastPage], [created, grinder, jug]);
  const requestIds = answers.map((answer) => answer.requestId);
  expect(new Set(requestIds).size, "a request id per response").to.equal(answers.length);
  requestIds.forEach((requestId) => expect(requestId).to.match(/^\S+$/));

  const answer = (index: number, call: string, status: number, rest: Partial<Answer>): Answer => ({
    call,
    status,
    etag: null,
    location: null,
    requestId: answers[index]?.requestId ?? "",
    body: undefined,
    ...rest,
  });
  const createdAnswer = (index: number, call: string, item: { id: string }) =>
    answer(index, call, 201, { etag: '"1"', location: `${baseUrl}items/${item.id}`, body: item });
  const notFound = { error: { code: "not_found", message: "item not found", requestId: answers[11]?.requestId } };
  return [
    createdAnswer(0, "createItem", created),
    createdAnswer(1, "createItem keyed", grinder),
    createdAnswer(2, "createItem keyed retry", grinder),
    createdAnswer(3, "createItem", jug),
    answer(4, "listItems", 200, { body: { items: firstItems, nextCursor: firstPage.nextCursor } }),
    answer(5, "listItems", 200, { body: { items: lastItems } }),
    answer(6, "getItem", 200, { etag: '"1"', body: created }),
    answer(7, "getItem If-None-Match", 304, { etag: '"1"' }),
    answer(8, "replaceItem", 200, { etag: '"2"', body: replaced }),
    answer(9, "patchItem", 200, { etag: '"3"', body: patched }),
    answer(10, "deleteItem", 204, {}),
    answer(11, "getItem deleted", 404, { body: notFound }),
  ];
}

describe("generated client (openapi-typescript types, openapi-fetch client)", function () {
  this.timeout(60000);

  it("npm run client:types writes exactly the committed test/client/items-api.d.ts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "items-api-client-"));
    try {
      const out = join(dir, "items-api.d.ts");
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ["-r", SWC_REGISTER, "test/client/generate-types.ts", "--out", out],
        { cwd: PROJECT_ROOT, encoding: "utf8" },
      );
      const generated = readFileSync(out, "utf8");
      expect(stdout).to.equal(`client:types: wrote ${out} (${Buffer.byteLength(generated)} bytes)\n`);
      const [now, committed] = [generated, readFileSync(CLIENT_TYPES_PATH, "utf8")].map((text) => text.split("\n"));
      const line = now.findIndex((text, index) => text !== committed[index]);
      expect(
        { line: line + 1, now: now[line], committed: committed[line] },
        "test/client/items-api.d.ts differs from what the document generates now: run `npm run client:types`",
      ).to.deep.equal({ line: 0, now: undefined, committed: undefined });
      expect(generated).to.equal(committed.join("\n"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("npm run typecheck checks the quick-start client against the committed types", () => {
    expect([CLIENT_PATH, CLIENT_TYPES_PATH].map(typeChecked)).to.deep.equal([true, true]);
  });

  for (const stack of ["dev", "prod"]) {
    it(`runs the quick start against the ${stack} stack's local runtime and gets exactly the contract's answers`, async () => {
      const api = await startLocalApi({ settings: readStackSettings(stack), stack, accessLog: () => undefined });
      try {
        expect(api.apiKey === undefined, "only prod requires a key").to.equal(stack === "dev");
        const token = await api.issuer?.token("alice");
        const answers = await quickStart(api.url, { idempotencyKey: "order-42", apiKey: api.apiKey, token });
        const expected = expectedAnswers(api.url, answers);
        expect(answers.map((answer) => answer.call)).to.deep.equal(expected.map((answer) => answer.call));
        answers.forEach((answer, index) => expect(answer, answer.call).to.deep.equal(expected[index]));
        if (api.apiKey !== undefined) {
          // Without the key the first call is refused by the gateway, and the flow stops there.
          const refused = await quickStart(api.url, { idempotencyKey: "order-42", token }).then(
            () => "answered",
            (error: Error) => error.message,
          );
          const [, body = "{}"] = /^createItem answered 403: (.*)$/.exec(refused) ?? [];
          expect(JSON.parse(body).error).to.deep.include({
            code: "forbidden",
            message: "a valid API key is required in x-api-key",
          });
        }
      } finally {
        await api.close();
      }
    });
  }
});
