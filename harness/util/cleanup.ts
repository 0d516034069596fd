// Process-wide cleanup: child QEMUs and temp dirs registered here are killed/removed on normal
// exit, on SIGINT/SIGTERM, and on a crash, so nothing is left behind.
import { rmSync } from 'node:fs';

type Cleanup = () => void;
const tasks = new Map<number, Cleanup>();
let next = 1;
let installed = false;
let interruptHandler: ((signal: NodeJS.Signals) => void) | undefined;

export function onCleanup(fn: Cleanup): () => void {
  install();
  const id = next++;
  tasks.set(id, fn);
  return () => {
    tasks.delete(id);
  };
}

export function registerTempDir(dir: string): () => void {
  const remove = onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return () => {
    remove();
    rmSync(dir, { recursive: true, force: true });
  };
}

export function runCleanups(): void {
  for (const [id, fn] of [...tasks].reverse()) {
    tasks.delete(id);
    try {
      fn();
    } catch {
      /* best effort: keep cleaning */
    }
  }
}

/** The runner sets this to record the interruption in the results before exiting. */
export function setInterruptHandler(fn: ((signal: NodeJS.Signals) => void) | undefined): void {
  interruptHandler = fn;
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runCleanups);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      try {
        interruptHandler?.(sig);
      } finally {
        runCleanups();
        process.exit(sig === 'SIGINT' ? 130 : 143);
      }
    });
  }
}
