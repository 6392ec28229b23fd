import { type FormEvent, useState } from 'react';
import { Api, ApiError, type Credential } from '../api';
import { ErrorMessage, PageTitle } from '../components/common';
import { beginSignIn } from '../oidc';
import type { ConsoleSettings } from '../types';

export function SignInPage({
  settings,
  onSignedIn,
  notice,
  error: initialError,
  returnTo,
}: {
  settings: ConsoleSettings;
  onSignedIn: (credential: Credential) => void;
  notice?: string;
  error?: unknown;
  /** The console path to come back to after an SSO sign-in (checked again in oidc.ts). */
  returnTo: string;
}) {
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(initialError);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    const credential: Credential = { kind: 'key', key: key.trim() };
    try {
      // The key is checked by calling the API with it; nothing else is stored or sent.
      await new Api(credential, () => undefined).get('/v1/agents');
      onSignedIn(credential);
    } catch (failure) {
      setError(failure instanceof ApiError && failure.status === 401 ? new Error('This API key was not accepted.') : failure);
    } finally {
      setBusy(false);
    }
  };

  const sso = async () => {
    setError(undefined);
    try {
      if (settings.sso) await beginSignIn(settings.sso, returnTo);
    } catch (failure) {
      setError(failure);
    }
  };

  return (
    <section aria-labelledby="sign-in-title" className="card sign-in">
      <PageTitle title="Sign in">
        <span id="sign-in-title">Sign in</span>
      </PageTitle>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <ErrorMessage error={error} />
      {settings.sso && (
        <>
          <button type="button" className="primary wide" onClick={() => void sso()}>
            Sign in with SSO
          </button>
          <p className="muted or">or with an API key</p>
        </>
      )}
      <form onSubmit={(event) => void submit(event)}>
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          type="password"
          autoComplete="current-password"
          required
          minLength={8}
          aria-describedby="api-key-hint"
          value={key}
          onChange={(event) => setKey(event.target.value)}
        />
        <p className="hint" id="api-key-hint">
          Kept in this tab only, and sent to this server as a bearer token.
        </p>
        <button type="submit" className={settings.sso ? undefined : 'primary'} disabled={busy}>
          {busy ? 'Checking…' : 'Sign in with key'}
        </button>
      </form>
    </section>
  );
}
