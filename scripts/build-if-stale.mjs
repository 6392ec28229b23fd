#!/usr/bin/env node
// `npm start`: runs `nest build` only when a compiled input is newer than the last successful
// build (dist/.build-stamp), so a restart with nothing changed starts in about a second.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const STAMP = 'dist/.build-stamp';
const INPUT_FOLDERS = ['src', 'scripts', 'bench', 'migrations', 'console'];
const INPUT_FILES = ['package.json', 'package-lock.json', 'tsconfig.json', 'nest-cli.json'];

function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs; // a deleted file shows as a newer folder
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

const built = existsSync(STAMP) && existsSync('dist/src/main.js') ? statSync(STAMP).mtimeMs : 0;
const inputs = Math.max(...INPUT_FOLDERS.map(newestMtime), ...INPUT_FILES.map(newestMtime));
if (built > inputs) process.exit(0);

const started = new Date();
const result = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status ?? 1);
// Stamped with the start time: a file saved during the build makes the next start rebuild.
writeFileSync(STAMP, `${started.toISOString()}\n`);
utimesSync(STAMP, started, started);
