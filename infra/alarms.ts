/**
 * Alarms to one SNS topic (with an optional e-mail subscription): Lambda errors and throttles
 * per function, API 5XX and p99 latency on the stage, DynamoDB throttles and system errors per
 * table, summed over exactly the operations the route table performs on that table.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Route } from "./routes";
import type { TableName } from "./tables";

export interface AlarmsArgs {
  /** Function name by operationId. */
  functionNames: Record<string, pulumi.Input<string>>;
  apiName: pulumi.Input<string>;
  stageName: pulumi.Input<string>;
  tableNames: Record<TableName, pulumi.Input<string>>;
  routes: readonly Route[];
  alarmEmail: string | undefined;
}

/** p99 latency above this, for 3 minutes running, alarms (API Gateway's cap is 29 s). */
export const LATENCY_P99_THRESHOLD_MS = 3000;
/** 5XX responses within 5 minutes that alarm. */
export const API_5XX_THRESHOLD = 5;

/** DynamoDB operations (metric `Operation` dimension) the routes perform on a table. */
export function tableOperations(routes: readonly Route[], table: TableName): string[] {
  const operations = routes.flatMap((route) =>
    route.dynamodb.filter((access) => access.table.logicalName === table).flatMap((access) => access.actions),
  );
  return [...new Set(operations.map((action) => action.replace(/^dynamodb:/, "")))].sort();
}

export class Alarms extends pulumi.ComponentResource {
  readonly topic: aws.sns.Topic;
  readonly subscription: aws.sns.TopicSubscription | undefined;
  readonly alarms: aws.cloudwatch.MetricAlarm[] = [];

  constructor(name: string, args: AlarmsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("items-api:monitoring:Alarms", name, {}, opts);
    this.topic = new aws.sns.Topic(`${name}-topic`, {}, { parent: this });
    this.subscription =
      args.alarmEmail === undefined
        ? undefined
        : new aws.sns.TopicSubscription(
            `${name}-email`,
            { topic: this.topic.arn, protocol: "email", endpoint: args.alarmEmail },
            { parent: this },
          );
    for (const [operationId, functionName] of Object.entries(args.functionNames)) {
      for (const metricName of ["Errors", "Throttles"]) {
        this.alarm(`${name}-${operationId}-${metricName.toLowerCase()}`, {
          alarmDescription: `Lambda ${operationId}: ${metricName} in the last 5 minutes`,
          namespace: "AWS/Lambda",
          metricName,
          dimensions: { FunctionName: functionName },
          statistic: "Sum",
          period: 300,
          evaluationPeriods: 1,
          threshold: 1,
          comparisonOperator: "GreaterThanOrEqualToThreshold",
        });
      }
    }
    const apiDimensions = { ApiName: args.apiName, Stage: args.stageName };
    this.alarm(`${name}-api-5xx`, {
      alarmDescription: `API: ${API_5XX_THRESHOLD} or more 5XX responses in 5 minutes`,
      namespace: "AWS/ApiGateway",
      metricName: "5XXError",
      dimensions: apiDimensions,
      statistic: "Sum",
      period: 300,
      evaluationPeriods: 1,
      threshold: API_5XX_THRESHOLD,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
    });
    this.alarm(`${name}-api-latency-p99`, {
      alarmDescription: `API: p99 latency above ${LATENCY_P99_THRESHOLD_MS} ms for 3 minutes`,
      namespace: "AWS/ApiGateway",
      metricName: "Latency",
      dimensions: apiDimensions,
      extendedStatistic: "p99",
      period: 60,
      evaluationPeriods: 3,
      threshold: LATENCY_P99_THRESHOLD_MS,
      comparisonOperator: "GreaterThanThreshold",
    });
    for (const [table, tableName] of Object.entries(args.tableNames) as [TableName, pulumi.Input<string>][]) {
      const operations = tableOperations(args.routes, table);
      for (const metricName of ["ThrottledRequests", "SystemErrors"]) {
        // Both metrics exist per (TableName, Operation) only: sum the operations we perform.
        this.alarm(`${name}-${table}-${metricName.toLowerCase()}`, {
          alarmDescription: `DynamoDB ${table} table: ${metricName} (${operations.join(", ")}) in the last 5 minutes`,
          metricQueries: [
            ...operations.map((operation, index) => ({
              id: `m${index}`,
              returnData: false,
              metric: {
                namespace: "AWS/DynamoDB",
                metricName,
                dimensions: { TableName: tableName, Operation: operation },
                stat: "Sum",
                period: 300,
              },
            })),
            {
              id: "total",
              label: `${metricName} (${table})`,
              returnData: true,
              expression: `SUM([${operations.map((_, index) => `m${index}`).join(", ")}])`,
            },
          ],
          evaluationPeriods: 1,
          threshold: 1,
          comparisonOperator: "GreaterThanOrEqualToThreshold",
        });
      }
    }
    this.registerOutputs({ topicArn: this.topic.arn });
  }

  private alarm(name: string, args: aws.cloudwatch.MetricAlarmArgs): void {
    this.alarms.push(
      new aws.cloudwatch.MetricAlarm(
        name,
        {
          ...args,
          // No data (an idle API) is not a failure.
          treatMissingData: "notBreaching",
          alarmActions: [this.topic.arn],
          okActions: [this.topic.arn],
        },
        { parent: this },
      ),
    );
  }
}
