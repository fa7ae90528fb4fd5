/**
 * `node --import <this file>`: records every module URL the process resolves
 * into the file named by PIPE_TRACE_IMPORTS, one per line, so tests and
 * benchmarks can check that a command never loads TensorFlow.js or sharp.
 */
import { register } from 'node:module';

register('./trace-imports-hooks.js', import.meta.url);
