/**
 * The stack's AWS region, checked against the regions the installed AWS provider knows. Pure, and
 * apart from infra/config.ts so that its tests load the provider's enums alone (0.1 s), not the
 * whole provider and the Pulumi SDK (over 2 s).
 */
import { Region } from "@pulumi/aws/types/enums";
import type { RawValue } from "./settings";

/** The regions the AWS provider knows (its `aws.Region` enum). */
const KNOWN_REGIONS: readonly Region[] = Object.values(Region);

/**
 * Pure: the stack's AWS region (`aws:region`, or AWS_REGION/AWS_DEFAULT_REGION as the provider
 * reads them), required: a region is never guessed. Only regions in the provider's `aws.Region`
 * list are accepted (a region newer than the installed @pulumi/aws needs an upgrade first).
 */
export function parseRegion(raw: RawValue): Region {
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
