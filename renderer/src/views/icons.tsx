import type { ReactElement } from 'react'

const base = { width: 18, height: 18, viewBox: '0 0 24 24', fill: 'none', stroke: 'currentColor', strokeWidth: 1.8, strokeLinecap: 'round', strokeLinejoin: 'round', 'aria-hidden': true } as const

export const IconOverview = (): ReactElement => (
  <svg {...base}>
    <path d="M3 12h4l3-8 4 16 3-8h4" />
  </svg>
)
export const IconPeers = (): ReactElement => (
  <svg {...base}>
    <circle cx="6" cy="7" r="2.5" />
    <circle cx="18" cy="7" r="2.5" />
    <circle cx="12" cy="17" r="2.5" />
    <path d="M8.2 8.4l2.6 6.4M15.8 8.4l-2.6 6.4M8.5 7h7" />
  </svg>
)
export const IconMessages = (): ReactElement => (
  <svg {...base}>
    <path d="M4 5h16v11H9l-5 4z" />
  </svg>
)
export const IconChannels = (): ReactElement => (
  <svg {...base}>
    <path d="M4 8h13l-3-3M20 16H7l3 3" />
  </svg>
)
export const IconWallet = (): ReactElement => (
  <svg {...base}>
    <path d="M4 7.5A2.5 2.5 0 0 1 6.5 5H18v3" />
    <rect x="4" y="8" width="16" height="11" rx="2" />
    <circle cx="16" cy="13.5" r="1.2" />
  </svg>
)
export const IconSettings = (): ReactElement => (
  <svg {...base}>
    <path d="M4 6h10M18 6h2M4 12h4M12 12h8M4 18h12M20 18h0" />
    <circle cx="16" cy="6" r="2" />
    <circle cx="10" cy="12" r="2" />
    <circle cx="18" cy="18" r="2" />
  </svg>
)
export const IconSun = (): ReactElement => (
  <svg {...base}>
    <circle cx="12" cy="12" r="4" />
    <path d="M12 2v2M12 20v2M4.9 4.9l1.4 1.4M17.7 17.7l1.4 1.4M2 12h2M20 12h2M4.9 19.1l1.4-1.4M17.7 6.3l1.4-1.4" />
  </svg>
)
export const IconMoon = (): ReactElement => (
  <svg {...base}>
    <path d="M20 14.5A8 8 0 0 1 9.5 4a8 8 0 1 0 10.5 10.5z" />
  </svg>
)
export const IconCopy = (): ReactElement => (
  <svg {...base} width={15} height={15}>
    <rect x="9" y="9" width="11" height="11" rx="2" />
    <path d="M5 15V5a2 2 0 0 1 2-2h8" />
  </svg>
)
export const IconLogo = (): ReactElement => (
  <svg width="28" height="28" viewBox="0 0 32 32" aria-hidden="true">
    <rect width="32" height="32" rx="8" fill="var(--accent)" />
    <path d="M10 9h7.5a3.5 3.5 0 0 1 0 7H10zm0 7h8.5a3.5 3.5 0 0 1 0 7H10z" fill="none" stroke="var(--accent-contrast)" strokeWidth="2.4" strokeLinejoin="round" />
  </svg>
)
