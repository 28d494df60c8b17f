/**
 * Dates as the product shows them: YYYY-MM-DD as the server wrote the time, in its own offset (the
 * stage's time zone, +08:00 unless the stage says otherwise), whatever the phone's zone.
 */
export function day(iso: string | null | undefined): string {
  const found = /^(\d{4}-\d{2}-\d{2})T/.exec(iso || '')
  return found ? found[1] : ''
}
