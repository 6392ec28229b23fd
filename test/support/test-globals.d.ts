// Tests read many JSON bodies and assert on their shape; typing each one would only repeat the
// assertions. Production code never sees this declaration (tsconfig.json excludes test/).
export {};

declare global {
  interface Response {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see the comment above
    json(): Promise<any>;
  }
}
