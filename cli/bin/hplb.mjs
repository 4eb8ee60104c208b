#!/usr/bin/env node
// The `hplb` command. Registers tsx's loader so the TypeScript sources run as they are, then hands over.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2));
