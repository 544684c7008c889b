/**
 * Local-only pages beside the API: an API reference at `/docs`, rendered by Swagger UI from the
 * npm package `swagger-ui-dist` (every asset served from here, no CDN), from the `/openapi.json`
 * the API serves (the REST API body's mock integration, interpreted like every other route).
 */
import { readFileSync } from "fs";
import { dirname, join } from "path";

export interface StaticResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

const ASSETS: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
  "favicon-32x32.png": "image/png",
};

const DOCS_PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Items API reference</title>
    <link rel="stylesheet" href="/docs/assets/swagger-ui.css" />
    <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/assets/swagger-ui-bundle.js"></script>
    <script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
    <script>
      window.ui = SwaggerUIBundle({
        url: "/openapi.json",
        dom_id: "#swagger-ui",
        deepLinking: true,
        presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
        layout: "StandaloneLayout",
      });
    </script>
  </body>
</html>
`;

/** Serves `/docs` and its assets; undefined for every other request. */
export function createLocalPages(): (method: string, path: string) => StaticResponse | undefined {
  const assetsDir = dirname(require.resolve("swagger-ui-dist/package.json"));
  const cache = new Map<string, Buffer>();
  return (method, path): StaticResponse | undefined => {
    if (method !== "GET") {
      return undefined;
    }
    if (path === "/docs") {
      return { statusCode: 200, headers: { "Content-Type": "text/html; charset=utf-8" }, body: DOCS_PAGE };
    }
    const asset = /^\/docs\/assets\/([\w.-]+)$/.exec(path)?.[1];
    const contentType = asset === undefined ? undefined : ASSETS[asset];
    if (asset === undefined || contentType === undefined) {
      return undefined;
    }
    let body = cache.get(asset);
    if (body === undefined) {
      body = readFileSync(join(assetsDir, asset));
      cache.set(asset, body);
    }
    return { statusCode: 200, headers: { "Content-Type": contentType }, body };
  };
}
