import { type FormEvent, type ReactElement, useEffect, useId, useRef, useState } from 'react'
import { IconLogo } from './icons.js'

/** The web UI's door: the daemon's API token, checked before anything else is shown. */
export function Login({ onSubmit, initialError }: { onSubmit: (token: string) => Promise<string | null>; initialError?: string | null }): ReactElement {
  const id = useId()
  const [token, setToken] = useState('')
  const field = useRef<HTMLInputElement>(null)
  useEffect(() => field.current?.focus(), [])
  const [error, setError] = useState<string | null>(initialError ?? null)
  const [pending, setPending] = useState(false)

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault()
    const value = token.trim()
    if (value === '') {
      setError('Enter the API token.')
      return
    }
    setPending(true)
    setError(null)
    const problem = await onSubmit(value)
    setPending(false)
    if (problem) setError(problem)
  }

  return (
    <div className="login">
      <form className="card login-card" onSubmit={(e) => void submit(e)} noValidate aria-labelledby={`${id}-title`} data-testid="login">
        <div className="brand">
          <IconLogo />
          <span>BSV P2P Wallet</span>
        </div>
        <h1 id={`${id}-title`}>Sign in to your node</h1>
        <p className="field-help">
          Paste the API token from the file <code>api-token</code> in the daemon’s data folder.
        </p>
        <label htmlFor={`${id}-token`}>API token</label>
        <input
          id={`${id}-token`}
          type="password"
          autoComplete="current-password"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={`${id}-error`}
          disabled={pending}
          ref={field}
        />
        <p id={`${id}-error`} className="field-error" role="alert" data-testid="login-error">
          {error ?? ''}
        </p>
        <button type="submit" className="primary wide" disabled={pending}>
          {pending ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </div>
  )
}
