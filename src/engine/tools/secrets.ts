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

/**
 * The spellings a secret takes on its way out: as written, URL-encoded (a placeholder in a URL),
 * form-encoded, and escaped inside a JSON string (a placeholder in a JSON body). A server that
 * echoes the request back returns one of these.
 */
function spellings(value: string): string[] {
  const encoded = encodeURIComponent(value);
  return [...new Set([value, encoded, encoded.replace(/%20/g, '+'), JSON.stringify(value).slice(1, -1)])];
}

/** Replaces every secret value, in any of its spellings, in a text that may reach the model or the logs. */
export function redactSecrets(text: string, secrets: Iterable<string>): string {
  let result = text;
  for (const value of secrets) {
    if (value.length < MIN_REDACTED_LENGTH) continue;
    // Longest first, so that a spelling containing another is replaced whole.
    for (const spelling of spellings(value).sort((a, b) => b.length - a.length)) result = result.split(spelling).join('[redacted]');
  }
  return result;
}
