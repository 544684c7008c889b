/**
 * Stack settings: the ONE place `new pulumi.Config()` is read. The keys, their validation and
 * the settings they make are in infra/settings.ts (no Pulumi import, so the local runtime loads
 * it without the SDK); this module feeds it the stack's configuration.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { parseRegion } from "./region";
import { Settings, parseCursorSecret, parseSettings } from "./settings";

export type { Settings } from "./settings";

/** The region the stack's default AWS provider deploys to, resolved as the provider resolves it. */
export function loadRegion(): aws.Region {
  return parseRegion(aws.config.region);
}

/** Reads the current stack's configuration. */
export function loadConfig(): Settings {
  const config = new pulumi.Config();
  return parseSettings((key) => config.get(key));
}

/** The stack's `cursorSecret` as a secret Output, or undefined when it is not set. */
export function loadCursorSecret(): pulumi.Output<string> | undefined {
  const config = new pulumi.Config();
  // Read as plain text only to validate it; it leaves here wrapped as a secret.
  const value = parseCursorSecret(config.get("cursorSecret"));
  return value === undefined ? undefined : pulumi.secret(value);
}
