/**
 * List pages at the edges of size: a page whose items' JSON would pass Lambda's 6 MB response
 * payload limit is cut (the proxy result, as JSON, stays under it), and a Scan that DynamoDB's
 * 1 MB page limit cuts is continued, so that `nextCursor` is absent exactly on the last page.
 * Items are written straight into the table (an item holds up to 400 KB there; the API's 64 KiB
 * body limit would take a hundred creates to reach 6 MB). Scans are counted through a TCP proxy.
 *
 * Runs on the embedded engine, or on the endpoint in CONTRACT_DYNAMODB_ENDPOINT
 * (`npm run test:dynamodb-local`: DynamoDB Local, whose 1 MB cut is AWS's own).
 */
import { randomUUID } from "crypto";
import { expect } from "chai";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { ANONYMOUS_OWNER } from "../../handlers/caller";
import type { Dependencies } from "../../handlers/dependencies";
import { createHandler } from "../../handlers/http";
import { listItems } from "../../handlers/operations";
import { LAMBDA_SYNC_PAYLOAD_BYTES } from "../../infra/apigateway-import";
import { Engine, ensureApiTables, startEmbeddedEngine } from "../../local/engine";
import { testDependencies } from "../support/handler-dependencies";
import { lambdaContext, proxyEvent } from "../support/lambda";
import { DynamoDbProxy, startDynamoDbProxy } from "../support/reliability-proxy";

const externalEndpoint = process.env.CONTRACT_DYNAMODB_ENDPOINT;

interface Page {
  ids: string[];
  nextCursor: string | undefined;
  /** The proxy result as JSON, in bytes: what Lambda's response payload limit counts. */
  resultBytes: number;
  scans: number;
}

describe(`handlers: list pages cut under Lambda's 6 MB and continued past DynamoDB's 1 MB (${externalEndpoint ?? "embedded engine"})`, function () {
  this.timeout(60000);
  let engine: Engine | undefined;
  let proxy: DynamoDbProxy;
  let endpoint: string;

  before(async () => {
    engine = externalEndpoint === undefined ? await startEmbeddedEngine(undefined) : undefined;
    endpoint = externalEndpoint ?? engine?.endpoint ?? "";
    proxy = await startDynamoDbProxy(endpoint);
  });

  after(async () => {
    await proxy?.close();
    await engine?.close();
  });

  /** Fresh tables holding `count` items whose one attribute is `blob`. */
  async function tableOf(count: number, blob: string): Promise<{ deps: Dependencies; ids: string[] }> {
    const suffix = randomUUID().slice(0, 8);
    const tables = { items: `pages-${suffix}-items`, idempotency: `pages-${suffix}-idempotency` };
    await ensureApiTables(endpoint, tables);
    const deps = testDependencies(proxy.endpoint, tables);
    const ids: string[] = [];
    const now = new Date().toISOString();
    for (let index = 0; index < count; index++) {
      const id = randomUUID();
      await deps.doc.send(
        new PutCommand({
          TableName: tables.items,
          Item: {
            owner: ANONYMOUS_OWNER,
            id,
            name: `big ${index}`,
            description: "",
            attrs: { blob },
            version: 1,
            createdAt: now,
            updatedAt: now,
          },
        }),
      );
      ids.push(id);
    }
    return { deps, ids };
  }

  async function page(deps: Dependencies, limit: number, cursor?: string): Promise<Page> {
    const sentBefore = proxy.forwarded.length;
    const query = { limit: String(limit), ...(cursor === undefined ? {} : { cursor }) };
    const result = await createHandler(
      "listItems",
      listItems,
      deps,
    )(proxyEvent({ method: "GET", path: "/items", resource: "/items", query }), lambdaContext());
    expect(result.statusCode, result.body.slice(0, 200)).to.equal(200);
    const body = JSON.parse(result.body) as { items: { id: string }[]; nextCursor?: string };
    return {
      ids: body.items.map((item) => item.id),
      nextCursor: body.nextCursor,
      resultBytes: Buffer.byteLength(JSON.stringify(result)),
      scans: proxy.forwarded.slice(sentBefore).filter((request) => request.operation === "Query").length,
    };
  }

  async function walk(deps: Dependencies, limit: number): Promise<Page[]> {
    const pages = [await page(deps, limit)];
    for (let last = pages[0]; last?.nextCursor !== undefined; last = pages[pages.length - 1]) {
      pages.push(await page(deps, limit, last.nextCursor));
      expect(pages.length, "pages").to.be.below(20);
    }
    return pages;
  }

  it("cuts a page whose items escape to more than 6 MB of JSON, and the walk returns every item once", async () => {
    // 350,000 control characters: 350 KB in DynamoDB, 2.1 MB as JSON, 2.45 MB inside the proxy
    // result's JSON string (each \u0001 escaped twice). Two fit in 6 MB, three do not.
    const { deps, ids } = await tableOf(5, "\u0001".repeat(350000));
    const pages = await walk(deps, 100);
    expect(pages.map((each) => each.ids.length)).to.deep.equal([2, 2, 1]);
    for (const each of pages) {
      expect(each.resultBytes).to.be.at.most(LAMBDA_SYNC_PAYLOAD_BYTES);
      expect(each.resultBytes).to.be.above(2 * 1000 * 1000);
      // Each call returns at least one item, and the page asks for at most one beyond it.
      expect(each.scans)
        .to.be.at.least(1)
        .and.at.most(each.ids.length + 1);
    }
    expect(pages.flatMap((each) => each.ids).sort()).to.deep.equal([...ids].sort());
    expect(pages.map((each) => each.nextCursor === undefined)).to.deep.equal([false, false, true]);
  });

  it("continues a Query that the 1 MB limit cut: four items of 380 KB are one page, without a cursor", async () => {
    // 1.5 MB in all: every engine cuts a call at 1 MB somewhere (dynalite before the item that
    // would pass it, DynamoDB Local after it), so the page takes at least two calls.
    const { deps, ids } = await tableOf(4, "a".repeat(380000));
    for (const limit of [20, 4]) {
      const only = await page(deps, limit);
      expect(only.ids.sort(), `limit ${limit}`).to.deep.equal([...ids].sort());
      expect(only.nextCursor, `limit ${limit}`).to.equal(undefined);
      // At least one more call, never more than one per item and one beyond.
      expect(only.scans, `limit ${limit}`).to.be.within(2, 5);
    }
    const three = await walk(deps, 3);
    expect(three.map((each) => each.ids.length)).to.deep.equal([3, 1]);
    expect(three.flatMap((each) => each.ids).sort()).to.deep.equal([...ids].sort());
  });

  it("still makes one Scan for a page of small items", async () => {
    const { deps } = await tableOf(5, "small");
    const first = await page(deps, 2);
    expect([first.ids.length, first.scans, first.nextCursor === undefined]).to.deep.equal([2, 1, false]);
    const all = await page(deps, 5);
    expect([all.ids.length, all.scans, all.nextCursor]).to.deep.equal([5, 1, undefined]);
  });
});
