/**
 * Loaded by mocha before any test: the SDK talks only to local engines during tests, so give it
 * a region and dummy credentials, and silence its Node-version notice.
 */
process.env.AWS_REGION ??= "us-east-1";
process.env.AWS_ACCESS_KEY_ID ??= "test";
process.env.AWS_SECRET_ACCESS_KEY ??= "test";
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
