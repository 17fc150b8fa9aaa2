// Draws a line chart with a logarithmic y axis into an RGB pixel buffer and encodes it as PNG:
// axes, grid, tick labels, series as polylines with square markers, dashed reference lines, and a
// legend. Written for the market simulation's plot of P(forged) against the attacker's share.
import { glyphHeight, glyphOf, glyphWidth } from './bitmapFont.ts'
import { encodePng } from './encodePng.ts'

export type ChartSeries = { label: string; color: [number, number, number]; points: Array<[number, number]>; dashed?: boolean }

export type LineChartParameters = {
  title: string
  xLabel: string
  yLabel: string
  /** x range and ticks (data units). */
  x: { min: number; max: number; ticks: number[]; format: (x: number) => string }
  /** y range as powers of ten (log axis). */
  y: { minExponent: number; maxExponent: number }
  series: ChartSeries[]
  width?: number
  height?: number
}

type Color = [number, number, number]

export function lineChart(p: LineChartParameters): Buffer {
  const width = p.width ?? 900
  const height = p.height ?? 600
  const pixels = new Uint8Array(width * height * 3).fill(255)
  const plot = { left: 90, right: width - 230, top: 50, bottom: height - 70 }
  const set = (x: number, y: number, [r, g, b]: Color): void => {
    if (x < 0 || y < 0 || x >= width || y >= height) return
    const i = (Math.round(y) * width + Math.round(x)) * 3
    pixels[i] = r
    pixels[i + 1] = g
    pixels[i + 2] = b
  }
  const line = (x0: number, y0: number, x1: number, y1: number, color: Color, dashed = false, thick = 1): void => {
    const steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1)
    for (let s = 0; s <= steps; s++) {
      if (dashed && Math.floor(s / 6) % 2 === 1) continue
      const x = x0 + ((x1 - x0) * s) / steps
      const y = y0 + ((y1 - y0) * s) / steps
      for (let dx = 0; dx < thick; dx++) for (let dy = 0; dy < thick; dy++) set(x + dx - (thick >> 1), y + dy - (thick >> 1), color)
    }
  }
  const text = (s: string, x: number, y: number, color: Color = [0, 0, 0], scale = 2): void => {
    for (const [i, ch] of [...s].entries()) {
      const rows = glyphOf(ch)
      for (let row = 0; row < glyphHeight; row++) {
        for (let col = 0; col < glyphWidth; col++) {
          if (!((rows[row]! >> (glyphWidth - 1 - col)) & 1)) continue
          for (let a = 0; a < scale; a++) for (let b = 0; b < scale; b++) set(x + (i * (glyphWidth + 1) + col) * scale + a, y + row * scale + b, color)
        }
      }
    }
  }
  const textWidth = (s: string, scale = 2): number => s.length * (glyphWidth + 1) * scale
  const px = (x: number): number => plot.left + ((x - p.x.min) / (p.x.max - p.x.min)) * (plot.right - plot.left)
  const py = (y: number): number => {
    const e = Math.log10(Math.max(y, 10 ** p.y.minExponent))
    return plot.bottom - ((e - p.y.minExponent) / (p.y.maxExponent - p.y.minExponent)) * (plot.bottom - plot.top)
  }

  const grid: Color = [225, 225, 225]
  for (let e = p.y.minExponent; e <= p.y.maxExponent; e++) {
    line(plot.left, py(10 ** e), plot.right, py(10 ** e), grid)
    text(`1E${e}`, plot.left - 12 - textWidth(`1E${e}`), py(10 ** e) - glyphHeight)
  }
  for (const x of p.x.ticks) {
    line(px(x), plot.top, px(x), plot.bottom, grid)
    text(p.x.format(x), px(x) - textWidth(p.x.format(x)) / 2, plot.bottom + 10)
  }
  line(plot.left, plot.bottom, plot.right, plot.bottom, [0, 0, 0])
  line(plot.left, plot.top, plot.left, plot.bottom, [0, 0, 0])
  text(p.title, (width - textWidth(p.title)) / 2, 8)
  text(p.xLabel, (plot.left + plot.right - textWidth(p.xLabel)) / 2, height - 30)
  text(p.yLabel, 8, plot.top - 22)

  for (const [index, series] of p.series.entries()) {
    const points = series.points.filter(([, y]) => y >= 10 ** p.y.minExponent)
    for (let i = 1; i < points.length; i++) line(px(points[i - 1]![0]), py(points[i - 1]![1]), px(points[i]![0]), py(points[i]![1]), series.color, series.dashed, 2)
    if (!series.dashed) for (const [x, y] of points) for (let dx = -3; dx <= 3; dx++) for (let dy = -3; dy <= 3; dy++) set(px(x) + dx, py(y) + dy, series.color)
    const ly = plot.top + 10 + index * 26
    line(plot.right + 16, ly + 6, plot.right + 44, ly + 6, series.color, series.dashed, 2)
    text(series.label, plot.right + 52, ly)
  }
  return encodePng(width, height, pixels)
}
