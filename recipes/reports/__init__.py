"""Installed as `kerasforge.recipes.reports`: the HTML report and every plot.

Reads a finished run folder back (`RunRecord`) and draws it; every figure is
saved through one helper.
"""
