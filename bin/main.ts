/**
 * The composition root: hands the built-in stage registry, the commands
 * that belong to the nerve workload (`pipe score`, `pipe report`) and its
 * exports (masks as PNG) to the engine's CLI. The engine never imports
 * stages/; this file is where the two meet.
 */
import { runProcess } from '../engine/main.js';
import { builtinKinds } from '../stages/index.js';
import { maskExporter, reportCommand, scoreCommand } from '../stages/commands.js';

runProcess({ registry: builtinKinds, commands: { score: scoreCommand, report: reportCommand }, exporters: [maskExporter] });
