/**
 * `npm run openapi [-- --stack NAME] [-- --out PATH]`: writes the public OpenAPI document of a
 * stack (default dev, or STACK) to `openapi.json` at the project root. The bytes are exactly what
 * the local runtime serves at `/openapi.json` for that stack, and the document is the one the
 * stack exports as `openApiDocument` (API Gateway's extensions are added only at deploy time).
 */
import { writeFileSync } from "fs";
import { resolve } from "path";
import { documentJson } from "../infra/apigateway-openapi";
import { Settings } from "../infra/config";
import { buildOpenApiDocument, documentOptionsOf } from "../infra/openapi";
import { PROJECT_ROOT, readStackSettings } from "./stack-settings";

/** The stack's document as `GET /openapi.json` serves it (documentJson, infra/apigateway-openapi.ts). */
export function openApiJson(settings: Settings): string {
  return documentJson(buildOpenApiDocument(documentOptionsOf(settings)));
}

/** The value of `--name VALUE` or `--name=VALUE`; undefined when the option is absent. */
export function optionValue(argv: readonly string[], name: string): string | undefined {
  const index = argv.findIndex((arg) => arg === name || arg.startsWith(`${name}=`));
  if (index === -1) {
    return undefined;
  }
  const arg = argv[index] ?? "";
  const value = arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : argv[index + 1];
  if (value === undefined || value === "" || value.startsWith("--")) {
    throw new Error(`${name} needs a value`);
  }
  return value;
}

export interface ExportResult {
  stack: string;
  path: string;
  bytes: number;
}

export function exportOpenApi(argv: readonly string[]): ExportResult {
  const stack = optionValue(argv, "--stack") ?? process.env.STACK ?? "dev";
  // `npm run` starts scripts in the project root, so a relative --out is relative to it.
  const path = resolve(optionValue(argv, "--out") ?? resolve(PROJECT_ROOT, "openapi.json"));
  const json = openApiJson(readStackSettings(stack));
  writeFileSync(path, json);
  return { stack, path, bytes: Buffer.byteLength(json) };
}

if (require.main === module) {
  try {
    const result = exportOpenApi(process.argv.slice(2));
    process.stdout.write(`openapi: wrote ${result.path} (stack ${result.stack}, ${result.bytes} bytes)\n`);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
