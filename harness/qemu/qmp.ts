// Minimal QMP client: enough to send SysRq keys to a wedged guest and to ask QEMU to quit.
import { connect } from 'node:net';

export async function qmpCommands(socketPath: string, commands: { execute: string; arguments?: unknown }[], timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(socketPath);
    let buf = '';
    let sent = false;
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(false);
    }, timeoutMs);
    sock.on('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
    sock.on('data', (d) => {
      buf += d.toString();
      if (!sent && buf.includes('"QMP"')) {
        sent = true;
        sock.write(JSON.stringify({ execute: 'qmp_capabilities' }) + '\n');
        for (const c of commands) sock.write(JSON.stringify(c) + '\n');
        // QEMU answers each command in order; give it a moment, then close.
        setTimeout(() => {
          clearTimeout(timer);
          sock.end();
          resolve(true);
        }, 300);
      }
    });
  });
}

/** Alt+SysRq+<key> through the emulated PS/2 keyboard (works even when userspace is stuck). */
export function sysrqKeys(key: string): { execute: string; arguments: unknown } {
  return {
    execute: 'send-key',
    arguments: { keys: [{ type: 'qcode', data: 'alt' }, { type: 'qcode', data: 'sysrq' }, { type: 'qcode', data: key }], 'hold-time': 100 },
  };
}
