import { Component, type ErrorInfo, type ReactNode, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Api, type Credential } from './api';
import { ErrorMessage, Loading } from './components/common';
import { completeSignIn, signOutUrl, takeCallback } from './oidc';
import { AuditPage } from './pages/audit';
import { PipelinesPage } from './pages/pipelines';
import { PlaygroundPage } from './pages/playground';
import { RunPage } from './pages/run';
import { SessionsPage } from './pages/sessions';
import { SignInPage } from './pages/sign-in';
import { TranscriptPage } from './pages/transcript';
import { BASE, Link, navigate, useRoute } from './router';
import { principalLabel, SessionContext, type SignedIn, storeCredential, storedCredential } from './session';
import type { ConsoleSettings } from './types';

export function App() {
  const [settings, setSettings] = useState<ConsoleSettings>();
  const [settingsError, setSettingsError] = useState<unknown>();
  const [credential, setCredential] = useState<Credential | undefined>(storedCredential);
  const [notice, setNotice] = useState<string>();
  const [callbackError, setCallbackError] = useState<unknown>();
  // Read and cleared from the address bar at once, before the settings arrive (or fail to).
  const [callback] = useState(takeCallback);
  const callbackHandled = useRef(false);

  useEffect(() => {
    fetch(`${BASE}/config.json`, { headers: { Accept: 'application/json' } })
      .then(async (response) => {
        if (!response.ok) throw new Error(`The console settings could not be read (HTTP ${response.status}).`);
        setSettings((await response.json()) as ConsoleSettings);
      })
      .catch(setSettingsError);
  }, []);

  const signIn = useCallback((next: Credential) => {
    storeCredential(next);
    setNotice(undefined);
    setCredential(next);
  }, []);

  const signOut = useCallback(
    (message?: string) => {
      const current = storedCredential();
      storeCredential(undefined);
      setCredential(undefined);
      setNotice(message);
      const away = current && !message ? signOutUrl(settings?.sso, current) : undefined;
      if (away) location.assign(away);
      else navigate('/', { replace: true });
    },
    [settings],
  );

  // Back from the identity provider: /console/callback?code=…&state=…
  useEffect(() => {
    if (!settings || !callback || callbackHandled.current) return;
    callbackHandled.current = true;
    if (!settings.sso) {
      setCallbackError(new Error('SSO sign-in is not configured on this server.'));
      return;
    }
    completeSignIn(settings.sso, callback)
      .then(({ credential: next, returnTo }) => {
        signIn(next);
        navigate(returnTo, { replace: true });
      })
      .catch((error: unknown) => {
        setCallbackError(error);
        navigate('/', { replace: true });
      });
  }, [settings, callback, signIn]);

  if (settingsError)
    return (
      <Frame>
        <ErrorMessage error={settingsError} />
      </Frame>
    );
  if (!settings)
    return (
      <Frame>
        <Loading what="the console" />
      </Frame>
    );
  if (!credential) {
    if (callback && !callbackError)
      return (
        <Frame>
          <Loading what="your SSO sign-in" />
        </Frame>
      );
    return (
      <Frame>
        <SignInPage settings={settings} onSignedIn={signIn} notice={notice} error={callbackError} returnTo={currentPath()} />
      </Frame>
    );
  }
  return <SignedInConsole credential={credential} settings={settings} signOut={signOut} />;
}

function SignedInConsole({
  credential,
  settings,
  signOut,
}: {
  credential: Credential;
  settings: ConsoleSettings;
  signOut: (message?: string) => void;
}) {
  const api = useMemo(
    () => new Api(credential, () => signOut('The server no longer accepts your sign-in (expired or revoked). Sign in again.')),
    [credential, signOut],
  );
  // Undefined until /v1/audit/chain answers: the audit page waits instead of refusing.
  const [canReadAudit, setCanReadAudit] = useState<boolean>();
  useEffect(() => {
    // Only admins and auditors may read the audit; the others do not get the page at all.
    api.get('/v1/audit/chain').then(
      () => setCanReadAudit(true),
      () => setCanReadAudit(false),
    );
  }, [api]);
  const session: SignedIn = { api, credential, settings, canReadAudit, signOut };
  const route = useRoute();
  return (
    <SessionContext.Provider value={session}>
      <a className="skip-link" href="#main" onClick={skipToMain}>
        Skip to content
      </a>
      <header className="banner">
        <Link to="/" className="brand">
          AgentSpec console
        </Link>
        <nav aria-label="Console">
          <ul>
            <NavItem to="/playground" current={route.path}>
              Playground
            </NavItem>
            <NavItem to="/sessions" current={route.path}>
              Sessions
            </NavItem>
            <NavItem to="/pipelines" current={route.path}>
              Pipelines
            </NavItem>
            {canReadAudit && (
              <NavItem to="/audit" current={route.path}>
                Audit
              </NavItem>
            )}
          </ul>
        </nav>
        <div className="who">
          <span>
            Signed in: <strong>{principalLabel(credential)}</strong>
          </span>
          <button type="button" onClick={() => signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <PageBoundary key={route.path}>
          <Page path={route.path} query={route.query} canReadAudit={canReadAudit} />
        </PageBoundary>
      </main>
    </SessionContext.Provider>
  );
}

function NavItem({ to, current, children }: { to: string; current: string; children: string }) {
  const active = current === to || current.startsWith(`${to}/`) || (to === '/playground' && current === '/');
  return (
    <li>
      <Link to={to} aria-current={active ? 'page' : undefined}>
        {children}
      </Link>
    </li>
  );
}

function Page({ path, query, canReadAudit }: { path: string; query: URLSearchParams; canReadAudit: boolean | undefined }) {
  const parts = decodedSegments(path);
  if (!parts) return <NotFound />;
  if (parts.length === 0 || parts[0] === 'playground' || parts[0] === 'callback') {
    return <PlaygroundPage agent={query.get('agent') ?? undefined} sessionId={query.get('session') ?? undefined} />;
  }
  if (parts[0] === 'sessions' && parts.length === 1) return <SessionsPage agent={query.get('agent') ?? undefined} />;
  if (parts[0] === 'sessions' && parts.length === 3) return <TranscriptPage agent={parts[1]} sessionId={parts[2]} />;
  if (parts[0] === 'pipelines' && parts.length === 1) return <PipelinesPage pipeline={query.get('pipeline') ?? undefined} />;
  if (parts[0] === 'pipelines' && parts.length === 4 && parts[2] === 'runs') return <RunPage pipeline={parts[1]} runId={parts[3]} />;
  if (parts[0] === 'audit') {
    if (canReadAudit === undefined) return <Loading what="your access to the audit" />;
    return canReadAudit ? <AuditPage /> : <p>The audit is open to administrators and auditors only.</p>;
  }
  return <NotFound />;
}

/** The path's segments decoded; undefined when one is not valid percent-encoding (`%E0`). */
function decodedSegments(path: string): string[] | undefined {
  try {
    return path.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

function NotFound() {
  return (
    <>
      <h1>Not found</h1>
      <p>
        This console page does not exist. <Link to="/playground">Go to the playground</Link>.
      </p>
    </>
  );
}

/** A page that fails while drawing shows why, instead of leaving the whole console blank. */
class PageBoundary extends Component<{ children: ReactNode }, { failure?: unknown }> {
  state: { failure?: unknown } = {};

  static getDerivedStateFromError(failure: unknown) {
    return { failure };
  }

  componentDidCatch(failure: unknown, info: ErrorInfo) {
    console.error('console page failed', failure, info.componentStack);
  }

  render() {
    if (this.state.failure === undefined) return this.props.children;
    return (
      <>
        <h1>This page failed</h1>
        <ErrorMessage error={this.state.failure} />
        <p>
          Reload the page, or <Link to="/playground">go to the playground</Link>.
        </p>
      </>
    );
  }
}

/** Focus moves to the content too (not only the scroll position), so the next Tab starts there. */
function skipToMain(event: { preventDefault(): void }) {
  const main = document.getElementById('main');
  if (!main) return;
  event.preventDefault();
  main.focus();
}

/** The console address now (below /console), for coming back to it after an SSO sign-in. */
function currentPath(): string {
  return location.pathname.slice(BASE.length) + location.search;
}

function Frame({ children }: { children: ReactNode }) {
  return (
    <>
      <header className="banner">
        <span className="brand">AgentSpec console</span>
      </header>
      <main id="main" className="narrow" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
