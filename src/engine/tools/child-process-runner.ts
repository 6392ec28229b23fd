import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { CappedBuffer } from './tool-output.js';

export interface ChildProcessSpec {
  command: string;
  args: readonly string[];
  /** The whole environment of the child: nothing is inherited from this process. */
  env: Record<string, string>;
  stdin: string;
  timeoutMs: number;
  signal?: AbortSignal;
  maxStdoutBytes: number;
  maxStderrBytes: number;
  /** Time between SIGTERM and SIGKILL once the child must stop. */
  killGraceMs: number;
  cwd?: string;
}

export type ChildProcessOutcome =
  | {
      kind: 'exited';
      exitCode: number | null;
      signal: NodeJS.Signals | null;
      stdout: string;
      stdoutTruncated: boolean;
      stderr: string;
    }
  | { kind: 'timed-out' | 'cancelled'; stderr: string }
  | { kind: 'not-started'; reason: string };

/**
 * Runs a program without a shell, feeds it `stdin`, and collects capped output. On timeout or
 * cancellation the child's whole process group gets SIGTERM, then SIGKILL after the grace
 * period, so helpers it started do not outlive it.
 */
export function runChildProcess(spec: ChildProcessSpec): Promise<ChildProcessOutcome> {
  if (spec.signal?.aborted) return Promise.resolve({ kind: 'cancelled', stderr: '' });

  return new Promise((resolve) => {
    let child: ChildProcessWithoutNullStreams;
    try {
      child = spawn(spec.command, [...spec.args], {
        env: spec.env,
        cwd: spec.cwd,
        shell: false,
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
    } catch (error) {
      // Invalid input (a NUL byte in an argument, say) throws before any process exists.
      resolve({ kind: 'not-started', reason: (error as NodeJS.ErrnoException).code ?? (error as Error).message });
      return;
    }
    const stdout = new CappedBuffer(spec.maxStdoutBytes);
    const stderr = new CappedBuffer(spec.maxStderrBytes);
    let stopReason: 'timed-out' | 'cancelled' | undefined;
    let settled = false;
    const timers: NodeJS.Timeout[] = [];

    const settle = (outcome: ChildProcessOutcome) => {
      if (settled) return;
      settled = true;
      timers.forEach(clearTimeout);
      spec.signal?.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    const signalGroup = (signal: NodeJS.Signals) => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        child.kill(signal);
      }
    };
    const stop = (reason: 'timed-out' | 'cancelled') => {
      if (stopReason || settled) return;
      stopReason = reason;
      signalGroup('SIGTERM');
      timers.push(setTimeout(() => signalGroup('SIGKILL'), spec.killGraceMs));
      // A grandchild that escaped the group could hold the pipes open; do not wait for it forever.
      timers.push(
        setTimeout(() => {
          child.stdout.destroy();
          child.stderr.destroy();
          settle({ kind: reason, stderr: stderr.text() });
        }, spec.killGraceMs + 1000),
      );
    };
    const onAbort = () => stop('cancelled');

    timers.push(setTimeout(() => stop('timed-out'), spec.timeoutMs));
    spec.signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    // A program that exits without reading its input makes the write fail with EPIPE.
    child.stdin.on('error', () => undefined);
    child.on('error', (error: NodeJS.ErrnoException) => {
      settle({ kind: 'not-started', reason: error.code ?? error.message });
    });
    child.on('close', (exitCode, signal) => {
      if (stopReason) {
        settle({ kind: stopReason, stderr: stderr.text() });
      } else {
        settle({
          kind: 'exited',
          exitCode,
          signal,
          stdout: stdout.text(),
          stdoutTruncated: stdout.truncated,
          stderr: stderr.text(),
        });
      }
    });
    child.stdin.end(spec.stdin);
  });
}
