/**
 * The cold-init floor: what any DynamoDB Lambda on SDK v3 pays at least. Load the two SDK
 * packages and build the document client, nothing else. The bench transpiles this file next to
 * the serialized modules and times its require exactly as it times theirs.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

export const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));
