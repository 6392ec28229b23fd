/**
 * The routes the application serves, so that a request to a known path with the wrong method
 * can be answered 405 with `Allow` instead of 404.
 */
export class RouteTable {
  private readonly routes: { path: string; pattern: RegExp; methods: Set<string> }[] = [];

  add(path: string, method: string): void {
    const pattern = toRegExp(path);
    const existing = this.routes.find((route) => route.pattern.source === pattern.source);
    if (existing) existing.methods.add(method.toUpperCase());
    else this.routes.push({ path, pattern, methods: new Set([method.toUpperCase()]) });
  }

  /** The routes (as registered: `/v1/agents/:name/invoke`) that serve this path, with their methods. */
  routesFor(path: string): { path: string; methods: ReadonlySet<string> }[] {
    return this.routes.filter((route) => route.pattern.test(path)).map(({ path: routePath, methods }) => ({ path: routePath, methods }));
  }

  /** Methods allowed on this path, or an empty list when no route has this path at all. */
  allowedMethods(path: string): string[] {
    const methods = new Set<string>();
    for (const route of this.routes) {
      if (route.pattern.test(path)) route.methods.forEach((method) => methods.add(method));
    }
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods].sort();
  }
}

function toRegExp(path: string): RegExp {
  const source = path
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}/?$`);
}
