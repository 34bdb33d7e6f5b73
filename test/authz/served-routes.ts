import type { App } from '../../src/app.ts';

/*
 * Every route the app serves, as "METHOD /path/:param". Fastify has no public list of routes, and an
 * onRoute hook would have to be registered before buildApp registers the features; printRoutes,
 * however, draws the router's whole tree (hidden routes and encapsulated plugins included). The tree
 * is read back here: each line is a node, indented four characters per level, whose path continues
 * its parent's.
 */

const NODE = /^((?:│ {3}| {4})*)(?:├── |└── )(\S+)(?: \(([A-Z, ]+)\))?$/;

export function servedRoutes(app: App): Set<string> {
  const routes = new Set<string>();
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = NODE.exec(line);
    if (!match) continue;
    const [, indent = '', segment = '', methods] = match;
    const depth = indent.length / 4;
    const path = (depth > 0 ? (stack[depth - 1] ?? '') : '') + segment;
    stack.length = depth;
    stack[depth] = path;
    for (const method of methods?.split(', ') ?? []) routes.add(`${method} ${path}`);
  }
  return routes;
}

/** HEAD is served by Fastify for every GET, with the GET's hooks: it needs no decision of its own. */
export function withoutImplicitHead(routes: Set<string>): Set<string> {
  return new Set(
    [...routes].filter((route) => !(route.startsWith('HEAD ') && routes.has(`GET ${route.slice(5)}`))),
  );
}

/** The operations of the OpenAPI document, in the same form (`{id}` → `:id`). */
export function documentedRoutes(document: { paths: Record<string, Record<string, unknown>> }): string[] {
  return Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.keys(operations).map((method) => `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`),
  );
}
