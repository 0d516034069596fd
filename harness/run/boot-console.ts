// Console of one boot as the runner sees it: the last panic line, for crash reasons. The splat
// parser (harness/console/parser.ts) plugs in here to attribute findings to steps.
export class BootConsole {
  lastPanic: string | undefined;
  push(line: string): void {
    const m = /Kernel panic - not syncing: (.*)$/.exec(line);
    if (m) this.lastPanic = (m[1] ?? '').replace(/[\x00-\x1f\x7f]/g, '').slice(0, 200);
  }
  end(): void {}
  findingsFor(_step: number): { kind: string; title: string }[] {
    return [];
  }
}
