/**
 * The routes the application serves, so that a request to a known path with the wrong method
 * can be answered 405 with `Allow` instead of 404.
 */
export class RouteTable {
  private readonly routes: { pattern: RegExp; methods: Set<string> }[] = [];

  add(path: string, method: string): void {
    const pattern = toRegExp(path);
    const existing = this.routes.find((route) => route.pattern.source === pattern.source);
    if (existing) existing.methods.add(method.toUpperCase());
    else this.routes.push({ pattern, methods: new Set([method.toUpperCase()]) });
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
