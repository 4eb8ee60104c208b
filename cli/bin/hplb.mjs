#!/usr/bin/env node
// The `hplb` command: the compiled CLI (built by `npm ci` / `npm run build`; no run-time transpiling).
// A closed pipe (`hplb --help | head`) ends the command quietly instead of crashing it.
process.stdout.on('error', (e) => { if (e.code === 'EPIPE') process.exit(0); throw e; });
const { main } = await import('../dist/main.js');
process.exitCode = await main(process.argv.slice(2));
