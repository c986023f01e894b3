import 'uplot/dist/uPlot.min.css'
import { type ReactElement, useEffect, useRef } from 'react'
import uPlot from 'uplot'
import { type TimePoint, describeSeries } from '../../chart-data.js'
import { formatSats } from '../../human.js'

const DEFAULT_HEIGHT = 160
/** The least span the time axis shows: a history of a few seconds otherwise reads ":59.200, :59.400". */
const MIN_SPAN_S = 600

interface Palette {
  line: string
  fill: string
  text: string
  grid: string
}

/** The chart's colours from the theme's CSS variables, so light and dark follow the page. */
function palette(): Palette {
  const css = getComputedStyle(document.documentElement)
  const v = (name: string, fallback: string): string => css.getPropertyValue(name).trim() || fallback
  return { line: v('--accent', '#2456d3'), fill: v('--accent-soft', 'rgba(36, 86, 211, 0.12)'), text: v('--text-2', '#5b6472'), grid: v('--border', '#e1e4ea') }
}

function options(width: number, height: number, label: string, colours: Palette): uPlot.Options {
  const axis = { stroke: colours.text, grid: { stroke: colours.grid, width: 1 }, ticks: { stroke: colours.grid, width: 1 } }
  return {
    width,
    height,
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true, range: (_u, min, max) => [Math.min(min, max - MIN_SPAN_S), max] } },
    series: [{}, { label, stroke: colours.line, fill: colours.fill, width: 2, paths: uPlot.paths.stepped?.({ align: 1 }), points: { show: false } }],
    axes: [axis, { ...axis, size: 70, values: (_u, ticks) => ticks.map((t) => formatSats(Math.round(t)).replace(/ sats?$/, '')) }],
  }
}

/**
 * A line of satoshis over time, drawn by uPlot: sized to its box (ResizeObserver), redrawn
 * in the theme's colours when the theme changes, destroyed on unmount. Screen readers get
 * one sentence (`role="img"` with the summary as its label); no points, an empty state.
 */
export function TimeChart({ points, what, testId, height = DEFAULT_HEIGHT, empty }: { points: readonly TimePoint[]; what: string; testId: string; height?: number; empty: string }): ReactElement {
  const box = useRef<HTMLDivElement>(null)
  const summary = describeSeries(what, points)
  const hasData = points.length > 0

  useEffect(() => {
    const el = box.current
    if (!el || !hasData) return
    // The last value holds until now: the line runs to the present, not to the last change.
    const last = points[points.length - 1]!
    const now = Math.floor(Date.now() / 1000)
    const drawn = last.t < now ? [...points, { t: now, sats: last.sats }] : points
    const data: uPlot.AlignedData = [drawn.map((p) => p.t), drawn.map((p) => p.sats)]
    const width = (): number => Math.max(200, Math.floor(el.clientWidth))
    let chart = new uPlot(options(width(), height, what, palette()), data, el)
    // The theme is an attribute on <html>: a new palette means a new chart (uPlot keeps colours in its options).
    const theme = new MutationObserver(() => {
      chart.destroy()
      chart = new uPlot(options(width(), height, what, palette()), data, el)
    })
    theme.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] })
    const resize = new ResizeObserver(() => {
      const w = width()
      if (w !== chart.width) chart.setSize({ width: w, height })
    })
    resize.observe(el)
    return () => {
      resize.disconnect()
      theme.disconnect()
      chart.destroy()
    }
  }, [points, what, height, hasData])

  if (!hasData) {
    return (
      <p className="muted chart-empty" data-testid={testId} data-empty="true">
        {empty}
      </p>
    )
  }
  return <div ref={box} className="time-chart" role="img" aria-label={summary} data-testid={testId} data-points={points.length} />
}
