import { existsSync } from 'node:fs';

/** Debian's `chromium` package; never a downloaded browser. */
export const CHROMIUM = '/usr/bin/chromium';

/** Headless, and without the background connections this machine's closed network refuses. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Why the browser tests cannot run here, or undefined when they can. */
export const CHROMIUM_MISSING = existsSync(CHROMIUM) ? undefined : `no browser at ${CHROMIUM} (apt-get install -y chromium)`;
