/**
 * hplb/node: the Node-only part of the public API.
 */
export * from '../index.ts';
