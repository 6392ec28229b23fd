import { createContext, useContext } from 'react';
import type { Api, Credential } from './api';
import type { ConsoleSettings } from './types';

export interface SignedIn {
  api: Api;
  credential: Credential;
  settings: ConsoleSettings;
  /** Whether this principal may read the audit (GET /v1/audit/chain answered 200); undefined until it answers. */
  canReadAudit: boolean | undefined;
  signOut: (message?: string) => void;
}

export const SessionContext = createContext<SignedIn | undefined>(undefined);

export function useSignedIn(): SignedIn {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSignedIn outside a signed-in console');
  return session;
}

const STORE = 'agentspec.console.credential';

/** Tab-scoped: closing the tab signs out, and other sites' scripts cannot read it (no cookie, CSP). */
export function storedCredential(): Credential | undefined {
  let credential: Credential;
  try {
    const raw = sessionStorage.getItem(STORE);
    if (!raw) return undefined;
    credential = JSON.parse(raw) as Credential;
  } catch {
    sessionStorage.removeItem(STORE);
    return undefined;
  }
  if (credential.kind === 'sso' && credential.expiresAt !== undefined && credential.expiresAt < Date.now()) {
    sessionStorage.removeItem(STORE);
    return undefined;
  }
  return credential;
}

export function storeCredential(credential: Credential | undefined): void {
  if (credential) sessionStorage.setItem(STORE, JSON.stringify(credential));
  else sessionStorage.removeItem(STORE);
}

export function principalLabel(credential: Credential): string {
  return credential.kind === 'sso' ? credential.name : 'API key';
}
