"""The review page's HTML: Chinese, phone-sized, no outside asset, every applicant field escaped.

Everything the applicant typed goes through `esc` (html.escape with quotes), including inside
attributes; the page loads nothing but its inline style and the images' short-lived links.
"""

from __future__ import annotations

from html import escape
from typing import Any

from shared.domain.verification import KIND_LABELS, PROFESSION_LABELS, REASONS

STATUS_LABELS = {"pending": "待审核", "approved": "已通过", "rejected": "未通过"}

STYLE = """
body{font-family:-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;padding:16px;
max-width:720px;margin:auto;color:#222;line-height:1.5;background:#f6f7f9}
h1{font-size:20px}h2{font-size:17px;margin-top:24px}
.card{background:#fff;border-radius:8px;padding:12px 16px;margin:12px 0;box-shadow:0 1px 2px #0002}
dl{display:grid;grid-template-columns:6em 1fr;gap:4px 8px;margin:0}dt{color:#666}
dd{margin:0;word-break:break-all}
img{max-width:100%;border:1px solid #ddd;border-radius:4px;margin-top:6px}
.warn{background:#fff4e5;border-left:4px solid #f59e0b;padding:8px 12px;margin:8px 0}
.ok{color:#15803d}.no{color:#b91c1c}
button{font-size:16px;padding:10px 18px;border:0;border-radius:6px;margin-top:8px;width:100%}
.approve{background:#16a34a;color:#fff}.reject{background:#dc2626;color:#fff}
select,textarea{width:100%;font-size:15px;padding:6px;box-sizing:border-box;margin-top:4px}
label{display:block;margin-top:8px}
""".strip()


def esc(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def csp(image_origin: str) -> str:
    return (
        "default-src 'none'; "
        f"img-src {image_origin}; "
        "style-src 'unsafe-inline'; "
        "form-action 'self'; "
        "base-uri 'none'; "
        "frame-ancestors 'none'"
    )


def _document(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="same-origin">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>\n"
    )


def _fields(s: Any) -> str:
    rows = [
        ("姓名", s.real_name),
        ("医院", s.hospital),
        ("科室", s.department),
        ("职称", s.title),
        ("职业", PROFESSION_LABELS.get(str(s.profession), s.profession)),
        ("执业证号", s.license_number or "（未填写）"),
        ("提交时间", s.submitted_at.isoformat(timespec="minutes")),
        ("提交次数", f"第 {int(s.revision)} 次"),
    ]
    return "<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows) + "</dl>"


def _decision_text(s: Any) -> str:
    status = str(s.status)
    css = "ok" if status == "approved" else "no"
    text = f'<span class="{css}">{esc(STATUS_LABELS.get(status, status))}</span>'
    if s.reason:
        text += f"（{esc(REASONS.get(str(s.reason), s.reason))}）"
    if s.decided_at:
        text += f" · {esc(s.decided_at.isoformat(timespec='minutes'))}"
    return text


def review_page(
    submission: Any,
    reviewer: Any,
    history: list[Any],
    warnings: list[str],
    images: list[tuple[str, str]],
    token: str,
    csrf: str,
) -> str:
    parts = [f"<h1>HCP身份认证审核</h1><p>审核人：{esc(reviewer.name)}</p>"]
    parts += [f'<div class="warn">⚠ {esc(w)}</div>' for w in warnings]
    parts.append(f'<div class="card"><h2>申请信息</h2>{_fields(submission)}</div>')
    figures = "".join(
        f"<figure><figcaption>{esc(KIND_LABELS.get(kind, kind))}</figcaption>"
        f'<img src="{esc(url)}" alt="{esc(KIND_LABELS.get(kind, kind))}"></figure>'
        for kind, url in images
    )
    parts.append(
        f'<div class="card"><h2>证件图片</h2><p>图片链接5分钟内有效，过期请刷新页面。</p>{figures}</div>'
    )
    if history:
        items = "".join(
            f"<li>第 {int(h.revision)} 次 · {esc(h.submitted_at.isoformat(timespec='minutes'))}"
            f" · {_decision_text(h)}</li>"
            for h in history
        )
        parts.append(f'<div class="card"><h2>此前的提交</h2><ul>{items}</ul></div>')
    hidden = (
        f'<input type="hidden" name="t" value="{esc(token)}">'
        f'<input type="hidden" name="csrf" value="{esc(csrf)}">'
    )
    reasons = "".join(f'<option value="{esc(code)}">{esc(label)}</option>' for code, label in REASONS.items())
    redo = "".join(
        f'<label><input type="checkbox" name="redo" value="{esc(kind)}"> 需重新上传：{esc(label)}</label>'
        for kind, label in KIND_LABELS.items()
    )
    action = f"/review/{esc(submission.submission_id)}/decision"
    parts.append(
        f'<div class="card"><h2>审核决定</h2>'
        f'<form method="post" action="{action}">{hidden}<input type="hidden" name="decision" value="approve">'
        f'<button class="approve" type="submit">通过</button></form>'
        f'<form method="post" action="{action}">{hidden}<input type="hidden" name="decision" value="reject">'
        f'<label>拒绝原因<select name="reason" required>{reasons}</select></label>{redo}'
        f'<label>备注（可选，最多500字）<textarea name="note" rows="3" maxlength="500"></textarea></label>'
        f'<button class="reject" type="submit">拒绝</button></form></div>'
    )
    return _document("HCP身份认证审核", "".join(parts))


def decided_page(submission: Any, *, conflict: bool = False) -> str:
    lead = "此申请已有审核决定，您的操作未被执行。" if conflict else "审核决定已记录。"
    body = (
        f"<h1>HCP身份认证审核</h1><p>{esc(lead)}</p>"
        f'<div class="card"><h2>现行决定</h2>'
        f'<p data-decision="{esc(submission.status)}">{_decision_text(submission)}</p>'
        f"<p>提交次数：第 {int(submission.revision)} 次</p></div>"
    )
    return _document("审核决定", body)


def error_page(status: int, message: str) -> str:
    titles = {403: "链接无效或已过期", 404: "未找到", 409: "已有审核决定", 400: "请求无效"}
    title = titles.get(status, "无法完成")
    return _document(title, f"<h1>{esc(title)}</h1><p>{esc(message)}</p>")
