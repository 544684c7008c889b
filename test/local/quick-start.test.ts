/**
 * The README's quick start, run as written: its shell commands one by one, with bash and curl,
 * against `npm start` (local/main.ts), filling in its two placeholders from the answer before
 * them as a reader would. Then once more on the same data folder after a restart, as a reader
 * who follows it twice: the keyed creates replay the first run's answer, and the listing holds
 * what both runs kept. And what the README warns of: a replay answers the first 201 even after
 * that item was deleted.
 */
import { execFile } from "child_process";
import { mkdtempSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { promisify } from "util";
import { expect } from "chai";
import { openApiJson } from "../../local/export-openapi";
import { startLocalApi } from "../../local/server";
import { readStackSettings } from "../../local/stack-settings";
import { client } from "../support/http-client";
import { apiUserHeaders } from "../support/users";
import { PROJECT_ROOT, startApiProcess } from "../support/process";
import { Created, createdFields, createdItems, expectedPages, writtenEspresso } from "../support/quick-start-items";

/** What curl printed: the status line and headers only with `-i`. */
interface Printed {
  status: number | null;
  etag: string | null;
  location: string | null;
  body: unknown;
}

/** The quick start's shell block: one entry per command, continuation lines joined. */
function quickStartCommands(readme: string): string[] {
  const start = readme.indexOf("\n## Quick start\n");
  const section = readme.slice(start, readme.indexOf("\n## ", start + 1));
  const block = /```sh\n(API=[\s\S]*?)```/.exec(section)?.[1];
  expect(block, "the quick start has a sh block starting with API=").to.be.a("string");
  return (block ?? "")
    .replace(/\\\n\s*/g, "")
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.startsWith("#"));
}

/** The README's placeholders and where a reader finds their values: in the answer just before. */
const PLACEHOLDERS: Record<string, (previous: Printed) => unknown> = {
  "<the id from this create>": (previous) => (previous.body as { id?: unknown }).id,
  "<nextCursor from the previous page>": (previous) => (previous.body as { nextCursor?: unknown }).nextCursor,
};

function fillIn(text: string, previous: Printed | undefined): string {
  return text.replace(/<[^>]+>/g, (placeholder) => {
    const find = PLACEHOLDERS[placeholder];
    const value = previous === undefined || find === undefined ? undefined : find(previous);
    if (typeof value !== "string") {
      throw new Error(`no value for ${placeholder} in the answer before it`);
    }
    return value;
  });
}

function parsePrinted(stdout: string, withHeaders: boolean): Printed {
  let status: number | null = null;
  let headers = new Headers();
  let body = stdout;
  if (withHeaders) {
    const end = stdout.indexOf("\r\n\r\n");
    const [statusLine = "", ...lines] = stdout.slice(0, end).split("\r\n");
    status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(statusLine)?.[1]);
    headers = new Headers(
      lines.map((line): [string, string] => [line.split(":")[0] ?? "", line.slice(line.indexOf(":") + 1).trim()]),
    );
    body = stdout.slice(end + 4);
  }
  return {
    status,
    etag: headers.get("ETag"),
    location: headers.get("Location"),
    body: body === "" ? undefined : JSON.parse(body),
  };
}

/**
 * Runs the commands in a shell as a reader would, against `url` (a runtime on `dataDir`); what
 * each curl printed.
 */
async function followQuickStart(commands: string[], url: string, dataDir: string): Promise<Printed[]> {
  // The reader's own shell environment (in the project folder, as `npm start`'s), plus the
  // variables the commands set.
  const env: Record<string, string | undefined> = { ...process.env, DATA_DIR: dataDir };
  const printed: Printed[] = [];
  for (const command of commands) {
    const assignment = /^([A-Z]+)=(.*)$/.exec(command);
    if (assignment !== null) {
      const [, name = "", value = ""] = assignment;
      if (name === "API") {
        // The README's address is npm start's default; this runtime listens on a free port.
        expect(value).to.equal("http://127.0.0.1:3000");
      }
      if (value.startsWith("$(")) {
        // A command's output, e.g. TOKEN=$(npm run -s token -- --user alice): run as written.
        const { stdout } = await promisify(execFile)("bash", ["-c", `echo ${value}`], { env, cwd: PROJECT_ROOT });
        env[name] = stdout.trim();
        continue;
      }
      env[name] = name === "API" ? url.replace(/\/$/, "") : fillIn(value, printed.at(-1));
      continue;
    }
    expect(command, "every other command is one curl").to.match(/^curl (-i|-s) /);
    const { stdout } = await promisify(execFile)("bash", ["-c", fillIn(command, printed.at(-1))], { env });
    printed.push(parsePrinted(stdout, command.startsWith("curl -i ")));
  }
  return printed;
}

interface Kept {
  /** What the order-42 create answered first. */
  grinder: ReturnType<typeof createdItems>["grinder"];
  /** The items left when the run ended. */
  items: { id: string }[];
}

/** What each command of a run must print, given what the runs before it kept. */
function expectedRun(
  baseUrl: string,
  printed: Printed[],
  before: Kept | undefined,
): { expected: Printed[]; kept: Kept } {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the oracle walks the printed JSON
  const body = (index: number): any => printed[index]?.body;
  const espresso: Created = createdFields(body(0));
  const items = createdItems(espresso, createdFields(body(1)), createdFields(body(3)));
  // The keyed create replays the first run's 201; only a first run stores a Grinder.
  const grinder = before?.grinder ?? items.grinder;
  const stored = [...(before?.items ?? [grinder]), items.espresso, items.jug];
  const [firstPage, lastPage] = [body(4), body(5)];
  expect(firstPage.items, "a first page of two").to.have.length(2);
  expect(firstPage.nextCursor).to.match(/^[A-Za-z0-9_.-]+$/);
  const [firstItems, lastItems] = expectedPages([firstPage, lastPage], stored);
  const { replaced, patched } = writtenEspresso(espresso, body(8).updatedAt, body(9).updatedAt);

  const headersOf = (status: number, etag: string | null = null, location: string | null = null) => ({
    status,
    etag,
    location,
  });
  const bodyOnly = { status: null, etag: null, location: null };
  const created = (item: { id: string }) => ({ ...headersOf(201, '"1"', `${baseUrl}items/${item.id}`), body: item });
  const expected: Printed[] = [
    created(items.espresso),
    created(grinder),
    created(grinder),
    { ...bodyOnly, body: items.jug },
    { ...bodyOnly, body: { items: firstItems, nextCursor: firstPage.nextCursor } },
    { ...bodyOnly, body: { items: lastItems } },
    { ...headersOf(200, '"1"'), body: items.espresso },
    { ...headersOf(304, '"1"'), body: undefined },
    { ...headersOf(200, '"2"'), body: replaced },
    { ...headersOf(200, '"3"'), body: patched },
    { ...headersOf(204), body: undefined },
    { ...bodyOnly, body: JSON.parse(openApiJson(readStackSettings("dev"))) },
  ];
  return { expected, kept: { grinder, items: stored.filter((item) => item.id !== espresso.id) } };
}

describe("README quick start", function () {
  this.timeout(120000);

  it("answers its commands as they say, run as written against npm start, twice on the same data folder", async () => {
    const commands = quickStartCommands(readFileSync(join(PROJECT_ROOT, "README.md"), "utf8"));
    const dataDir = mkdtempSync(join(tmpdir(), "items-api-quick-start-"));
    try {
      let kept: Kept | undefined;
      for (const run of ["first", "second"]) {
        const api = await startApiProcess({ DATA_DIR: dataDir });
        try {
          const printed = await followQuickStart(commands, api.url, dataDir);
          const oracle = expectedRun(api.url, printed, kept);
          const curls = commands.filter((command) => command.startsWith("curl "));
          expect(printed).to.have.length(oracle.expected.length);
          printed.forEach((answer, index) =>
            expect(answer, `the ${run} run: ${curls[index]}`).to.deep.equal(oracle.expected[index]),
          );
          kept = oracle.kept;
        } finally {
          api.child.kill("SIGTERM");
          expect(await api.exited).to.equal(0);
        }
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("replays a keyed create's first 201 even after its item was deleted, as the README warns", async () => {
    const api = await startLocalApi({ settings: readStackSettings("dev"), stack: "dev", accessLog: () => undefined });
    try {
      const request = client(api.url, await apiUserHeaders(api));
      const create = () =>
        request("POST", "items", { json: { name: "Grinder" }, headers: { "Idempotency-Key": "order-42" } });
      const first = await create();
      expect(first.status).to.equal(201);
      expect((await request("DELETE", `items/${first.json.id}`)).status).to.equal(204);
      const replayed = await create();
      expect([replayed.status, replayed.text, replayed.headers.get("Location")]).to.deep.equal([
        201,
        first.text,
        first.headers.get("Location"),
      ]);
      expect((await request("GET", `items/${first.json.id}`)).status).to.equal(404);
    } finally {
      await api.close();
    }
  });
});
