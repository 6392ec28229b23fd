/**
 * Looks up the value of a declared secret by name (`secret "n" { env(NAME) }`). Returning
 * undefined means the secret is not available; the tool then fails with a clear error.
 */
export type SecretResolver = (name: string) => string | undefined | Promise<string | undefined>;

export type SecretLookup =
  | { ok: true; values: ReadonlyMap<string, string> }
  | { ok: false; missing: string };

export async function resolveSecrets(
  names: Iterable<string>,
  resolver: SecretResolver | undefined,
): Promise<SecretLookup> {
  const values = new Map<string, string>();
  for (const name of new Set(names)) {
    let value: string | undefined;
    try {
      value = resolver ? await resolver(name) : undefined;
    } catch {
      value = undefined;
    }
    if (value === undefined) return { ok: false, missing: name };
    values.set(name, value);
  }
  return { ok: true, values };
}

// Very short values would blank out ordinary words, so they are left alone.
const MIN_REDACTED_LENGTH = 4;

/** Replaces every secret value in a text that may reach the model or the logs. */
export function redactSecrets(text: string, secrets: Iterable<string>): string {
  let result = text;
  for (const value of secrets) {
    if (value.length >= MIN_REDACTED_LENGTH) result = result.split(value).join('[redacted]');
  }
  return result;
}
