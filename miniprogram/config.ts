/**
 * Where the API answers, one entry per WeChat environment, chosen at run time from the build that
 * runs (DevTools and 开发版 are `develop`, 体验版 `trial`, the published app `release`).
 *
 * `develop` is the local stack (`make run`, port 8000): DevTools reaches it with the domain check off
 * (project.private.config.json). Put the base URL that `make deploy STAGE=...` prints for each stage
 * in the other two before uploading a build; every one of them must be an ICP-filed HTTPS domain in the
 * mini-program's request list (README, "The reference mini-program").
 */
export type Environment = WechatMiniprogram.MiniProgram['envVersion']

export const API_BASE: Record<Environment, string> = {
  develop: 'http://127.0.0.1:8000',
  trial: 'https://api-dev.example.cn',
  release: 'https://api.example.cn',
}

export function apiBase(): string {
  return API_BASE[wx.getAccountInfoSync().miniProgram.envVersion]
}

/** How many comments one screenful asks for (the server caps it; 查看更多 asks for the next ones). */
export const COMMENTS_PER_SCREEN = 3

/** How long 您已通过… stays before the journey goes on to the article or the feed. */
export const DONE_COUNTDOWN_SECONDS = 5

/** How often a write that takes an Idempotency-Key is sent again after the network lost it. */
export const WRITE_RETRIES = 2
