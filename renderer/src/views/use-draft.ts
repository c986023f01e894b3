import { useEffect, useState } from 'react'

/**
 * A form's draft of a saved value. A change saved elsewhere (another window, another tab)
 * replaces the draft unless this form is being edited, so nobody's typing is thrown away.
 */
export function useDraft<S, D>(saved: S, draftOf: (saved: S) => D, changed: (draft: D, saved: S) => boolean): [D, (draft: D) => void] {
  const [draft, setDraft] = useState<D>(() => draftOf(saved))
  const [base, setBase] = useState(saved)
  useEffect(() => {
    if (saved === base) return
    if (!changed(draft, base)) setDraft(draftOf(saved))
    setBase(saved)
  }, [saved, base, draft, draftOf, changed])
  return [draft, setDraft]
}
