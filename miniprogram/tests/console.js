// A staff member in the console, over HTTP as a browser would: the sign-in link from the local outbox,
// cookies kept, the CSRF field of each form posted back from the console's own origin.
const fs = require('fs')
const { send } = require('./wechat')

function hidden(html, name) {
  const found = new RegExp(`<input type="hidden" name="${name}" value="([^"]*)"`).exec(html)
  if (!found) throw new Error(`the console page has no hidden field ${name}:\n${html.slice(0, 400)}`)
  return found[1].replace(/&amp;/g, '&')
}

class Staff {
  constructor(baseUrl, outboxPath, staffId) {
    this.baseUrl = baseUrl
    this.outboxPath = outboxPath
    this.staffId = staffId
    this.cookies = {}
  }

  async call(method, path, form) {
    const headers = { 'user-agent': 'Mozilla/5.0 (mini-program journey test)' }
    const cookie = Object.entries(this.cookies).map(([k, v]) => `${k}=${v}`).join('; ')
    if (cookie) headers.cookie = cookie
    let body
    if (form) {
      body = new URLSearchParams(form).toString()
      headers['content-type'] = 'application/x-www-form-urlencoded'
      headers['content-length'] = Buffer.byteLength(body)
      headers.origin = this.baseUrl
    }
    const answer = await send(method, this.baseUrl + path, headers, body)
    for (const line of [].concat(answer.headers['set-cookie'] || [])) {
      const [pair] = line.split(';')
      const at = pair.indexOf('=')
      if (/Max-Age=0/i.test(line)) delete this.cookies[pair.slice(0, at)]
      else this.cookies[pair.slice(0, at)] = pair.slice(at + 1)
    }
    if (answer.status >= 400) throw new Error(`console ${method} ${path} → ${answer.status}: ${answer.text.slice(0, 300)}`)
    return answer
  }

  signInLinks() {
    if (!fs.existsSync(this.outboxPath)) return []
    return fs
      .readFileSync(this.outboxPath, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
      .filter((e) => e.channel === 'staff' && e.kind === 'sign_in' && e.staff_id === this.staffId)
      .map((e) => e.link)
  }

  /** /console/login, the link from the outbox, its confirm button: a session cookie. */
  async signIn() {
    const before = this.signInLinks().length
    const page = await this.call('GET', '/console/login')
    await this.call('POST', '/console/login', { csrf: hidden(page.text, 'csrf'), who: this.staffId })
    const links = this.signInLinks()
    if (links.length !== before + 1) throw new Error('no sign-in link reached the outbox')
    const link = new URL(links[links.length - 1])
    const confirm = await this.call('GET', link.pathname + link.search)
    const opened = await this.call('POST', '/console/auth', { t: hidden(confirm.text, 't'), csrf: hidden(confirm.text, 'csrf') })
    if (opened.status !== 303) throw new Error(`signing in answered ${opened.status}`)
  }

  /** Whether the console's queue lists a submission as pending. */
  async queued(submissionId) {
    const queue = await this.call('GET', '/console/verifications')
    return queue.text.includes(`href="/console/verifications/${submissionId}"`)
  }

  /** Decide a submission from its console page's own form (`decision` approve or reject). */
  async decide(submissionId, decision, fields = {}) {
    const page = await this.call('GET', `/console/verifications/${submissionId}`)
    const form = new URLSearchParams({ csrf: hidden(page.text, 'csrf'), decision })
    for (const [k, v] of Object.entries(fields)) for (const one of [].concat(v)) form.append(k, one)
    const answer = await this.call('POST', `/console/verifications/${submissionId}/decision`, form)
    if (answer.status !== 200) throw new Error(`the decision answered ${answer.status}`)
  }
}

/** The value of the first option of a form's select `name`. */
function firstOption(html, name) {
  const select = new RegExp(`<select name="${name}"[^>]*>\\s*<option value="([^"]*)"`).exec(html)
  if (!select) throw new Error(`the console page has no select ${name}`)
  return select[1]
}

Object.assign(Staff.prototype, {
  /** Hide a held comment from the moderation queue, with the first reason the form offers. */
  async hideComment(commentId) {
    const page = await this.call('GET', '/console/comments?queue=pending')
    if (!page.text.includes(`data-comment="${commentId}"`)) throw new Error(`comment ${commentId} is not in the moderation queue`)
    await this.call('POST', `/console/comments/${commentId}/hide`, { csrf: hidden(page.text, 'csrf'), reason: firstOption(page.text, 'reason') })
  },

  async mute(userId, days) {
    const page = await this.call('GET', `/console/users/${userId}`)
    await this.call('POST', `/console/users/${userId}/mute`, { csrf: hidden(page.text, 'csrf'), days: String(days) })
  },

  async unmute(userId) {
    const page = await this.call('GET', `/console/users/${userId}`)
    await this.call('POST', `/console/users/${userId}/unmute`, { csrf: hidden(page.text, 'csrf') })
  },
})

module.exports = { Staff }
