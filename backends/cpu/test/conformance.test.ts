/** The CPU reference backend against the shared attention conformance suite, on the calling thread and with workers. */
import { attentionConformance } from '@hplb/spec';
import { createBackend } from '../src/index.ts';

attentionConformance({ name: 'cpu', create: () => createBackend(), precision: 'fp32', requireInit: true });
attentionConformance({ name: 'cpu (2 worker threads)', create: () => createBackend({ workers: 2 }), precision: 'fp32', requireInit: true });
