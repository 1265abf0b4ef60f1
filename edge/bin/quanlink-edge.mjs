#!/usr/bin/env node
// The installed `quanlink-edge` command: the TypeScript CLI run through tsx (there is no compiled build yet).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
