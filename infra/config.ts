/**
 * Stack settings: the ONE place `new pulumi.Config()` is read. The keys, their validation and
 * the settings they make are in infra/settings.ts (no Pulumi import, so the local runtime loads
 * it without the SDK); this module feeds it the stack's configuration.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { RawValue, Settings, parseCursorSecret, parseSettings } from "./settings";

export type { Settings } from "./settings";

/** The regions the AWS provider knows (its `aws.Region` enum). */
const KNOWN_REGIONS: readonly aws.Region[] = Object.values(aws.Region);

/**
 * Pure: the stack's AWS region (`aws:region`, or AWS_REGION/AWS_DEFAULT_REGION as the provider
 * reads them), required: a region is never guessed. Only regions in the provider's `aws.Region`
 * list are accepted (a region newer than the installed @pulumi/aws needs an upgrade first).
 */
export function parseRegion(raw: RawValue): aws.Region {
  if (raw === undefined || raw === "") {
    throw new Error(
      "invalid config aws:region: not set; set it with `pulumi config set aws:region <region>` (or AWS_REGION); the program does not guess a region",
    );
  }
  const region = KNOWN_REGIONS.find((known) => known === raw);
  if (region === undefined) {
    throw new Error(
      `invalid config aws:region: must be an AWS region the AWS provider knows, such as us-east-1, got ${JSON.stringify(raw)}`,
    );
  }
  return region;
}

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
