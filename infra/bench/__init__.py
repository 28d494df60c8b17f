"""`make bench`: cold starts, AWS calls and units, depth and cost per endpoint.

coldstart: imports in fresh interpreters; journey: every endpoint metered in-process against moto;
capacity: DynamoDB units from item sizes; depth: comment 10,000 against the first page; cost:
dollars per million; targets: the call targets, also held by tests/functional/test_bench_calls.py.
"""
