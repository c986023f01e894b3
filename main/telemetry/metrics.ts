import { getHeapSpaceStatistics } from 'node:v8'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export const METRIC_PREFIX = 'bsv_p2p_'

let processRegistry: Registry | null = null

/**
 * Process metrics (CPU, memory, handles, event loop) are per process, not per engine:
 * collect them once into a process-wide registry, so that starting an engine many times
 * never adds observers.
 */
function getProcessRegistry(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry, prefix: METRIC_PREFIX })
    // Heap in use right after a full collection: what a leak shows up in, without the rise
    // and fall between collections. Only where a GC may be forced (node --expose-gc, as the
    // soak runs daemons); a production process never pays for a forced collection.
    const forceGc = (globalThis as { gc?: () => void }).gc
    if (typeof forceGc === 'function') {
      // Compiled code grows while V8 optimises more functions and levels off: a leak is in
      // the rest, so the code's share is reported apart (set in the same collection).
      const code = new Gauge({
        name: `${METRIC_PREFIX}heap_code_after_gc_bytes`,
        help: 'Of heap_used_after_gc_bytes, compiled code (code spaces), which levels off as V8 warms up',
        registers: [processRegistry],
      })
      new Gauge({
        name: `${METRIC_PREFIX}heap_used_after_gc_bytes`,
        help: 'Heap used right after a forced full GC (only under node --expose-gc)',
        registers: [processRegistry],
        collect() {
          forceGc()
          this.set(process.memoryUsage().heapUsed)
          code.set(getHeapSpaceStatistics().filter((s) => s.space_name.startsWith('code')).reduce((sum, s) => sum + s.space_used_size, 0))
        },
      })
    }
  }
  return processRegistry
}

type CounterInit<L extends string> = { name: string; help: string; labelNames?: readonly L[] }
type GaugeInit<L extends string> = CounterInit<L> & { collect?: (this: Gauge<L>) => void }
type HistogramInit<L extends string> = CounterInit<L> & { buckets?: number[] }

/** One registry per engine; parts declare their metrics through it. */
export class Metrics {
  readonly registry = new Registry()

  counter<L extends string = string>(init: CounterInit<L>): Counter<L> {
    return this.existing(init.name) ?? new Counter<L>({ ...init, name: METRIC_PREFIX + init.name, labelNames: init.labelNames ?? [], registers: [this.registry] })
  }

  gauge<L extends string = string>(init: GaugeInit<L>): Gauge<L> {
    return this.existing(init.name) ?? new Gauge<L>({ ...init, name: METRIC_PREFIX + init.name, labelNames: init.labelNames ?? [], registers: [this.registry] })
  }

  histogram<L extends string = string>(init: HistogramInit<L>): Histogram<L> {
    return this.existing(init.name) ?? new Histogram<L>({ ...init, name: METRIC_PREFIX + init.name, labelNames: init.labelNames ?? [], registers: [this.registry] })
  }

  /** Prometheus text exposition: these metrics, the process's, and those of `others` (a host's engine). */
  async text(...others: Metrics[]): Promise<string> {
    return Registry.merge([getProcessRegistry(), this.registry, ...others.map((m) => m.registry)]).metrics()
  }

  get contentType(): string {
    return this.registry.contentType
  }

  /** A part that is rebuilt (start after stop) gets back the same metric, never a duplicate. */
  private existing<T>(name: string): T | undefined {
    return this.registry.getSingleMetric(METRIC_PREFIX + name) as T | undefined
  }
}
