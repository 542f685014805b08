"""Installed as `kerasforge.recipes.diagnosis`: what went wrong in a run, and what to change.

A registry of rules, each reading a run's history, events and data description
and returning a `Finding` with its evidence and a `--set` fix.
"""

from kerasforge.recipes.diagnosis.registry import Finding, Rule, diagnose, kinds, rule, rules

__all__ = ["Finding", "Rule", "diagnose", "kinds", "rule", "rules"]
