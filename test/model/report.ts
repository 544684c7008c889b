/**
 * A failed model-based run as a human replays it: each request as a curl command (bodies that
 * are large or not UTF-8 go to files beside the report), what the API answered, and at the
 * failing step what the model expected.
 */
import { mkdirSync, writeFileSync } from "fs";
import { join } from "path";
import type { Observed } from "./reference";
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

function curl(entry: Extract<TranscriptEntry, { kind: "request" }>, bodyDir: string): string {
  const { request } = entry;
  const url = new URL(targetOf(request), entry.url).toString();
  const parts = ["curl -si", request.method === "HEAD" ? "--head" : `-X ${request.method}`, shellQuote(url)];
  for (const [name, value] of request.headers) {
    // curl sends `Name;` as a header with an empty value.
    parts.push("-H", shellQuote(value === "" ? `${name};` : `${name}: ${value}`));
  }
  if (request.body !== undefined) {
    if (request.body.length <= INLINE_BODY_BYTES && isPlainUtf8(request.body)) {
      parts.push("--data-binary", shellQuote(request.body.toString("utf8")));
    } else {
      mkdirSync(bodyDir, { recursive: true });
      const file = join(bodyDir, `step-${entry.step}.body`);
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

/** The transcript of the failing run as replayable requests, the failing step marked. */
export function renderFailure(transcript: TranscriptEntry[], error: unknown, bodyDir: string): string {
  const failingStep = error instanceof ModelMismatch ? error.step : undefined;
  const lines: string[] = [];
  for (const entry of transcript) {
    if (entry.kind === "command") {
      lines.push(`# ${entry.text.length > 300 ? `${entry.text.slice(0, 300)}...` : entry.text}`);
    } else if (entry.kind === "event") {
      lines.push(`# ${entry.text}`);
    } else {
      lines.push(
        `${entry.step === failingStep ? ">>> " : ""}${curl(entry, bodyDir)}`,
        answer(entry.observed, entry.cut),
      );
    }
  }
  lines.push("", error instanceof Error ? error.message : String(error));
  return lines.join("\n");
}
