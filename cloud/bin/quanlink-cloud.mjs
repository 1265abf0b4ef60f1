#!/usr/bin/env node
// The installed `quanlink-cloud` command: the TypeScript CLI run through tsx (there is no compiled build yet).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv.slice(2));
