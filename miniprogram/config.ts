/**
 * Where the API answers, one entry per WeChat environment, chosen at run time from the build that
 * runs (DevTools and 开发版 are `develop`, 体验版 `trial`, the published app `release`).
 *
 * `develop` is the local stack (`make run`, port 8000): DevTools reaches it with the domain check off
 * (project.private.config.json). A phone's 开发版 cannot reach 127.0.0.1 (that is the phone itself):
 * to try it on a phone, put the computer's LAN address here (`make run` listening on it) or a dev
 * stage's URL. Put the base URL that `make deploy STAGE=...` prints for each stage
 * in the other two before uploading a build; every one of them must be an ICP-filed HTTPS domain in the
 * mini-program's request list (README, "The reference mini-program").
 */
export type Environment = WechatMiniprogram.MiniProgram['envVersion']

export const API_BASE: Record<Environment, string> = {
  develop: 'http://127.0.0.1:8000',
  trial: 'https://api-dev.example.cn',
  release: 'https://api.example.cn',
}

const LOCAL_STACK = /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?$/

export function apiBase(): string {
  return API_BASE[wx.getAccountInfoSync().miniProgram.envVersion]
}

/**
 * The code the local stack's fake WeChat accepts (`dev:<name>`, the same user every time) in place of
 * the real `wx.login` code, which it cannot exchange. Only in `develop` against the local stack;
 * change the name to be another user.
 */
export const DEV_LOGIN_CODE = 'dev:devtools'

/** What to send to POST /v1/auth/login for the code `wx.login` gave: the code itself, except on the
 * local stack, where a real WeChat code (no `kind:` prefix, as the fake's codes have) becomes
 * DEV_LOGIN_CODE. */
export function loginCode(code: string): string {
  const develop = wx.getAccountInfoSync().miniProgram.envVersion === 'develop'
  return develop && LOCAL_STACK.test(apiBase()) && !code.includes(':') ? DEV_LOGIN_CODE : code
}

/** How many comments one screenful asks for (the server caps it; 查看更多 asks for the next ones). */
export const COMMENTS_PER_SCREEN = 3

/** How long 您已通过… stays before the journey goes on to the article or the feed. */
export const DONE_COUNTDOWN_SECONDS = 5

/** How often a write that takes an Idempotency-Key is sent again after the network lost it. */
export const WRITE_RETRIES = 2
