#!/usr/bin/env python3
"""Prints the executables in cargo's JSON messages (stdin, `--message-format=json`).

Usage: cargo ... --no-run --message-format=json | scripts/executables.py [--tests | --target NAME]
  --tests        only test binaries
  --target NAME  only the target named NAME (a bench, say)
"""
import json
import sys

args = sys.argv[1:]
tests_only = "--tests" in args
target = args[args.index("--target") + 1] if "--target" in args else None
for line in sys.stdin:
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    if msg.get("reason") != "compiler-artifact" or not msg.get("executable"):
        continue
    if tests_only and not msg["profile"]["test"]:
        continue
    if target is not None and msg["target"]["name"] != target:
        continue
    print(msg["executable"])
