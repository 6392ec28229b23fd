// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFunction = (...args: any[]) => any;
type MethodsOf<T> = { [K in keyof T]: T[K] extends AnyFunction ? K : never }[keyof T];

export interface RecordedCall<T, K extends MethodsOf<T> = MethodsOf<T>> {
  method: K;
  args: T[K] extends AnyFunction ? Parameters<T[K]> : never;
}

/**
 * A stand-in for one of our services that only answers what a test set up: any other call
 * throws "unexpected call to X.method" (and is remembered, so `verify()` fails the test even
 * when the error was turned into an HTTP answer). Every call is recorded with its arguments.
 */
export class StrictFake<T, K extends MethodsOf<T>> {
  readonly calls: RecordedCall<T, K>[] = [];
  readonly unexpected: string[] = [];
  /** Pass this to Nest (`useValue`): it has exactly the listed methods, nothing else. */
  readonly instance: Pick<T, K>;
  private readonly stubs = new Map<K, AnyFunction>();

  constructor(
    private readonly name: string,
    methods: readonly K[],
  ) {
    const instance: Record<PropertyKey, AnyFunction> = {};
    for (const method of methods) {
      instance[method] = (...args: unknown[]) => {
        this.calls.push({ method, args } as RecordedCall<T, K>);
        const stub = this.stubs.get(method);
        if (!stub) {
          const description = `unexpected call to ${this.name}.${String(method)}(${describeArgs(args)})`;
          this.unexpected.push(description);
          throw new Error(description);
        }
        return stub(...args);
      };
    }
    this.instance = instance as unknown as Pick<T, K>;
  }

  /** Sets what `method` does for the rest of the test. */
  on<M extends K>(method: M, implementation: T[M]): this {
    this.stubs.set(method, implementation as AnyFunction);
    return this;
  }

  /** The arguments of every call to `method`, in order. */
  callsTo<M extends K>(method: M): RecordedCall<T, M>[] {
    return this.calls.filter((call) => call.method === method) as unknown as RecordedCall<T, M>[];
  }

  reset(): void {
    this.calls.length = 0;
    this.unexpected.length = 0;
    this.stubs.clear();
  }

  /** Throws when the code under test called a method no stub was set up for. */
  verify(): void {
    if (this.unexpected.length > 0) throw new Error(this.unexpected.join('\n'));
  }
}

function describeArgs(args: unknown[]): string {
  return args
    .map((arg) => {
      try {
        return JSON.stringify(arg)?.slice(0, 80) ?? String(arg);
      } catch {
        return Object.prototype.toString.call(arg);
      }
    })
    .join(', ');
}

export function strictFake<T>(name: string) {
  return <K extends MethodsOf<T>>(...methods: K[]): StrictFake<T, K> => new StrictFake<T, K>(name, methods);
}
