// QMP client over QEMU's unix socket: greeting, capability negotiation, then commands tagged with
// an `id` so answers match requests whatever order they arrive in. Every wait has a deadline: a
// wedged or stopped QEMU must never wedge the harness with it.
import { connect, type Socket } from 'node:net';

/** QEMU answered a command with `{"error": {"class", "desc"}}`. */
export class QmpError extends Error {
  constructor(
    readonly command: string,
    readonly errorClass: string,
    readonly desc: string,
  ) {
    super(`QMP ${command}: ${errorClass}: ${desc}`);
    this.name = 'QmpError';
  }
}

/** No answer within the deadline (QEMU stopped, or its main loop is stuck). */
export class QmpTimeoutError extends Error {
  constructor(
    readonly command: string,
    readonly timeoutMs: number,
  ) {
    super(`QMP ${command}: no answer within ${timeoutMs} ms`);
    this.name = 'QmpTimeoutError';
  }
}

export interface QmpEvent {
  event: string;
  data?: unknown;
  timestamp?: { seconds: number; microseconds: number };
}

export interface QmpCommand {
  execute: string;
  arguments?: unknown;
}

export interface QmpOptions {
  /** Default deadline for connecting (greeting + negotiation) and for each command. */
  timeoutMs?: number;
  onEvent?: (ev: QmpEvent) => void;
}

interface Pending {
  command: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

// QMP messages are small; a line this long means something other than QEMU is talking.
const MAX_LINE = 1024 * 1024;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class QmpClient {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private buf = '';
  private closedBy: Error | undefined;
  private greeted: (() => void) | undefined;

  private constructor(
    private readonly sock: Socket,
    private readonly timeoutMs: number,
    private readonly onEvent: ((ev: QmpEvent) => void) | undefined,
  ) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => this.onData(d));
    sock.on('error', (e) => this.fail(new Error(`QMP socket: ${e.message}`)));
    sock.on('close', () => this.fail(new Error('QMP socket closed')));
  }

  /** Connect, wait for the greeting and leave negotiation mode; each of the two waits has `timeoutMs`. */
  static async connect(socketPath: string, o: QmpOptions = {}): Promise<QmpClient> {
    const timeoutMs = o.timeoutMs ?? 3000;
    const c = new QmpClient(connect(socketPath), timeoutMs, o.onEvent);
    try {
      await c.request('greeting', timeoutMs, (resolve) => (c.greeted = () => resolve(undefined)));
      await c.execute('qmp_capabilities');
      return c;
    } catch (e) {
      c.close();
      throw e;
    }
  }

  /** Run one command; resolves with its `return` value. */
  execute(command: string, args?: unknown, timeoutMs = this.timeoutMs): Promise<unknown> {
    return this.request(command, timeoutMs, (_resolve, id) => {
      const msg: Record<string, unknown> = { execute: command, id };
      if (args !== undefined) msg.arguments = args;
      this.sock.write(JSON.stringify(msg) + '\n');
    });
  }

  close(): void {
    this.fail(new Error('QMP client closed'));
  }

  private request(command: string, timeoutMs: number, send: (resolve: (v: unknown) => void, id: number) => void): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.closedBy) return reject(this.closedBy);
      const id = this.nextId++;
      const done = (): void => {
        clearTimeout(timer);
        this.pending.delete(id);
      };
      const p: Pending = {
        command,
        resolve: (v) => (done(), resolve(v)),
        reject: (e) => (done(), reject(e)),
      };
      const timer = setTimeout(() => p.reject(new QmpTimeoutError(command, timeoutMs)), timeoutMs);
      this.pending.set(id, p);
      send(p.resolve, id);
    });
  }

  private onData(d: string): void {
    this.buf += d;
    const lines = this.buf.split('\n');
    this.buf = lines.pop() ?? '';
    if (this.buf.length > MAX_LINE) return this.fail(new Error('QMP: over-long message'));
    for (const line of lines) {
      if (!line.trim()) continue;
      let msg: unknown;
      try {
        msg = JSON.parse(line);
      } catch {
        return this.fail(new Error(`QMP: not JSON: ${line.slice(0, 200)}`));
      }
      if (isObject(msg)) this.dispatch(msg);
    }
  }

  private dispatch(msg: Record<string, unknown>): void {
    if ('QMP' in msg) return this.greeted?.();
    if (typeof msg.event === 'string') return this.onEvent?.(msg as unknown as QmpEvent);
    // Answers without our numeric id (QEMU could not even parse the request) are left to time out.
    const p = typeof msg.id === 'number' ? this.pending.get(msg.id) : undefined;
    if (!p) return;
    if ('return' in msg) return p.resolve(msg.return);
    const err = isObject(msg.error) ? msg.error : {};
    p.reject(new QmpError(p.command, String(err.class ?? 'unknown'), String(err.desc ?? JSON.stringify(msg))));
  }

  /** Reject everything outstanding and drop the socket; later requests reject at once. */
  private fail(e: Error): void {
    if (this.closedBy) return;
    this.closedBy = e;
    for (const p of [...this.pending.values()]) p.reject(e);
    this.sock.destroy();
  }
}

/** Connect, run `commands` in order (stopping at the first failure), close. */
export async function qmpCommands(socketPath: string, commands: QmpCommand[], timeoutMs = 3000): Promise<unknown[]> {
  const c = await QmpClient.connect(socketPath, { timeoutMs });
  try {
    const out: unknown[] = [];
    for (const cmd of commands) out.push(await c.execute(cmd.execute, cmd.arguments));
    return out;
  } finally {
    c.close();
  }
}

/** Ask QEMU to exit. QEMU may drop the connection before or after answering; both mean done. */
export async function quit(c: QmpClient): Promise<void> {
  await c.execute('quit').catch((e: unknown) => {
    if (e instanceof QmpError || e instanceof QmpTimeoutError) throw e;
  });
}

/** Alt+SysRq+<key> through the emulated PS/2 keyboard (works even when userspace is stuck). */
export function sysrqKeys(key: string): QmpCommand {
  return {
    execute: 'send-key',
    arguments: { keys: [{ type: 'qcode', data: 'alt' }, { type: 'qcode', data: 'sysrq' }, { type: 'qcode', data: key }], 'hold-time': 100 },
  };
}
