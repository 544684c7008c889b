/**
 * The DynamoDB tables, one per definition in `table-definitions.ts` (the local runtime creates
 * the same key schema and TTL attribute from the same data).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { TABLES, TableDefinition } from "./table-definitions";

export interface DataTablesArgs {
  /** Point-in-time recovery (35 days of continuous backups). */
  pointInTimeRecovery: boolean;
  /** Refuse DeleteTable, including from `pulumi destroy`, until it is turned off. */
  deletionProtection: boolean;
  /** @default TABLES */
  definitions?: readonly TableDefinition[];
}

export type TableName = TableDefinition["logicalName"];

export class DataTables extends pulumi.ComponentResource {
  readonly tables: Record<TableName, aws.dynamodb.Table>;
  /** Physical table names, by logical name. */
  readonly names: Record<TableName, pulumi.Output<string>>;

  constructor(name: string, args: DataTablesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("items-api:data:Tables", name, {}, opts);
    const entries = (args.definitions ?? TABLES).map(
      (definition) =>
        [definition.logicalName, createTable(`${name}-${definition.logicalName}`, definition, args, this)] as const,
    );
    this.tables = Object.fromEntries(entries) as Record<TableName, aws.dynamodb.Table>;
    this.names = Object.fromEntries(entries.map(([key, table]) => [key, table.name])) as Record<
      TableName,
      pulumi.Output<string>
    >;
    this.registerOutputs({ tableNames: this.names });
  }
}

function createTable(
  name: string,
  definition: TableDefinition,
  args: DataTablesArgs,
  parent: pulumi.Resource,
): aws.dynamodb.Table {
  return new aws.dynamodb.Table(
    name,
    {
      // On demand: no capacity to plan, and an idle stack costs nothing but storage.
      billingMode: "PAY_PER_REQUEST",
      hashKey: definition.hashKey,
      rangeKey: definition.rangeKey,
      attributes: [
        { name: definition.hashKey, type: "S" },
        { name: definition.rangeKey, type: "S" },
      ],
      ttl:
        definition.ttlAttribute === undefined ? undefined : { attributeName: definition.ttlAttribute, enabled: true },
      // Encrypted with the AWS managed key (aws/dynamodb), so CloudTrail records its use.
      serverSideEncryption: { enabled: true },
      pointInTimeRecovery: { enabled: args.pointInTimeRecovery },
      deletionProtectionEnabled: args.deletionProtection,
    },
    { parent },
  );
}
