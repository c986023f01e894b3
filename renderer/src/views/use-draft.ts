import { useState } from 'react'

/**
 * A form's draft of a saved value. A change saved elsewhere (another window, another tab)
 * replaces the draft unless this form is being edited, so nobody's typing is thrown away.
 */
export function useDraft<S, D>(saved: S, draftOf: (saved: S) => D, changed: (draft: D, saved: S) => boolean): [D, (draft: D) => void] {
  const [draft, setDraft] = useState<D>(() => draftOf(saved))
  const [base, setBase] = useState(saved)
  // Adjusted while rendering (React's pattern for state derived from a prop), not in an
  // effect: the form never paints one frame with the stale draft.
  if (saved !== base) {
    setBase(saved)
    if (!changed(draft, base)) setDraft(draftOf(saved))
  }
  return [draft, setDraft]
}
