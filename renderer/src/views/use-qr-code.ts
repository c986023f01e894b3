import QRCode from 'qrcode'
import { useEffect, useState } from 'react'

/**
 * `text` as an SVG QR code in a data: URL (the CSP allows data: images, nothing inline),
 * or null while it is being drawn. The drawing is kept with the text it was drawn for, so
 * a stale one is never shown and the effect sets state only when the drawing arrives.
 */
export function useQrCode(text: string): string | null {
  const [drawn, setDrawn] = useState<{ text: string; url: string | null } | null>(null)
  useEffect(() => {
    let live = true
    QRCode.toString(text, { type: 'svg', margin: 2, errorCorrectionLevel: 'M', color: { dark: '#000000', light: '#ffffff' } }).then(
      (svg) => {
        if (live) setDrawn({ text, url: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}` })
      },
      () => {
        if (live) setDrawn({ text, url: null })
      },
    )
    return () => {
      live = false
    }
  }, [text])
  return drawn?.text === text ? drawn.url : null
}
