export const THEME_CHOICES = ['system', 'light', 'dark'] as const
export type ThemeChoice = (typeof THEME_CHOICES)[number]

const KEY = 'bsv-p2p.theme'

export function loadThemeChoice(): ThemeChoice {
  try {
    const v = localStorage.getItem(KEY)
    return (THEME_CHOICES as readonly string[]).includes(v ?? '') ? (v as ThemeChoice) : 'system'
  } catch {
    return 'system'
  }
}

export function saveThemeChoice(choice: ThemeChoice): void {
  try {
    localStorage.setItem(KEY, choice)
  } catch {
    // storage may be off; the choice then lasts for this page only
  }
}

/** Sets data-theme on <html> from the choice (system follows prefers-color-scheme live); returns its cleanup. */
export function applyTheme(choice: ThemeChoice, onResolved: (dark: boolean) => void = () => {}): () => void {
  const media = window.matchMedia('(prefers-color-scheme: dark)')
  const set = (): void => {
    const dark = choice === 'dark' || (choice === 'system' && media.matches)
    document.documentElement.dataset.theme = dark ? 'dark' : 'light'
    onResolved(dark)
  }
  set()
  if (choice !== 'system') return () => {}
  media.addEventListener('change', set)
  return () => media.removeEventListener('change', set)
}
