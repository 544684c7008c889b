/**
 * Sign-in: the Cognito user pool whose users may call (created by the stack, or an existing one
 * named in config) and this API's app client in it. The REST API's `cognito_user_pools`
 * authorizer trusts the pool (infra/apigateway-openapi.ts); the functions accept only ID tokens
 * issued to this app client (handlers/caller.ts, the app clients of its environment).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface UserPoolSignInArgs {
  /** An existing pool to take users from; undefined: the stack creates one. */
  userPoolId: string | undefined;
  /** Refuse deleting the pool it creates (its users) until turned off, like the tables. */
  deletionProtection: boolean;
}

/**
 * ID tokens live an hour (Cognito's default; 5 minutes to 24 hours): the API validates them on
 * every call, so a shorter life only means more refreshes.
 */
const ID_TOKEN_VALIDITY_MINUTES = 60;

export class UserPoolSignIn extends pulumi.ComponentResource {
  readonly userPoolId: pulumi.Output<string>;
  readonly userPoolArn: pulumi.Output<string>;
  readonly client: aws.cognito.UserPoolClient;

  constructor(name: string, args: UserPoolSignInArgs, opts?: pulumi.ComponentResourceOptions) {
    super("items-api:auth:UserPoolSignIn", name, {}, opts);
    if (args.userPoolId === undefined) {
      const pool = this.createUserPool(name, args);
      this.userPoolId = pool.id;
      this.userPoolArn = pool.arn;
    } else {
      this.userPoolId = pulumi.output(args.userPoolId);
      this.userPoolArn = aws.cognito.getUserPoolOutput({ userPoolId: args.userPoolId }, { parent: this }).arn;
    }
    this.client = this.createClient(name);
    this.registerOutputs({ userPoolId: this.userPoolId, userPoolClientId: this.client.id });
  }

  private createUserPool(name: string, args: UserPoolSignInArgs): aws.cognito.UserPool {
    return new aws.cognito.UserPool(
      `${name}-users`,
      {
        name: `${name}-users`,
        // Users sign in with their e-mail address, verified by a code Cognito sends.
        usernameAttributes: ["email"],
        autoVerifiedAttributes: ["email"],
        accountRecoverySetting: { recoveryMechanisms: [{ name: "verified_email", priority: 1 }] },
        deletionProtection: args.deletionProtection ? "ACTIVE" : "INACTIVE",
      },
      { parent: this },
    );
  }

  /**
   * A public client (no secret: browsers and phones cannot keep one): SRP sign-in and refresh
   * tokens for apps, and the admin password flow for `npm run verify`'s test users (it needs the
   * deployer's IAM credentials, cognito-idp:AdminInitiateAuth). Unknown users get the same answer
   * as wrong passwords.
   */
  private createClient(name: string): aws.cognito.UserPoolClient {
    return new aws.cognito.UserPoolClient(
      `${name}-app`,
      {
        name: `${name}-app`,
        userPoolId: this.userPoolId,
        generateSecret: false,
        explicitAuthFlows: ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH"],
        preventUserExistenceErrors: "ENABLED",
        idTokenValidity: ID_TOKEN_VALIDITY_MINUTES,
        accessTokenValidity: ID_TOKEN_VALIDITY_MINUTES,
        tokenValidityUnits: { idToken: "minutes", accessToken: "minutes", refreshToken: "days" },
      },
      { parent: this },
    );
  }
}
