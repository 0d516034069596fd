#!/usr/bin/env node
// Entry point: load the TypeScript CLI through tsx so there is no build step.
import { register } from 'tsx/esm/api';
register();
await import('../harness/cli.ts');
