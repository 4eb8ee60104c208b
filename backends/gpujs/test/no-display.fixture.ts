/** Run by conformance.test.ts in a child process without DISPLAY: prints GPU-mode init()'s answer. */
import * as E from 'fp-ts/lib/Either.js';
import { formatError } from '@hplb/core';
import { createBackend } from '../src/index.ts';

const b = createBackend({ mode: 'gpu' });
const info = await b.init();
process.stdout.write(E.isLeft(info) ? `Left: ${formatError(info.left)}\n` : `Right: ${info.right.device}\n`);
await b.dispose();
