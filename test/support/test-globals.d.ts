// Tests read many JSON bodies and assert on their shape; typing each one would only repeat the
// assertions. Production code never sees this declaration (tsconfig.json excludes test/).
export {};

declare global {
  interface Response {
    json(): Promise<any>;
  }
}
