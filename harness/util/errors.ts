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
    if (!loc) return `daxlab: ${this.message}`;
    const where = loc.line !== undefined ? `${loc.file}:${loc.line}` : loc.file;
    const field = loc.field ? ` ${loc.field}:` : '';
    return `${where}:${field} ${this.message}`;
  }
}

export const USER_ERROR_EXIT = 2;
