import type { Health } from '../../shared/contract/index.js'
import { type TrayIcon, type TrayState, sameTrayState, trayStateFor } from './tray-state.js'

export interface TrayMenuItem {
  label?: string
  type?: 'normal' | 'separator'
  enabled?: boolean
  click?: () => void
}

/** The parts of Electron's Tray this controller uses; main.ts passes the real one. */
export interface TrayLike<Image, Menu> {
  setImage(image: Image): void
  setToolTip(text: string): void
  setContextMenu(menu: Menu | null): void
  on(event: 'click', listener: () => void): unknown
  destroy(): void
}

export interface TrayControllerDelegate<Image, Menu> {
  createTray(image: Image): TrayLike<Image, Menu>
  images: Record<TrayIcon, Image>
  buildMenu(items: TrayMenuItem[]): Menu
  onOpen(): void
  onQuit(): void
}

/**
 * The tray as an effect of health: the decision is `trayStateFor` (pure); this only swaps
 * the picture, tooltip and menu when that decision changes, and disposes the tray.
 */
export class TrayController<Image, Menu> {
  private tray: TrayLike<Image, Menu> | null
  private shown: TrayState | null = null
  private image: TrayIcon = 'offline'
  private health: Health | null = null
  private unread = 0

  constructor(private readonly delegate: TrayControllerDelegate<Image, Menu>) {
    this.tray = delegate.createTray(delegate.images.offline)
    this.tray.on('click', () => delegate.onOpen())
    this.update(null)
  }

  /** Unread received messages (the engine's `unread` event), shown in the tooltip and menu. */
  setUnread(total: number): void {
    this.unread = total
    this.update(this.health)
  }

  update(health: Health | null): void {
    this.health = health
    const tray = this.tray
    if (!tray) return
    const next = trayStateFor(health, this.unread)
    if (sameTrayState(this.shown, next)) return
    if (this.image !== next.icon) tray.setImage(this.delegate.images[next.icon])
    this.image = next.icon
    tray.setToolTip(next.tooltip)
    tray.setContextMenu(
      this.delegate.buildMenu([
        { label: 'Open BSV P2P Wallet', click: () => this.delegate.onOpen() },
        { type: 'separator' },
        ...next.statusLines.map((label) => ({ label, enabled: false })),
        { type: 'separator' },
        { label: 'Quit', click: () => this.delegate.onQuit() },
      ]),
    )
    this.shown = next
  }

  get state(): TrayState | null {
    return this.shown
  }

  dispose(): void {
    this.tray?.destroy()
    this.tray = null
    this.shown = null
  }
}
