"""Adapters: the I/O to WeChat, S3, SNS and chat webhooks."""
