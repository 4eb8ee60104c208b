/** Run by conformance.test.ts in a child process whose Vulkan driver list is empty: prints init()'s answer. */
import * as E from 'fp-ts/lib/Either.js';
import { formatError } from '@hplb/core';
import { createBackend } from '../src/index.ts';

const b = createBackend();
const info = await b.init();
process.stdout.write(E.isLeft(info) ? `Left: ${formatError(info.left)}\n` : `Right: ${info.right.device}\n`);
await b.dispose();
