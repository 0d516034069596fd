// Reproducer output: JSON lines carry samples, metrics and verdicts (scenarios/include/daxlab.h);
// other lines are kept as text.

export interface ReproOutput {
  samples: Record<string, { unit: string; values: number[] }>;
  metrics: Record<string, { unit: string; value: number }>;
  verdict?: { verdict: string; reason: string };
  infos: string[];
  text: string[];
}

const MAX_TEXT_LINES = 2000;

export function parseReproOutput(lines: string[]): ReproOutput {
  // Names come from the guest: with plain objects, `__proto__` or `constructor` would hit
  // Object.prototype (a lost metric, or a crash on `.values.push`).
  const out: ReproOutput = { samples: Object.create(null) as ReproOutput['samples'], metrics: Object.create(null) as ReproOutput['metrics'], infos: [], text: [] };
  for (const line of lines) {
    let obj: unknown;
    if (line.startsWith('{')) {
      try {
        obj = JSON.parse(line);
      } catch {
        obj = undefined;
      }
    }
    const o = obj as Record<string, unknown> | undefined;
    const name = typeof o?.['name'] === 'string' ? o['name'] : undefined;
    const value = typeof o?.['value'] === 'number' ? o['value'] : undefined;
    const unit = typeof o?.['unit'] === 'string' ? o['unit'] : '';
    if (o?.['type'] === 'sample' && name && value !== undefined) {
      (out.samples[name] ??= { unit, values: [] }).values.push(value);
    } else if (o?.['type'] === 'metric' && name && value !== undefined) {
      out.metrics[name] = { unit, value };
    } else if (o?.['type'] === 'verdict' && typeof o['verdict'] === 'string') {
      out.verdict = { verdict: o['verdict'], reason: typeof o['reason'] === 'string' ? o['reason'] : '' };
    } else if (o?.['type'] === 'info' && typeof o['msg'] === 'string') {
      out.infos.push(o['msg']);
    } else if (out.text.length < MAX_TEXT_LINES) {
      out.text.push(line);
    }
  }
  return out;
}
