// The screens' other states against the local stack: the refused agreement and its way back, 我的,
// a comment held, rejected, hidden, replied to, deleted and reported, a muted and a rate-limited
// commenter, an upstream failure at login. Every refusal must show the server's message as it is.
const { Phone, settleAll } = require('./wechat')
const { Staff } = require('./console')

const BASE = process.env.MP_BASE_URL
const OUTBOX = process.env.MP_OUTBOX
const ARTICLE = process.env.MP_ARTICLE_ID
const READER = process.env.MP_READER // prepared through verification and the questions
const COMMENTER = process.env.MP_COMMENTER // likewise
const PENDING = process.env.MP_PENDING // prepared up to a submission waiting for review
const comments = (phone) => phone.all('.main--comment')


afterEach(settleAll)

test('a refused agreement says so, and 同意 is the way back', async () => {
  const phone = new Phone(BASE, `mp-refuser-${Date.now()}`)
  phone.open('/pages/index/index')
  await phone.see('pages/agreement/index', '同意', '拒绝')
  phone.tap('拒绝')
  await phone.see('pages/agreement/index', '您已拒绝')
  expect(phone.find('拒绝')).toBeUndefined()
  phone.tap('同意')
  await phone.see('pages/consent/index', '不同意并跳过')
})

test('a server that cannot reach WeChat: the login page shows its message, with 重试', async () => {
  const phone = new Phone(BASE, '', 'err:-1') // the fake WeChat answers "system busy"
  phone.open('/pages/index/index')
  await phone.until(() => phone.text().includes('重试'), '重试')
  const answer = phone.answer('POST', /\/v1\/auth\/login$/)
  expect(answer.status).toBe(503)
  expect(phone.all('.main--error')[0].textContent).toBe(answer.body.error.message)
})

test('我的: the author name, consent receipts, export, and deleting the account', async () => {
  const phone = new Phone(BASE, READER)
  phone.open('/pages/index/index')
  await phone.see('pages/feed/index', '评论', '我的')
  const first = phone.all('.main--article')[0]
  const title = first.querySelector('.main--title').textContent
  phone.tapElement(first, 'the first article')
  await phone.see('pages/article/index', title, '评论')
  wx.navigateBack()
  await phone.see('pages/feed/index', '我的')
  phone.tap('我的')
  await phone.see('pages/me/index', '评论署名', '同意记录', '导出我的数据', '注销账号')
  await phone.until(() => phone.all('.main--record').length >= 2, 'the consent history')

  phone.tapWhere('.main--option', '认证医生')
  await phone.until(() => phone.text().includes('评论中显示为：认证医生'), 'the new author name')
  phone.tapElement(phone.all('.main--record .main--link')[0], '查看回执')
  await phone.until(() => phone.all('.main--receipt').length === 1, 'a receipt')
  expect(phone.all('.main--receipt')[0].textContent.split('.')).toHaveLength(3) // a JWS
  phone.tap('导出我的数据')
  await phone.until(() => phone.all('.main--exported').length === 1, 'the export')

  phone.tap('注销账号')
  await phone.see('pages/agreement/index', '同意') // a new account starts over
  expect(phone.recorded.some((r) => r.name === 'showModal')).toBe(true)
  expect(phone.calls.some((c) => c.method === 'DELETE' && c.path === '/v1/me' && c.status === 200)).toBe(true)
})

test('comments: held, rejected, replied to, reported, hidden, deleted; muted; rate limited', async () => {
  const phone = new Phone(BASE, COMMENTER)
  const moderator = new Staff(BASE, OUTBOX, 'demo-moderator')
  phone.storage.set('token', 'a-token-the-server-no-longer-knows')
  phone.open(`/pages/index/index?article=${encodeURIComponent(ARTICLE)}`)
  // the stale token gets a 401: login again, and on to the article the link named
  await phone.see('pages/article/index', '评论', '发表')
  expect(phone.calls.slice(0, 3).map((c) => `${c.method} ${c.path} ${c.status}`)).toEqual([
    'GET /v1/me 401',
    'POST /v1/auth/login 200',
    'GET /v1/articles/' + ARTICLE + ' 200',
  ])
  await phone.until(() => comments(phone).length > 0, 'the newest comments')
  const count = () => Number(/(\d+) 评论/.exec(phone.text())[1])
  const composerError = () => (phone.all('.main--composer-error')[0] || {}).textContent
  const opened = count() // a reader's count may be seconds late (the contract's cache); one's own writes are not

  // a post whose answer the network lost is sent again with the same Idempotency-Key: one comment
  phone.loseNextAnswer('POST', /\/comments$/)
  phone.type('#draft', '网络不稳时发出的评论')
  phone.tap('发表')
  await phone.until(() => count() > opened, 'the count after the post')
  const posts = phone.calls.filter((c) => c.method === 'POST' && c.path.endsWith('/comments'))
  expect(posts.map((c) => [c.lost || false, c.status])).toEqual([[true, 201], [false, 201]])
  expect(posts[1].headers['Idempotency-Key']).toBe(posts[0].headers['Idempotency-Key'])
  expect(posts[1].body.id).toBe(posts[0].body.id)
  expect(phone.text().split('网络不稳时发出的评论').length - 1).toBe(1)

  // every answer lost: the network's message; the user's own retry of the same text keeps the key
  const beforeLost = count()
  for (let n = 0; n < 3; n += 1) phone.loseNextAnswer('POST', /\/comments$/)
  phone.type('#draft', '三次都没有回音的评论')
  phone.tap('发表')
  await phone.until(() => composerError(), 'the network message')
  const lost = phone.calls.filter((c) => c.lost && c.method === 'POST')
  expect(lost.length).toBe(4) // the first post's lost answer, then this one's three attempts
  phone.tap('发表')
  await phone.until(() => phone.text().includes('三次都没有回音的评论'), 'the comment')
  const again = phone.answer('POST', /\/comments$/)
  expect(again.headers['Idempotency-Key']).toBe(lost[3].headers['Idempotency-Key'])
  expect(again.body.id).toBe(lost[1].body.id) // the write that had landed, answered as it first was
  expect(phone.text().split('三次都没有回音的评论').length - 1).toBe(1)
  await phone.until(() => count() === beforeLost + 1, `"${beforeLost + 1} 评论"`)
  expect(composerError()).toBeFalsy()
  const start = count()

  // a read whose answer was lost is not sent again: the network's message, once
  phone.loseNextAnswer('GET', /^\/v1\/articles\/[^/]+$/)
  phone.open(`/pages/article/index?id=${encodeURIComponent(ARTICLE)}`)
  await phone.until(() => phone.all('.main--error').length === 1, 'the network message')
  await new Promise((r) => setTimeout(r, 1500)) // longer than a write's retry would wait
  expect(phone.calls.filter((c) => c.method === 'GET' && c.lost).length).toBe(1)
  expect(phone.calls[phone.calls.length - 1].lost).toBe(true)
  phone.open(`/pages/article/index?id=${encodeURIComponent(ARTICLE)}`)
  await phone.until(() => comments(phone).length > 0, 'the newest comments')

  // held by the content check: shown to its author alone, not counted
  phone.type('#draft', '这条评论待审')
  phone.tap('发表')
  await phone.until(() => phone.text().includes('审核中，仅自己可见'), 'the held mark')
  const held = phone.answer('POST', /\/comments$/).body
  expect(held.state).toBe('held')
  expect(count()).toBe(start)

  // refused by the content check (422): the server's message under the composer
  phone.type('#draft', '这条评论有风险')
  phone.tap('发表')
  await phone.until(() => composerError(), 'the refusal')
  let answer = phone.answer('POST', /\/comments$/)
  expect(answer.status).toBe(422)
  expect(composerError()).toBe(answer.body.error.message)

  // a reply to another's comment shows what it replies to
  const peer = comments(phone).find((c) => !c.textContent.includes('删除'))
  const peerText = peer.querySelector('.main--comment-text').textContent
  phone.tapElement(peer.querySelector('.main--link'), '回复')
  await phone.until(() => phone.text().includes(`：${peerText}`), 'the replied-to excerpt')
  phone.type('#draft', '同意楼上')
  phone.tap('发表')
  await phone.until(() => count() === start + 1, `"${start + 1} 评论"`)
  expect(comments(phone)[0].textContent).toContain(`回复`)
  expect(comments(phone)[0].querySelector('.main--reply-context').textContent).toContain(peerText)

  // reporting another's comment
  const other = comments(phone).find((c) => !c.textContent.includes('删除'))
  phone.tapElement(Array.from(other.querySelectorAll('.main--link')).find((l) => l.textContent === '举报'), '举报')
  await phone.until(() => phone.recorded.some((r) => r.name === 'showToast'), 'the report acknowledged')
  expect(phone.answer('POST', /\/reports$/).status).toBeLessThan(300)

  // a moderator hides the held comment: its author sees it hidden, with the reason
  await moderator.signIn()
  await moderator.hideComment(held.id)
  phone.open(`/pages/article/index?id=${encodeURIComponent(ARTICLE)}`)
  await phone.until(() => phone.text().includes('已隐藏，仅自己可见：'), 'the hidden mark')

  // deleting one's own comment: gone, and the count follows
  const mine = comments(phone).find((c) => c.textContent.includes('同意楼上'))
  phone.tapElement(Array.from(mine.querySelectorAll('.main--link')).find((l) => l.textContent === '删除'), '删除')
  await phone.until(() => count() === start, `"${start} 评论"`)
  expect(phone.text()).not.toContain('同意楼上')

  // muted: the server's 403 message
  const { id } = await phone.own('/v1/me')
  await moderator.mute(id, 1)
  phone.type('#draft', '禁言中的评论')
  phone.tap('发表')
  await phone.until(() => phone.answer('POST', /\/comments$/).status === 403, 'the muted answer')
  answer = phone.answer('POST', /\/comments$/)
  expect(answer.body.error.code).toBe('muted')
  await phone.until(() => composerError() === answer.body.error.message, 'the muted message')
  await moderator.unmute(id)

  // posting fast: the server's 429 message, as it wrote it
  for (let n = 0; n < 10 && phone.answer('POST', /\/comments$/).status !== 429; n += 1) {
    const before = phone.calls.length
    phone.type('#draft', `连续评论 ${n}`)
    phone.tap('发表')
    await phone.until(() => phone.calls.slice(before).some((c) => c.method === 'POST' && c.status), 'an answer')
  }
  answer = phone.answer('POST', /\/comments$/)
  expect(answer.status).toBe(429)
  await phone.until(() => composerError() === answer.body.error.message, 'the rate-limit message')
})

test('审核中: 撤回修改 takes the submission back, to the form as it was sent', async () => {
  const phone = new Phone(BASE, PENDING)
  phone.open('/pages/index/index')
  await phone.see('pages/pending/index', '审核中', '撤回修改')
  await phone.until(() => /提交于 \d{4}-\d{2}-\d{2}/.test(phone.text()), 'the day it was sent')
  phone.tap('撤回修改')
  await phone.see('pages/verify/index', '身份认证', '重新提交', '沿用上次的图片')
  expect(phone.valueOf('#hospital')).toBeTruthy()
})
