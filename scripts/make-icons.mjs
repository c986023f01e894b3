// Draws the app icon and the three tray icons as PNGs with nothing but Node (zlib), so
// they can be regenerated anywhere: `node scripts/make-icons.mjs`. Shapes are signed
// distance functions, supersampled for smooth edges.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { deflateSync } from 'node:zlib'

const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'assets')

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})
function crc32(buf) {
  let c = 0xffffffff
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}
function chunk(type, data) {
  const len = Buffer.alloc(4)
  len.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([len, body, crc])
}
/** RGBA pixels (Uint8Array, w*h*4) -> PNG bytes. */
function png(width, height, rgba) {
  const header = Buffer.alloc(13)
  header.writeUInt32BE(width, 0)
  header.writeUInt32BE(height, 4)
  header[8] = 8 // bit depth
  header[9] = 6 // RGBA
  const raw = Buffer.alloc((width * 4 + 1) * height)
  for (let y = 0; y < height; y++) {
    raw[y * (width * 4 + 1)] = 0
    Buffer.from(rgba.buffer, y * width * 4, width * 4).copy(raw, y * (width * 4 + 1) + 1)
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))])
}

const hex = (h) => [parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16)]

/** Rounded box SDF in a 0..1 unit square; radii per corner [tr, br, tl, bl]. */
function roundBox(px, py, cx, cy, hw, hh, [tr, br, tl, bl]) {
  const x = px - cx
  const y = py - cy
  const r = x > 0 ? (y > 0 ? br : tr) : y > 0 ? bl : tl
  const qx = Math.abs(x) - hw + r
  const qy = Math.abs(y) - hh + r
  return Math.min(Math.max(qx, qy), 0) + Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) - r
}
const circle = (px, py, cx, cy, r) => Math.hypot(px - cx, py - cy) - r

/**
 * Renders layers (each: sdf(x, y) -> distance in unit coords, colour) over transparency,
 * 4x4 supersampled.
 */
function render(size, layers) {
  const out = new Uint8Array(size * size * 4)
  const ss = 4
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let r = 0
      let g = 0
      let b = 0
      let a = 0
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const u = (x + (sx + 0.5) / ss) / size
          const v = (y + (sy + 0.5) / ss) / size
          let cr = 0
          let cg = 0
          let cb = 0
          let ca = 0
          for (const layer of layers) {
            if (layer.sdf(u, v) > 0) continue
            const [lr, lg, lb] = layer.color
            const la = layer.alpha ?? 1
            cr = lr * la + cr * (1 - la)
            cg = lg * la + cg * (1 - la)
            cb = lb * la + cb * (1 - la)
            ca = la + ca * (1 - la)
          }
          r += cr * ca
          g += cg * ca
          b += cb * ca
          a += ca
        }
      }
      const i = (y * size + x) * 4
      const n = ss * ss
      out[i + 3] = Math.round((a / n) * 255)
      if (a > 0) {
        out[i] = Math.round(r / a)
        out[i + 1] = Math.round(g / a)
        out[i + 2] = Math.round(b / a)
      }
    }
  }
  return out
}

// The app icon: the renderer's logo (a "B" of two rounded lobes on the accent colour).
function appIcon(size) {
  const s = 1 / 32
  const stroke = 2.6 * s
  const lobe = (x0, y0, x1, y1) => (u, v) => Math.abs(roundBox(u, v, (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2, [3.6 * s, 3.6 * s, 0.4 * s, 0.4 * s])) - stroke / 2
  return render(size, [
    { sdf: (u, v) => roundBox(u, v, 0.5, 0.5, 0.5, 0.5, [0.22, 0.22, 0.22, 0.22]), color: hex('#2456d3') },
    { sdf: lobe(10.5 * s, 8.5 * s, 20.5 * s, 16 * s), color: [255, 255, 255] },
    { sdf: lobe(10.5 * s, 16 * s, 22 * s, 23.5 * s), color: [255, 255, 255] },
  ])
}

// Tray icons: three states told apart by shape as well as colour (a filled dot, a dot with
// a hole, an empty ring), so they read without colour vision and on any panel.
const TRAY = {
  ok: (size) => render(size, [{ sdf: (u, v) => circle(u, v, 0.5, 0.5, 0.42), color: hex('#1f9d55') }]),
  degraded: (size) =>
    render(size, [{ sdf: (u, v) => Math.max(circle(u, v, 0.5, 0.5, 0.42), -circle(u, v, 0.5, 0.5, 0.16)), color: hex('#e0a100') }]),
  offline: (size) => render(size, [{ sdf: (u, v) => Math.abs(circle(u, v, 0.5, 0.5, 0.34)) - 0.08, color: hex('#8a8f98') }]),
}

mkdirSync(OUT, { recursive: true })
const written = []
const write = (name, size, pixels) => {
  writeFileSync(join(OUT, name), png(size, size, pixels))
  written.push(name)
}
write('icon.png', 512, appIcon(512))
for (const [state, draw] of Object.entries(TRAY)) {
  write(`tray-${state}.png`, 16, draw(16))
  write(`tray-${state}@2x.png`, 32, draw(32))
}
process.stdout.write(`wrote ${written.join(', ')} to ${OUT}\n`)
