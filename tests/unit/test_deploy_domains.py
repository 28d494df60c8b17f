"""What `make deploy` prints for the mini-program's domain lists, from the stack's outputs."""

from __future__ import annotations

from infra.deploy import domain_lists

LAUNCHED = {
    "PublicBaseUrl": "https://api.hcp.example.cn",
    "UploadBaseUrl": "https://hcp-prod-credentials.s3.cn-northwest-1.amazonaws.com.cn",
    "PlatformPagesUrl": "https://www.hcp.example.cn/legal",
    "ApiDomainTarget": "d-abc123.execute-api.cn-northwest-1.amazonaws.com.cn",
}


def _list(lines: list[str], name: str) -> str:
    (line,) = [line for line in lines if line.strip().startswith(name)]
    return line.split(":", 1)[1].strip()


def test_each_list_names_an_origin_and_the_dns_target() -> None:
    lines = domain_lists(LAUNCHED)
    assert _list(lines, "request") == "https://api.hcp.example.cn"
    assert _list(lines, "uploadFile") == "https://hcp-prod-credentials.s3.cn-northwest-1.amazonaws.com.cn"
    assert _list(lines, "downloadFile").startswith("(none")
    assert _list(lines, "业务域名") == "https://www.hcp.example.cn"  # the origin, not the path
    assert any("api.hcp.example.cn (CNAME) at d-abc123" in line for line in lines)
    assert not any("NOT READY" in line for line in lines)


def test_a_stage_without_its_own_domain_is_not_ready() -> None:
    lines = domain_lists(
        {
            "PublicBaseUrl": "https://abc123.execute-api.cn-northwest-1.amazonaws.com.cn",
            "UploadBaseUrl": "https://hcp-dev-credentials.s3.cn-northwest-1.amazonaws.com.cn",
            "PlatformPagesUrl": "none",
            "ApiDomainTarget": "none",
        }
    )
    assert any("NOT READY" in line and "apiDomain" in line for line in lines)
    assert _list(lines, "业务域名").startswith("(none")
    assert not any("CNAME" in line for line in lines)
