import type { ReactElement, ReactNode } from 'react'

/** What a field's control carries: the id its label names, and the link to its message. */
interface FieldControl {
  id: string
  'aria-invalid': true | undefined
  'aria-describedby': string
}

export interface FormFieldProps {
  /** The control's id; its message's id is `${id}-msg`. */
  id: string
  label: ReactNode
  /** What is wrong with the value: shown as an alert in place of the help. */
  problem?: string | null | undefined
  /**
   * Shown while nothing is wrong. Without it the message is only a slot for problems: it keeps
   * its error style (and room) when empty, so a grid of such fields does not shift.
   */
  help?: ReactNode
  /** The message's data-testid. */
  messageTestId?: string
  /** Renders the control (with whatever sits beside it) from the props that link it. */
  children: (control: FieldControl) => ReactNode
}

/** A label, its control and the control's help or problem, linked for assistive technology. */
export function FormField({ id, label, problem, help, messageTestId, children }: FormFieldProps): ReactElement {
  const messageId = `${id}-msg`
  return (
    <>
      <label htmlFor={id}>{label}</label>
      {children({ id, 'aria-invalid': problem ? true : undefined, 'aria-describedby': messageId })}
      <p id={messageId} className={problem || help === undefined ? 'field-error' : 'field-help'} role={problem ? 'alert' : undefined} data-testid={messageTestId}>
        {problem ?? help}
      </p>
    </>
  )
}
