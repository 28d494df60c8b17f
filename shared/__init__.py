"""The package every Lambda function imports: domain, storage, adapters, config and the HTTP edge."""
