/**
 * @hplb/engines/node: safetensors reading and streaming writing, and the checkpoint rewrite for an engine layout.
 */
export * from '../index.ts';
export * from './safetensors.ts';
