/**
 * @hplb/core/node: the Node-only edges of the core — atomic file writes, where the shared real data lives, worker
 * threads on compiled (or, in development, TypeScript) modules, and reading the committed default profile.
 */
export * from './atomic.ts';
export * from './sharedData.ts';
export * from './tsWorker.ts';
export * from './defaultProfile.ts';
export * from './readText.ts';
