// User-facing errors: one line, exit code 2. Anything else is a bug and keeps its stack.

export interface SourceLocation {
  file: string;
  line?: number;
  field?: string;
}

export class UserError extends Error {
  readonly location: SourceLocation | undefined;
  constructor(message: string, location?: SourceLocation) {
    super(message);
    this.name = 'UserError';
    this.location = location;
  }

  /** `file:line: field: message`, the shape compilers use so editors can jump to it. */
  oneLine(): string {
    const loc = this.location;
    if (!loc) return oneLineSafe(`daxlab: ${this.message}`);
    const where = loc.line !== undefined ? `${loc.file}:${loc.line}` : loc.file;
    const field = loc.field ? ` ${loc.field}:` : '';
    return oneLineSafe(`${where}:${field} ${this.message}`);
  }
}

export const USER_ERROR_EXIT = 2;

/**
 * Messages quote user files (YAML parser excerpts, gcc diagnostics, garbage bytes): a newline
 * would break the one-line contract and an escape sequence would reach the user's terminal.
 */
export function oneLineSafe(s: string): string {
  return s.replace(/\r?\n/g, ' ').replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]/g, '?');
}
