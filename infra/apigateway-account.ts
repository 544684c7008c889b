/**
 * API Gateway's account-level CloudWatch role, one setting per account and region, which stage
 * access logs and execution logs need: without it AWS refuses the stage's logging settings with
 * "CloudWatch Logs role ARN must be set in account settings to enable logging" (API Gateway
 * Developer Guide, "Set up CloudWatch logging for REST APIs",
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html). A stack
 * either manages it (`manageApiGatewayAccount: true`, the default: infra/api.ts creates the role
 * and the setting and keeps both on destroy) or relies on one that exists, which this module
 * checks before the program creates anything.
 *
 * What can be checked, and where: @pulumi/aws 7 has no data source (invoke) for the account
 * settings, but the `aws.apigateway.Account` resource can be read (`Account.get`, a read the
 * engine performs in `pulumi preview` as in `pulumi up`), and `aws.iam.getRole` is an invoke. The
 * program awaits both before its first resource, so a stack that relies on a missing role stops
 * at preview, or at the start of an update that skips the preview (the Automation API's `up`, as
 * pulumi/actions runs it), never halfway. Not checkable without AWS (unverified here): that the
 * provider reads an unset setting as an empty `cloudwatchRoleArn`, as terraform-provider-aws'
 * account read does (it sets what GetAccount returns), and that the role API Gateway is pointed
 * at trusts apigateway.amazonaws.com and may write logs (AWS checks that itself when the setting
 * is made).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** The id terraform-provider-aws gives the account settings (one per account and region). */
export const API_GATEWAY_ACCOUNT_ID = "api-gateway-account";

/** An Output's value, or undefined when the engine does not know it (a preview without it). */
function valueOf<T>(output: pulumi.Output<T>): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    output.apply((value) => resolve(value));
    // `isKnown` is not in the SDK's typings; an Output that stays unknown never runs `apply`.
    (output as unknown as { isKnown: Promise<boolean> }).isKnown.then(
      (known) => (known ? undefined : resolve(undefined)),
      reject,
    );
  });
}

/** The message for a stack that relies on a role the account and region do not have. */
export function missingRoleMessage(region: string, detail: string): string {
  return (
    `invalid config items-api:manageApiGatewayAccount: false relies on API Gateway's CloudWatch role in ${region}, but ${detail}; ` +
    `stage logging would fail ("CloudWatch Logs role ARN must be set in account settings to enable logging"). ` +
    `Set items-api:manageApiGatewayAccount true (the stack then creates the role and keeps it on destroy), ` +
    `or deploy first the stack that manages it in this account and region`
  );
}

/**
 * Reads the account's API Gateway CloudWatch role in the provider's region and checks that the
 * role exists; throws `missingRoleMessage` otherwise. Returns the role's ARN, or undefined where
 * the engine cannot read it (then the stage itself is the check).
 */
export async function requireApiGatewayCloudWatchRole(name: string, region: string): Promise<string | undefined> {
  const account = aws.apigateway.Account.get(name, API_GATEWAY_ACCOUNT_ID);
  const roleArn = await valueOf(account.cloudwatchRoleArn);
  if (roleArn === undefined) {
    return undefined;
  }
  if (roleArn === "") {
    throw new Error(missingRoleMessage(region, "the account setting names no role"));
  }
  const roleName = roleArn.slice(roleArn.lastIndexOf("/") + 1);
  try {
    await aws.iam.getRole({ name: roleName });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const cause = reason === "" ? "" : ` (${reason})`;
    throw new Error(missingRoleMessage(region, `the account setting names ${roleArn}, which cannot be read${cause}`), {
      cause: error,
    });
  }
  return roleArn;
}
