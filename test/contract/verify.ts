/**
 * `npm run verify`: the contract's second driver. Runs every check of checks.ts that needs no
 * table access against a running API (a deployed stack, or `npm start`), holds every exchange
 * against the stack's document, measures client-side latency per operation, and deletes every
 * item it created, also when a check fails or the run is interrupted.
 *
 *   npm run verify -- --url <apiUrl> [--api-key KEY] [--stack NAME] [--json] [--grep TEXT] [--calls N]
 *   npm run verify -- --stack dev    # apiUrl and apiKey from `pulumi stack output`
 *
 * On a stack with sign-in it acts as two users: `--token ID_TOKEN --other-token ID_TOKEN`, or
 * `--create-users`, which creates two test users in the stack's pool (its userPoolId and
 * userPoolClientId outputs, or `--user-pool-id` and `--client-id`) and deletes them at the end
 * (test/contract/verify-users.ts says which IAM actions that takes).
 *
 * `--stack` (default dev) also names the settings the checks expect (API keys, CORS origins).
 * Exit code 0 only when every check that ran passed.
 */
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { optionValue } from "../../local/export-openapi";
import { readStackSettings } from "../../local/stack-settings";
import type { Exchange } from "../support/http-client";
import { CONTRACT_CHECKS, ContractContext, ContractUsers, contractContext } from "./checks";
import { createTestUsers, refusedTokens, usersFromTokens } from "./verify-users";
import { DocumentChecker, Mismatch } from "./document-checks";

export interface CheckResult {
  group: string;
  title: string;
  status: "passed" | "failed" | "skipped";
  durationMs: number;
  error?: string;
}

export interface LatencyFigure {
  calls: number;
  p50Ms: number;
  p95Ms: number;
}

export interface VerifyReport {
  url: string;
  stack: string;
  checks: CheckResult[];
  latency: Record<string, LatencyFigure>;
  cleanup: { deleted: number; failed: number };
  passed: number;
  failed: number;
  skipped: number;
}

export interface Target {
  url: string;
  apiKey: string | undefined;
  userPoolId?: string;
  userPoolClientId?: string;
}

const CHECK_TIMEOUT_MS = 120000;

/** apiUrl and apiKey of a deployed stack, through the Pulumi CLI. */
function stackOutputs(stack: string): Target {
  const result = spawnSync("pulumi", ["stack", "output", "--json", "--show-secrets", "--stack", stack], {
    encoding: "utf8",
  });
  if (result.error !== undefined) {
    const missing = (result.error as NodeJS.ErrnoException).code === "ENOENT";
    throw new Error(
      missing
        ? "the Pulumi CLI is not installed: pass --url <apiUrl> (and --api-key where the stack requires keys)"
        : `pulumi stack output failed: ${result.error.message}`,
    );
  }
  if (result.status !== 0) {
    throw new Error(`pulumi stack output --stack ${stack} failed: ${result.stderr.trim()}`);
  }
  const outputs = JSON.parse(result.stdout) as Record<string, unknown>;
  if (typeof outputs.apiUrl !== "string") {
    throw new Error(`stack ${stack} has no apiUrl output: has it been deployed?`);
  }
  const text = (value: unknown) => (typeof value === "string" ? value : undefined);
  return {
    url: outputs.apiUrl,
    apiKey: text(outputs.apiKey),
    userPoolId: text(outputs.userPoolId),
    userPoolClientId: text(outputs.userPoolClientId),
  };
}

/**
 * One GET of the list before any check: a target that refuses it for want of credentials gets one
 * message naming the flag, instead of every check failing on the same 403 (or 401).
 */
export async function checkAccess(target: Target, stack: string, token?: string): Promise<void> {
  const response = await fetch(`${target.url}items?limit=1`, {
    headers: {
      ...(target.apiKey === undefined ? {} : { "x-api-key": target.apiKey }),
      ...(token === undefined ? {} : { Authorization: token }),
    },
  });
  await response.arrayBuffer();
  if (response.status === 403 && target.apiKey === undefined) {
    throw new Error(
      `${target.url} answered GET items with 403 forbidden: it wants an API key. Pass it with --api-key KEY ` +
        `and name the stack whose settings it runs with --stack NAME (e.g. --url ${target.url} --stack prod --api-key ` +
        `"$(pulumi stack output apiKey --show-secrets --stack prod)"), or give --stack NAME alone to read apiUrl and apiKey ` +
        `with pulumi stack output`,
    );
  }
  if (response.status === 403) {
    throw new Error(
      `${target.url} answered GET items with 403 forbidden to the API key given (--api-key${stack === "dev" ? "" : `, stack ${stack}`}): ` +
        `check it with pulumi stack output apiKey --show-secrets --stack <stack>`,
    );
  }
  if (response.status === 401) {
    throw new Error(
      token === undefined
        ? `${target.url} answered GET items with 401: it signs users in. Name its stack (--stack NAME, whose settings say so) and pass two users' ID tokens (--token ID_TOKEN --other-token ID_TOKEN) or --create-users`
        : `${target.url} answered GET items with 401 to the token given (--token): it is expired, or not an ID token of this stack's user pool`,
    );
  }
}

function percentile(sorted: number[], fraction: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return Math.round(sorted[index] ?? 0);
}

/** Ids this run created and has not deleted yet, kept on disk so that a killed run's are found. */
function journal(url: string) {
  const dir = join(tmpdir(), "items-api-verify");
  const file = join(dir, `${createHash("sha256").update(url).digest("hex").slice(0, 16)}.ids`);
  return {
    leftovers: (): string[] => (existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean) : []),
    add: (id: string): void => {
      mkdirSync(dir, { recursive: true });
      appendFileSync(file, `${id}\n`);
    },
    clear: (): void => rmSync(file, { force: true }),
  };
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Bounded, sequential calls of every operation on items of its own, for the latency figures. */
async function sampleLatency(
  ctx: ContractContext,
  calls: number,
  record: (operationId: string) => void,
): Promise<void> {
  const ids: string[] = [];
  for (let call = 0; call < calls; call++) {
    record("createItem");
    ids.push(String((await ctx.create({ name: `latency ${call}` })).json.id));
  }
  const operations: [string, (id: string) => Promise<unknown>][] = [
    ["getItem", (id) => ctx.api("GET", `items/${id}`)],
    ["listItems", () => ctx.api("GET", "items?limit=20")],
    ["replaceItem", (id) => ctx.api("PUT", `items/${id}`, { json: { name: "replaced" } })],
    ["patchItem", (id) => ctx.api("PATCH", `items/${id}`, { json: { sampled: true } })],
    ["deleteItem", (id) => ctx.api("DELETE", `items/${id}`)],
  ];
  for (const [operationId, call] of operations) {
    for (const id of ids) {
      record(operationId);
      await call(id);
    }
  }
}

export async function verify(argv: readonly string[], out: (line: string) => void): Promise<VerifyReport> {
  const stack = optionValue(argv, "--stack") ?? "dev";
  const url = optionValue(argv, "--url");
  const grep = optionValue(argv, "--grep");
  const calls = Number(optionValue(argv, "--calls") ?? "10");
  if (!Number.isInteger(calls) || calls < 1 || calls > 1000) {
    throw new Error("--calls must be an integer from 1 to 1000");
  }
  const settings = readStackSettings(stack);
  const target: Target =
    url === undefined
      ? stackOutputs(stack)
      : { url: url.endsWith("/") ? url : `${url}/`, apiKey: optionValue(argv, "--api-key") };
  const signIn = await signedInUsers(argv, settings.signIn.mode === "cognito", stack, target);
  try {
    await checkAccess(target, stack, signIn?.users.token);
  } catch (error) {
    await signIn?.remove();
    throw error;
  }
  const documents = new DocumentChecker(settings);
  const pending = journal(target.url);
  const durations = new Map<string, number[]>();
  let sampling: string | undefined;
  const observe = (exchange: Exchange): void => {
    documents.observe(exchange);
    const id: unknown = exchange.response.json?.id;
    if (exchange.method === "POST" && exchange.response.status === 201 && typeof id === "string") {
      pending.add(id);
    }
    if (sampling !== undefined) {
      durations.set(sampling, [...(durations.get(sampling) ?? []), exchange.durationMs]);
    }
  };
  const ctx = contractContext({
    url: target.url,
    apiKey: target.apiKey,
    users: signIn?.users,
    settings,
    tables: undefined,
    observe,
  });
  let interrupted = false;
  const interrupt = () => {
    interrupted = true;
    out("verify: interrupted; deleting the items it created, then stopping");
  };
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);

  out(`verify: ${target.url} (stack ${stack}, ${target.apiKey === undefined ? "no API key" : "with an API key"})`);
  const results: CheckResult[] = [];
  const report = (result: CheckResult): void => {
    results.push(result);
    const mark = { passed: "✔", failed: "✘", skipped: "-" }[result.status];
    const detail = result.status === "failed" ? `\n      ${String(result.error).split("\n").join("\n      ")}` : "";
    const skipped = result.status === "skipped" ? " (skipped: needs the tables)" : ` (${result.durationMs} ms)`;
    out(`  ${mark} ${result.group}: ${result.title}${skipped}${detail}`);
  };
  const run = async (group: string, title: string, work: () => Promise<void>): Promise<void> => {
    const started = performance.now();
    try {
      await withTimeout(work(), CHECK_TIMEOUT_MS);
      report({ group, title, status: "passed", durationMs: Math.round(performance.now() - started) });
    } catch (error) {
      report({
        group,
        title,
        status: "failed",
        durationMs: Math.round(performance.now() - started),
        error: error instanceof Error ? error.message : String(error),
      });
    }
  };

  let cleanup: { deleted: number; failed: number };
  try {
    for (const leftover of pending.leftovers()) {
      ctx.created.add(leftover);
    }
    for (const check of CONTRACT_CHECKS) {
      if (interrupted) {
        break;
      }
      if (grep !== undefined && !`${check.group}: ${check.title}`.includes(grep)) {
        continue;
      }
      if (check.needsTables === true) {
        report({ group: check.group, title: check.title, status: "skipped", durationMs: 0 });
        continue;
      }
      if (check.needsSignIn === true && signIn === undefined) {
        continue;
      }
      await run(check.group, check.title, () => check.run(ctx));
    }
    if (!interrupted) {
      const expectNone = (found: Mismatch[]) => {
        if (found.length > 0) {
          throw new Error(found.map((entry) => `${entry.request} -> ${entry.status}: ${entry.problem}`).join("\n"));
        }
      };
      await run("the stack's document", "describes every response: status, headers and body", async () =>
        expectNone(await documents.responseMismatches()),
      );
      await run(
        "the stack's document",
        "refuses every request the server refused as invalid, or names the rule",
        async () => expectNone(await documents.unexplainedRefusals()),
      );
    }
    if (!interrupted) {
      await sampleLatency(ctx, calls, (operationId) => (sampling = operationId));
      sampling = undefined;
    }
  } finally {
    sampling = undefined;
    cleanup = await deleteCreated(ctx);
    if (cleanup.failed === 0) {
      pending.clear();
    }
    await signIn?.remove();
    process.removeListener("SIGINT", interrupt);
    process.removeListener("SIGTERM", interrupt);
  }

  const latency = Object.fromEntries(
    [...durations.entries()].map(([operationId, values]) => {
      const sorted = [...values].sort((a, b) => a - b);
      return [operationId, { calls: sorted.length, p50Ms: percentile(sorted, 0.5), p95Ms: percentile(sorted, 0.95) }];
    }),
  );
  if (Object.keys(latency).length > 0) {
    out(`latency, client side (${calls} sequential calls per operation):`);
    for (const [operationId, figure] of Object.entries(latency)) {
      out(
        `  ${operationId.padEnd(12)} p50 ${String(figure.p50Ms).padStart(5)} ms   p95 ${String(figure.p95Ms).padStart(5)} ms`,
      );
    }
  }
  const count = (status: CheckResult["status"]) => results.filter((result) => result.status === status).length;
  const summary: VerifyReport = {
    url: target.url,
    stack,
    checks: results,
    latency,
    cleanup,
    passed: count("passed"),
    failed: count("failed") + (interrupted ? 1 : 0),
    skipped: count("skipped"),
  };
  out(
    `verify: ${summary.passed} passed, ${count("failed")} failed, ${summary.skipped} skipped; ` +
      `${cleanup.deleted} items deleted${cleanup.failed > 0 ? `, ${cleanup.failed} could not be` : ""}` +
      `${interrupted ? "; interrupted" : ""}`,
  );
  return summary;
}

/**
 * The two users on a sign-in stack: tokens from the command line, or test users created for the
 * run; none elsewhere. A sign-in stack without either is an error that names the flags.
 */
async function signedInUsers(
  argv: readonly string[],
  signIn: boolean,
  stack: string,
  target: Target,
): Promise<{ users: ContractUsers; remove: () => Promise<void> } | undefined> {
  if (!signIn) {
    return undefined;
  }
  const token = optionValue(argv, "--token");
  const otherToken = optionValue(argv, "--other-token");
  if (token !== undefined && otherToken !== undefined) {
    return { users: usersFromTokens(token, otherToken, await refusedTokens(token)), remove: () => Promise.resolve() };
  }
  if (argv.includes("--create-users")) {
    const userPoolId = optionValue(argv, "--user-pool-id") ?? target.userPoolId;
    const clientId = optionValue(argv, "--client-id") ?? target.userPoolClientId;
    if (userPoolId === undefined || clientId === undefined) {
      throw new Error("--create-users needs the user pool: --user-pool-id and --client-id (or the stack's outputs)");
    }
    return createTestUsers(userPoolId, clientId);
  }
  throw new Error(
    `stack ${stack} signs users in: pass two users' ID tokens (--token ID_TOKEN --other-token ID_TOKEN), or --create-users to create two test users in its user pool`,
  );
}

/** Deletes every item the run created, as whichever user owns it (404: already gone). */
async function deleteCreated(
  ctx: ContractContext & { created: Set<string> },
): Promise<{ deleted: number; failed: number }> {
  let deleted = 0;
  let failed = 0;
  for (const id of ctx.created) {
    try {
      const own = await ctx.api("DELETE", `items/${id}`);
      const response = own.status === 404 ? await ctx.other("DELETE", `items/${id}`) : own;
      if (response.status === 204 || response.status === 404) {
        deleted += response.status === 204 ? 1 : 0;
        ctx.created.delete(id);
      } else {
        failed += 1;
      }
    } catch {
      failed += 1;
    }
  }
  return { deleted, failed };
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const json = argv.includes("--json");
  const lines: string[] = [];
  verify(argv, (line) => (json ? lines.push(line) : process.stdout.write(`${line}\n`))).then(
    (summary) => {
      if (json) {
        process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      }
      process.exit(summary.failed === 0 ? 0 : 1);
    },
    (error: unknown) => {
      process.stderr.write(`verify: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(2);
    },
  );
}
