import { api, Body, messageOf, Schemas } from './api'
import { go } from './flow'

type Decision = Body<'consentDecide'>['decision']

/** What a page that shows one consent document and its buttons holds. */
interface DocumentPage {
  data: { document: Schemas['ConsentDocument'] | null; busy: boolean }
  setData(data: { busy?: boolean; error?: string }): void
}

/**
 * Records the reader's decision on the page's document (one tap at a time), then goes to the page
 * the server's `next_step` names; a refusal of the record shows the server's message on the page.
 */
export async function decideOn(page: DocumentPage, decision: Decision): Promise<void> {
  const document = page.data.document
  if (!document || page.data.busy) return
  page.setData({ busy: true, error: '' })
  try {
    const record = await api.decide({ document: document.key, version: document.version, decision })
    go(record.next_step)
  } catch (error) {
    page.setData({ error: messageOf(error), busy: false })
  }
}
