/**
 * The one client of the backend: every call goes through `call`, which adds the token, turns an error
 * answer into an `ApiError` carrying the server's own `message` (shown as it is), sends a 401 back to
 * login, and retries with the same Idempotency-Key, after a lost answer, only the writes that take one.
 *
 * Shapes come from typings/api.d.ts, generated from the OpenAPI document (`make types`): nothing here
 * restates a field of the contract.
 */
import type { components, operations } from '../typings/api'
import { apiBase, WRITE_RETRIES } from '../config'

export type Schemas = components['schemas']
type Operation = keyof operations
type JsonOf<R> = R extends { content: { 'application/json': infer J } } ? J : never
/** What an operation answers with status `S`, as the contract says. */
export type Reply<O extends Operation, S extends keyof operations[O]['responses']> = JsonOf<operations[O]['responses'][S]>
/** The JSON body an operation takes. */
export type Body<O extends Operation> = operations[O] extends { requestBody: { content: { 'application/json': infer B } } }
  ? B
  : never

export type NextStep = Schemas['NextStep']
export type ErrorCode = Schemas['ErrorCode']
type Method = 'GET' | 'POST' | 'PUT' | 'DELETE'

const TOKEN_KEY = 'token'
const LOGIN_PAGE = '/pages/index/index'
/** Said when no answer came at all: the only message the app writes itself. */
export const NETWORK_MESSAGE = '网络连接失败，请检查网络后再试'

export class ApiError extends Error {
  constructor(
    readonly status: number, // 0: no answer reached the app
    readonly code: ErrorCode | 'network',
    message: string,
    readonly fields: Schemas['FieldError'][] = [],
    readonly until: string | null = null,
  ) {
    super(message)
  }

  /** The server's message for one form field, if it named that field. */
  field(name: string): string {
    const found = this.fields.find((f) => f.field === name)
    return found ? found.message : ''
  }
}

/** The text to show for anything a call threw: the server's message, or the network's. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError) return error.message
  return NETWORK_MESSAGE
}

export function token(): string {
  return (wx.getStorageSync(TOKEN_KEY) as string) || ''
}

interface Options {
  auth?: boolean
  idempotent?: boolean // only the writes the contract lets a client replay
  query?: Record<string, string | number | undefined>
}

interface Answered {
  status: number
  data: unknown
}

function send(method: Method, url: string, body: unknown, header: Record<string, string>): Promise<Answered> {
  return new Promise((resolve, reject) => {
    wx.request({
      url,
      method,
      data: body === undefined ? undefined : (body as WechatMiniprogram.IAnyObject),
      header: { 'content-type': 'application/json', ...header },
      success: (res) => resolve({ status: res.statusCode, data: res.data }),
      fail: () => reject(new ApiError(0, 'network', NETWORK_MESSAGE)),
    })
  })
}

function newKey(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`
}

/**
 * The key of a write that has not surely landed, per path, with the body it was for: sending that
 * same body again (the user taps once more after a 503 or a lost answer) reuses it, so the server
 * answers a write that did land as it first did instead of writing it twice. A success forgets it.
 */
const unsettled: Record<string, { body: string; key: string }> = {}

function keyFor(path: string, body: unknown): string {
  const json = JSON.stringify(body)
  const kept = unsettled[path]
  if (kept && kept.body === json) return kept.key
  unsettled[path] = { body: json, key: newKey() }
  return unsettled[path].key
}

function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function queryString(query: Options['query']): string {
  const parts = Object.entries(query || {})
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
  return parts.length ? `?${parts.join('&')}` : ''
}

function failure(answer: Answered): ApiError {
  const body = answer.data as { error?: Schemas['Error'] } | null
  const error = body && typeof body === 'object' ? body.error : undefined
  if (!error) return new ApiError(answer.status, 'network', NETWORK_MESSAGE)
  return new ApiError(answer.status, error.code, error.message, error.fields || [], error.until || null)
}

/** Log in again: the token is gone and the journey starts over from the login page. */
function backToLogin(): void {
  wx.removeStorageSync(TOKEN_KEY)
  wx.reLaunch({ url: LOGIN_PAGE })
}

export async function call<T>(method: Method, path: string, body?: unknown, options: Options = {}): Promise<T> {
  const header: Record<string, string> = {}
  if (options.auth !== false && token()) header.Authorization = `Bearer ${token()}`
  if (options.idempotent) header['Idempotency-Key'] = keyFor(path, body)
  const url = apiBase() + path + queryString(options.query)
  const attempts = options.idempotent ? 1 + WRITE_RETRIES : 1
  let answer: Answered | undefined
  for (let attempt = 1; !answer; attempt += 1) {
    try {
      answer = await send(method, url, body, header)
    } catch (lost) {
      if (attempt >= attempts) throw lost
      await wait(500 * attempt)
    }
  }
  if (answer.status >= 200 && answer.status < 300) {
    if (options.idempotent) delete unsettled[path]
    return answer.data as T
  }
  if (answer.status === 401 && options.auth !== false) backToLogin()
  throw failure(answer)
}

/** `wx.login`, then the backend's session: the user as login answers it (with `next_step`). */
export async function login(): Promise<Reply<'login', 200>['user']> {
  const code = await new Promise<string>((resolve, reject) =>
    wx.login({ success: (res) => resolve(res.code), fail: () => reject(new ApiError(0, 'network', NETWORK_MESSAGE)) }),
  )
  const body: Body<'login'> = { code }
  const session = await call<Reply<'login', 200>>('POST', '/v1/auth/login', body, { auth: false })
  wx.setStorageSync(TOKEN_KEY, session.token)
  return session.user
}

export function forgetSession(): void {
  wx.removeStorageSync(TOKEN_KEY)
}

/** Send a chosen image to the presigned POST, as the contract says: name `file`, the fields as form data. */
export function uploadToTicket(ticket: Reply<'verificationUpload', 200>, filePath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    wx.uploadFile({
      url: ticket.url,
      filePath,
      name: 'file',
      formData: ticket.fields,
      success: (res) => (res.statusCode >= 200 && res.statusCode < 300 ? resolve() : reject(new ApiError(res.statusCode, 'network', NETWORK_MESSAGE))),
      fail: () => reject(new ApiError(0, 'network', NETWORK_MESSAGE)),
    })
  })
}

const id = encodeURIComponent

/** Every endpoint the app uses, typed from the contract. */
export const api = {
  config: () => call<Reply<'appConfig', 200>>('GET', '/v1/config', undefined, { auth: false }),
  me: () => call<Reply<'me', 200>>('GET', '/v1/me'),
  documents: () => call<Reply<'consentDocuments', 200>>('GET', '/v1/consents/documents'),
  decide: (body: Body<'consentDecide'>) => call<Reply<'consentDecide', 201>>('POST', '/v1/consents', body),
  consentHistory: () => call<Reply<'consentHistory', 200>>('GET', '/v1/consents'),
  receipt: (recordId: string) => call<Reply<'consentReceipt', 200>>('GET', `/v1/consents/${id(recordId)}/receipt`),
  exportData: () => call<Reply<'exportMyData', 200>>('GET', '/v1/me/export'),
  deleteAccount: () => call<Reply<'deleteMe', 200>>('DELETE', '/v1/me'),
  setAuthor: (body: Body<'authorDisplay'>) => call<Reply<'authorDisplay', 200>>('PUT', '/v1/me/author', body),
  uploadTicket: (body: Body<'verificationUpload'>) =>
    call<Reply<'verificationUpload', 200>>('POST', '/v1/verification/uploads', body),
  submit: (body: Body<'verificationSubmit'>) =>
    call<Reply<'verificationSubmit', 201>>('POST', '/v1/verification', body, { idempotent: true }),
  verification: () => call<Reply<'verificationStatus', 200>>('GET', '/v1/verification'),
  withdraw: () => call<Reply<'verificationWithdraw', 200>>('POST', '/v1/verification/withdraw'),
  questions: () => call<Reply<'questions', 200>>('GET', '/v1/questions'),
  answer: (body: Body<'answers'>) => call<Reply<'answers', 200>>('POST', '/v1/answers', body, { idempotent: true }),
  articles: (cursor?: string) => call<Reply<'articlesList', 200>>('GET', '/v1/articles', undefined, { query: { cursor } }),
  article: (articleId: string) => call<Reply<'articleDetail', 200>>('GET', `/v1/articles/${id(articleId)}`),
  comments: (articleId: string, limit: number, cursor?: string) =>
    call<Reply<'commentsList', 200>>('GET', `/v1/articles/${id(articleId)}/comments`, undefined, { query: { limit, cursor } }),
  postComment: (articleId: string, body: Body<'commentPost'>) =>
    call<Reply<'commentPost', 201>>('POST', `/v1/articles/${id(articleId)}/comments`, body, { idempotent: true }),
  deleteComment: (commentId: string) => call<unknown>('DELETE', `/v1/comments/${id(commentId)}`),
  report: (commentId: string, body: Body<'commentReport'>) =>
    call<unknown>('POST', `/v1/comments/${id(commentId)}/reports`, body),
}
