/**
 * Charts drawn on a thread beside the page's own: the report's main thread
 * goes on with its image tiles (and loads sharp) while this one loads vega and
 * draws the charts the render memo lacks. Started on the first chart to draw,
 * never when every chart is in the memo; the same renderer as
 * engine/charts.ts on the main thread, so the same SVG bytes.
 * The module is both: imported, it is the client; as the thread, the server.
 *
 *   main --{id, spec}--> thread (loads vega once) --{id, svg} | {id, error}--> main
 */
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import type { VegaLiteSpec } from '../../engine/charts.js';

type Reply = { readonly id: number; readonly svg: string } | { readonly id: number; readonly error: string };

if (!isMainThread && parentPort) {
  const port = parentPort;
  port.on('message', (m: { id: number; spec: VegaLiteSpec }) => {
    void import('../../engine/charts.js')
      .then(({ renderSvg }) => renderSvg(m.spec))
      .then((svg) => port.postMessage({ id: m.id, svg } satisfies Reply), (e: unknown) => port.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e) } satisfies Reply));
  });
}

/**
 * A chart thread, started on the first {@link ChartThread.render}. It keeps
 * the process alive only while a chart is being drawn, so one process (a warm
 * worker running the report stage job after job) keeps vega loaded there
 * between pages; {@link ChartThread.close} ends it.
 */
export class ChartThread {
  private worker: Worker | undefined;
  private next = 0;
  private readonly pending = new Map<number, { res: (svg: string) => void; rej: (e: Error) => void }>();

  /** The SVG of a full Vega-Lite spec (as engine/charts.ts renderSvg); rejects with vega's message. */
  render(spec: VegaLiteSpec): Promise<string> {
    const w = (this.worker ??= this.start());
    const id = this.next++;
    if (this.pending.size === 0) w.ref();
    return new Promise<string>((res, rej) => {
      this.pending.set(id, { res, rej });
      w.postMessage({ id, spec });
    });
  }

  /** Ends the thread (charts still being drawn are rejected). */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }

  private start(): Worker {
    const w = new Worker(new URL(import.meta.url));
    const settle = (id: number): { res: (svg: string) => void; rej: (e: Error) => void } | undefined => {
      const p = this.pending.get(id);
      this.pending.delete(id);
      if (this.pending.size === 0) w.unref();
      return p;
    };
    w.on('message', (r: Reply) => {
      const p = settle(r.id);
      if ('svg' in r) p?.res(r.svg);
      else p?.rej(new Error(r.error));
    });
    const fail = (e: Error): void => {
      if (this.worker === w) this.worker = undefined;
      for (const id of [...this.pending.keys()]) settle(id)?.rej(e);
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`the chart thread ended (exit code ${code})`)));
    return w;
  }
}

/** The process's chart thread (see {@link ChartThread}). */
export const chartThread = new ChartThread();
