// Process-wide cleanup: child QEMUs and temp dirs registered here are killed/removed when the
// process exits however it exits (the CLI runs them before exiting on a signal), so nothing is left
// behind. Code that ends normally unregisters its own.
import { rmSync } from 'node:fs';

type Cleanup = () => void;
const tasks = new Map<number, Cleanup>();
let next = 1;
let installed = false;

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

function install(): void {
  if (installed) return;
  installed = true;
  // Signals are the CLI's to handle (cli.ts); on any exit, nothing registered here survives.
  process.on('exit', runCleanups);
}
