/**
 * A stack's settings for the local runtime, read from `Pulumi.<stack>.yaml` through the same
 * parser the Pulumi program uses, so `npm start -- --stack prod` behaves like prod.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "fs";
import { join, resolve } from "path";
import { parse } from "yaml";
import { RawValue, Settings, parseSettings } from "../infra/settings";

export const PROJECT_NAME = "items-api";
export const PROJECT_ROOT = join(__dirname, "..");

export function readStackSettings(stack: string, root: string = PROJECT_ROOT): Settings {
  const config = readStackConfig(stack, root);
  return parseSettings((key) => config.get(key));
}

/** The project's keys a stack file sets (`items-api:` prefix dropped), as the YAML types them. */
export function readStackConfig(stack: string, root: string = PROJECT_ROOT): Map<string, RawValue> {
  if (!/^[A-Za-z0-9_.-]+$/.test(stack)) {
    throw new Error(`invalid stack name "${stack}"`);
  }
  const file = join(root, `Pulumi.${stack}.yaml`);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new Error(`no settings for stack "${stack}": Pulumi.${stack}.yaml not found`);
  }
  const parsed: unknown = parse(text);
  const config: Record<string, unknown> =
    typeof parsed === "object" &&
    parsed !== null &&
    "config" in parsed &&
    typeof parsed.config === "object" &&
    parsed.config !== null
      ? (parsed.config as Record<string, unknown>)
      : {};
  const prefix = `${PROJECT_NAME}:`;
  return new Map(
    Object.entries(config)
      .filter(([key, value]) => key.startsWith(prefix) && value !== null)
      .map(([key, value]) => [key.slice(prefix.length), value as RawValue]),
  );
}

/** The stack `--stack NAME` (or `--stack=NAME`) names; else STACK, else dev. */
export function stackArgument(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): string {
  const index = argv.findIndex((arg) => arg === "--stack" || arg.startsWith("--stack="));
  if (index === -1) {
    return env.STACK ?? "dev";
  }
  const arg = argv[index] ?? "";
  const value = arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : argv[index + 1];
  if (value === undefined || value === "") {
    throw new Error("--stack needs a stack name, e.g. --stack prod");
  }
  return value;
}

/** Where `npm start` keeps a stack's data unless DATA_DIR says otherwise: one folder per stack. */
export function localDataDir(stack: string, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.DATA_DIR ?? join(".data", stack));
}

/** The region and account local ARNs name: a region no AWS has, an account no one owns. */
export const LOCAL_REGION = "local";
export const LOCAL_ACCOUNT = "000000000000";

/**
 * The contents of `file` in `dataDir`, made by `make` the first time and read back ever after
 * (mode 0600; when two processes race, the one that wrote first wins and both read its file).
 */
export function keptInDataDir(dataDir: string, file: string, make: () => string): string {
  const path = join(dataDir, file);
  if (!existsSync(path)) {
    mkdirSync(dataDir, { recursive: true });
    try {
      writeFileSync(path, make(), { flag: "wx", mode: 0o600 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
        throw error;
      }
    }
  }
  return readFileSync(path, "utf8");
}
