/**
 * Composition root: settings -> tables -> functions -> API -> alarms, and the stack outputs.
 * Every decision lives in infra/; this file only wires. It is an async program (Pulumi awaits the
 * exported function and takes what it returns as the stack outputs) so that a check that needs
 * the provider (the account's API Gateway role, infra/apigateway-account.ts) ends before the
 * first resource exists.
 */
import * as pulumi from "@pulumi/pulumi";
import { Alarms } from "./infra/alarms";
import { ItemsRestApi } from "./infra/api";
import { requireApiGatewayCloudWatchRole } from "./infra/apigateway-account";
import { loadConfig, loadCursorSecret, loadRegion } from "./infra/config";
import { handlerEnvironment } from "./handlers/env";
import { RouteFunction, deriveCursorSecret } from "./infra/functions";
import { buildOpenApiDocument, documentOptionsOf } from "./infra/openapi";
import { routes } from "./infra/routes";
import { UserPoolSignIn } from "./infra/sign-in";
import { DataTables } from "./infra/tables";

export = async () => {
  // All configuration is read and validated before the first resource exists.
  const settings = loadConfig();
  const region = loadRegion();
  const configuredCursorSecret = loadCursorSecret();
  const project = pulumi.getProject();
  const stack = pulumi.getStack();
  const prefix = `${project}-${stack}`;
  if (!settings.manageApiGatewayAccount) {
    await requireApiGatewayCloudWatchRole(`${prefix}-api-gateway-account`, region);
  }

  const data = new DataTables(prefix, {
    pointInTimeRecovery: settings.pointInTimeRecovery,
    deletionProtection: settings.deletionProtection,
  });

  const signIn =
    settings.signIn.mode === "cognito"
      ? new UserPoolSignIn(prefix, {
          userPoolId: settings.signIn.userPoolId,
          deletionProtection: settings.deletionProtection,
        })
      : undefined;

  const environment = handlerEnvironment({
    tableNames: data.names,
    cursorSecret: configuredCursorSecret ?? data.tables.items.arn.apply((arn) => deriveCursorSecret(stack, arn)),
    settings,
    signIn: signIn === undefined ? undefined : { cognitoClientIds: signIn.client.id },
  });

  const functions = Object.fromEntries(
    routes.map((route) => [
      route.operationId,
      new RouteFunction(`${prefix}-${route.operationId}`, {
        route,
        functionName: `${prefix}-${route.operationId}`,
        tables: data.tables,
        environment,
        settings,
        ownerSessions: signIn !== undefined,
      }),
    ]),
  );

  const document = buildOpenApiDocument(documentOptionsOf(settings));

  const api = new ItemsRestApi(prefix, {
    apiName: prefix,
    stageName: stack,
    routes,
    functions,
    settings,
    userPoolArn: signIn?.userPoolArn,
  });

  new Alarms(prefix, {
    functions: Object.fromEntries(Object.entries(functions).map(([operationId, fn]) => [operationId, fn.function])),
    restApi: api.restApi,
    stageName: api.stage.stageName,
    tables: data.tables,
    routes,
    alarmEmail: settings.alarmEmail,
    region,
  });

  return {
    apiUrl: api.url,
    tableName: data.tables.items.name,
    idempotencyTableName: data.tables.idempotency.name,
    functionNames: Object.fromEntries(
      Object.entries(functions).map(([operationId, fn]) => [operationId, fn.function.name]),
    ),
    /** The public document, exactly what the local runtime serves at /openapi.json for these settings. */
    openApiDocument: document,
    apiKey: api.apiKey === undefined ? undefined : pulumi.secret(api.apiKey.value),
    /** With sign-in: where the app signs users in, and the app client to sign them in with. */
    userPoolId: signIn?.userPoolId,
    userPoolClientId: signIn?.client.id,
  };
};
