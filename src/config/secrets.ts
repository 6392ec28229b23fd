/**
 * Secret values for tools, as declared by `secret "n" { env(NAME) }`. This is the one place
 * outside the start-up configuration that reads the process environment, and it reads only the
 * variables that definitions name as secrets.
 */
export function readSecretFromEnvironment(variable: string): string | undefined {
  const value = process.env[variable];
  return value === undefined || value === '' ? undefined : value;
}
