#!/usr/bin/env node
// Entry point: the CLI from its prebuilt bundle when that matches the sources (bin/cli-bundle.js
// builds it on the first start after a change), else the TypeScript sources through tsx.
import { pathToFileURL } from 'node:url';
import { cliBundle } from './cli-bundle.js';

const bundle = await cliBundle();
if (bundle !== undefined) {
  // Stack traces of bugs name the .ts files and lines, as under tsx.
  process.setSourceMapsEnabled(true);
  await import(pathToFileURL(bundle).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../harness/cli.ts');
}
