import { freePort } from '../../src/common/free-port.js';
import { type ChildProcess, spawn } from 'node:child_process';
import { underContract } from './contract.js';

export interface SpawnedServer {
  url: string;
  process: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}


/** Runs the built server (`dist/src/main.js`) as its own process, as an operator would. */
export async function spawnServer(env: Record<string, string>, readyTimeoutMs = 30_000): Promise<SpawnedServer> {
  const port = await freePort();
  let output = '';
  const child = spawn(process.execPath, ['dist/src/main.js'], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const started = Date.now();
  while (!output.includes('"msg":"serving ')) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${output}`);
    if (Date.now() - started > readyTimeoutMs) {
      child.kill('SIGKILL');
      throw new Error(`server not ready in ${readyTimeoutMs} ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const url = `http://127.0.0.1:${port}`;
  underContract(url);
  return { url, process: child, output: () => output, exited };
}
