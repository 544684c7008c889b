/**
 * A failed model-based run as a human replays it: each request as a curl command (bodies that
 * are large or not UTF-8 go to files beside the report), what the API answered, and at the
 * failing step what the model expected.
 */
import { mkdirSync, writeFileSync } from "fs";
import { join } from "path";
import type { Observed, TokenKind } from "./reference";
import { targetOf } from "./requests";
import { ModelMismatch, TranscriptEntry } from "./session";

const shellQuote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

const INLINE_BODY_BYTES = 600;

/** UTF-8 text without control characters other than tab and line breaks: safe inside shell quotes. */
function isPlainUtf8(bytes: Buffer): boolean {
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return [...text].every((character) => {
      const code = character.codePointAt(0) ?? 0;
      return code >= 0x20 || character === "\t" || character === "\n" || character === "\r";
    });
  } catch {
    return false;
  }
}

/** What a report needs besides the transcript: the stack, its API key, the run's tokens. */
export interface ReportContext {
  stack: string;
  apiKey: string | undefined;
  tokens: [string, { user: string; kind: TokenKind }][];
  bodyDir: string;
}

const tokenVariable = (user: string, kind: TokenKind): string => `TOKEN_${user}_${kind.replace("-", "_")}`;

/** How to get each token again: `npm run token` makes ID tokens, expired ones too. */
function tokenPreamble(context: ReportContext): string[] {
  return context.tokens.map(([, { user, kind }]) => {
    const variable = tokenVariable(user, kind);
    const made = `npm run -s token -- --user ${user} --stack ${context.stack}`;
    switch (kind) {
      case "id":
        return `${variable}=$(${made})`;
      case "expired":
        return `${variable}=$(${made} --expires-in 0)`;
      default:
        return `# ${variable}: an ID token of ${user} with ${kind === "access" ? "token_use access" : "aud of another app client"} (local/issuer.ts token(), claims)`;
    }
  });
}

function curl(entry: Extract<TranscriptEntry, { kind: "request" }>, context: ReportContext): string {
  const { request } = entry;
  const variables = new Map(context.tokens.map(([token, { user, kind }]) => [token, `$${tokenVariable(user, kind)}`]));
  const url = new URL(targetOf(request), entry.url).toString();
  const parts = ["curl -si", request.method === "HEAD" ? "--head" : `-X ${request.method}`, shellQuote(url)];
  for (const [name, value] of request.headers) {
    const variable = variables.get(value);
    if (variable !== undefined) {
      parts.push("-H", `"${name}: ${variable}"`);
    } else {
      // curl sends `Name;` as a header with an empty value.
      parts.push("-H", shellQuote(value === "" ? `${name};` : `${name}: ${value}`));
    }
  }
  if (request.body !== undefined) {
    if (request.body.length <= INLINE_BODY_BYTES && isPlainUtf8(request.body)) {
      parts.push("--data-binary", shellQuote(request.body.toString("utf8")));
    } else {
      mkdirSync(context.bodyDir, { recursive: true });
      const file = join(context.bodyDir, `step-${entry.step}.body`);
      writeFileSync(file, request.body);
      parts.push("--data-binary", shellQuote(`@${file}`), `# ${request.body.length} bytes`);
    }
  }
  return parts.join(" ");
}

function answer(observed: Observed | undefined, cut: boolean | undefined): string {
  if (cut === true) {
    return "    -> cut by kill -9 (no answer)";
  }
  if (observed === undefined) {
    return "    -> (no answer)";
  }
  const headers = ["etag", "location", "allow", "retry-after", "x-request-id", "x-amz-apigw-id"]
    .map((name) => [name, observed.headers.get(name)])
    .filter(([, value]) => value !== null)
    .map(([name, value]) => `${name}: ${value}`)
    .join("; ");
  const body =
    observed.text.length > 400
      ? `${observed.text.slice(0, 400)}... (${observed.text.length} characters)`
      : observed.text;
  return `    -> ${observed.status}${headers === "" ? "" : ` (${headers})`}${body === "" ? "" : ` ${body}`}`;
}

/**
 * The transcript of the failing run as replayable requests, the failing step marked; first how
 * to start a runtime like the run's (`npm start` on a fresh folder, the run's API key) and get
 * its tokens.
 */
export function renderFailure(transcript: TranscriptEntry[], error: unknown, context: ReportContext): string {
  const failingStep = error instanceof ModelMismatch ? error.step : undefined;
  const lines: string[] = [
    `# export DATA_DIR=$(mktemp -d); ${context.apiKey === undefined ? "" : `API_KEY=${context.apiKey} `}npm start -- --stack ${context.stack} &  # then use its apiUrl in the curls`,
    ...tokenPreamble(context),
  ];
  for (const entry of transcript) {
    if (entry.kind === "command") {
      lines.push(`# ${entry.text.length > 300 ? `${entry.text.slice(0, 300)}...` : entry.text}`);
    } else if (entry.kind === "event") {
      lines.push(`# ${entry.text}`);
    } else {
      lines.push(
        `${entry.step === failingStep ? ">>> " : ""}${curl(entry, context)}`,
        answer(entry.observed, entry.cut),
      );
    }
  }
  lines.push("", error instanceof Error ? error.message : String(error));
  return lines.join("\n");
}
