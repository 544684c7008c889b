/**
 * Alarms to one SNS topic (with an optional e-mail subscription): Lambda errors and throttles
 * per function, API 5XX rate and p99 latency on the stage, DynamoDB throttles and system errors
 * per table, summed over exactly the operations the route table performs on that table; and a
 * CloudWatch dashboard of the same metrics.
 *
 * Plain `aws.cloudwatch` resources, not @pulumi/awsx: awsx 3 has no CloudWatch metric helpers
 * (the classic awsx `cloudwatch` module is gone), so it earns no place here.
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
/** Share of requests answered 5XX over 5 minutes that alarms (5XXError's Average is that rate). */
export const API_5XX_RATE_THRESHOLD = 0.05;

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
  readonly dashboard: aws.cloudwatch.Dashboard;

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
      alarmDescription: `API: more than ${API_5XX_RATE_THRESHOLD * 100}% of requests answered 5XX in 5 minutes`,
      namespace: "AWS/ApiGateway",
      metricName: "5XXError",
      dimensions: apiDimensions,
      statistic: "Average",
      period: 300,
      evaluationPeriods: 1,
      threshold: API_5XX_RATE_THRESHOLD,
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
    this.dashboard = new aws.cloudwatch.Dashboard(
      `${name}-dashboard`,
      { dashboardName: name, dashboardBody: pulumi.jsonStringify({ widgets: dashboardWidgets(args) }) },
      { parent: this },
    );
    this.registerOutputs({ topicArn: this.topic.arn, dashboardName: this.dashboard.dashboardName });
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

type Metric = pulumi.Input<string | { stat?: string; label?: string }>[];

function graph(title: string, metrics: Metric[], region: string, stat = "Sum"): Record<string, unknown> {
  return {
    type: "metric",
    width: 12,
    height: 6,
    properties: { title, metrics, region, stat, period: 300, view: "timeSeries" },
  };
}

/** The alarms' metrics as graphs: per function, the stage, and each table's operations. */
export function dashboardWidgets(args: AlarmsArgs): Record<string, unknown>[] {
  // The stack's region (aws:region); widgets must name it.
  const region = aws.config.region ?? "us-east-1";
  const functions = Object.entries(args.functionNames);
  const api = ["ApiName", args.apiName, "Stage", args.stageName];
  const lambdaGraph = (metricName: string) =>
    graph(
      `Lambda ${metricName}`,
      functions.map(([operationId, functionName]) => [
        "AWS/Lambda",
        metricName,
        "FunctionName",
        functionName,
        { label: operationId },
      ]),
      region,
    );
  const tableGraphs = (Object.entries(args.tableNames) as [TableName, pulumi.Input<string>][]).map(
    ([table, tableName]) =>
      graph(
        `DynamoDB ${table}: throttled requests and system errors`,
        tableOperations(args.routes, table).flatMap((operation) =>
          ["ThrottledRequests", "SystemErrors"].map((metricName) => [
            "AWS/DynamoDB",
            metricName,
            "TableName",
            tableName,
            "Operation",
            operation,
            { label: `${metricName} ${operation}` },
          ]),
        ),
        region,
      ),
  );
  return [
    lambdaGraph("Errors"),
    lambdaGraph("Throttles"),
    graph(
      "API 5XX rate",
      [["AWS/ApiGateway", "5XXError", ...api, { stat: "Average", label: "5XX rate" }]],
      region,
      "Average",
    ),
    graph(
      "API latency",
      [
        ["AWS/ApiGateway", "Latency", ...api, { stat: "p99", label: "p99" }],
        ["AWS/ApiGateway", "Latency", ...api, { stat: "p50", label: "p50" }],
        ["AWS/ApiGateway", "IntegrationLatency", ...api, { stat: "p99", label: "integration p99" }],
      ],
      region,
      "p99",
    ),
    ...tableGraphs,
  ];
}
