"""The message catalogue: every word an error says to the user, in Simplified Chinese and English.

An error names its code and a case (`errors.BadRequest("cursor")`); the edge looks the words up
here in the caller's language (`language()` reads `Accept-Language`; Chinese unless English is
preferred). Messages are written for the user, to be shown by the app as they are. A message may
hold `{name}` placeholders, filled from the error's parameters; a `{label}` is a field's name,
itself looked up in `LABELS` in the same language. `tests/unit/test_messages.py` walks it all.

This module is imported only when an error is answered, never at cold start.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Text(NamedTuple):
    zh: str
    en: str


ZH, EN = "zh", "en"

# (error code, case) -> words. Every code has a "default" case.
CATALOGUE: dict[tuple[str, str], Text] = {
    # ---- 400 bad_request ----
    ("bad_request", "default"): Text(
        "请求无效，请检查后重试。", "The request is not valid; check it and try again."
    ),
    ("bad_request", "fields"): Text(
        "有 {count} 项需要修改，请检查标出的项目。", "{count} fields need correcting; see the marked fields."
    ),
    ("bad_request", "body_shape"): Text(
        "提交的内容格式不正确，请更新小程序后重试。",
        "The body is not a JSON object of the expected shape.",
    ),
    ("bad_request", "body_empty"): Text("提交的内容为空。", "The body is empty; a JSON object is expected."),
    ("bad_request", "body_base64"): Text("提交的内容无法读取，请重试。", "The body is not valid base64."),
    ("bad_request", "moderation_queue"): Text(
        "没有这个队列：只有待处理（pending）和已隐藏（hidden）。", "The queue is pending or hidden."
    ),
    ("bad_request", "audit_subject_long"): Text(
        "筛选对象最多{max}个字符。", "A target to filter by is at most {max} characters."
    ),
    ("bad_request", "month"): Text("月份应写作 2026-11 这样的格式。", "A month is written like 2026-11."),
    ("bad_request", "search_long"): Text(
        "查找内容最多{max}个字符。", "A search is at most {max} characters."
    ),
    ("bad_request", "cursor"): Text(
        "列表位置已失效，请刷新列表后重试。", "The list position is not valid; reload the list."
    ),
    ("bad_request", "limit"): Text(
        "每页条数应为 1 至 {max} 的整数。", "limit must be a whole number from 1 to {max}."
    ),
    ("bad_request", "idempotency_key"): Text(
        "请求标识（Idempotency-Key）应为 1 至 {max} 个可打印 ASCII 字符。",
        "Idempotency-Key must be 1 to {max} printable ASCII characters.",
    ),
    ("bad_request", "decision"): Text(
        "请选择审核决定：通过或不通过。", "Choose a decision: approve or reject."
    ),
    ("bad_request", "reject_reason"): Text("不通过时请选择原因。", "A rejection needs a reason."),
    ("bad_request", "approve_extras"): Text(
        "通过时无需填写原因或要求重传证件。", "An approval takes no reason and no documents to redo."
    ),
    ("bad_request", "redo_kinds"): Text(
        "要求重传的证件类型不正确。", "The documents to redo are not valid kinds."
    ),
    ("bad_request", "note_long"): Text(
        "审核意见不能超过 {max} 个字。", "The note may be at most {max} characters."
    ),
    ("bad_request", "internal_note_long"): Text(
        "内部备注不能超过 {max} 个字。", "The internal note may be at most {max} characters."
    ),
    ("bad_request", "form_repeated"): Text(
        "表单中有重复的项目，请刷新页面后重新提交。", "A form field was sent twice."
    ),
    ("bad_request", "form"): Text("表单无法读取，请刷新页面后重新提交。", "The form is not valid."),
    # ---- 401 unauthorized ----
    ("unauthorized", "default"): Text(
        "登录已失效，请重新登录。", "Your session has ended; please log in again."
    ),
    ("unauthorized", "console_session"): Text("请先登录控制台。", "Sign in to the console first."),
    ("unauthorized", "login_code"): Text(
        "微信登录凭证无效或已使用，请重新登录。",
        "The login code is invalid or was already used; log in again.",
    ),
    # ---- 403 ----
    ("consent_required", "default"): Text(
        "请先阅读并同意《身份认证协议》。", "Please read and agree to the identity agreement first."
    ),
    ("consent_required", "informed_consent"): Text(
        "请先同意《知情同意书》，再回答问题。", "Please agree to the informed consent before answering."
    ),
    ("verification_required", "default"): Text(
        "请先完成HCP身份认证。", "Please pass HCP verification first."
    ),
    ("forbidden", "default"): Text("您没有权限进行此操作。", "You are not allowed to do this."),
    ("forbidden", "document_owner"): Text(
        "证件图片不属于当前账号，请重新上传。", "A document belongs to another account; upload it again."
    ),
    ("forbidden", "own_comment"): Text("不能举报自己的评论。", "You cannot report your own comment."),
    ("muted", "default"): Text(
        "您的评论和举报功能已被管理员暂停。",
        "A moderator suspended your commenting and reporting.",
    ),
    ("conflict", "moderation_moved"): Text(
        "这条评论的状态刚刚发生变化，请刷新页面查看后再操作。",
        "This comment changed meanwhile; reload the page and try again.",
    ),
    ("forbidden", "not_author"): Text("只能删除自己的评论。", "Only its author may delete a comment."),
    ("forbidden", "wechat_risk"): Text(
        "微信判定此账号存在风险，暂时无法登录。", "WeChat has blocked this account as high-risk."
    ),
    ("forbidden", "link_invalid"): Text("审核链接无效。", "This review link is not valid."),
    ("forbidden", "link_expired"): Text(
        "审核链接已过期，请打开最新通知中的链接。",
        "This review link has expired; use the link in the latest notice.",
    ),
    ("forbidden", "link_other_submission"): Text(
        "此审核链接属于另一份申请。", "This review link is for another submission."
    ),
    ("forbidden", "link_old_revision"): Text(
        "申请已重新提交，此审核链接已失效，请打开最新通知中的链接。",
        "The submission was sent again; this review link is for an older revision.",
    ),
    ("forbidden", "reviewer_inactive"): Text(
        "此审核链接的审核人已停用。", "This review link's reviewer is no longer active."
    ),
    ("forbidden", "console_session"): Text(
        "登录已失效或尚未登录，操作未执行。请重新登录控制台。",
        "You are not signed in (or your session ended); nothing was changed. Sign in again.",
    ),
    ("forbidden", "console_role"): Text("您的角色无权访问此页面。", "Your role may not open this page."),
    ("forbidden", "sign_in_link"): Text(
        "登录链接无效、已使用或已过期，请重新申请。",
        "This sign-in link is not valid, was used, or has expired.",
    ),
    ("forbidden", "staff_inactive"): Text("该员工账号已停用。", "This staff member is deactivated."),
    ("forbidden", "form_origin"): Text(
        "请从本站的页面提交表单。", "The form must be posted from our own page."
    ),
    ("forbidden", "form_csrf"): Text(
        "页面已过期，请刷新后重新提交。", "The form is not from this page; reload it."
    ),
    # ---- 404 not_found ----
    ("not_found", "default"): Text("未找到要访问的内容。", "Not found."),
    ("not_found", "article"): Text("文章不存在或已下线。", "There is no such article."),
    ("not_found", "comment"): Text("评论不存在或已删除。", "There is no such comment (or it was deleted)."),
    ("not_found", "route"): Text("没有这个页面。", "There is no such page."),
    ("not_found", "submission"): Text("该申请已不存在。", "This submission no longer exists."),
    ("not_found", "user"): Text(
        "没有这个用户，或该账号已注销。", "There is no such user, or the account was deleted."
    ),
    ("not_found", "staff"): Text("没有这位员工。", "There is no such staff member."),
    ("not_found", "consent_document"): Text("没有这份协议。", "There is no such consent document."),
    ("not_found", "consent_unpublished"): Text("这份协议尚未发布。", "This document has not been published."),
    ("not_found", "consent_version"): Text(
        "这份协议的该版本不存在。", "This version of the document is not published."
    ),
    ("not_found", "consent_record"): Text("没有这条同意记录。", "There is no such consent record."),
    # ---- 409 conflict ----
    ("conflict", "default"): Text(
        "数据已更新，请刷新后重试。", "The data changed meanwhile; reload and try again."
    ),
    ("conflict", "login_changed"): Text(
        "登录时账号发生变化，请重试。", "The account changed during login; try again."
    ),
    ("conflict", "consent_version"): Text(
        "协议已更新为 {current} 版，请阅读新版本后再确认。",
        "The document was updated to version {current}; read it and decide again.",
    ),
    ("conflict", "consent_changed"): Text(
        "您的同意状态已变化，请刷新后重新选择。", "Your consent changed meanwhile; reload and decide again."
    ),
    ("conflict", "nothing_to_withdraw"): Text(
        "您尚未同意这份协议，无需撤回。", "There is no agreement to this document to withdraw."
    ),
    ("conflict", "answers_changed"): Text(
        "您的同意状态或回答已变化，请刷新后重新作答。",
        "Your consent or answers changed meanwhile; reload and answer again.",
    ),
    ("conflict", "verification_changed"): Text(
        "您的认证状态已变化，请刷新查看。",
        "Your verification changed meanwhile (already submitted?); reload it.",
    ),
    ("conflict", "verification_pending"): Text(
        "您的认证申请正在审核中，请等待审核结果。", "A submission is already waiting for review."
    ),
    ("conflict", "update_pending"): Text(
        "您的资料更新正在审核中，请等待审核结果或先撤回。",
        "An update of your details is already waiting for review; wait for it or withdraw it.",
    ),
    ("conflict", "verification_not_pending"): Text(
        "没有正在审核中的申请，无需撤回。", "Nothing is waiting for review, so there is nothing to withdraw."
    ),
    ("conflict", "claim_held"): Text(
        "{name} 正在审核此申请（认领15分钟内有效），请先处理其他申请。",
        "{name} is reviewing this submission (a claim holds for 15 minutes); take another one.",
    ),
    ("conflict", "claim_contended"): Text(
        "认领未能保存，请刷新页面后重试。", "The claim could not be stored; reload the page and try again."
    ),
    ("conflict", "not_approved"): Text(
        "该用户当前没有已通过的认证，无法撤销。", "This user has no approval in force to revoke."
    ),
    ("conflict", "revoke_moved"): Text(
        "该用户的认证状态刚刚发生变化，请刷新页面查看后再操作。",
        "This user's verification changed meanwhile; reload the page and try again.",
    ),
    ("conflict", "audit_not_stored"): Text(
        "操作记录未能保存，为保护申请人信息，暂不显示证件，请重试。",
        "The audit line could not be stored, so the credentials are not shown; try again.",
    ),
    ("conflict", "decision_not_stored"): Text(
        "审核决定未能保存，请重试。", "The decision could not be stored; try again."
    ),
    ("conflict", "staff_id_taken"): Text(
        "该编号已被其他员工使用。", "This id is another staff member's id, name or e-mail."
    ),
    ("conflict", "staff_name_taken"): Text(
        "该名称已被其他员工使用。", "This name is another staff member's id, name or e-mail."
    ),
    ("conflict", "staff_email_taken"): Text(
        "该邮箱已被其他员工使用。", "This e-mail is another staff member's id, name or e-mail."
    ),
    ("conflict", "staff_busy"): Text(
        "员工信息正在更新，请稍后重试。", "The staff member changed meanwhile; try again."
    ),
    ("conflict", "sign_in_busy"): Text(
        "登录请求正在处理，请稍后重试。", "The sign-in is being handled; try again in a moment."
    ),
    ("conflict", "article_published"): Text(
        "这篇文章已经发布；如需更改发布时间，请先下线。",
        "The article is published already; unpublish it first to move its time.",
    ),
    ("conflict", "article_not_published"): Text(
        "只有已发布或定时发布的文章可以下线。", "Only a published or scheduled article can be unpublished."
    ),
    ("conflict", "article_changed"): Text(
        "这篇文章刚被其他人修改，请刷新页面后重试。",
        "The article changed meanwhile; reload the page and try again.",
    ),
    ("conflict", "article_busy"): Text(
        "当前评论的人较多，请稍后重试。", "The article is busy; try again in a moment."
    ),
    ("conflict", "comment_not_stored"): Text(
        "评论未能保存，请重试。", "The comment could not be stored; try again."
    ),
    ("conflict", "key_in_flight"): Text(
        "相同的请求正在处理，请稍后再试。", "This Idempotency-Key was just used; retry the request shortly."
    ),
    ("conflict", "key_reused"): Text(
        "请求标识已用于另一个请求，请重新提交。", "This Idempotency-Key was used for a different request."
    ),
    ("method_not_allowed", "default"): Text("不支持此请求方式。", "This method is not allowed here."),
    # ---- 413 / 415 ----
    ("payload_too_large", "default"): Text("提交的内容过大。", "The request body is too large."),
    ("payload_too_large", "body"): Text(
        "提交的内容过大（不超过 {max_kb} KB）。", "The body is larger than {max_kb} KB."
    ),
    ("payload_too_large", "image"): Text(
        "每张证件图片不能超过 10 MB，请压缩后重新上传。", "An image may be at most 10 MB."
    ),
    ("payload_too_large", "article_upload"): Text(
        "上传的文件不能超过 {max} KB。", "The file may be at most {max} KB."
    ),
    ("payload_too_large", "form"): Text("提交的表单内容过多，请缩短后重试。", "The form is too large."),
    ("unsupported_media_type", "default"): Text(
        "提交的内容格式不正确，请更新小程序后重试。", "The body must be application/json."
    ),
    ("unsupported_media_type", "article_upload"): Text(
        "请通过页面上的导入表单上传文件。", "A multipart/form-data post with the field file is expected."
    ),
    ("unsupported_media_type", "form"): Text(
        "请从页面上的表单提交。", "A form post (application/x-www-form-urlencoded) is expected."
    ),
    # ---- 422 content_rejected ----
    ("content_rejected", "default"): Text(
        "评论未通过内容安全检查，请修改后再发。", "The comment was refused by the content check."
    ),
    ("content_rejected", "blocked_word"): Text(
        "评论包含不允许发布的内容，请修改后再发。", "The comment contains a word that may not be published."
    ),
    # ---- 429 rate_limited ----
    ("rate_limited", "default"): Text("操作太频繁了，请稍后再试。", "Too many requests; try again later."),
    ("rate_limited", "comments_minute"): Text(
        "评论太频繁了：每分钟最多 {limit} 条，请稍后再试。",
        "At most {limit} comments a minute; try again later.",
    ),
    ("rate_limited", "reports_hour"): Text(
        "举报太频繁了：每小时最多 {limit} 次，请稍后再试。",
        "At most {limit} reports an hour; try again later.",
    ),
    ("rate_limited", "comments_day"): Text(
        "今天的评论已达上限（每天 {limit} 条），请明天再来。",
        "At most {limit} comments a day; try again tomorrow.",
    ),
    ("rate_limited", "verification_uploads"): Text(
        "上传次数太多了（每小时最多 {limit} 张），请 {minutes} 分钟后再试。",
        "At most {limit} image uploads an hour; try again in {minutes} minutes.",
    ),
    ("rate_limited", "verification_submits"): Text(
        "今天的认证提交次数已达上限（每天 {limit} 次），请明天再试。",
        "At most {limit} verification submissions a day; try again tomorrow.",
    ),
    ("rate_limited", "sign_in_who"): Text(
        "该账号的登录请求太频繁了，请 {minutes} 分钟后再试。",
        "Too many sign-in requests for this account; try again in {minutes} minutes.",
    ),
    ("rate_limited", "sign_in_address"): Text(
        "登录请求太频繁了，请 {minutes} 分钟后再试。",
        "Too many sign-in requests from this address; try again in {minutes} minutes.",
    ),
    ("rate_limited", "sign_in_busy"): Text(
        "登录请求正在处理，请稍后再试。", "The same sign-in is being handled; try again in a moment."
    ),
    ("rate_limited", "wechat_login"): Text(
        "登录太频繁了，请一分钟后再试。", "WeChat logins are too frequent; try again in a minute."
    ),
    # ---- 502 / 503 ----
    ("message_rejected", "default"): Text("微信拒绝了这条消息。", "WeChat refused the message."),
    ("upstream_unavailable", "default"): Text(
        "服务暂时繁忙，请稍后再试。", "A service we depend on is busy or unreachable; please retry shortly."
    ),
    ("upstream_unavailable", "wechat"): Text(
        "微信服务暂时不可用，请稍后再试。", "WeChat is unavailable; please retry shortly."
    ),
    ("upstream_unavailable", "content_check"): Text(
        "内容安全检查暂时不可用，评论未发布，请稍后重试。",
        "The content check is unavailable; nothing was stored, please retry.",
    ),
    ("upstream_unavailable", "image_store"): Text(
        "图片存储暂时不可用，请稍后再试。", "The image store is unavailable; please retry shortly."
    ),
    # ---- 500 ----
    ("bad_request", "article_upload"): Text(
        "请选择一个 Markdown 文件（.md）后再导入。", "Choose one Markdown file (field file) to import."
    ),
    ("internal_error", "default"): Text(
        "服务出错了，请稍后再试。", "Something went wrong; please try again later."
    ),
}

# The words for one field at fault, keyed by case; its code is one of `errors.FIELD_CODES`.
FIELD_MESSAGES: dict[str, Text] = {
    "required": Text("请填写{label}。", "{label} is required."),
    "too_long": Text("{label}不能超过 {max} 个字。", "{label} may be at most {max} characters."),
    "not_allowed": Text("{label}的取值不在可选范围内。", "{label} is not one of the allowed values."),
    "invalid": Text("{label}的格式不正确。", "{label} is not valid."),
    "unknown_field": Text("不能提交{label}。", "{label} is not a field of this request."),
    "control_characters": Text("{label}不能包含控制字符。", "{label} may not contain control characters."),
    "report_reason": Text(
        "请选择举报原因：垃圾广告、辱骂或人身攻击、虚假或误导性医学信息、泄露他人隐私或其他。",
        "reason must be spam, abuse, misinformation, privacy or other.",
    ),
    "report_text": Text("举报说明不能超过 {max} 个字。", "A report's text is at most {max} characters."),
    "hide_reason": Text("请选择隐藏原因。", "Choose why the comment is hidden."),
    "mute_days": Text(
        "禁言天数应为 0 至 {max} 的整数（0 为不限期）。",
        "days is a whole number from 0 to {max} (0: no end).",
    ),
    "comment_length": Text(
        "评论应为 {min} 至 {max} 个字（现在 {count} 个）。",
        "A comment is {min} to {max} characters after trimming; this one has {count}.",
    ),
    "document_kind": Text(
        "证件类型只能是执业证书、资格证书或工牌。",
        "kind must be practice_license, qualification or work_badge.",
    ),
    "image_type": Text(
        "图片格式只能是 JPEG、PNG、WebP 或 HEIC。",
        "content_type must be image/jpeg, image/png, image/webp or image/heic.",
    ),
    "image_size": Text("图片大小不正确，请重新选择图片。", "size must be at least 1 byte."),
    "profession": Text(
        "职业只能是医生、护士、药师或其他。", "profession must be one of: doctor, nurse, pharmacist, other."
    ),
    "documents_count": Text("请上传 {min} 至 {max} 张证件图片。", "documents must hold {min} to {max} keys."),
    "documents_repeat": Text("同一张证件图片不能提交两次。", "documents may not name the same key twice."),
    "document_key": Text(
        "证件图片无效，请重新上传。", "A document is not a key from POST /v1/verification/uploads."
    ),
    "document_missing": Text(
        "证件图片未上传成功或已过期，请重新上传。", "A document was not uploaded (or has expired)."
    ),
    "document_type": Text(
        "证件图片的格式与上传时不符（应为 {content_type}），请重新上传。",
        "A document was not uploaded as {content_type}.",
    ),
    "keep_repeat": Text("同一类证件只需保留一次。", "keep may not name the same kind twice."),
    "keep_redo": Text(
        "审核人员要求重新上传这类证件，请上传新的图片。",
        "The reviewer asked for this kind of document again; upload a new image.",
    ),
    "keep_missing": Text(
        "上次提交中没有可保留的这类证件图片，请重新上传。",
        "The latest submission holds no image of this kind that can be kept; upload one.",
    ),
    "same_image": Text("同一张图片不能作为两份证件提交。", "Documents may not hold the same image twice."),
    "image_small": Text(
        "图片太小，每边至少 {min} 像素，请重新拍摄。", "An image must be at least {min} pixels on each side."
    ),
    "image_pixels": Text(
        "图片像素过多（最多 {max} 百万像素），请缩小后重新上传。",
        "An image may have at most {max} megapixels; resize it and upload it again.",
    ),
    "image_frames": Text(
        "证件图片不能是动图，请上传一张照片。", "A document must be a single still image, not an animation."
    ),
    "image_unreadable": Text(
        "证件图片无法识别（应为 {content_type} 图片），请上传清晰的照片。",
        "A document is not a readable {content_type} image.",
    ),
    "login_code": Text(
        "微信登录凭证无效（应为 1 至 {max} 个字符），请重新登录。", "code must be 1 to {max} characters."
    ),
    "reply_to": Text(
        "回复的评论不存在或已删除。", "reply_to must be a comment of this article that is not deleted."
    ),
    "author_style": Text(
        "显示方式只能是姓氏（王医生）或职称（认证医生）。", "style must be surname or title."
    ),
    "consent_agreement": Text(
        "对《身份认证协议》只能选择同意或拒绝。",
        "The decision on the identity agreement must be agree or refuse.",
    ),
    "consent_informed": Text(
        "对《知情同意书》只能选择同意或不同意并跳过。",
        "The decision on the informed consent must be agree or skip.",
    ),
    "answers_count": Text("回答不能超过 {max} 个。", "At most {max} answers."),
    "answer_unknown": Text("没有这个问题，请刷新后重新作答。", "There is no such question."),
    "answer_twice": Text("同一个问题回答了两次。", "The question is answered twice."),
    "answer_required": Text("这道题必须回答。", "This question must be answered."),
    "answer_single": Text("请从选项中选择一项。", "Choose one of the options."),
    "answer_multi": Text("请至少选择一项。", "Choose at least one of the options."),
    "answer_options": Text("只能选择给出的选项。", "Only the question's options may be chosen."),
    "answer_repeat": Text("同一选项不能重复选择。", "An option is chosen twice."),
    "answer_text": Text("回答应为 1 至 {max} 个字。", "An answer is 1 to {max} characters."),
    "webhook_url": Text("{label}应为 https:// 开头的地址。", "{label} must be an https:// URL."),
    "staff_role": Text(
        "角色只能是审核员、评论管理员、内容编辑或管理员。",
        "role must be reviewer, moderator, editor or admin.",
    ),
    "staff_email": Text(
        "员工通过邮箱登录，请填写{label}（只有审核员可以是仅有机器人地址的群）。",
        "{label} is required: staff sign in by e-mail (only a reviewer may be a group robot alone).",
    ),
    "publish_at": Text(
        "发布时间应写作 2026-12-01 09:00 或 2026-12-01T09:00:00+08:00 这样的时间。",
        "publish_at must be a time such as 2026-12-01 09:00 or 2026-12-01T09:00:00+08:00.",
    ),
    "publish_at_far": Text(
        "发布时间最多可以定在 {days} 天之后。", "publish_at may be at most {days} days ahead."
    ),
    "article_upload_missing": Text("请选择要导入的 Markdown 文件。", "Choose a Markdown file to import."),
    "article_size": Text("文章文件不能超过 {max} KB。", "An article file is at most {max} KB."),
    "article_utf8": Text(
        "第 {line} 行不是 UTF-8 编码的文字：请把文件另存为 UTF-8 编码后重新导入。",
        "Line {line} is not UTF-8 text: save the file as UTF-8 and import it again.",
    ),
    "article_front_matter": Text(
        "文件开头缺少 front matter：第 1 行应为 ---，随后每行一项（id、title、published_at 等），再以 --- 结束。",
        "The file must start with front matter: a line ---, the fields (id, title, published_at...), then ---.",
    ),
    "article_key": Text(
        "第 {line} 行：front matter 每行写一项“键: 值”，键只能是 {keys}。",
        "Line {line}: front matter holds one 'key: value' a line, the key one of {keys}.",
    ),
    "article_key_twice": Text("第 {line} 行：{key} 重复填写。", "Line {line}: {key} is given twice."),
    "article_missing": Text(
        "第 {line} 行之前：front matter 缺少 {key}。", "Before line {line}: the front matter lacks {key}."
    ),
    "article_id": Text(
        "第 {line} 行：id 只能由小写字母、数字和 - 组成（最多 64 个字符）。",
        "Line {line}: id must be lower-case letters, digits and '-' (at most 64).",
    ),
    "article_original": Text(
        "第 {line} 行：original 只能是 true 或 false。", "Line {line}: original must be true or false."
    ),
    "article_source": Text(
        "第 {line} 行：非原创文章（original: false）须填写 source（来源）。",
        "Line {line}: an article that is not original must name its source.",
    ),
    "article_status": Text(
        "第 {line} 行：status 只能是 draft（草稿）或 published（发布）。",
        "Line {line}: status must be draft or published.",
    ),
    "article_text": Text(
        "第 {line} 行：{key} 应为 1 至 {max} 个字。", "Line {line}: {key} must be 1 to {max} characters."
    ),
    "article_published_at": Text(
        "第 {line} 行：published_at 应为带时区的时间，例如 2026-10-20T09:00:00+08:00。",
        "Line {line}: published_at must be a time with its offset (2026-10-20T09:00:00+08:00).",
    ),
    "article_heading": Text(
        "第 {line} 行：## 后面需要写标题。", "Line {line}: a '## ' heading needs its text."
    ),
    "article_section_empty": Text(
        "第 {line} 行：这一节只有标题，没有正文。", "Line {line}: the section has a heading and no text."
    ),
    "article_body_empty": Text(
        "正文为空：请在 front matter 之后写正文（用 ## 标题分节）。",
        "The body is empty: write the text after the front matter ('## ' headings start sections).",
    ),
    "article_sections": Text(
        "第 {line} 行：一篇文章最多 {max} 节。", "Line {line}: an article has at most {max} sections."
    ),
    "check_length": Text("内容不能超过 {max} 个字。", "A text to check may be at most {max} characters."),
}

# A field's name as the user reads it. A field missing here is shown as its own name.
LABELS: dict[str, Text] = {
    "code": Text("登录凭证", "code"),
    "real_name": Text("姓名", "real_name"),
    "hospital": Text("医院", "hospital"),
    "department": Text("科室", "department"),
    "title": Text("职称", "title"),
    "profession": Text("职业", "profession"),
    "license_number": Text("执业证号", "license_number"),
    "documents": Text("证件图片", "documents"),
    "keep": Text("保留的证件", "keep"),
    "kind": Text("证件类型", "kind"),
    "content_type": Text("图片格式", "content_type"),
    "size": Text("图片大小", "size"),
    "text": Text("评论内容", "text"),
    "reply_to": Text("回复的评论", "reply_to"),
    "style": Text("显示方式", "style"),
    "show_department": Text("是否显示科室", "show_department"),
    "document": Text("协议", "document"),
    "version": Text("协议版本", "version"),
    "decision": Text("选择", "decision"),
    "answers": Text("回答", "answers"),
    "name": Text("名称", "name"),
    "email": Text("邮箱", "email"),
    "webhook": Text("机器人地址", "webhook"),
    "role": Text("角色", "role"),
    "who": Text("员工编号、邮箱或姓名", "who"),
    "id": Text("编号", "id"),
    "question_id": Text("问题", "question_id"),
    "file": Text("文章文件", "file"),
    "publish_at": Text("发布时间", "publish_at"),
    "value": Text("回答", "value"),
}
ANY_FIELD = Text("此项", "This field")


def language(accept_language: str | None) -> str:
    """The catalogue's language for an `Accept-Language` header: English only when the caller
    prefers it to Chinese (by q-value, then by order); Chinese for anything else or nothing."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in (ZH, EN):
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        rank = (-quality, position, primary)
        if best is None or rank < best:
            best = rank
    return best[2] if best else ZH


def _in(text: Text, lang: str) -> str:
    return text.en if lang == EN else text.zh


def _fill(template: str, lang: str, params: dict[str, Any]) -> str:
    values = dict(params)
    label = values.get("label")
    if isinstance(label, str):
        values["label"] = _in(LABELS.get(label, ANY_FIELD if lang == ZH else Text(label, label)), lang)
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):  # a placeholder without its value: say it plainly
        return template.split("{", maxsplit=1)[0].rstrip("：:（(，, ") or template


def message(code: str, case: str, lang: str, params: dict[str, Any]) -> str:
    words = (
        CATALOGUE.get((code, case))
        or CATALOGUE.get((code, "default"))
        or CATALOGUE[("internal_error", "default")]
    )
    return _fill(_in(words, lang), lang, params)


def field_message(case: str, lang: str, params: dict[str, Any]) -> str:
    words = FIELD_MESSAGES.get(case) or FIELD_MESSAGES["invalid"]
    return _fill(_in(words, lang), lang, params)
