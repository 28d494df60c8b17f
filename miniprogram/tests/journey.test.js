// One new user walks the whole product in the mini-program, against the local stack the e2e test
// started (tests/e2e/test_miniprogram.py passes its address, its outbox and what it prepared):
// login → agreement → consent → upload → a reviewer's rejection in the console → 完善信息 and
// 重新提交 keeping one image → approval → questions → countdown → article → a comment → 查看更多.
// Every wait names the screen it was on, so a broken backend step shows where the journey stopped.
const path = require('path')
const { Phone, send, settleAll } = require('./wechat')
const { Staff } = require('./console')

const BASE = process.env.MP_BASE_URL
const OUTBOX = process.env.MP_OUTBOX
const ARTICLE = process.env.MP_ARTICLE_ID
const IMAGES = process.env.MP_IMAGES
const NOTE = '执业证书照片反光，请重新拍摄'
// longer than the 140 characters a textarea keeps unless its WXML lifts the limit
const COMMENT = '感谢分享，术前评估部分很实用。' + '围术期管理的细节值得反复阅读。'.repeat(10)
const LONG_ANSWER = '建议'.repeat(260) // over the contract's 500 characters of a text answer

const image = (name) => path.join(IMAGES, name)
const uploads = (phone) => phone.calls.filter((c) => c.method === 'UPLOAD')
const count = (phone, selector) => phone.all(selector).length

afterEach(settleAll)

test('a new user, from a shared article, through verification to a posted comment', async () => {
  const phone = new Phone(BASE, `mp-journey-${Date.now()}`)
  const reviewer = new Staff(BASE, OUTBOX, 'demo-reviewer')
  const config = JSON.parse((await send('GET', `${BASE}/v1/config`, {})).text)

  // 壹生身份认证协议书, opened from a shared article's link
  phone.open(`/pages/index/index?article=${encodeURIComponent(ARTICLE)}`)
  await phone.see('pages/agreement/index', '身份认证协议', '同意', '拒绝', '用户服务协议', '隐私政策')
  const documents = await phone.own('/v1/consents/documents')
  const agreement = documents.items.find((d) => d.key === 'hcp-identity-agreement')
  expect(agreement.links[0].title).toContain('用户服务协议')
  expect(phone.recorded.filter((r) => r.name === 'setNavigationBarTitle').map((r) => r.options.title)).toEqual([agreement.title])
  phone.tap(agreement.links[0].title)
  await phone.see('pages/webview/index')
  await phone.until(() => phone.all('wx-web-view').length === 1, 'the web-view')
  expect(phone.attribute(phone.all('wx-web-view')[0], 'src')).toBe(agreement.links[0].url)
  phone.close()
  phone.tap('同意')

  // 知情同意书
  await phone.see('pages/consent/index', '知情同意', '不同意并跳过')
  phone.tap('同意')

  // 身份认证: the form, three images really sent to their presigned POSTs
  await phone.see('pages/verify/index', '身份认证', '执业证书', '资格证书', '工牌', '提交')
  phone.type('#real_name', '王小明')
  phone.type('#hospital', '北京协和医院')
  phone.type('#department', '心内科')
  phone.type('#title', '主治医师')
  phone.media.push(image('license.jpg'), image('qualification.jpg'), image('badge.jpg'))
  for (const label of ['执业证书', '资格证书', '工牌']) phone.tap(label)
  await phone.until(() => phone.text().split('已选择').length === 4, 'three images chosen')
  phone.tap('提交')
  await phone.see('pages/pending/index', '审核中', '撤回修改')
  expect(uploads(phone)).toHaveLength(3)
  expect(uploads(phone).every((c) => c.status >= 200 && c.status < 300)).toBe(true)
  const asked = phone.recorded.filter((r) => r.name === 'requestSubscribeMessage')
  const template = config.subscribe_templates.review_result
  expect(template).toBeTruthy() // the stack was started with one
  expect(asked.map((r) => r.options.tmplIds)).toEqual([[template]])

  // a reviewer rejects it in the console: the licence to redo, with a note
  await reviewer.signIn()
  const first = (await phone.own('/v1/verification')).submission_id
  expect(await reviewer.queued(first)).toBe(true)
  await reviewer.decide(first, 'reject', { reason: 'image_unreadable', note: NOTE, redo: 'practice_license' })

  // 审核未通过: the reason and the note as the server wrote them, the image to redo marked
  phone.tap('刷新')
  await phone.see('pages/verify/index', '审核未通过', '图片无法辨认', NOTE, '执业证书（需重新上传）', '完善信息')
  phone.tap('完善信息')
  await phone.see('pages/verify/index', '重新提交', '需重新上传', '沿用上次的图片')
  expect(phone.text().split('沿用上次的图片').length - 1).toBe(2)
  expect(phone.valueOf('#real_name')).toBe('王小明')
  expect(phone.valueOf('#hospital')).toBe('北京协和医院')

  // 重新提交: a new licence and a new badge, the qualification kept
  phone.type('#hospital', '北京协和医院西院')
  phone.media.push(image('license-2.jpg'), image('badge-2.jpg'))
  phone.tap('执业证书')
  phone.tap('工牌')
  await phone.until(() => phone.text().split('已选择').length === 3, 'two new images chosen')
  expect(phone.text()).toContain('沿用上次的图片')
  phone.tap('重新提交')
  await phone.see('pages/pending/index', '审核中')
  expect(uploads(phone)).toHaveLength(5)
  const resubmitted = phone.answer('POST', /^\/v1\/verification$/)
  expect(resubmitted.status).toBe(201)
  expect(resubmitted.sent.keep).toEqual(['qualification'])
  expect(resubmitted.sent.documents).toHaveLength(2)

  // approved in the console
  const status = await phone.own('/v1/verification')
  const second = status.submission_id
  expect(second).not.toBe(first)
  // the server kept the qualification: the new submission holds all three images
  expect(status.documents.map((d) => d.kind).sort()).toEqual(['practice_license', 'qualification', 'work_badge'])
  expect(await reviewer.queued(second)).toBe(true)
  await reviewer.decide(second, 'approve')
  phone.tap('刷新')

  // 收集问题: one at a time, 确定 each, sent together; a text answer over the server's limit (the
  // textarea no longer cuts it at 140) is refused with the server's words, on its question
  await phone.see('pages/questions/index', '确定')
  const total = Number(/\d+ \/ (\d+)/.exec(phone.text())[1])
  expect(total).toBeGreaterThan(0)
  let textAt = 0
  for (let n = 1; n <= total; n += 1) {
    await phone.until(() => phone.text().includes(`${n} / ${total}`), `question ${n} of ${total}`)
    const options = phone.all('.main--option')
    if (options.length) phone.tapElement(options[0], 'the first option')
    else (phone.type('#answer-text', LONG_ANSWER), (textAt = textAt || n))
    if (options.length) await phone.until(() => phone.text().includes('●'), 'an option chosen')
    phone.tap('确定')
  }
  if (textAt) {
    await phone.until(() => phone.all('.main--error').length === 1, 'the refusal of the long answer')
    const refused = phone.answer('POST', /^\/v1\/answers$/)
    expect(refused.status).toBe(400)
    expect(phone.all('.main--error')[0].textContent).toBe(refused.body.error.fields[0].message)
    expect(phone.text()).toContain(`${textAt} / ${total}`)
    expect(phone.valueOf('#answer-text')).toBe(LONG_ANSWER)
    phone.type('#answer-text', '无')
    for (let n = textAt; n <= total; n += 1) {
      await phone.until(() => phone.text().includes(`${n} / ${total}`), `question ${n} of ${total} again`)
      if (n > textAt) expect(phone.text()).toContain('●') // the answer given before the 400, kept
      phone.tap('确定')
    }
  }
  await phone.see('pages/done/index')
  expect(phone.answer('POST', /^\/v1\/answers$/).status).toBe(200)
  expect(phone.answer('POST', /^\/v1\/answers$/).sent.answers).toHaveLength(total)
  expect((await phone.own('/v1/me')).next_step).toBe('done') // the answers are stored: no more questions

  // 您已通过…, the countdown, then the article the user came from
  await phone.see('pages/done/index', '您已通过HCP身份认证和信息审核', '5 秒后自动跳转')
  await phone.until(() => phone.text().includes('4 秒后自动跳转'), 'the countdown')
  await phone.see('pages/article/index', '作者', '评论', '发表')
  const article = await phone.own(`/v1/articles/${encodeURIComponent(ARTICLE)}`)
  expect(phone.all('.main--title')[0].textContent).toBe(article.title) // the one the link named
  expect(phone.text()).toMatch(/\d{4}-\d{2}-\d{2} · 作者/)
  expect(phone.text().includes('非原创')).toBe(!article.original)
  if (article.source) expect(phone.text()).toContain(`来源：${article.source}`)
  expect(phone.all('.main--section').length).toBe(article.sections.length)
  await phone.until(() => count(phone, '.main--comment') > 0, 'the newest comments')
  const before = Number(/(\d+) 评论/.exec(phone.text())[1])
  expect(before).toBeGreaterThan(count(phone, '.main--comment')) // more than a screenful: the peer's
  expect(phone.find('查看更多')).toBeTruthy()

  // a comment posted shows first, and the count follows; a double tap posts it once
  expect(COMMENT.length).toBeGreaterThan(140)
  phone.type('#draft', COMMENT)
  phone.tap('发表')
  expect(() => phone.tap('发表')).toThrow('disabled')
  await phone.until(() => phone.text().includes(`${before + 1} 评论`), `"${before + 1} 评论"`)
  expect(phone.all('.main--comment-text')[0].textContent).toBe(COMMENT)
  expect(phone.all('.main--comment')[0].textContent).toContain('删除')
  expect(phone.calls.filter((c) => c.method === 'POST' && c.path.endsWith('/comments'))).toHaveLength(1)

  // 查看更多 pages on by cursor until every comment is shown
  while (phone.find('查看更多')) {
    const shown = count(phone, '.main--comment')
    phone.tap('查看更多')
    if (phone.find('查看更多')) expect(() => phone.tap('查看更多')).toThrow('disabled') // the same cursor twice
    await phone.until(() => count(phone, '.main--comment') > shown || !phone.find('查看更多'), 'more comments')
  }
  expect(count(phone, '.main--comment')).toBe(before + 1)
})
