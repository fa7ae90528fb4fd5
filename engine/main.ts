/**
 * Process entry: signals and exit code around {@link main}. The first Ctrl-C
 * (or SIGTERM, or SIGHUP from a closed terminal) stops running stages and
 * keeps completed ones; a second one exits at once (the run lock's exit hook
 * still kills the stages).
 * The composition root (bin/main.ts) calls {@link runProcess} with the app.
 */
import { main, type App } from './cli.js';

/** The exit code of a bug in pipe (an exception no command turned into a failure); documented in --help. */
export const EXIT_BUG = 70;

/** Runs the CLI for this process's arguments and sets its exit code. */
export function runProcess(app: App): void {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    process.stderr.write(`\npipe: ${sig}: stopping running stages (press Ctrl-C again to quit at once)\n`);
    controller.abort(new Error(sig));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A closed terminal: stop like SIGTERM. Its streams are gone, so writes to
  // them must not crash the run before it has stopped its stages.
  process.on('SIGHUP', onSignal);
  for (const s of [process.stdout, process.stderr]) s.on('error', () => undefined);

  main(process.argv.slice(2), controller.signal, app).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      // User errors are values that never get here: this is a bug in pipe, and the trace is for its report.
      process.stderr.write(`pipe: bug: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = EXIT_BUG;
    },
  );
}
