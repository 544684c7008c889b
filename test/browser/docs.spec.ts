/**
 * The API reference page (`/docs`) in a real browser: Debian's Chromium (`apt-get install
 * chromium`) driven by playwright-core, against the local runtime started in this process (dev
 * stack, in memory). Everything expected comes from the route table and the OpenAPI document,
 * so a new route is checked without touching this file. `npm run test:browser`; the last page
 * state is saved to test/browser/out/docs.png.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { expect } from "chai";
import { BrowserContext, Locator, Page, chromium } from "playwright-core";
import { ERROR_STATUS } from "../../handlers/errors";
import { OpenApiDocument, buildOpenApiDocument, documentOptionsOf, parametersOf } from "../../infra/openapi";
import { Route, methodsOf, routes } from "../../infra/routes";
import { LocalApi, startLocalApi } from "../../local/server";
import { readStackSettings } from "../../local/stack-settings";
import { client } from "../support/http-client";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SCREENSHOT = join(__dirname, "out", "docs.png");
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const settings = readStackSettings("dev");
const document: OpenApiDocument = buildOpenApiDocument(documentOptionsOf(settings));

interface Operation {
  tags: string[];
  responses: Record<string, unknown>;
}

function operationOf(route: Route): Operation {
  const operation = document.paths[route.path]?.[route.method.toLowerCase()] as Operation | undefined;
  if (operation === undefined) {
    throw new Error(`the OpenAPI document has no ${route.method} ${route.path}`);
  }
  return operation;
}

function routeNamed(operationId: string): Route {
  const route = routes.find((candidate) => candidate.operationId === operationId);
  if (route === undefined) {
    throw new Error(`no route ${operationId}`);
  }
  return route;
}

describe("API reference page (/docs) in Chromium", function () {
  this.timeout(60000);

  let api: LocalApi;
  let userDataDir: string;
  let context: BrowserContext;
  let page: Page;
  /** Every URL the page requested, and every error it reported. */
  let requested: string[];
  let problems: string[];

  /** Swagger UI's block for a route: `operations-<tag>-<operationId>`. */
  function block(route: Route): Locator {
    return page.locator(`#operations-${operationOf(route).tags[0]}-${route.operationId}`);
  }

  async function expand(route: Route): Promise<Locator> {
    const opblock = block(route);
    await opblock.locator(".opblock-summary-control").click();
    await opblock.locator(".opblock-body").waitFor();
    return opblock;
  }

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
    }
    api = await startLocalApi({ settings, stack: "dev", accessLog: () => undefined });
    userDataDir = mkdtempSync(join(tmpdir(), "items-api-chromium-"));
    // A persistent context is how Playwright takes an explicit, fresh --user-data-dir.
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 },
    });
  });

  after(async () => {
    await context?.close();
    await api?.close();
    if (userDataDir !== undefined) {
      rmSync(userDataDir, { recursive: true, force: true });
    }
  });

  beforeEach(async () => {
    requested = [];
    problems = [];
    page = await context.newPage();
    page.on("request", (request) => requested.push(request.url()));
    page.on("requestfailed", (request) => problems.push(`failed: ${request.url()} ${request.failure()?.errorText}`));
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error") {
        problems.push(`console: ${message.text()}`);
      }
    });
    await page.goto(`${api.url}docs`);
    await page.locator(".opblock").first().waitFor();
  });

  afterEach(async () => {
    await page.close();
  });

  it("loads the page and every asset from the local runtime, without errors", async () => {
    expect(await page.title()).to.equal("Items API reference");
    const title = await page.locator(".information-container .title").innerText();
    expect(title).to.contain(String(document.info.title));
    expect(requested).to.include(`${api.url}openapi.json`);
    expect(requested.filter((url) => !url.startsWith(api.url) && !url.startsWith("data:"))).to.deep.equal([]);
    expect(problems).to.deep.equal([]);
  });

  it("lists every operation of the route table with its method, path and summary", async () => {
    // Every route, and HEAD beside each GET (the same function; RFC 9110 §9.1).
    expect(await page.locator(".opblock").count()).to.equal(routes.flatMap(methodsOf).length);
    expect(await page.locator(".opblock-head").count()).to.equal(
      routes.filter((route) => route.method === "GET").length,
    );
    for (const route of routes) {
      const summary = block(route).locator(".opblock-summary");
      expect(await summary.locator(".opblock-summary-method").innerText(), route.operationId).to.equal(route.method);
      expect(await summary.locator(".opblock-summary-path").getAttribute("data-path")).to.equal(route.path);
      expect(await summary.locator(".opblock-summary-description").innerText()).to.equal(route.summary);
    }
  });

  it("shows each operation's parameters, request body schema, and every response with its error codes", async () => {
    for (const route of routes) {
      const opblock = await expand(route);
      const where = route.operationId;
      expect(await opblock.locator(".opblock-description").innerText(), where).to.equal(route.description);

      const parameterNames = await opblock
        .locator("tr[data-param-name]")
        .evaluateAll((rows) => rows.map((row) => row.getAttribute("data-param-name")));
      expect(parameterNames, where).to.deep.equal(Object.keys(parametersOf(route)));

      if (route.requestSchema !== undefined) {
        const requestBody = opblock.locator(".opblock-section-request-body");
        const contentTypes = await requestBody
          .locator("select.content-type option")
          .evaluateAll((options) => options.map((option) => option.getAttribute("value")));
        expect(contentTypes, where).to.deep.equal(route.requestSchema.contentTypes);
        await requestBody.locator('button[data-name="model"]').click();
        await requestBody.locator(".model-box .property-row").first().waitFor();
        const schemaText = await requestBody.locator(".model-box").innerText();
        expect(schemaText, where).to.contain(route.requestSchema.name);
        const properties = route.requestSchema.schema.properties as Record<string, unknown>;
        for (const property of Object.keys(properties)) {
          expect(schemaText, `${where} ${property}`).to.contain(property);
        }
      } else {
        expect(await opblock.locator(".opblock-section-request-body").count(), where).to.equal(0);
      }

      const documented = opblock.locator("table.responses-table").first();
      const statuses = await documented
        .locator("tr.response[data-code]")
        .evaluateAll((rows) => rows.map((row) => row.getAttribute("data-code")));
      expect(statuses, where).to.deep.equal(Object.keys(operationOf(route).responses));
      expect(statuses, where).to.include(String(route.success.status));
      for (const code of route.errors) {
        const row = documented.locator(`tr.response[data-code="${ERROR_STATUS[code]}"]`);
        expect(await row.innerText(), `${where} ${code}`).to.contain(code);
      }
      await opblock.locator(".opblock-summary-control").click();
    }
  });

  it("lists every schema of the document with its properties", async () => {
    const models = page.locator("section.models");
    for (const name of Object.keys(document.components.schemas ?? {})) {
      const model = models.locator(`.model-container[data-name="${name}"]`);
      await model.locator(".model-box-control").first().click();
      const schema = document.components.schemas?.[name] as { properties?: Record<string, unknown> };
      if (schema.properties !== undefined) {
        // Swagger UI resolves a model when it is first expanded, then renders its property rows.
        await model.locator(".property-row").first().waitFor();
      }
      const text = await model.innerText();
      for (const property of Object.keys(schema.properties ?? {})) {
        expect(text, `${name}.${property}`).to.contain(property);
      }
    }
  });

  it('"Authorize" takes a user\'s ID token; "Try it out" on listItems and createItem then calls the running API as that user', async () => {
    const token = (await api.issuer?.token("alice")) ?? "";
    expect(token, "dev signs users in").not.to.equal("");
    const http = client(api.url, { Authorization: token });
    // Swagger UI's Authorize dialog: one field per security scheme, user_pool's being the token.
    await page.locator(".auth-wrapper .authorize").click();
    const scheme = page.locator(".auth-container").filter({ hasText: "user_pool" });
    await scheme.locator("input").fill(token);
    await scheme.locator("button.authorize").click();
    await page.locator(".auth-btn-wrapper .btn-done").click();
    const existing = await http("POST", "items", { json: { name: "made over HTTP" } });
    expect(existing.status).to.equal(201);

    const list = await expand(routeNamed("listItems"));
    await list.locator(".try-out__btn").click();
    await list.locator('tr[data-param-name="limit"] input').fill("100");
    const [listed] = await Promise.all([
      page.waitForResponse((response) => response.request().method() === "GET" && /\/items\?/.test(response.url())),
      list.locator("button.execute").click(),
    ]);
    expect(listed.url()).to.equal(`${api.url}items?limit=100`);
    expect(listed.request().headers().authorization).to.equal(token);
    expect(listed.status()).to.equal(200);
    const page1 = (await listed.json()) as { items: { id: string }[] };
    expect(page1.items.map((item) => item.id)).to.include(existing.json.id);
    const listStatus = list.locator(".live-responses-table tr.response .response-col_status");
    expect((await listStatus.innerText()).trim()).to.equal("200");
    expect(await list.locator(".live-responses-table").innerText()).to.contain(existing.json.id);
    await list.locator(".opblock-summary-control").click();

    const create = await expand(routeNamed("createItem"));
    await create.locator(".try-out__btn").click();
    const idempotencyKey = `docs-${Date.now()}`;
    await create.locator('tr[data-param-name="Idempotency-Key"] input').fill(idempotencyKey);
    const body = { name: "Made in the browser", description: "via Try it out", color: "teal" };
    await create.locator("textarea.body-param__text").fill(JSON.stringify(body, null, 2));
    const [created] = await Promise.all([
      page.waitForResponse((response) => response.request().method() === "POST" && response.url().endsWith("/items")),
      create.locator("button.execute").click(),
    ]);
    expect(created.url()).to.equal(`${api.url}items`);
    expect(created.status()).to.equal(201);
    expect(created.request().headers()["idempotency-key"]).to.equal(idempotencyKey);
    const item = (await created.json()) as Record<string, unknown>;
    expect(item).to.include({ ...body, version: 1 });

    const live = create.locator(".live-responses-table");
    expect((await live.locator("tr.response .response-col_status").innerText()).trim()).to.equal("201");
    const shown = await live.innerText();
    expect(shown).to.contain(String(item.id));
    expect(shown).to.match(/location: http:\/\/127\.0\.0\.1:\d+\/items\//);

    const fetched = await http("GET", `items/${String(item.id)}`);
    expect(fetched.status).to.equal(200);
    expect(fetched.json).to.deep.equal(item);
    // The Idempotency-Key went through: the same request again returns the same item.
    const replay = await http("POST", "items", {
      raw: created.request().postData() ?? "",
      contentType: "application/json",
      headers: { "Idempotency-Key": idempotencyKey },
    });
    expect([replay.status, replay.json.id]).to.deep.equal([201, item.id]);
    expect(problems).to.deep.equal([]);

    await live.scrollIntoViewIfNeeded();
    mkdirSync(join(__dirname, "out"), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });
});
