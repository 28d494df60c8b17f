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
  phone.tap('用户服务协议')
  await phone.see('pages/webview/index')
  expect(phone.page.comp.dom.innerHTML).toContain('web-view')
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
  expect(uploads(phone).map((c) => c.status)).toEqual(expect.arrayContaining([expect.any(Number)]))
  expect(uploads(phone).every((c) => c.status >= 200 && c.status < 300)).toBe(true)
  expect(uploads(phone)).toHaveLength(3)
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

  // approved in the console
  const second = (await phone.own('/v1/verification')).submission_id
  expect(second).not.toBe(first)
  expect(await reviewer.queued(second)).toBe(true)
  await reviewer.decide(second, 'approve')
  phone.tap('刷新')

  // 收集问题: one at a time, 确定 each, sent together
  await phone.see('pages/questions/index', '确定')
  const total = Number(/\d+ \/ (\d+)/.exec(phone.text())[1])
  expect(total).toBeGreaterThan(0)
  for (let n = 1; n <= total; n += 1) {
    await phone.until(() => phone.text().includes(`${n} / ${total}`), `question ${n} of ${total}`)
    const options = phone.all('.main--option')
    if (options.length) phone.tapElement(options[0], 'the first option')
    else phone.type('#answer-text', '无')
    if (options.length) await phone.until(() => phone.text().includes('●'), 'an option chosen')
    phone.tap('确定')
  }

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

  // a comment posted shows first, and the count follows
  phone.type('#draft', '感谢分享，术前评估部分很实用。')
  phone.tap('发表')
  await phone.until(() => phone.text().includes(`${before + 1} 评论`), `"${before + 1} 评论"`)
  expect(phone.all('.main--comment-text')[0].textContent).toBe('感谢分享，术前评估部分很实用。')
  expect(phone.all('.main--comment')[0].textContent).toContain('删除')

  // 查看更多 pages on by cursor until every comment is shown
  while (phone.find('查看更多')) {
    const shown = count(phone, '.main--comment')
    phone.tap('查看更多')
    await phone.until(() => count(phone, '.main--comment') > shown || !phone.find('查看更多'), 'more comments')
  }
  expect(count(phone, '.main--comment')).toBe(before + 1)
})
