// WeChat, as far as the pages can tell: miniprogram-simulate renders them, and the `wx` calls they make
// are bound to real HTTP on 127.0.0.1 (request, uploadFile, login with the fake WeChat's `dev:` codes)
// or to a recorder (storage, navigation, subscribe messages, toasts, chosen images).
const fs = require('fs')
const http = require('http')
const path = require('path')
const simulate = require('miniprogram-simulate')
const exparser = require('miniprogram-exparser')
const { BUILD } = require('./build')

const WAIT_MS = 15000
const phones = []

function send(method, url, headers, body) {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method, headers }, (response) => {
      const chunks = []
      response.on('data', (c) => chunks.push(c))
      response.on('end', () =>
        resolve({ status: response.statusCode, headers: response.headers, text: Buffer.concat(chunks).toString('utf8') }),
      )
    })
    request.on('error', reject)
    request.setTimeout(20000, () => request.destroy(new Error('timeout')))
    if (body) request.write(body)
    request.end()
  })
}

/** The multipart body `wx.uploadFile` sends: the form fields in order, then the file part. */
function multipart(formData, name, filePath) {
  const boundary = '----WeChatUploadBoundary7MA4YWxkTrZu0gW'
  const parts = Object.entries(formData || {}).map(
    ([k, v]) => Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`),
  )
  parts.push(
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${path.basename(filePath)}"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n',
    ),
    fs.readFileSync(filePath),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  )
  return { body: Buffer.concat(parts), type: `multipart/form-data; boundary=${boundary}` }
}

function parseQuery(raw) {
  const query = {}
  for (const pair of (raw || '').split('&').filter(Boolean)) {
    const at = pair.indexOf('=')
    query[at < 0 ? pair : pair.slice(0, at)] = at < 0 ? '' : pair.slice(at + 1) // as WeChat: not decoded
  }
  return query
}

class Phone {
  /** `baseUrl`: the local stack, standing in for the config's `develop` address; `wx.login` gives the
   * fake WeChat's code `dev:<loginName>` (the same user every time), or `code` as it is. */
  constructor(baseUrl, loginName, code) {
    this.baseUrl = baseUrl
    this.code = code || `dev:${loginName}`
    this.storage = new Map()
    this.calls = [] // every HTTP call: method, path, status
    this.recorded = [] // every recorded wx call: name and options
    this.media = [] // the files the next wx.chooseMedia calls pick
    this.stack = [] // open pages: {route, comp}
    this.develop = require(path.join(BUILD, 'config')).API_BASE.develop
    this.inflight = 0
    this.losing = [] // requests whose answer the network will lose: {method, path}
    this.bind()
    phones.push(this)
  }

  bind() {
    const phone = this
    const record = (name) => (options = {}) => {
      phone.recorded.push({ name, options })
      setTimeout(() => {
        if (options.success) options.success({ errMsg: `${name}:ok` })
        if (options.complete) options.complete({ errMsg: `${name}:ok` })
      }, 0)
    }
    Object.assign(global.wx, {
      getAccountInfoSync: () => ({ miniProgram: { appId: 'wx0000000000000000', envVersion: 'develop', version: '' } }),
      getStorageSync: (key) => (phone.storage.has(key) ? phone.storage.get(key) : ''),
      setStorageSync: (key, value) => phone.storage.set(key, value),
      removeStorageSync: (key) => phone.storage.delete(key),
      login: (options) => setTimeout(() => options.success({ code: phone.code, errMsg: 'login:ok' }), 0),
      request: (options) => phone.request(options),
      uploadFile: (options) => phone.uploadFile(options),
      chooseMedia: (options) => {
        const file = phone.media.shift()
        phone.recorded.push({ name: 'chooseMedia', options })
        setTimeout(() => {
          if (!file) return options.fail && options.fail({ errMsg: 'chooseMedia:fail cancel' })
          options.success({ type: 'image', tempFiles: [{ tempFilePath: file, size: fs.statSync(file).size, fileType: 'image' }] })
        }, 0)
      },
      requestSubscribeMessage: record('requestSubscribeMessage'),
      showToast: record('showToast'),
      showModal: (options) => {
        phone.recorded.push({ name: 'showModal', options })
        setTimeout(() => options.success && options.success({ confirm: true, cancel: false }), 0)
      },
      showActionSheet: (options) => {
        phone.recorded.push({ name: 'showActionSheet', options })
        setTimeout(() => options.success && options.success({ tapIndex: phone.actionSheetChoice || 0 }), 0)
      },
      setNavigationBarTitle: record('setNavigationBarTitle'),
      reLaunch: (options) => phone.navigate('reLaunch', options),
      redirectTo: (options) => phone.navigate('redirectTo', options),
      navigateTo: (options) => phone.navigate('navigateTo', options),
      navigateBack: () => setTimeout(() => phone.close(), 0),
    })
  }

  request(options) {
    const url = options.url.startsWith(this.develop) ? this.baseUrl + options.url.slice(this.develop.length) : options.url
    const method = options.method || 'GET'
    const body = options.data === undefined ? undefined : JSON.stringify(options.data)
    const headers = { ...(options.header || {}) }
    if (body) headers['content-length'] = Buffer.byteLength(body)
    const call = { method, path: new URL(url).pathname, status: 0, headers }
    this.calls.push(call)
    const lose = this.losing.findIndex((l) => l.method === method && l.path.test(call.path))
    if (lose >= 0) this.losing.splice(lose, 1)
    this.inflight += 1
    send(method, url, headers, body)
      .finally(() => (this.inflight -= 1))
      .then((answer) => {
        if (lose < 0) return answer
        call.status = answer.status
        call.body = JSON.parse(answer.text)
        call.lost = true // the server answered; the app never hears of it
        throw new Error('the answer was lost on the way')
      })
      .then(
      (answer) => {
        call.status = answer.status
        let data = answer.text
        try {
          data = JSON.parse(answer.text)
        } catch (_) {
          // not JSON: WeChat hands the text over as it is
        }
        call.body = data
        if (options.success) options.success({ statusCode: answer.status, data, header: answer.headers, errMsg: 'request:ok' })
        if (options.complete) options.complete({})
      },
      (error) => {
        if (options.fail) options.fail({ errMsg: `request:fail ${error.message}` })
        if (options.complete) options.complete({})
      },
    )
  }

  uploadFile(options) {
    const { body, type } = multipart(options.formData, options.name, options.filePath)
    const call = { method: 'UPLOAD', path: new URL(options.url).pathname, status: 0 }
    this.calls.push(call)
    this.inflight += 1
    send('POST', options.url, { 'content-type': type, 'content-length': body.length }, body)
      .finally(() => (this.inflight -= 1))
      .then(
      (answer) => {
        call.status = answer.status
        options.success({ statusCode: answer.status, data: answer.text, errMsg: 'uploadFile:ok' })
      },
      (error) => options.fail && options.fail({ errMsg: `uploadFile:fail ${error.message}` }),
    )
  }

  navigate(how, options) {
    this.recorded.push({ name: how, options })
    setTimeout(() => {
      if (how === 'reLaunch') while (this.stack.length) this.close()
      if (how === 'redirectTo') this.close()
      this.open(options.url)
      if (options.success) options.success({})
    }, 0)
  }

  /** Open a page as WeChat does: render it, then onLoad with the query, then onShow. */
  open(url) {
    const [route, raw] = url.replace(/^\//, '').split('?')
    // Each load runs the page's (and its components') code afresh, as simulate expects: jest keeps
    // its own module registry, which a fresh isolated one stands in for.
    let id
    jest.isolateModules(() => {
      id = simulate.load(path.join(BUILD, route), { compiler: 'simulate', rootPath: BUILD })
    })
    const comp = simulate.render(id)
    const parent = document.createElement('div')
    document.body.appendChild(parent)
    comp.attach(parent)
    this.stack.push({ route, comp })
    const page = comp.instance
    if (page.onLoad) page.onLoad(parseQuery(raw))
    if (page.onShow) page.onShow()
    return comp
  }

  close() {
    const top = this.stack.pop()
    if (!top) return
    if (top.comp.instance.onUnload) top.comp.instance.onUnload()
    top.comp.detach()
  }

  /** The next `method` request to a path matching `pathPattern` reaches the server, but its answer
   * is lost on the way back (a flaky mobile network). */
  loseNextAnswer(method, pathPattern) {
    this.losing.push({ method, path: pathPattern })
  }

  /** The last answer to `method path` (a RegExp on the path), as the server wrote it. */
  answer(method, pathPattern) {
    const found = this.calls.filter((c) => c.method === method && pathPattern.test(c.path) && c.status)
    if (!found.length) throw new Error(this.explain(`no answer to ${method} ${pathPattern}`))
    return found[found.length - 1]
  }

  /** The session's token, for a test that must name this user to staff (their id). */
  get token() {
    return this.storage.get('token') || ''
  }

  /** GET `path` as this phone's user, outside the app (what the test must tell the staff). */
  async own(path) {
    const answer = await send('GET', this.baseUrl + path, { authorization: `Bearer ${this.token}` })
    return JSON.parse(answer.text)
  }

  get page() {
    return this.stack[this.stack.length - 1]
  }

  get route() {
    return this.page ? this.page.route : '(no page)'
  }

  /** What the current page shows, as one line of text. */
  text() {
    return this.page ? this.page.comp.dom.textContent.replace(/\s+/g, ' ').trim() : ''
  }

  /** Elements of the current page matching a CSS selector (over the rendered DOM). */
  all(selector) {
    return this.page ? Array.from(this.page.comp.dom.querySelectorAll(selector)) : []
  }

  /** Why a wait failed: the screen, what it shows, and the last API calls with their statuses. */
  explain(what) {
    const calls = this.calls.slice(-8).map((c) => `${c.method} ${c.path} → ${c.status}`).join('\n  ')
    return `screen ${this.route}: ${what}\n screen shows: ${this.text().slice(0, 600)}\n last calls:\n  ${calls}`
  }

  async until(predicate, what, timeout = WAIT_MS) {
    const deadline = Date.now() + timeout
    for (;;) {
      let ok = false
      try {
        ok = predicate()
      } catch (_) {
        ok = false
      }
      if (ok) return ok
      if (Date.now() > deadline) throw new Error(this.explain(`waited ${timeout} ms for ${what}`))
      await new Promise((r) => setTimeout(r, 25))
    }
  }

  /** Wait until the page at `route` shows every one of `texts`. */
  async see(route, ...texts) {
    await this.until(() => this.route === route, `page ${route}`)
    for (const t of texts) await this.until(() => this.text().includes(t), `"${t}"`)
  }

  /** Tap the first element matching `selector` whose text contains `text`. */
  tapWhere(selector, text) {
    this.tapElement(this.all(selector).find((el) => el.textContent.includes(text)), `${selector} with "${text}"`)
  }

  /** Let what is under way end (answers still coming in), then close every page. */
  async settle() {
    for (let i = 0; i < 400 && this.inflight; i += 1) await new Promise((r) => setTimeout(r, 25))
    await new Promise((r) => setTimeout(r, 50))
    while (this.stack.length) this.close()
  }

  /** The innermost element whose text is exactly `label` (a button, a link). */
  find(label) {
    const found = this.all('*').filter((el) => el.textContent.replace(/\s+/g, ' ').trim() === label && el.__wxElement)
    return found[found.length - 1]
  }

  tapElement(el, what) {
    if (!el) throw new Error(this.explain(`nothing to tap: ${what}`))
    const event = new CustomEvent('tap', {})
    el.dispatchEvent(event)
    exparser.Event.dispatchEvent(
      el.__wxElement,
      exparser.Event.create('tap', {}, { originalEvent: event, bubbles: true, capturePhase: true, composed: true, extraFields: { touches: {}, changedTouches: {} } }),
    )
  }

  tap(label) {
    this.tapElement(this.find(label), `"${label}"`)
  }

  /** Type into a form control (found by its WXML id): the input event WeChat sends, with the value. */
  type(selector, value) {
    const field = this.page && this.page.comp.querySelector(selector)
    if (!field) throw new Error(this.explain(`no field ${selector}`))
    // at once, as tap does, so that a tap after it sees the value
    exparser.Event.dispatchEvent(
      field._exparserNode,
      exparser.Event.create('input', { value }, { bubbles: true, capturePhase: true, composed: true, extraFields: { touches: {}, changedTouches: {} } }),
    )
  }

  /** The value a form control shows (its `value` as the WXML bound it). */
  valueOf(selector) {
    const field = this.page && this.page.comp.querySelector(selector)
    if (!field) throw new Error(this.explain(`no field ${selector}`))
    return field.toJSON().attrs.find((a) => a.name === 'value')?.value
  }
}

/** For afterEach: no page renders after its test (and its jsdom) ended. */
async function settleAll() {
  while (phones.length) await phones.pop().settle()
}

module.exports = { Phone, send, settleAll }
