/**
 * Alarms to one SNS topic (with an optional e-mail subscription): Lambda errors and throttles
 * per function, API 5XX rate and p99 latency on the stage, DynamoDB throttles and system errors
 * per table, summed over exactly the operations the route table performs on that table; and a
 * CloudWatch dashboard of the same metrics.
 *
 * Every metric comes from @pulumi/awsx's classic metric helpers (`awsx.classic.lambda.metrics`,
 * `.apigateway.metrics`, `.dynamodb.metrics`; awsx's README says the classic namespace gets only
 * critical security fixes and remains until its next major version). A single-metric alarm is
 * that metric's `createAlarm`, and the dashboard is `awsx.classic.cloudwatch.Dashboard` with
 * line-graph widgets of the same metrics. Both run in this process and register plain resources
 * (`createAlarm` creates an `aws.cloudwatch.MetricAlarm`; the Dashboard class extends
 * `aws.cloudwatch.Dashboard`), so the mock tests see them. The DynamoDB alarms sum several
 * operations with metric math, which `createAlarm` cannot express (it takes one metric): they
 * are plain `aws.cloudwatch.MetricAlarm`s whose queries are built from the same awsx metrics.
 */
import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import type { DynamoDbAction, Route } from "./routes";
import type { TableName } from "./tables";

const { cloudwatch } = awsx.classic;
type Metric = awsx.classic.cloudwatch.Metric;
type DynamoDbOperation = NonNullable<awsx.classic.dynamodb.metrics.DynamodbMetricChange["operation"]>;

export interface AlarmsArgs {
  /** Functions by operationId. */
  functions: Record<string, aws.lambda.Function>;
  restApi: aws.apigateway.RestApi;
  stageName: pulumi.Input<string>;
  tables: Record<TableName, aws.dynamodb.Table>;
  routes: readonly Route[];
  alarmEmail: string | undefined;
  /** The stack's region (required, see `loadRegion`): every dashboard widget names it. */
  region: aws.Region;
}

/** p99 latency above this, for 3 minutes running, alarms (API Gateway's cap is 29 s). */
export const LATENCY_P99_THRESHOLD_MS = 3000;
/** Share of requests answered 5XX over 5 minutes that alarms (5XXError's Average is that rate). */
export const API_5XX_RATE_THRESHOLD = 0.05;
/** Period of every metric here but the p99 latency alarm's (60 s, three in a row). */
const PERIOD_SECONDS = 300;

/**
 * What every metric here shares: the period, and no unit. The awsx helpers name one (Count,
 * Milliseconds); an alarm that names a unit ignores data points published in any other, and with
 * missing data treated as not breaching such an alarm would stay silent. Without a unit the alarm
 * reads the metric as it is published, as the alarms did before awsx built them.
 */
const COMMON = { period: PERIOD_SECONDS, unit: undefined };

/** The DynamoDB `Operation` dimension of each action a route may perform. */
const OPERATIONS: Record<DynamoDbAction, DynamoDbOperation> = {
  "dynamodb:GetItem": "GetItem",
  "dynamodb:PutItem": "PutItem",
  "dynamodb:UpdateItem": "UpdateItem",
  "dynamodb:DeleteItem": "DeleteItem",
  "dynamodb:Query": "Query",
};

/** DynamoDB operations (metric `Operation` dimension) the routes perform on a table. */
export function tableOperations(routes: readonly Route[], table: TableName): DynamoDbOperation[] {
  const operations = routes.flatMap((route) =>
    route.dynamodb.filter((access) => access.table.logicalName === table).flatMap((access) => access.actions),
  );
  return [...new Set(operations.map((action) => OPERATIONS[action]))].sort();
}

/** The metrics the alarms watch and the dashboard graphs. */
interface StackMetrics {
  lambda: { operationId: string; errors: Metric; throttles: Metric }[];
  api5xxRate: Metric;
  apiLatencyP99: Metric;
  apiLatencyP50: Metric;
  apiIntegrationLatencyP99: Metric;
  tables: {
    table: TableName;
    operations: { operation: DynamoDbOperation; throttledRequests: Metric; systemErrors: Metric }[];
  }[];
}

function stackMetrics(args: AlarmsArgs): StackMetrics {
  const { lambda, apigateway, dynamodb } = awsx.classic;
  const stage = { Stage: args.stageName };
  return {
    lambda: Object.entries(args.functions).map(([operationId, fn]) => ({
      operationId,
      errors: lambda.metrics.errors({ ...COMMON, function: fn, statistic: "Sum", label: operationId }),
      throttles: lambda.metrics.throttles({ ...COMMON, function: fn, statistic: "Sum", label: operationId }),
    })),
    api5xxRate: apigateway.metrics
      .error5XX({ ...COMMON, restApi: args.restApi, statistic: "Average", label: "5XX rate" })
      .withDimensions(stage),
    apiLatencyP99: apigateway.metrics
      .latency({ ...COMMON, restApi: args.restApi, extendedStatistic: 99, label: "p99" })
      .withDimensions(stage),
    apiLatencyP50: apigateway.metrics
      .latency({ ...COMMON, restApi: args.restApi, extendedStatistic: 50, label: "p50" })
      .withDimensions(stage),
    apiIntegrationLatencyP99: apigateway.metrics
      .integrationLatency({ ...COMMON, restApi: args.restApi, extendedStatistic: 99, label: "integration p99" })
      .withDimensions(stage),
    tables: (Object.entries(args.tables) as [TableName, aws.dynamodb.Table][]).map(([table, resource]) => ({
      table,
      // Both metrics exist per (TableName, Operation) only; the helpers' statistic is Sum.
      operations: tableOperations(args.routes, table).map((operation) => ({
        operation,
        throttledRequests: dynamodb.metrics.throttledRequests({
          ...COMMON,
          table: resource,
          operation,
          label: `ThrottledRequests ${operation}`,
        }),
        systemErrors: dynamodb.metrics.systemErrors({
          ...COMMON,
          table: resource,
          operation,
          label: `SystemErrors ${operation}`,
        }),
      })),
    })),
  };
}

/** A metric-math query reading one awsx metric (not returned: the expression is). */
function metricQuery(id: string, metric: Metric): aws.types.input.cloudwatch.MetricAlarmMetricQuery {
  return {
    id,
    returnData: false,
    metric: {
      namespace: metric.namespace,
      metricName: metric.name,
      dimensions: metric.dimensions,
      stat: metric.statistic,
      period: metric.period,
    },
  };
}

export class Alarms extends pulumi.ComponentResource {
  readonly topic: aws.sns.Topic;
  readonly subscription: aws.sns.TopicSubscription | undefined;
  readonly alarms: aws.cloudwatch.MetricAlarm[] = [];
  readonly dashboard: awsx.classic.cloudwatch.Dashboard;

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
    const metrics = stackMetrics(args);
    for (const { operationId, errors, throttles } of metrics.lambda) {
      for (const [metricName, metric] of [
        ["Errors", errors],
        ["Throttles", throttles],
      ] as const) {
        this.alarm(metric, `${name}-${operationId}-${metricName.toLowerCase()}`, {
          alarmDescription: `Lambda ${operationId}: ${metricName} in the last 5 minutes`,
          evaluationPeriods: 1,
          threshold: 1,
          comparisonOperator: "GreaterThanOrEqualToThreshold",
        });
      }
    }
    this.alarm(metrics.api5xxRate, `${name}-api-5xx`, {
      alarmDescription: `API: more than ${API_5XX_RATE_THRESHOLD * 100}% of requests answered 5XX in 5 minutes`,
      evaluationPeriods: 1,
      threshold: API_5XX_RATE_THRESHOLD,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
    });
    this.alarm(metrics.apiLatencyP99.withPeriod(60), `${name}-api-latency-p99`, {
      alarmDescription: `API: p99 latency above ${LATENCY_P99_THRESHOLD_MS} ms for 3 minutes`,
      evaluationPeriods: 3,
      threshold: LATENCY_P99_THRESHOLD_MS,
      comparisonOperator: "GreaterThanThreshold",
    });
    for (const { table, operations } of metrics.tables) {
      for (const [metricName, key] of [
        ["ThrottledRequests", "throttledRequests"],
        ["SystemErrors", "systemErrors"],
      ] as const) {
        this.sumAlarm(`${name}-${table}-${metricName.toLowerCase()}`, {
          alarmDescription: `DynamoDB ${table} table: ${metricName} (${operations.map((entry) => entry.operation).join(", ")}) in the last 5 minutes`,
          label: `${metricName} (${table})`,
          metrics: operations.map((entry) => entry[key]),
        });
      }
    }
    this.dashboard = new cloudwatch.Dashboard(
      `${name}-dashboard`,
      { name, region: args.region, widgets: dashboardWidgets(metrics) },
      { parent: this },
    );
    this.registerOutputs({ topicArn: this.topic.arn, dashboardName: this.dashboard.dashboardName });
  }

  /**
   * What every alarm shares: no data (an idle API) is not a failure; ALARM and OK notify the
   * topic (actions enabled, as `createAlarm` sets them and AWS defaults them).
   */
  private get notification(): Pick<
    awsx.classic.cloudwatch.AlarmArgs,
    "actionsEnabled" | "treatMissingData" | "alarmActions" | "okActions"
  > {
    return {
      actionsEnabled: true,
      treatMissingData: "notBreaching",
      alarmActions: [this.topic.arn],
      okActions: [this.topic.arn],
    };
  }

  private alarm(
    metric: Metric,
    name: string,
    args: Pick<
      awsx.classic.cloudwatch.AlarmArgs,
      "alarmDescription" | "evaluationPeriods" | "threshold" | "comparisonOperator"
    >,
  ): void {
    this.alarms.push(metric.createAlarm(name, { ...args, ...this.notification }, { parent: this }));
  }

  /** Alarms when the sum of several metrics reaches 1 in a period (metric math: plain aws.cloudwatch). */
  private sumAlarm(name: string, args: { alarmDescription: string; label: string; metrics: Metric[] }): void {
    const ids = args.metrics.map((_, index) => `m${index}`);
    this.alarms.push(
      new aws.cloudwatch.MetricAlarm(
        name,
        {
          alarmDescription: args.alarmDescription,
          metricQueries: [
            ...args.metrics.map((metric, index) => metricQuery(`m${index}`, metric)),
            { id: "total", label: args.label, returnData: true, expression: `SUM([${ids.join(", ")}])` },
          ],
          evaluationPeriods: 1,
          threshold: 1,
          comparisonOperator: "GreaterThanOrEqualToThreshold",
          ...this.notification,
        },
        { parent: this },
      ),
    );
  }
}

function graph(title: string, metrics: Metric[]): awsx.classic.cloudwatch.LineGraphMetricWidget {
  return new cloudwatch.LineGraphMetricWidget({ title, metrics, width: 12, height: 6, period: PERIOD_SECONDS });
}

/** The alarms' metrics as graphs: per function, the stage, and each table's operations. */
function dashboardWidgets(metrics: StackMetrics): awsx.classic.cloudwatch.Widget[] {
  return [
    graph(
      "Lambda Errors",
      metrics.lambda.map((fn) => fn.errors),
    ),
    graph(
      "Lambda Throttles",
      metrics.lambda.map((fn) => fn.throttles),
    ),
    graph("API 5XX rate", [metrics.api5xxRate]),
    graph("API latency", [metrics.apiLatencyP99, metrics.apiLatencyP50, metrics.apiIntegrationLatencyP99]),
    ...metrics.tables.map(({ table, operations }) =>
      graph(
        `DynamoDB ${table}: throttled requests and system errors`,
        operations.flatMap((entry) => [entry.throttledRequests, entry.systemErrors]),
      ),
    ),
  ];
}
