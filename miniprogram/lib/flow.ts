/**
 * Which page shows each `next_step` the server names, and the article a user came from (a deep link
 * kept in storage across the whole journey, until the journey reaches it).
 */
import type { NextStep } from './api'

const PAGE_OF: Record<NextStep, string> = {
  identity_agreement: '/pages/agreement/index',
  refused: '/pages/agreement/index',
  informed_consent: '/pages/consent/index',
  verify: '/pages/verify/index',
  pending: '/pages/pending/index',
  rejected: '/pages/verify/index',
  questions: '/pages/questions/index',
  done: '/pages/done/index',
}
const DEEP_LINK_KEY = 'deep_link_article'

/** Open the page of `step`, as the only page on the stack. */
export function go(step: NextStep): void {
  wx.reLaunch({ url: PAGE_OF[step] })
}

/** Where a user who is through goes: the article they came for, or the feed. */
export function goOn(): void {
  const article = wx.getStorageSync(DEEP_LINK_KEY) as string
  if (article) {
    wx.removeStorageSync(DEEP_LINK_KEY)
    wx.reLaunch({ url: `/pages/article/index?id=${encodeURIComponent(article)}` })
  } else {
    wx.reLaunch({ url: '/pages/feed/index' })
  }
}

/** Remember the article a shared link opened, to show it once the user may read it. */
export function keepDeepLink(articleId: string): void {
  wx.setStorageSync(DEEP_LINK_KEY, articleId)
}
