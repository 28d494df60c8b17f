/** Dates as the product shows them: YYYY-MM-DD in China's time (+08:00), whatever the phone's zone. */
const CHINA_OFFSET_MS = 8 * 60 * 60 * 1000

export function day(iso: string | null | undefined): string {
  if (!iso) return ''
  const when = new Date(Date.parse(iso) + CHINA_OFFSET_MS)
  if (Number.isNaN(when.getTime())) return ''
  return when.toISOString().slice(0, 10)
}
