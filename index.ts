/**
 * Composition root: settings -> tables -> functions -> API -> alarms, and the stack outputs.
 * Every decision lives in infra/; this file only wires.
 */
import * as pulumi from "@pulumi/pulumi";
import { Alarms } from "./infra/alarms";
import { ItemsRestApi } from "./infra/api";
import { loadConfig, loadCursorSecret, loadRegion } from "./infra/config";
import { handlerEnvironment } from "./handlers/env";
import { RouteFunction, deriveCursorSecret } from "./infra/functions";
import { buildOpenApiDocument, documentOptionsOf } from "./infra/openapi";
import { routes } from "./infra/routes";
import { UserPoolSignIn } from "./infra/sign-in";
import { DataTables } from "./infra/tables";

// All configuration is read and validated before the first resource exists.
const settings = loadConfig();
const region = loadRegion();
const configuredCursorSecret = loadCursorSecret();
const project = pulumi.getProject();
const stack = pulumi.getStack();
const prefix = `${project}-${stack}`;

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

const functionNameOutputs = Object.fromEntries(
  Object.entries(functions).map(([operationId, fn]) => [operationId, fn.function.name]),
);

new Alarms(prefix, {
  functions: Object.fromEntries(Object.entries(functions).map(([operationId, fn]) => [operationId, fn.function])),
  restApi: api.restApi,
  stageName: api.stage.stageName,
  tables: data.tables,
  routes,
  alarmEmail: settings.alarmEmail,
  region,
});

export const apiUrl = api.url;
export const tableName = data.tables.items.name;
export const idempotencyTableName = data.tables.idempotency.name;
export const functionNames = functionNameOutputs;
/** The public document, exactly what the local runtime serves at /openapi.json for these settings. */
export const openApiDocument = document;
export const apiKey = api.apiKey === undefined ? undefined : pulumi.secret(api.apiKey.value);
/** With sign-in: where the app signs users in, and the app client to sign them in with. */
export const userPoolId = signIn?.userPoolId;
export const userPoolClientId = signIn?.client.id;
